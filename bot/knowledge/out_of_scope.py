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
    fas = index.ask_features(qa, slots)
    totals = {slot: index.combine(fa) for slot, fa in fas.items()}
    # The clause's weight as for the topics, or more when it names an everyday subject.
    share = index.ask_share(fas, topic_ask, totals) if fas else 0.0
    s = index.settings
    # Only the best score counts. The message's partial similarity (rapidfuzz, most of
    # the cost) is computed only for a group whose score could still beat the best so
    # far: its score with that similarity at its most is an upper bound, as the score
    # grows with it (weights >= 0, the clause's share at most 1).
    prune = s.w_partial >= 0 and s.w_cue >= 0 and (qa is None or 0 <= share <= 1)

    def score(slot: int, f: dict[str, float] | None = None) -> float:
        return index.score(q, qa, found, slot, fas.get(slot), share, False, totals.get(slot), f)[0]

    best = 0.0
    # The features with the message's partial similarity at its most (1), then the real one.
    bounded: list[tuple[float, int, dict[str, float]]] = []
    for slot in slots:
        if prune and index.partial_choices(q.norm, slot):
            f = index.features(q.norm, q.terms, slot, q, bound=True)
            bounded.append((score(slot, f), slot, f))
        else:
            best = max(best, score(slot))
    bounded.sort(key=lambda x: -x[0])
    for upper, slot, f in bounded:
        if upper <= best:
            break  # nor can any after it
        best = max(best, score(slot, {**f, "partial": index.partial(q.norm, slot)}))
    return best
