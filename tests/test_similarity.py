"""The pruned partial similarity (bot.knowledge.similarity) gives rapidfuzz's best, and the
intents are matched as by comparing every example in turn."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from bot.knowledge.decision import Settings
from bot.knowledge.matcher import INTENT_SKIP, Intent, Matcher, _bare
from bot.knowledge.normalize import Normalizer
from bot.knowledge.similarity import best_partial

# A small alphabet: many shared characters, repeats and ties, as in real questions.
CHARS = "低保申请补贴老人娃娃钱怎么办我想问一下有没有"
text = st.text(alphabet=CHARS, min_size=1, max_size=40)


def expected(query: str, choices: list[str]) -> float:
    if not choices:
        return 0.0
    hit = process.extractOne(query, choices, scorer=fuzz.partial_ratio)
    assert hit is not None
    return float(hit[1])


@settings(max_examples=300, deadline=None)
@given(text, st.lists(text, max_size=30))
def test_best_partial_is_the_best_partial_ratio(query: str, pool: list[str]) -> None:
    choices = sorted((c for c in pool if len(c) < len(query)), key=len)
    assert best_partial(query, choices) == expected(query, choices)


def test_best_partial_on_sentences() -> None:
    rng = random.Random(16)
    for _ in range(500):
        query = "".join(rng.choices(CHARS, k=rng.randint(8, 60)))
        pool = ["".join(rng.choices(CHARS, k=rng.randint(4, 30))) for _ in range(25)]
        choices = sorted((c for c in pool if len(c) < len(query)), key=len)
        assert best_partial(query, choices) == expected(query, choices)
    assert best_partial("低保怎么申请", []) == 0.0


# -- the non-policy intents (Matcher._one_intent: rapidfuzz's extractOne per form) -------

INTENT_CHARS = "你好谢谢在吗好的晓得了嗯哦啊"


def intent_by_loop(m: Matcher, text: str) -> Intent | None:
    """Every example compared with both forms in a loop, the first best kept."""
    norm = m.normalize(text, skip=INTENT_SKIP)
    if not norm or len(norm) > m.settings.intent_max_chars:
        return None
    forms = {norm, _bare(norm)} - {""}
    best, best_score = None, 0.0
    for intent, ex in m._intent_examples:
        if not ex:
            continue
        for form in forms:
            score = 1.0 if form == ex else fuzz.ratio(form, ex) / 100.0
            if score > best_score:
                best, best_score = intent, score
    if best_score >= m.settings.intent_min_score:
        return best
    return next(filter(None, (m._run_of_examples(form) for form in forms)), None)


def test_one_intent_is_the_first_best_example() -> None:
    rng = random.Random(16)

    def word(lo: int, hi: int) -> str:
        return "".join(rng.choices(INTENT_CHARS, k=rng.randint(lo, hi)))

    for least in (0.0, 0.5, 0.85, 1.0):
        for _ in range(20):
            # Shared examples and repeats: ties between intents and between the forms.
            pool = [word(1, 5) for _ in range(8)]
            intents = [
                Intent(f"i{n}", ("greeting", "thanks", "menu")[n % 3], tuple(rng.sample(pool, 4)))
                for n in range(4)
            ]
            m = Matcher([], intents, Normalizer(), Settings(intent_min_score=least))
            for _ in range(40):
                text = word(1, 9)
                assert m._one_intent(text) == intent_by_loop(m, text), (least, text)
