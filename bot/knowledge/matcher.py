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

Matching v2 adds (``bot.knowledge.asking``, ``intents/situations.yml``): the asking clause
of a longer message scored on its own and mixed in with ``ask_weight``; situation phrases
per topic as a "cue" feature, words naming a group weighing less in a longer message; a
multi-need list when a message names several needs; a fallback for a short message that
shares only one word with its best topic ("thin" evidence). The index and its features are
in ``bot.knowledge.index``, the decision in ``bot.knowledge.decision``; pinyin input and
homophone slips are repaired by the normaliser (``bot.knowledge.phonetic``).

Matching v2.1 (``needs``, ``everyday`` and ``generic`` in ``intents/situations.yml``): the
asking clause weighs less when it names nothing (``ask_ref``); bigrams that straddle two
known words and that nothing has are left out (``junctions``), and unseen ones weigh less in
coverage (``unseen_cover``); a message found only by everyday words without a word of need,
or naming an out-of-scope subject where it asks, falls back (``sense_check``,
``other_check``); how-to-apply and hotlines yield to a program the message names.

Matching v2.3: "only everyday words" means no topic phrase found is other than an
everyday word (电话 beside 申诉 keeps a message in scope); situation phrases are also found
with 的 inside (残疾人的补贴); a greeting or thanks of several clauses (好嘞，晓得了) is
that intent when every clause is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

from rapidfuzz import fuzz, process

from bot.knowledge.asking import Asking, Cues
from bot.knowledge.decision import Match, Result, Settings, decide, decide_needs
from bot.knowledge.index import CUE_SKIP, DOC_SKIP, INTENT_SKIP, Doc, Index, Query
from bot.knowledge.normalize import Normalizer, ngrams
from bot.knowledge.out_of_scope import out_of_scope
from bot.knowledge.scope import ScopeModel, fingerprint

__all__ = ["CUE_SKIP", "DOC_SKIP", "INTENT_SKIP", "Doc", "Index", "Intent", "Match",
           "Matcher", "Query", "Result", "Settings", "decide", "decide_needs"]  # fmt: skip

