"""The out-of-scope check (bot.knowledge.out_of_scope) computes the partial similarities of
a group, the message's and its asking clause's, only where they could change the best
score: it must give the best score of every group scored in full."""

from __future__ import annotations

import copy
import dataclasses
import random

import pytest
import yaml

from bot.config import PROJECT_ROOT
from bot.knowledge.matcher import CUE_SKIP, Matcher
from bot.knowledge.out_of_scope import out_of_scope


def best_of_all(m: Matcher, question: str) -> tuple[float, float]:
    """(out_of_scope's score, the best score of every group scored in full)."""
    index = m.index
    norm = m.normalize(question)
    ask, ask_raw = m.ask_part(question, norm)
    cue_text = m.normalize(question, skip=CUE_SKIP)
    cue_ask = m.normalize(ask_raw, skip=CUE_SKIP) if ask else ""
    queries = index.queries(norm, ask)
    cues = index.cue_pair(norm, ask, cue_text, cue_ask)
    matches = index.search(norm, 3, ask, cue_text, cue_ask, cues, queries)
    topic_ask = matches[0].features.get("ask_best", 0.0) if matches else 0.0
    pruned = out_of_scope(index, norm, ask, cue_text, cue_ask, cues, topic_ask, queries)
    q, qa = queries
    grams = index.negative_grams
    shared = {
        slot for g in (*q.terms, *(qa.terms if qa else ())) if g in grams for slot in grams[g]
    }
    slots = [
        s for s in range(index.n, index.n + len(index.negatives)) if s in cues[0] or s in shared
    ]
    fas = index.ask_features(qa, slots)
    totals = {slot: index.combine(fa) for slot, fa in fas.items()}
    share = index.ask_share(fas, topic_ask, totals) if fas else 0.0
    scores = [
        index.score(q, qa, cues[0], slot, fas.get(slot), share, False, totals.get(slot))[0]
        for slot in slots
    ]
    return pruned, max(scores, default=0.0)


def _questions() -> list[str]:
    data = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "messages.yml").read_text("utf-8"))
    return [d["q"] for d in data]


def test_the_out_of_scope_score_is_the_best_of_all_groups(bundled_content) -> None:
    m = bundled_content.knowledge.matcher
    for question in _questions():
        if norm := m.normalize(question):
            pruned, full = best_of_all(m, question)
            assert pruned == full, (question, norm)


@pytest.mark.parametrize("ask_ref", [0.4, 0.0, 2.0])
def test_the_bound_holds_on_random_messages(bundled_content, ask_ref: float) -> None:
    """Random stories made of the groups' and topics' own words, cut into clauses."""
    real = bundled_content.knowledge.matcher
    # Shallow copies of the matcher and its index with another ask_ref (no rebuild).
    m = copy.copy(real)
    m.index = copy.copy(real.index)
    m.settings = m.index.settings = dataclasses.replace(real.settings, ask_ref=ask_ref)
    words = [w for exs in m.index.examples for w in exs]
    rng = random.Random(16)
    for _ in range(150):
        parts = [rng.choice(words)[: rng.randint(2, 12)] for _ in range(rng.randint(1, 6))]
        question = "，".join(parts) + rng.choice(("", "？", "，有没得补助"))
        pruned, full = best_of_all(m, question)
        assert pruned == full, question
