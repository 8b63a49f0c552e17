"""The out-of-scope check of ``bot.knowledge.matcher``: the best score of an everyday
subject's group (``intents/out_of_scope.yml``) for a message, scored like the topics with
their statistics, and with the costly similarity only where it could change the best."""

from __future__ import annotations

from bot.knowledge.index import Index, Query


def out_of_scope(
    index: Index,
    norm: str,
    ask: str = "",
    cue_text: str = "",
    cue_ask: str = "",
    cues: tuple[dict[int, float], dict[int, float]] | None = None,
    topic_ask: float = 0.0,
    queries: tuple[Query, Query | None] | None = None,
) -> float:
    """The best score of an out-of-scope group for this question (0 without any);
    ``topic_ask``: the best score of the asking clause among the topics."""
    if not index.negatives or not norm:
        return 0.0
    q, qa = queries or index.queries(norm, ask)
    terms = q.terms
    ask_terms = qa.terms if qa is not None else {}
    found = (cues or index.cue_pair(norm, ask, cue_text, cue_ask))[0]
    # A group sharing no bigram and no phrase with the question scores next to nothing:
    # not worth its rapidfuzz calls.
    grams = index.negative_grams
    shared = {slot for g in (*terms, *ask_terms) if g in grams for slot in grams[g]}
    slots = [slot for slot in range(index.n, index.n + len(index.negatives))
             if slot in found or slot in shared]  # fmt: skip
    s = index.settings
    # Only the best score counts, and a score grows with the partial similarities of the
    # message and of its asking clause (rapidfuzz, most of the cost) when the weights are
    # >= 0 and the clause's share is at most 1: its score with them at their most (1) is
    # an upper bound. They are computed only for a group whose bound could still beat the
    # best so far (for the clause, first for the best of its totals: the share needs it).
    grows = s.w_partial >= 0 and s.w_cue >= 0
    fas, totals, bounds = _clause(index, qa, slots, grows)
    # The clause's weight as for the topics, or more when it names an everyday subject.
    share = index.ask_share(fas, topic_ask, totals) if fas else 0.0
    prune = grows and (qa is None or 0 <= share <= 1)
    if not prune and qa is not None:
        for slot in bounds.keys() - fas.keys():
            fas[slot] = index.features(qa.norm, qa.terms, slot, qa)
            totals[slot] = index.combine(fas[slot])

    def score(slot: int, f: dict[str, float] | None = None) -> float:
        return index.score(q, qa, found, slot, fas.get(slot), share, False, totals.get(slot), f)[0]

    best = 0.0
    bounded: list[tuple[float, int, dict[str, float]]] = []
    for slot in slots:
        if prune and (index.partial_choices(q.norm, slot) or slot in bounds.keys() - fas.keys()):
            f = index.features(q.norm, q.terms, slot, q, bound=True)
            fa, total = bounds.get(slot, (None, None))
            upper = index.score(q, qa, found, slot, fa, share, False, total, f)[0]
            bounded.append((upper, slot, f))
        else:
            best = max(best, score(slot))
    bounded.sort(key=lambda x: -x[0])
    for upper, slot, f in bounded:
        if upper <= best:
            break  # nor can any after it
        if slot in bounds and slot not in fas and qa is not None:
            fas[slot] = index.features(qa.norm, qa.terms, slot, qa)
            totals[slot] = index.combine(fas[slot])
        best = max(best, score(slot, {**f, "partial": index.partial(q.norm, slot)}))
    return best


def _clause(
    index: Index, qa: Query | None, slots: list[int], grows: bool
) -> tuple[
    dict[int, dict[str, float]], dict[int, float], dict[int, tuple[dict[str, float], float]]
]:
    """The asking clause's features and their ``combine`` for the groups, exact for those
    that the best of them needs (all when the total does not grow with the partial
    similarity); and for every group (features, total), exact or with the clause's partial
    similarity at its most (1). Nothing without a clause."""
    if qa is None or not index.settings.ask_weight or not slots:
        return {}, {}, {}
    fas: dict[int, dict[str, float]] = {}
    totals: dict[int, float] = {}
    bounds: dict[int, tuple[dict[str, float], float]] = {}
    for slot in slots:
        exact = not grows or not index.partial_choices(qa.norm, slot)
        fa = index.features(qa.norm, qa.terms, slot, qa, bound=not exact)
        bounds[slot] = (fa, index.combine(fa))
        if exact:
            fas[slot], totals[slot] = bounds[slot]
    most = max(totals.values(), default=None)
    for slot in sorted(bounds.keys() - fas.keys(), key=lambda x: -bounds[x][1]):
        if most is not None and bounds[slot][1] <= most:
            break  # nor can any after it raise the best
        fa = index.features(qa.norm, qa.terms, slot, qa)
        fas[slot], totals[slot] = bounds[slot] = (fa, index.combine(fa))
        most = totals[slot] if most is None else max(most, totals[slot])
    return fas, totals, bounds
