"""Question matching: character n-gram BM25 over topic fields, re-scored with
rapidfuzz against the topics' example questions, and a three-way decision.

Chinese is matched without word segmentation: unigrams and bigrams of the
normalised text. Candidate topics come from an inverted index over the query's
informative bigrams (a bigram found in most topics adds little and would make
long posting lists), then a short list is scored exactly:

- ``bm25``: the field-weighted BM25 score divided by the best score the query could
  reach (each of its n-grams at full weight), in [0, 1];
- ``coverage``: the IDF-weighted share of the query's n-grams found in the topic (an
  n-gram no topic has counts at the highest IDF), in [0, 1];
- ``fuzzy``: the best rapidfuzz similarity to one of the topic's example questions;
- ``overlap``: the best IDF-weighted Dice overlap of n-grams with one example question
  (like ``fuzzy`` but blind to word order, so "冬天没得棉被" meets "棉被过冬没得").

The final score mixes them with weights from ``intents/matching.yml``; the
thresholds there decide answer, clarify or fallback.

Out-of-scope groups (``intents/out_of_scope.yml``: everyday subjects the assistant does
not cover) are scored the same way, with the topics' statistics, but never returned as
matches: when the best of them, times ``oos_weight``, reaches the best topic's score, the
decision is fallback. That keeps "过年腊肉咋个熏" from a confident 春节 answer.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.knowledge.asking import Asking, Cues
from bot.knowledge.normalize import Normalizer, ngrams

FIELDS = ("title", "keywords", "questions", "summary", "body")
# Stages left out for intents: "你好" and "我要" matter there.
INTENT_SKIP = ("fillers", "stopwords")
# The knowledge base's own texts need no homophone repair (they are its reference).
DOC_SKIP = ("homophones",)
# Situation phrases are matched with the function words kept ("骗了", "偷了").
CUE_SKIP = ("stopwords",)


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
    # Finding the ask (intents/situations.yml): the asking clause of a longer message is
    # scored on its own and mixed in with this weight.
    ask_weight: float = 0.0
    ask_min_chars: int = 12  # shorter messages are all ask
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
    intent_min_score: float = 0.85
    intent_max_chars: int = 12


@dataclass(frozen=True)
class Query:
    """One query's n-grams with their weights (``items``: gram, weight, coverage weight)."""

    norm: str
    terms: dict[str, float]
    cover: dict[str, float]  # gram -> its weight in coverage (0 for neutral grams)
    best: float
    cov_total: float


@dataclass(frozen=True)
class Doc:
    """One indexed item: a topic (or an intent) as texts per field."""

    id: str
    title: str
    fields: dict[str, str]
    examples: tuple[str, ...]
    keywords: tuple[str, ...] = ()


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


