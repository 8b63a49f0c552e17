"""Quality of the question matcher on held-out test splits.

``tests/data/messages.yml``: realistic messages by style (long voice-to-text stories,
dialect, pinyin and homophone slips, very short, naming a figure or place, asked for
someone else, several needs, out-of-scope near-misses, greetings), written from
situations. ``tests/data/questions.yml``: the earlier, plainer set. Weights and thresholds
(intents/matching.yml) are tuned on the dev splits only (bench/tune.py).

``test_*_floor`` guard against regressions at the level reached now, less a small margin
(matching v2.4, messages test split of 626, with the test halves of four blind probes:
in-scope R@1 0.924, answered directly and correctly 0.876, confident-wrong 0.019 of all
(9 of its 12 are out-of-scope questions answered), out-of-scope to fallback 0.954, long
stories R@1 0.889, dialect 0.865, short 0.943, figures 0.968, greetings and thanks 0.67;
earlier set test split: R@1 0.951, R@3 0.989, out-of-scope to fallback 1.0, in-scope to
fallback 0.081, wrong 0.018).
``test_issue_targets`` holds the targets of issue #16 that are met;
``test_issue_targets_not_yet_met`` the others (strict xfail: it fails once they are met,
to be moved up).
"""

from __future__ import annotations

import functools
import re
import time

import pytest

from bot.config import PROJECT_ROOT
from bot.knowledge.evaluate import (
    STYLES,
    Message,
    Prediction,
    families,
    load_labelled,
    load_messages,
    message_families,
    score,
    score_messages,
)

LABELLED = PROJECT_ROOT / "tests" / "data" / "questions.yml"
MESSAGES = PROJECT_ROOT / "tests" / "data" / "messages.yml"
FLOOR = {"r1": 0.92, "answered": 0.87, "wrong": 0.025, "oos": 0.94, "long": 0.88,
         "greet": 0.65, "style_r1": 0.86}  # fmt: skip
OLD_FLOOR = {"r1": 0.94, "r3": 0.98, "oos": 0.94, "in_fallback": 0.09, "wrong": 0.025}


@functools.cache
def messages(split: str | None = None) -> tuple[Message, ...]:
    """The labelled messages (of one split), read once per worker (~0.6 s a read)."""
    if split is not None:
        return tuple(x for x in messages() if x.split == split)
    return tuple(load_messages(MESSAGES))


@pytest.fixture(scope="module")
def kb(bundled_content):
    return bundled_content.knowledge  # loaded once per worker; a load with errors fails


def _predict(matcher):
    def predict(q: str) -> Prediction:
        intent = matcher.match_intent(q)
        if intent is not None:
            return Prediction(
                "greeting" if intent.action in ("greeting", "thanks") else "intent", ()
            )
        r = matcher.match(q)
        return Prediction(r.decision, tuple(m.id for m in r.matches), r.listed)

    return predict


@pytest.fixture(scope="module")
def styles(kb):
    items = messages("test")
    labels = [t for x in messages() for t in x.topics]
    return score_messages(items, _predict(kb.matcher), message_families(kb.topics, labels))


def _scores(kb, split):
    matcher = kb.matcher

    def predict(q):
        r = matcher.match(q)
        return ("clarify" if r.decision == "multi" else r.decision), [m.id for m in r.matches]

    return score(load_labelled(LABELLED, split), predict, families(kb.topics))


def test_message_set_shape():
    items = messages()
    assert len(items) >= 400
    assert {x.style for x in items} == set(STYLES)
    for style in STYLES:
        assert {x.split for x in items if x.style == style} == {"dev", "test"}, style
    assert sum(1 for x in items if x.style == "oos") >= 60
    assert sum(1 for x in items if x.style == "long") >= 60
    assert all(len(x.topics) >= 2 for x in items if x.style == "multi")
    assert len({x.q for x in items}) == len(items)


def test_message_labels_are_topics(kb):
    labels = {t for x in messages() for t in x.topics}
    assert labels <= set(kb.topics)


def test_messages_floor(styles):
    inn = styles["in-scope"]
    assert inn.rate("top") >= FLOOR["r1"], inn
    assert inn.rate("correct_answer") >= FLOOR["answered"], inn
    assert styles["all"].rate("wrong") <= FLOOR["wrong"], styles["all"]
    assert styles["oos"].rate("fallback") >= FLOOR["oos"], styles["oos"]
    assert styles["long"].rate("top") >= FLOOR["long"], styles["long"]
    assert styles["greet"].rate("greeting") >= FLOOR["greet"], styles["greet"]
    for style in ("dialect", "typo", "short", "figure", "proxy"):
        assert styles[style].rate("top") >= FLOOR["style_r1"], (style, styles[style])


def test_issue_targets(styles):
    assert styles["in-scope"].rate("top") >= 0.92
    assert styles["in-scope"].rate("correct_answer") >= 0.75
    assert styles["long"].rate("top") >= 0.85
    assert styles["oos"].rate("fallback") >= 0.93


@pytest.mark.xfail(strict=True, reason="issue #16 target not reached yet on the test split")
def test_issue_targets_not_yet_met(styles):
    assert styles["all"].rate("wrong") <= 0.01


def test_earlier_set_floor(kb):
    s = _scores(kb, "test")
    assert s.recall1 >= OLD_FLOOR["r1"], s
    assert s.recall3 >= OLD_FLOOR["r3"], s
    assert s.out_to_fallback >= OLD_FLOOR["oos"], s
    assert s.in_to_fallback <= OLD_FLOOR["in_fallback"], s
    assert s.wrong_answer_rate <= OLD_FLOOR["wrong"], s


def test_no_test_question_among_example_questions(kb):
    def norm(text):
        # Without the homophone repair: a slip that becomes an example's word is the point.
        return kb.matcher.normalize(text, skip=("homophones",))

    examples = {norm(q) for t in kb.topics.values() for q in t.questions}
    raw = {re.sub(r"\s+", "", q) for t in kb.topics.values() for q in t.questions}
    old = [x.q for x in load_labelled(LABELLED, "test")]
    # Very short messages (低保, 交医保) are naturally some topic's own words: only longer
    # ones must differ from the examples once normalised.
    new = [x.q for x in messages("test")]
    # Pinyin typed in letters becomes an example's words by design: compared as typed.
    new = [q for q in new if len(q) > 6 and not re.search(r"[a-z]", q)]
    leaked = [q for q in (*old, *new) if re.sub(r"\s+", "", q) in raw or norm(q) in examples]
    assert leaked == []


def test_every_decision_has_three_matches(kb):
    for x in messages("test")[:80]:
        r = kb.matcher.match(x.q)
        assert len(r.matches) >= 3
        assert [m.score for m in r.matches] == sorted((m.score for m in r.matches), reverse=True)
        if r.decision == "multi":
            assert 2 <= len(r.listed) <= 3
            assert set(r.listed) <= {m.id for m in r.matches}


def test_latency_is_small(kb):
    items = messages("dev")
    times = []
    for x in items:
        t = time.perf_counter()
        kb.matcher.match(x.q)
        times.append(time.perf_counter() - t)
    times.sort()
    # Generous bound (shared CI machines); bench/matching.py measures properly.
    assert times[len(times) // 2] < 0.005
