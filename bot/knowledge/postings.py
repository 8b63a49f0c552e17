"""The candidate search of ``bot.knowledge.index``: bigram -> the topics that have it and
their BM25 weights, and the topics sharing a query's rarest bigrams."""

from __future__ import annotations

import heapq
from array import array
from collections import defaultdict
from collections.abc import Sequence
from itertools import chain, compress, islice


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
            if qw == 1.0:  # most bigrams: the same sums without the products
                for i, v in zip(ids, values, strict=True):
                    acc[i] += v
            else:
                for i, v in zip(ids, values, strict=True):
                    acc[i] += qw * v
        if not reached:
            return self._fallback(terms, limit)
        score = acc.__getitem__
        every = chain.from_iterable  # the postings read, topic by topic
        order = None
        if read > 4 * limit:
            # Only topics scoring at least the limit-th best can be among the best. The
            # limit-th best of the first topics reached is at most that cut: the postings
            # of the topics below it are dropped before the topics are listed in the order
            # they were first reached, so that few are left to list and sort.
            first = sorted(map(score, dict.fromkeys(islice(every(reached), 4 * limit))))
            if len(first) >= limit:
                low = first[-limit]
                kept = compress(every(reached), map(low.__le__, map(score, every(reached))))
                order = list(dict.fromkeys(kept))
        if order is None:
            order = list(dict.fromkeys(every(reached)))
        if len(order) > limit:
            # nlargest over the topics scoring at least the cut (found by sorting in C)
            # picks the same, in order.
            cut = sorted(map(score, order), reverse=True)[limit - 1]
            order = list(compress(order, map(cut.__le__, map(score, order))))
        return heapq.nlargest(limit, order, key=score)

    def _fallback(self, terms: dict[str, float], limit: int) -> list[int]:
        """No bigram read: the topics sharing single characters, where the index is small."""
        scores: dict[int, float] = defaultdict(float)
        if len(self.weights) * len(terms) <= self.budget:
            # Only single characters in common: a small index can afford to look at all.
            for i, w in enumerate(self.weights):
                for g in terms:
                    if g in w:
                        scores[i] += w[g]
        return heapq.nlargest(limit, scores, key=scores.__getitem__)
