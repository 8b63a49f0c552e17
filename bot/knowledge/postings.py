"""The candidate search of ``bot.knowledge.index``: bigram -> the topics that have it and
their BM25 weights, and the topics sharing a query's rarest bigrams."""

from __future__ import annotations

import heapq
from array import array
from collections import defaultdict
from collections.abc import Sequence
from itertools import chain, compress


class Postings:
    """Bigram -> its topics and their weights, in topic order. Two flat arrays per bigram:
    on a large index the candidate search reads thousands of postings per query, and
    reading them from contiguous memory is several times faster than from tuples (even of
    shared int objects: made one topic at a time, they lie all over memory)."""

    def __init__(self, weights: Sequence[dict[str, float]], df: dict[str, int], budget: int):
        self.weights = list(weights)  # the topics' n-gram weights, slot by slot
        self.df = df
        self.budget = budget  # postings read per query
        # Filled straight into the arrays (no lists made to be copied and thrown away).
        self.table: dict[str, tuple[array[int], array[float]]] = {}
        table = self.table
        for i, w in enumerate(self.weights):
            for g, v in w.items():
                if len(g) == 2:
                    found = table.get(g)
                    if found is None:
                        table[g] = (array("l", (i,)), array("d", (v,)))
                    else:
                        found[0].append(i)
                        found[1].append(v)

    def candidates(self, terms: dict[str, float], limit: int) -> list[int]:
        """Topics sharing the query's rarest bigrams, within a budget of postings read,
        so that a query costs about the same on a large index."""
        budget = self.budget
        postings = self.table
        grams = sorted((g for g in terms if g in postings), key=self.df.__getitem__)
        # Each topic's score is summed in the order of the bigrams read; the topics are
        # ranked in the order they were first reached (which breaks ties, as nlargest does).
        acc = [0.0] * len(self.weights)
        read = 0
        reached: list[array[int]] = []
        for g in grams:
            ids, values = postings[g]
            if read and read + len(ids) > budget:
                continue
            read += len(ids)
            reached.append(ids)
            qw = terms[g]
            for i, v in zip(ids, values, strict=True):
                acc[i] += qw * v
        if reached:
            order = list(dict.fromkeys(chain.from_iterable(reached)))
            if len(order) > limit:
                # Only topics scoring at least the limit-th best can be among the best
                # (found by sorting in C); nlargest over them picks the same, in order.
                # The limit-th best of the first topics reached is at most that cut: the
                # topics below it are dropped first, so that few are left to sort.
                score = acc.__getitem__
                if len(order) > 4 * limit:
                    low = sorted(map(score, order[: 4 * limit]), reverse=True)[limit - 1]
                    order = list(compress(order, map(low.__le__, map(score, order))))
                cut = sorted(map(score, order), reverse=True)[limit - 1]
                order = list(compress(order, map(cut.__le__, map(score, order))))
            return heapq.nlargest(limit, order, key=acc.__getitem__)
        scores: dict[int, float] = defaultdict(float)
        if len(self.weights) * len(terms) <= budget:
            # Only single characters in common: a small index can afford to look at all.
            for i, w in enumerate(self.weights):
                for g in terms:
                    if g in w:
                        scores[i] += w[g]
        return heapq.nlargest(limit, scores, key=scores.__getitem__)
