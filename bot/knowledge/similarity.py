"""The partial similarity of ``bot.knowledge.index``: the best rapidfuzz ``partial_ratio``
of a query against a topic's example questions, with most of the comparisons skipped
where they cannot change the best.

``partial_ratio(query, example)`` with the example (m characters) shorter than the query
is the best ``ratio`` of the example against a substring of the query (k characters):
200 * lcs / (m + k), lcs being their longest common subsequence. That lcs is at most k
and at most L, the longest common subsequence of the example and the whole query, so the
score is at most 200 * L / (m + L) (for k >= L it falls with k, for k <= L it is at most
200 * k / (m + k)). L costs a fraction of a ``partial_ratio`` (one bit-parallel pass, the
query cached for all the examples): an example whose bound cannot beat the best score
found so far is not compared at all, and the maximum is the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

# Rounding: a bound this close to the best is compared all the same.
_SLACK = 1e-6


def best_partial(query: str, choices: Sequence[str]) -> float:
    """``process.extractOne(query, choices, scorer=fuzz.partial_ratio)[1]`` for choices
    all shorter than ``query``, shortest first (0 without choices)."""
    if not choices:
        return 0.0
    shortest = len(choices[0])
    best = 0.0
    # Longest common subsequences first (limit=None: all of them, best first).
    for choice, lcs, _ in process.extract(
        query, choices, scorer=LCSseq.similarity, limit=None, score_cutoff=1
    ):
        if 200.0 * lcs / (shortest + lcs) <= best - _SLACK:
            break  # nor can any after it: their lcs is at most this one's
        if 200.0 * lcs / (len(choice) + lcs) <= best - _SLACK:
            continue
        score = fuzz.partial_ratio(query, choice, score_cutoff=best)
        if score > best:
            best = score
            if best >= 100.0:
                break
    return best
