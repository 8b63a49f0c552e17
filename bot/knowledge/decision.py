"""Matching settings, matches and the decision: answer, clarify, a multi-need list or
fallback (thresholds in ``intents/matching.yml``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Settings:
    field_weights: dict[str, float] = field(
        default_factory=lambda: {
            "title": 3.0,
            "keywords": 3.0,
            "questions": 2.0,
            "summary": 1.0,
            "body": 0.3,
        }
    )
    bm25_k1: float = 1.2
    bm25_b: float = 0.5
    unigram_weight: float = 0.3
    shortlist: int = 8
    candidate_budget: int = 4000  # postings read per query to find candidates
    partial_min_chars: int = 4  # example questions shorter than this skip partial matching
    partial_max_chars: int = 1000  # longer texts skip partial matching (it is slow on them)
    mass_half: float = 10.0  # raw BM25 score at which "mass" reaches 0.5
    w_bm25: float = 0.3
    w_mass: float = 0.0
    w_coverage: float = 0.4
    w_fuzzy: float = 0.3
    w_partial: float = 0.0
    w_keyword: float = 0.0
    w_overlap: float = 0.0
    answer_min: float = 0.45
    answer_gap: float = 0.08
    answer_lead: float = 1.0  # answer from clarify_min on when the best leads by this much
    clarify_min: float = 0.30
    clarify_window: float = 0.10
    oos_weight: float = 0.0  # 0 switches the out-of-scope check off
    # ... this weight instead for a message with a word of need and at least this much
    # weight of its best topic's own situation phrases (two of them: a hardship described,
    # 摔断了腿 … 一点钱都没有了 … 政府能不能帮一把, where 包工头 and 工地 are the story).
    oos_need_weight: float = 0.0  # 0: oos_weight for all
    oos_need_plain: float = 8.0
    # Finding the ask (intents/situations.yml): the asking clause of a longer message is
    # scored on its own and mixed in with this weight.
    ask_weight: float = 0.0
    ask_min_chars: int = 12  # shorter messages are all ask
    # The clause weighs less when its best score is below ask_ref (it names nothing). 0 = off.
    ask_ref: float = 0.0
    # Bigrams straddling two known words ("低保钱": 保钱) are left out of the query.
    junctions: bool = False
    # A message naming a program: the generic topics (how-to-apply, hotlines) weigh this much.
    generic_weight: float = 1.0
    # Words used in another sense: a message whose topic phrases are all everyday words
    # (过年, 被子, 疫苗, 走访) and that has no word of need goes to fallback.
    sense_check: bool = False
    sense_coverage: float = 1.0  # ... and covers less than this share of the message
    # A message that names an out-of-scope subject where it asks (the asking clause, or all
    # of a short message) and has no word of need: fallback (公租房小区的快递柜坏了).
    other_check: bool = False
    other_named_chars: int = 4  # ... unless it only asks what a policy named this long means
    # The share of a message inside the phrases of a topic, mixed into its score with this
    # weight, like the cue: final = (score + w_cue_cover * share) / (1 + w_cue_cover).
    w_cue_cover: float = 0.0
    # In coverage, a bigram found in no topic and no out-of-scope group weighs this much of
    # an unseen word's IDF (1 = as much).
    unseen_cover: float = 1.0
    # Situation and ask phrases per topic (with the topics' keywords): the "cue" feature.
    w_cue: float = 0.0
    cue_half: float = 3.0  # summed phrase weight at which cue reaches 1 - 1/e
    ask_cue_weight: float = 1.0  # extra weight of a phrase inside the asking clause
    group_weight: float = (
        1.0  # weight of a word naming a group (低保户, 残疾人) in a longer message
    )
    # Several needs in one message: the close topics that each have this much cue are listed.
    multi_cue: float = 0.0  # 0 switches the multi-need list off
    multi_window: float = 0.1
    # Thin evidence: a short message (no asking clause of its own) whose best topic covers
    # less than thin_coverage of it and has less situation-cue weight than thin_cue shares
    # one word with the topic and nothing else (冬天皮肤干怎么办): fallback. 0 = off.
    thin_coverage: float = 0.0
    thin_cue: float = 0.0
    thin_max_chars: int = 32  # longer messages are never "thin"
    # The scope model (intents/scope_model.json, bot.knowledge.scope): fallback when its
    # probability that the message is in scope is below this. 0 = off.
    scope_min: float = 0.0
    # A message asking how programs differ (``compares`` in intents/situations.yml): the
    # topics with at least this weight of their own phrases are listed to compare. 0 = off.
    compare_plain: float = 0.0
    intent_min_score: float = 0.85
    intent_max_chars: int = 12


@dataclass(frozen=True)
class Match:
    id: str
    title: str
    score: float
    features: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Result:
    question: str
    normalized: str
    decision: str  # "answer" | "clarify" | "multi" | "fallback"
    matches: tuple[Match, ...]  # best first
    listed: tuple[str, ...] = ()  # decision "multi": the topics of the needs found, best first
    in_scope: float | None = None  # the scope model's probability (None: not asked)
    compare: bool = False  # decision "multi": the message asks how the listed programs differ

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def candidates(self, settings: Settings, limit: int = 3) -> list[Match]:
        """The close candidates offered when clarifying (2 or 3)."""
        if not self.matches:
            return []
        top = self.matches[0].score
        close = [m for m in self.matches[:limit] if top - m.score <= settings.clarify_window]
        return close if len(close) >= 2 else list(self.matches[:2])


def decide(matches: Sequence[Match], settings: Settings, out_of_scope: float = 0.0) -> str:
    return decide_needs(matches, settings, out_of_scope)[0]


def decide_needs(
    matches: Sequence[Match],
    settings: Settings,
    out_of_scope: float = 0.0,
    many: bool = False,
    in_scope: float | None = None,
) -> tuple[str, tuple[str, ...]]:
    """The decision, and for "multi" the topics of the needs found (best first).

    ``in_scope``: the scope model's probability that the message is in scope (None: no
    model, or it does not know the best topic as it is now).
    ``many``: the message asks for help in general (能申请哪些帮助); then two or more
    topics with strong situation cues make a list even when one of them leads. Otherwise
    a list needs each of its topics named in the asking clause itself: a story that
    mentions a child at school but asks for emergency money asks for one thing.
    """
    if not matches:
        return "fallback", ()
    s = settings
    s1 = matches[0].score
    top = matches[0].features
    oos_weight = s.oos_weight
    if s.oos_need_weight and top.get("need", 0.0) and top.get("plain", 0.0) >= s.oos_need_plain:
        oos_weight = s.oos_need_weight
    if s.oos_weight and out_of_scope * oos_weight >= s1:
        return "fallback", ()
    if s.scope_min and in_scope is not None and in_scope < s.scope_min:
        return "fallback", ()
    if s.other_check and top.get("other", 0.0) and not top.get("need", 0.0):
        return "fallback", ()
    if (
        s.sense_check
        and top.get("everyday", 0.0)
        and not top.get("need", 0.0)
        and top.get("coverage", 0.0) < s.sense_coverage
    ):
        return "fallback", ()
    if (
        s.thin_coverage
        and "ask_coverage" not in top
        and top.get("chars", 0.0) <= s.thin_max_chars
        and top.get("coverage", 1.0) < s.thin_coverage
        and top.get("cue_sum", 0.0) < s.thin_cue
        and not (s.sense_check and top.get("plain", 0.0))
    ):
        return "fallback", ()
    s2 = matches[1].score if len(matches) > 1 else 0.0
    clear = (s1 >= s.answer_min and s1 - s2 >= s.answer_gap) or (
        s1 >= s.clarify_min and s1 - s2 >= s.answer_lead
    )
    if s.multi_cue and s1 >= s.clarify_min and (many or not clear):
        needs = tuple(
            m.id
            for m in matches[:3]
            if s1 - m.score <= s.multi_window
            and m.features.get("cue_sum", 0.0) >= s.multi_cue
            and (many or m.features.get("ask_cue_sum", 0.0) > 0)
        )
        if len(needs) >= 2:
            return "multi", needs
    if clear:
        return "answer", ()
    if s1 >= s.clarify_min:
        return "clarify", ()
    return "fallback", ()