class Index:
    """Field-weighted BM25 over character unigrams and bigrams (BM25F-like)."""

    def __init__(
        self,
        docs: Sequence[Doc],
        normalize: Normalizer,
        settings: Settings,
        negatives: Sequence[Doc] = (),
        cues: Cues | None = None,
        neutral: frozenset[str] = frozenset(),
    ) -> None:
        self.docs = list(docs)
        self.negatives = list(negatives)
        self.cues = cues
        # Bigrams that say where or how much, not what (place names): left out of coverage,
        # like every n-gram with a digit, so "宜宾低保1120够不够" is as covered as "低保够不够".
        self.neutral = neutral
        self.normalize = normalize
        self.settings = settings
        n = len(self.docs)
        # Slots 0..n-1 are the topics; slots from n on are the out-of-scope groups, which
        # are weighted with the topics' statistics but kept out of the postings.
        k1, b = settings.bm25_k1, settings.bm25_b
        tfs: list[dict[str, float]] = []
        lengths: list[float] = []
        self.examples: list[tuple[str, ...]] = []
        example_grams: list[list[frozenset[str]]] = []
        self.keywords: list[tuple[str, ...]] = []
        for doc in (*self.docs, *self.negatives):
            tf: dict[str, float] = defaultdict(float)
            length = 0.0
            for name, text in doc.fields.items():
                weight = settings.field_weights.get(name, 0.0)
                if not weight:
                    continue
                norm = normalize(text, skip=DOC_SKIP)
                uni, bi = ngrams(norm)
                for g in uni:
                    tf[g] += weight
                for g in bi:
                    tf[g] += weight
                length += weight * len(norm)
            tfs.append(tf)
            lengths.append(length)
            self.examples.append(
                tuple(e for e in (normalize(x, skip=DOC_SKIP) for x in doc.examples) if e)
            )
            example_grams.append([_gram_set(e) for e in self.examples[-1]])
            kws = {normalize(k, skip=DOC_SKIP) for k in doc.keywords}
            self.keywords.append(tuple(sorted((k for k in kws if len(k) >= 2), key=len)))
        avg = (sum(lengths[:n]) / n) if n else 1.0
        df: dict[str, int] = defaultdict(int)
        for tf in tfs[:n]:
            for g in tf:
                df[g] += 1
        self.n = n
        self.idf = {g: math.log(1 + (n - d + 0.5) / (d + 0.5)) for g, d in df.items()}
        self.idf_unseen = math.log(1 + (n + 0.5) / 0.5)
        self.weights: list[dict[str, float]] = []
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, tf in enumerate(tfs):
            norm_len = k1 * (1 - b + b * lengths[i] / avg) if avg else k1
            w = {
                g: self.idf.get(g, self.idf_unseen) * t * (k1 + 1) / (t + norm_len)
                for g, t in tf.items()
            }
            self.weights.append(w)
            if i >= n:
                continue
            for g, v in w.items():
                if len(g) == 2:
                    self.postings[g].append((i, v))
        self._df = df
        self.examples_by_len = []
        for exs in self.examples:
            ordered = sorted(exs, key=len)
            self.examples_by_len.append((ordered, [len(e) for e in ordered]))
        # Example questions as n-gram sets with their IDF mass, for the overlap feature.
        self.example_sets: list[tuple[tuple[frozenset[str], float], ...]] = [
            tuple((g, self._mass(g)) for g in sets) for sets in example_grams
        ]

    def _idf(self, gram: str) -> float:
        idf = self.idf.get(gram, self.idf_unseen)
        return idf if len(gram) == 2 else idf * self.settings.unigram_weight

    def _mass(self, grams: frozenset[str]) -> float:
        return sum(self._idf(g) for g in grams)

    def query_terms(self, norm: str, damp_groups: bool = False) -> dict[str, float]:
        """Query n-grams with their weights (repeats count once). With ``damp_groups``
        (a longer message), the bigrams of words naming a group weigh group_weight."""
        uni, bi = ngrams(norm)
        terms: dict[str, float] = {}
        for g in uni:
            terms[g] = self.settings.unigram_weight
        for g in bi:
            terms[g] = 1.0
        if damp_groups and self.cues is not None and self.settings.group_weight != 1.0:
            for g in self.cues.group_bigrams:
                if g in terms:
                    terms[g] = self.settings.group_weight
        return terms

    def candidates(self, terms: dict[str, float], limit: int) -> list[int]:
        """Topics sharing the query's rarest bigrams, within a budget of postings read,
        so that a query costs about the same on a large index."""
        budget = self.settings.candidate_budget
        grams = sorted((g for g in terms if g in self.postings), key=self._df.__getitem__)
        scores: dict[int, float] = defaultdict(float)
        read = 0
        postings = self.postings
        for g in grams:
            plist = postings[g]
            if read and read + len(plist) > budget:
                continue
            read += len(plist)
            qw = terms[g]
            for i, v in plist:
                scores[i] += qw * v
        if not scores and self.n * len(terms) <= budget:
            # Only single characters in common: a small index can afford to look at all.
            for i, w in enumerate(self.weights[: self.n]):
                for g in terms:
                    if g in w:
                        scores[i] += w[g]
        return heapq.nlargest(limit, scores, key=scores.__getitem__)

    def query(self, norm: str, terms: dict[str, float]) -> Query:
        """What one query's features need, worked out once for all the topics scored."""
        k1 = self.settings.bm25_k1
        neutral = self.neutral
        cover = {}
        best = cov_total = 0.0
        for g, qw in terms.items():
            idf = self.idf.get(g, self.idf_unseen)
            best += qw * idf * (k1 + 1)
            counts = not (g in neutral or g[0].isdigit() or g[-1].isdigit())
            cover[g] = qw * idf if counts else 0.0
            cov_total += cover[g]
        return Query(norm, terms, cover, best, cov_total)

    def features(
        self, norm: str, terms: dict[str, float], i: int, q: Query | None = None
    ) -> dict[str, float]:
        """The scores of one topic for one query, each in [0, 1]."""
        s = self.settings
        q = q or self.query(norm, terms)
        w = self.weights[i]
        bm = cov = 0.0
        terms, cover = q.terms, q.cover
        for g in terms.keys() & w.keys():  # the shared grams, intersected in C
            bm += terms[g] * w[g]
            cov += cover[g]
        ratio = partial = 0.0
        examples = self.examples[i]
        if s.w_fuzzy and examples:
            ratio = process.extractOne(norm, examples, scorer=fuzz.ratio)[1]
        if s.w_partial and len(norm) <= s.partial_max_chars:
            # Examples by length: those from partial_min_chars up to shorter than the query.
            by_len, lens = self.examples_by_len[i]
            shorter = by_len[bisect_left(lens, s.partial_min_chars) : bisect_left(lens, len(norm))]
            if shorter:
                partial = process.extractOne(norm, shorter, scorer=fuzz.partial_ratio)[1]
        overlap = 0.0
        if s.w_overlap:
            qset = _gram_set(norm)
            qmass = self._mass(qset)
            for eset, emass in self.example_sets[i]:
                shared = qset & eset
                if shared:
                    d = 2 * self._mass(shared) / (qmass + emass)
                    if d > overlap:
                        overlap = d
        kw = 0
        if s.w_keyword:
            for k in self.keywords[i]:
                if len(k) > kw and k in norm:
                    kw = len(k)
        return {
            "keyword": min(1.0, kw / 4),
            "bm25": bm / q.best if q.best else 0.0,
            "mass": bm / (bm + s.mass_half) if bm else 0.0,
            "coverage": cov / q.cov_total if q.cov_total else 0.0,
            "fuzzy": ratio / 100.0,
            "partial": partial / 100.0,
            "overlap": overlap,
        }

    def combine(self, f: dict[str, float]) -> float:
        s = self.settings
        return (
            s.w_bm25 * f["bm25"]
            + s.w_mass * f["mass"]
            + s.w_coverage * f["coverage"]
            + s.w_fuzzy * f["fuzzy"]
            + s.w_partial * f["partial"]
            + s.w_keyword * f["keyword"]
            + s.w_overlap * f["overlap"]
        )

    def shortlist(
        self, norm: str, k: int, damp_groups: bool = False
    ) -> tuple[dict[str, float], list[int]]:
        terms = self.query_terms(norm, damp_groups)
        ids = self.candidates(terms, max(self.settings.shortlist, k)) if terms else []
        if len(ids) < k:
            seen = set(ids)
            ids += [i for i in range(self.n) if i not in seen][: k - len(ids)]
        return terms, ids

    def cue_sums(self, cue_text: str, cue_ask: str) -> dict[int, float]:
        s = self.settings
        if self.cues is None or not s.w_cue:
            return {}
        return self.cues.sums(cue_text, cue_ask, s.ask_cue_weight, s.group_weight, s.ask_min_chars)

    def score(
        self, q: Query, qa: Query | None, cues: dict[int, float], i: int
    ) -> tuple[float, dict[str, float]]:
        """The final score of one slot (topic or out-of-scope group) and its features;
        ``qa`` is the asking clause."""
        s = self.settings
        f = self.features(q.norm, q.terms, i, q)
        total = self.combine(f)
        if qa is not None and s.ask_weight:
            fa = self.features(qa.norm, qa.terms, i, qa)
            total = (1 - s.ask_weight) * total + s.ask_weight * self.combine(fa)
            f = {**f, **{"ask_" + k: v for k, v in fa.items()}}
        raw = cues.get(i, 0.0)
        cue = 1 - math.exp(-raw / s.cue_half) if raw else 0.0
        f["cue"] = cue
        f["cue_sum"] = raw
        f["chars"] = float(len(q.norm))
        if s.w_cue:
            total = (total + s.w_cue * cue) / (1 + s.w_cue)
        return total, f

    def search(
        self,
        norm: str,
        k: int = 3,
        ask: str = "",
        cue_text: str = "",
        cue_ask: str = "",
        cues: tuple[dict[int, float], dict[int, float]] | None = None,
    ) -> list[Match]:
        """Best matches first; at least ``k`` when the index has that many docs.

        ``ask``: the normalised asking clause; ``cue_text``/``cue_ask``: the message and
        its asking clause normalised with function words kept, for the situation cues
        (the plain normalised texts when not given)."""
        if not self.docs:
            return []
        long = len(norm) >= self.settings.ask_min_chars
        terms = self.query_terms(norm, long)
        ask_terms = self.query_terms(ask, long) if ask else {}
        # One pass over the postings for both texts, the asking clause's grams counted
        # twice: the clause is part of the message.
        both = dict(terms)
        for g, v in ask_terms.items():
            both[g] = both.get(g, 0.0) + v
        limit = max(self.settings.shortlist, k) + (4 if ask else 0)
        ids = self.candidates(both, limit) if both else []
        if len(ids) < k:
            seen = set(ids)
            ids += [i for i in range(self.n) if i not in seen][: k - len(ids)]
        found, asked = cues or self.cue_pair(norm, ask, cue_text, cue_ask)
        if found:
            top = heapq.nlargest(4, (i for i in found if i < self.n), key=found.__getitem__)
            ids = list(dict.fromkeys([*ids, *top]))
        q = self.query(norm, terms)
        qa = self.query(ask, ask_terms) if ask else None
        out = []
        for i in ids:
            total, f = self.score(q, qa, found, i)
            f["ask_cue_sum"] = asked.get(i, 0.0)
            doc = self.docs[i]
            out.append(Match(doc.id, doc.title, round(total, 4), f))
        out.sort(key=lambda m: (-m.score, m.id))
        return out

    def cue_pair(
        self, norm: str, ask: str, cue_text: str, cue_ask: str
    ) -> tuple[dict[int, float], dict[int, float]]:
        """Cue weight per slot for the message, and for its asking clause alone (nothing
        without one: a short message)."""
        cues = self.cue_sums(cue_text or norm, cue_ask or ask)
        asked = self.cue_sums("", cue_ask or ask) if ask else {}
        return cues, asked

    def out_of_scope(
        self,
        norm: str,
        ask: str = "",
        cue_text: str = "",
        cue_ask: str = "",
        cues: tuple[dict[int, float], dict[int, float]] | None = None,
    ) -> float:
        """The best score of an out-of-scope group for this question (0 without any)."""
        if not self.negatives or not norm:
            return 0.0
        long = len(norm) >= self.settings.ask_min_chars
        terms = self.query_terms(norm, long)
        ask_terms = self.query_terms(ask, long) if ask else {}
        found = (cues or self.cue_pair(norm, ask, cue_text, cue_ask))[0]
        q = self.query(norm, terms)
        qa = self.query(ask, ask_terms) if ask else None
        bigrams = [g for g in terms if len(g) == 2] + [g for g in ask_terms if len(g) == 2]
        best = 0.0
        for j in range(len(self.negatives)):
            slot = self.n + j
            w = self.weights[slot]
            # A group sharing no bigram and no phrase with the question scores next to
            # nothing: not worth its rapidfuzz calls.
            if slot not in found and not any(g in w for g in bigrams):
                continue
            best = max(best, self.score(q, qa, found, slot)[0])
        return best


