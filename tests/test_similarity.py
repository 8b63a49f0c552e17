"""The pruned partial similarity (bot.knowledge.similarity) gives rapidfuzz's best."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

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
