"""The character n-gram index of the topics and the out-of-scope groups, and the
features of one topic for one message (see ``bot.knowledge.matcher`` for the whole)."""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import add, mul

from rapidfuzz import fuzz, process

from bot.knowledge.asking import Cues
from bot.knowledge.decision import Match, Settings
from bot.knowledge.normalize import Normalizer, ngrams
from bot.knowledge.postings import Postings
from bot.knowledge.similarity import best_partial

# Stages left out for intents: "你好" and "我要" matter there.
INTENT_SKIP = ("fillers", "stopwords")
# The knowledge base's own texts need no homophone repair (they are its reference).
DOC_SKIP = ("homophones",)
# Situation phrases are matched with the function words kept ("骗了", "偷了").
CUE_SKIP = ("stopwords",)


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
        generic: frozenset[str] = frozenset(),
    ) -> None:
        self.docs = list(docs)
        self.negatives = list(negatives)
        self.cues = cues
        # Topics about applying or calling in general: they yield to a program named.
        self.generic = frozenset(i for i, d in enumerate(self.docs) if d.id in generic)
        # Bigrams that say where or how much, not what (place names): left out of coverage,
        # like every n-gram with a digit, so "宜宾低保1120够不够" is as covered as "低保够不够".
        self.neutral = neutral
        self.normalize = normalize
        self.settings = settings
        self._grams: dict[str, tuple[float, float | None]] = {}  # see ``_gram``
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
                for g in norm:  # the unigrams and bigrams of ``ngrams``, in its order
                    tf[g] += weight
                for g in map(add, norm, norm[1:]):
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
        counts: Counter[str] = Counter()
        for tf in tfs[:n]:
            counts.update(tf.keys())  # counted in C, in the same order
        df: dict[str, int] = defaultdict(int, counts)
        self.n = n
        log = math.log
        self.idf = {g: log(1 + (n - d + 0.5) / (d + 0.5)) for g, d in df.items()}
        self.idf_unseen = unseen = math.log(1 + (n + 0.5) / 0.5)
        self.weights: list[dict[str, float]] = []
        idf_get, k1_1 = self.idf.get, k1 + 1
        for i, tf in enumerate(tfs):
            norm_len = k1 * (1 - b + b * lengths[i] / avg) if avg else k1
            self.weights.append(
                {g: idf_get(g, unseen) * t * k1_1 / (t + norm_len) for g, t in tf.items()}
            )
        self.postings = Postings(self.weights[:n], df, settings.candidate_budget)
        # Bigrams of the out-of-scope groups (unseen in the topics, they are still words),
        # each with the slots of the groups that have it.
        self.negative_grams: dict[str, list[int]] = {}
        for slot in range(n, len(tfs)):
            for g in (g for g in tfs[slot] if len(g) == 2):
                self.negative_grams.setdefault(g, []).append(slot)
        self.examples_by_len = []
        for exs in self.examples:
            ordered = sorted(exs, key=len)
            self.examples_by_len.append((ordered, [len(e) for e in ordered]))
        # Example questions as n-gram sets with their IDF mass, for the overlap feature.
        uw = settings.unigram_weight  # each mass as ``_mass`` sums it, without its calls
        self.example_sets: list[tuple[tuple[frozenset[str], float], ...]] = [
            tuple(
                (g, sum(idf_get(x, unseen) if len(x) == 2 else idf_get(x, unseen) * uw for x in g))
                for g in sets
            )
            for sets in example_grams
        ]

    def _idf(self, gram: str) -> float:
        idf = self.idf.get(gram, self.idf_unseen)
        return idf if len(gram) == 2 else idf * self.settings.unigram_weight

    def _mass(self, grams: frozenset[str]) -> float:
        return sum(self._idf(g) for g in grams)

    def query_terms(self, norm: str, damp_groups: bool = False) -> dict[str, float]:
        """Query n-grams with their weights (repeats count once). With ``damp_groups``
        (a longer message), the bigrams of words naming a group weigh group_weight; with
        the ``junctions`` setting, bigrams straddling two known words are left out."""
        uni, bi = ngrams(norm)
        terms: dict[str, float] = {}
        for g in uni:
            terms[g] = self.settings.unigram_weight
        cues = self.cues
        skip = cues.junctions(norm) if cues is not None and self.settings.junctions else ()
        idf, other = self.idf, self.negative_grams
        for g in bi:
            # A junction bigram that some topic or group has is a compound (低保申请): kept.
            if g not in skip or g in idf or g in other:
                terms[g] = 1.0
        if damp_groups and cues is not None and self.settings.group_weight != 1.0:
            for g in cues.group_grams(norm):
                if g in terms:
                    terms[g] = self.settings.group_weight
        return terms

    def query(self, norm: str, terms: dict[str, float]) -> Query:
        """What one query's features need, worked out once for all the topics scored."""
        k1 = self.settings.bm25_k1
        grams = self._grams
        cover = {}
        best = cov_total = 0.0
        for g, qw in terms.items():
            known = grams.get(g)
            if known is None:
                known = self._gram(g)
            idf, cover_idf = known
            best += qw * idf * (k1 + 1)
            cover[g] = c = qw * cover_idf if cover_idf is not None else 0.0
            cov_total += c
        return Query(norm, terms, cover, best, cov_total)

    def _gram(self, g: str) -> tuple[float, float | None]:
        """A query n-gram's IDF and its weight in coverage (None: it does not count), the
        same for every query: remembered (up to _GRAMS of them)."""
        idf = cover = self.idf.get(g, self.idf_unseen)
        if g not in self.idf and g not in self.negative_grams:
            # A bigram no topic and no out-of-scope group has: mostly two words side by
            # side ("带些", "些证"), so it weighs unseen_cover of a word nobody has.
            cover *= self.settings.unseen_cover
        counts = not (g in self.neutral or g[0].isdigit() or g[-1].isdigit())
        if len(self._grams) >= _GRAMS:
            self._grams.clear()
        known = self._grams[g] = (idf, cover if counts else None)
        return known

    def queries(self, norm: str, ask: str = "") -> tuple[Query, Query | None]:
        """The message's query and its asking clause's (None without a clause)."""
        long = len(norm) >= self.settings.ask_min_chars
        q = self.query(norm, self.query_terms(norm, long))
        return q, (self.query(ask, self.query_terms(ask, long)) if ask else None)

    def partial_choices(self, norm: str, i: int) -> list[str]:
        """The example questions of slot ``i`` that ``norm`` is compared with by partial
        similarity: from partial_min_chars up to shorter than the query (none when the
        feature is off or the query is longer than partial_max_chars)."""
        s = self.settings
        if not s.w_partial or len(norm) > s.partial_max_chars:
            return []
        by_len, lens = self.examples_by_len[i]
        return by_len[bisect_left(lens, s.partial_min_chars) : bisect_left(lens, len(norm))]

    def partial(self, norm: str, i: int) -> float:
        """The ``partial`` feature of slot ``i`` for ``norm`` (see ``features``)."""
        return best_partial(norm, self.partial_choices(norm, i)) / 100.0

    def features(
        self,
        norm: str,
        terms: dict[str, float],
        i: int,
        q: Query | None = None,
        bound: bool = False,
    ) -> dict[str, float]:
        """The scores of one topic for one query, each in [0, 1]. With ``bound``, the
        partial similarity is not computed but taken at its most (1): a score from these
        features is an upper bound of the real one."""
        s = self.settings
        q = q or self.query(norm, terms)
        w = self.weights[i]
        terms, cover = q.terms, q.cover
        common = terms.keys() & w.keys()  # intersected in C, summed in C
        bm = sum(map(mul, map(terms.__getitem__, common), map(w.__getitem__, common)), 0.0)
        cov = sum(map(cover.__getitem__, common), 0.0)
        ratio = partial = 0.0
        examples = self.examples[i]
        if s.w_fuzzy and examples:
            ratio = process.extractOne(norm, examples, scorer=fuzz.ratio)[1]
        shorter = self.partial_choices(norm, i)
        if shorter:
            partial = 100.0 if bound else best_partial(norm, shorter)
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

    def cue_sums(self, cue_text: str, cue_ask: str) -> dict[int, float]:
        s = self.settings
        if self.cues is None or not s.w_cue:
            return {}
        return self.cues.sums(cue_text, cue_ask, s.ask_cue_weight, s.group_weight, s.ask_min_chars)

    def ask_features(self, qa: Query | None, ids: Sequence[int]) -> dict[int, dict[str, float]]:
        """The asking clause's features for each slot (none without a clause)."""
        if qa is None or not self.settings.ask_weight:
            return {}
        return {i: self.features(qa.norm, qa.terms, i, qa) for i in ids}

    def ask_share(
        self,
        fas: dict[int, dict[str, float]],
        ceiling: float = 0.0,
        totals: dict[int, float] | None = None,
    ) -> float:
        """The weight of the asking clause: ask_weight, less when the clause matches no
        slot well (想问一下政府能不能帮忙 says who to ask, the story says what).
        ``totals``: ``combine`` of each of ``fas``, when already worked out."""
        s = self.settings
        if not fas:
            return 0.0
        if not s.ask_ref:
            return s.ask_weight
        if totals is None:
            totals = {i: self.combine(fa) for i, fa in fas.items()}
        best = max(ceiling, max(totals.values()))
        return s.ask_weight * min(1.0, best / s.ask_ref)

    def score(
        self,
        q: Query,
        qa: Query | None,
        cues: dict[int, float],
        i: int,
        fa: dict[str, float] | None = None,
        share: float | None = None,
        bound: bool = False,
        fa_total: float | None = None,
        f: dict[str, float] | None = None,
    ) -> tuple[float, dict[str, float]]:
        """The final score of one slot (topic or out-of-scope group) and its features;
        ``qa`` is the asking clause, ``fa`` its features for this slot (``fa_total``: their
        ``combine``) and ``share`` its weight (ask_weight when not given); ``bound``: an
        upper bound of the score, the message's partial similarity taken at its most (see
        ``features``); ``f``: the message's features for this slot, when already worked
        out (not changed)."""
        s = self.settings
        f = dict(f) if f is not None else self.features(q.norm, q.terms, i, q, bound)
        total = self.combine(f)
        if qa is not None and s.ask_weight:
            fa = fa if fa is not None else self.features(qa.norm, qa.terms, i, qa)
            aw = s.ask_weight if share is None else share
            if fa_total is None:
                fa_total = self.combine(fa)
            total = (1 - aw) * total + aw * fa_total
            f.update(zip(_ASK_NAMES, fa.values(), strict=True))
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
        queries: tuple[Query, Query | None] | None = None,
    ) -> list[Match]:
        """Best matches first; at least ``k`` when the index has that many docs.

        ``ask``: the normalised asking clause; ``cue_text``/``cue_ask``: the message and
        its asking clause normalised with function words kept, for the situation cues
        (the plain normalised texts when not given); ``cues`` and ``queries``: their
        ``cue_pair`` and ``queries``, when already worked out for this message."""
        if not self.docs:
            return []
        q, qa = queries or self.queries(norm, ask)
        terms = q.terms
        ask_terms = qa.terms if qa is not None else {}
        # One pass over the postings for both texts, the asking clause's grams counted
        # twice: the clause is part of the message.
        both = dict(terms)
        for g, v in ask_terms.items():
            both[g] = both.get(g, 0.0) + v
        limit = max(self.settings.shortlist, k) + (4 if ask else 0)
        ids = self.postings.candidates(both, limit) if both else []
        if len(ids) < k:
            seen = set(ids)
            ids += [i for i in range(self.n) if i not in seen][: k - len(ids)]
        found, asked = cues or self.cue_pair(norm, ask, cue_text, cue_ask)
        if found:
            top = heapq.nlargest(4, (i for i in found if i < self.n), key=found.__getitem__)
            ids = list(dict.fromkeys([*ids, *top]))
        fas = self.ask_features(qa, ids)
        totals = {i: self.combine(fa) for i, fa in fas.items()}
        share = self.ask_share(fas, totals=totals)
        ask_best = max(totals.values(), default=0.0)
        # An out-of-scope subject named where the message asks (商品, 股市, 旅游 …).
        asked_text = (cue_ask or ask) if ask else (cue_text or norm)
        sense = (self.cues or Cues.empty()).reading(
            cue_text or norm, asked_text, self.n, self.settings.other_named_chars
        )
        plain, need, covered = sense.plain, sense.need, sense.covered
        yield_generic = any(j not in self.generic for j in sense.named)
        other, asked_named = float(sense.other), sense.asked_named
        # A phrase of any topic that is not an everyday word: the message is about help.
        plain_any = any(j < self.n for j in plain)
        out = []
        for i in ids:
            total, f = self.score(q, qa, found, i, fas.get(i), share, fa_total=totals.get(i))
            f["ask_cue_sum"] = asked.get(i, 0.0)
            f["ask_share"] = share
            f["ask_best"] = ask_best
            # The sense of the message for this topic: "need" (补贴, 申请, 政府 …), "plain"
            # (its phrases that are not everyday words); "everyday": its phrases are found,
            # but no topic's phrase other than everyday words is.
            f["need"] = float(need)
            f["plain"] = plain.get(i, 0.0)
            f["everyday"] = float(found.get(i, 0.0) > 0 and not plain_any)
            # ... unless the program is named there too (低保边缘家庭是啥意思).
            f["other"] = other and float(i not in asked_named)
            f["cue_cover"] = covered.get(i, 0.0)
            if self.settings.w_cue_cover:
                total = (total + self.settings.w_cue_cover * f["cue_cover"]) / (
                    1 + self.settings.w_cue_cover
                )
            if yield_generic and i in self.generic:
                total *= self.settings.generic_weight
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


# Query n-grams remembered with their IDF (``Index._gram``).
_GRAMS = 100_000
# The features' names (``Index.features``, in its order), as the asking clause's.
_ASK_NAMES = tuple(
    "ask_" + k for k in ("keyword", "bm25", "mass", "coverage", "fuzzy", "partial", "overlap")
)


def _gram_set(text: str) -> frozenset[str]:
    uni, bi = ngrams(text)
    return frozenset((*uni, *bi))