def _gram_set(text: str) -> frozenset[str]:
    uni, bi = ngrams(text)
    return frozenset((*uni, *bi))


def decide(matches: Sequence[Match], settings: Settings, out_of_scope: float = 0.0) -> str:
    return decide_needs(matches, settings, out_of_scope)[0]


def decide_needs(
    matches: Sequence[Match], settings: Settings, out_of_scope: float = 0.0, many: bool = False
) -> tuple[str, tuple[str, ...]]:
    """The decision, and for "multi" the topics of the needs found (best first).

    ``many``: the message asks for help in general (能申请哪些帮助); then two or more
    topics with strong situation cues make a list even when one of them leads. Otherwise
    a list needs each of its topics named in the asking clause itself: a story that
    mentions a child at school but asks for emergency money asks for one thing.
    """
    if not matches:
        return "fallback", ()
    s = settings
    s1 = matches[0].score
    if s.oos_weight and out_of_scope * s.oos_weight >= s1:
        return "fallback", ()
    top = matches[0].features
    if (
        s.thin_coverage
        and "ask_coverage" not in top
        and top.get("chars", 0.0) <= s.thin_max_chars
        and top.get("coverage", 1.0) < s.thin_coverage
        and top.get("cue_sum", 0.0) < s.thin_cue
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


@dataclass(frozen=True)
class Intent:
    id: str
    action: str  # greeting | thanks | menu | open:<item>
    examples: tuple[str, ...]


class Matcher:
    """Topics and non-policy intents, indexed once per content snapshot."""

    def __init__(
        self,
        docs: Sequence[Doc],
        intents: Sequence[Intent],
        normalize: Normalizer,
        settings: Settings,
        negatives: Sequence[Doc] = (),
        asking: Asking | None = None,
        cues: Cues | None = None,
        places: Sequence[str] = (),
    ) -> None:
        self.normalize = normalize
        self.settings = settings
        self.asking = asking
        self.places = tuple(places)
        neutral = frozenset(g for p in places for g in ngrams(normalize(p, skip=DOC_SKIP))[1])
        self.index = Index(docs, normalize, settings, negatives, cues, neutral)
        self.intents = list(intents)
        # Intents are compared without dropping filler words ("你好" is a greeting).
        self._intent_examples = [
            (intent, normalize(ex, skip=INTENT_SKIP))
            for intent in self.intents
            for ex in intent.examples
        ]

    def match(self, question: str, k: int = 3) -> Result:
        norm = self.normalize(question)
        if not norm:
            return Result(question, norm, "fallback", tuple(self._padding(k)))
        ask, ask_raw = self.ask_part(question, norm)
        cue_text = self.normalize(question, skip=CUE_SKIP)
        cue_ask = self.normalize(ask_raw, skip=CUE_SKIP) if ask else ""
        matches = self.index.search(norm, k, ask, cue_text, cue_ask)
        oos = (
            self.index.out_of_scope(norm, ask, cue_text, cue_ask)
            if self.settings.oos_weight
            else 0.0
        )
        many = self.asking is not None and self.asking.many_needs(question)
        decision, listed = decide_needs(matches, self.settings, oos, many)
        return Result(question, norm, decision, tuple(matches), listed)

    def ask_part(self, question: str, norm: str) -> tuple[str, str]:
        """The asking clause of a longer message, normalised and as written ('' when the
        message is all ask, or the clause says nothing of its own: 是啥子内容)."""
        if self.asking is None or len(norm) < self.settings.ask_min_chars:
            return "", ""
        part = self.asking.ask_part(self.normalize.prepare(question))
        ask = self.normalize(part) if part else ""
        if ask == norm or len(ask) < 2:
            return "", ""
        if len(ask) < 4:
            # A short clause counts only if it names something (救急钱), not for 是啥子内容.
            cues = self.index.cues
            if cues is None or not cues.scan(self.normalize(part, skip=CUE_SKIP)):
                return "", ""
        return ask, part

    def _padding(self, k: int) -> list[Match]:
        return [Match(d.id, d.title, 0.0) for d in self.index.docs[:k]]

    def match_intent(self, text: str) -> Intent | None:
        norm = self.normalize(text, skip=INTENT_SKIP)
        if not norm or len(norm) > self.settings.intent_max_chars:
            return None
        # "喂喂", "在不在嘛", "你好呀": repeats and trailing particles do not change the intent.
        forms = {norm, _bare(norm)} - {""}
        best, best_score = None, 0.0
        for intent, ex in self._intent_examples:
            if not ex:
                continue
            for form in forms:
                score = 1.0 if form == ex else fuzz.ratio(form, ex) / 100.0
                if score > best_score:
                    best, best_score = intent, score
        return best if best_score >= self.settings.intent_min_score else None


_PARTICLES = "嘛呀啊哦吧呢噻哈嘞哟咯啦"


def _bare(text: str) -> str:
    """Without trailing particles and with doubled characters written once."""
    text = text.rstrip(_PARTICLES)
    out: list[str] = []
    for ch in text:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)