FIELDS = ("title", "keywords", "questions", "summary", "body")


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
        generic: Sequence[str] = (),
        scope: ScopeModel | None = None,
        compares: Sequence[str] = (),
    ) -> None:
        self.normalize = normalize
        self.scope = scope
        self.compares = tuple(c for c in compares if c)
        # What each topic's examples are now: the scope model judges only topics it knows.
        self._prints = {d.id: fingerprint(d.examples) for d in docs} if scope else {}
        self.settings = settings
        self.asking = asking
        self.places = tuple(places)
        normalize.warm(self.places, DOC_SKIP)  # at once, while the content loads
        normalize.warm((ex for intent in intents for ex in intent.examples), INTENT_SKIP)
        neutral = frozenset(g for p in places for g in ngrams(normalize(p, skip=DOC_SKIP))[1])
        self.generic = tuple(generic)
        normalize.warm(_indexed_texts((*docs, *negatives), settings), DOC_SKIP)
        self.index = Index(docs, normalize, settings, negatives, cues, neutral, frozenset(generic))
        self.intents = list(intents)
        # Intents are compared without dropping filler words ("你好" is a greeting).
        self._intent_examples = [
            (intent, normalize(ex, skip=INTENT_SKIP))
            for intent in self.intents
            for ex in intent.examples
        ]
        # Each intent's examples (2 characters or more) one or more times, longest first.
        self._runs = []
        for intent in self.intents:
            exs = {ex for i, ex in self._intent_examples if i is intent and len(ex) >= 2}
            if exs:
                alts = "|".join(map(re.escape, sorted(exs, key=len, reverse=True)))
                self._runs.append((intent, re.compile(f"(?:{alts})+")))

    @cached_property
    def _intent_choices(self) -> tuple[list[Intent], list[str]]:
        """The intents' non-empty examples, and the intent of each (for rapidfuzz)."""
        pairs = [(i, ex) for i, ex in self._intent_examples if ex]
        return [i for i, _ in pairs], [ex for _, ex in pairs]

    def match(self, question: str, k: int = 3) -> Result:
        norm = self.normalize(question)
        if not norm:
            return Result(question, norm, "fallback", tuple(self._padding(k)))
        ask, ask_raw = self.ask_part(question, norm)
        cue_text = self.normalize(question, skip=CUE_SKIP)
        cue_ask = self.normalize(ask_raw, skip=CUE_SKIP) if ask else ""
        index = self.index
        # Worked out once for the topics and the out-of-scope groups.
        queries = index.queries(norm, ask)
        cues = index.cue_pair(norm, ask, cue_text, cue_ask)
        matches = index.search(norm, k, ask, cue_text, cue_ask, cues, queries)
        ask_best = matches[0].features.get("ask_best", 0.0) if matches else 0.0
        oos = (
            out_of_scope(index, norm, ask, cue_text, cue_ask, cues, ask_best, queries)
            if self.settings.oos_weight
            else 0.0
        )
        many = self.asking is not None and self.asking.many_needs(question)
        in_scope = self.in_scope(norm, matches)
        decision, listed = decide_needs(matches, self.settings, oos, many, in_scope)
        named = self.compared(cue_text, matches) if decision in ("answer", "clarify") else ()
        if named:
            return Result(question, norm, "multi", tuple(matches), named, in_scope, True)
        return Result(question, norm, decision, tuple(matches), listed, in_scope)

    def compared(self, cue_text: str, matches: Sequence[Match]) -> tuple[str, ...]:
        """The programs a message asks to compare (低保和特困有什么区别): two or three topics
        each named by its own phrases, when the message has a word of difference."""
        least = self.settings.compare_plain
        if not least or not any(c in cue_text for c in self.compares):
            return ()
        named = tuple(m.id for m in matches if m.features.get("plain", 0.0) >= least)
        return named[:3] if len(named) >= 2 else ()

    @property
    def unjudged(self) -> list[str]:
        """The topics the scope model was not trained on as they are now (edited since)."""
        if self.scope is None:
            return []
        return [tid for tid, p in self._prints.items() if not self.scope.knows(tid, p)]

    def in_scope(self, norm: str, matches: Sequence[Match]) -> float | None:
        """The scope model's probability for the message, if it knows the best topic as it
        is now (None without a model, with the check off, or for an edited topic)."""
        if self.scope is None or not self.settings.scope_min or not matches:
            return None
        top = matches[0].id
        if not self.scope.knows(top, self._prints.get(top, "")):
            return None
        return self.scope.probability(norm)

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
        found = self._one_intent(text)
        if found is not None:
            return found
        # "好嘞，晓得了", "多谢多谢，帮了大忙了": every clause says the same kind of thing.
        clauses = [c for c in _CLAUSES.split(text) if c.strip()]
        if len(clauses) < 2:
            return None
        # Clause by clause, stopping at the first that is no intent or another kind.
        first = None
        for c in clauses:
            found = self._one_intent(c)
            if found is None or (first is not None and found.action != first.action):
                return None
            first = first or found
        return first

    def _one_intent(self, text: str) -> Intent | None:
        norm = self.normalize(text, skip=INTENT_SKIP)
        if not norm or len(norm) > self.settings.intent_max_chars:
            return None
        # "喂喂", "在不在嘛", "你好呀": repeats and trailing particles do not change the intent.
        forms = {norm, _bare(norm)} - {""}
        # The first example with the best similarity to either form (rapidfuzz's extractOne
        # keeps the first of equal scores), if it reaches intent_min_score.
        owners, examples = self._intent_choices
        least = self.settings.intent_min_score
        best, best_score = None, 0.0
        for form in forms:
            hit = process.extractOne(
                form, examples, scorer=fuzz.ratio, score_cutoff=max(0.0, least * 100 - _SLACK)
            )
            if hit is None:
                continue
            score = hit[1] / 100.0
            if score > best_score or (score == best_score and best is not None and hit[2] < best):
                best, best_score = hit[2], score
        if best_score >= least:
            return None if best is None else owners[best]
        # "好的晓得了": examples of one intent said one after the other.
        return next(filter(None, (self._run_of_examples(form) for form in forms)), None)

    def _run_of_examples(self, text: str) -> Intent | None:
        """The intent whose examples, one after the other, make up all of ``text``."""
        for intent, run in self._runs:
            if run.fullmatch(text):
                return intent
        return None


def _indexed_texts(docs: Sequence[Doc], settings: Settings) -> Iterator[str]:
    """The texts ``Index`` normalises (to be worked out at once while the content loads):
    the fields it weighs, the example questions and the keywords."""
    for doc in docs:
        yield from (t for f, t in doc.fields.items() if settings.field_weights.get(f, 0.0))
        yield from doc.examples
        yield from doc.keywords


# Rounding: a score this close to intent_min_score is compared all the same.
_SLACK = 1e-6
_PARTICLES = "嘛呀啊哦吧呢噻哈嘞哟咯啦"
_INTERJECTIONS = "嗯哦噢喔呃额唔"
_CLAUSES = re.compile(r"[，,。.！!？?、；;~～\s]+")


def _bare(text: str) -> str:
    """Without trailing particles, with doubled characters written once and a repeated
    phrase said once ("在吗在吗")."""
    for size in range(2, len(text) // 2 + 1):
        unit = text[:size]
        if len(text) % size == 0 and unit * (len(text) // size) == text:
            text = unit
            break
    text = text.rstrip(_PARTICLES).lstrip(_INTERJECTIONS) or text
    out: list[str] = []
    for ch in text:
        if not out or out[-1] != ch:
            out.append(ch)
    return "".join(out)
