"""The gap report: questions the assistant could not answer (fallback, 都不是) or whose
answer got 没帮助, grouped so that phrasings of one need sit together.

Grouping is greedy: distinct normalised questions, most frequent first, each joins
the first group holding a similar one, else starts a group. Similar = rapidfuzz
ratio of the normalised texts, or the overlap of their character bigrams (word
order and small insertions change the ratio a lot in Chinese, the bigrams little).
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bot.calendar import CHINA_TZ

# Thresholds, checked on normalised phrasings (the normaliser drops fillers such as
# 怎么/咋个): 家里揭不开锅整 / 家里揭不开锅 (one need: ratio 0.92, bigram Dice 0.91),
# 低保申 / 申低保 (one need, other order: ratio 0.67, bigrams 0.5, characters 1.0)
# against 低保申 / 特困申 (two needs: 0.33, 0, 0.33) and 火车票买 / 飞机票买 (two needs:
# 0.5, 0.33, 0.5). Any one criterion at its threshold joins.
JOIN_RATIO = 0.85  # rapidfuzz ratio / 100 of the normalised texts (typos, a char more)
JOIN_BIGRAM_DICE = 0.7  # 2|A∩B| / (|A|+|B|) over character bigrams (small insertions)
JOIN_CHAR_DICE = 0.85  # the same over the sets of characters (word order changed)
# Questions this short share too few bigrams to tell needs apart: exact match only.
MIN_CHARS_FOR_FUZZY = 3
DEFAULT_DAYS = 30
MAX_ITEMS = 5000
MAX_PHRASINGS = 5

_DROP = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@dataclass(frozen=True)
class GapItem:
    text: str
    kind: str  # "fallback" (no answer, or 都不是) | "unhelpful" (没帮助)
    at: float
    candidates: tuple[str, ...] = ()  # topic ids the matcher offered, best first


@dataclass
class GapGroup:
    representative: str
    count: int = 0
    fallback: int = 0
    unhelpful: int = 0
    first: float = 0.0
    last: float = 0.0
    phrasings: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    norms: list[str] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "representative": self.representative,
            "count": self.count,
            "fallback": self.fallback,
            "unhelpful": self.unhelpful,
            "first": day(self.first),
            "last": day(self.last),
            "phrasings": self.phrasings,
            "candidates": self.candidates,
        }


def day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, CHINA_TZ).date().isoformat()


def default_normalize(text: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", text or "").lower())


def bigrams(text: str) -> set[str]:
    if len(text) < 2:
        return {text} if text else set()
    return {text[i : i + 2] for i in range(len(text) - 1)}


def similar(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < MIN_CHARS_FOR_FUZZY:
        return False
    if fuzz.ratio(a, b) / 100.0 >= JOIN_RATIO:
        return True
    ba, bb = bigrams(a), bigrams(b)
    if 2 * len(ba & bb) / (len(ba) + len(bb)) >= JOIN_BIGRAM_DICE:
        return True
    ca, cb = set(a), set(b)
    return 2 * len(ca & cb) / (len(ca) + len(cb)) >= JOIN_CHAR_DICE


def group_gaps(
    items: Iterable[GapItem], normalize: Callable[[str], str] | None = None
) -> list[GapGroup]:
    """Groups, biggest first (then most recent)."""
    normalize = normalize or default_normalize
    by_norm: dict[str, list[GapItem]] = {}
    for item in items:
        text = " ".join(item.text.split())
        if not text:
            continue
        norm = normalize(text) or default_normalize(text) or text
        by_norm.setdefault(norm, []).append(item)
    # Most frequent phrasing first, so each group is seeded by its commonest wording.
    order = sorted(by_norm, key=lambda n: (-len(by_norm[n]), -max(i.at for i in by_norm[n]), n))
    groups: list[GapGroup] = []
    for norm in order:
        target = next((g for g in groups if any(similar(norm, m) for m in g.norms)), None)
        members = by_norm[norm]
        if target is None:
            texts = Counter(" ".join(i.text.split()) for i in members)
            target = GapGroup(representative=texts.most_common(1)[0][0])
            target.first = min(i.at for i in members)
            target.last = max(i.at for i in members)
            groups.append(target)
        target.norms.append(norm)
        for item in members:
            target.count += 1
            if item.kind == "unhelpful":
                target.unhelpful += 1
            else:
                target.fallback += 1
            target.first = min(target.first, item.at)
            target.last = max(target.last, item.at)
            text = " ".join(item.text.split())
            if text not in target.phrasings and len(target.phrasings) < MAX_PHRASINGS:
                target.phrasings.append(text)
    for g in groups:
        votes: Counter[str] = Counter()
        for norm in g.norms:
            for item in by_norm[norm]:
                for rank, topic in enumerate(item.candidates[:3]):
                    votes[topic] += 3 - rank
        g.candidates = [t for t, _ in votes.most_common(3)]
    groups.sort(key=lambda g: (-g.count, -g.last))
    return groups


# -- reading the stored questions -------------------------------------------------


def items_from_records(records: Sequence[Any]) -> list[GapItem]:
    """GapItems from the knowledge store's QuestionRecords (bot.store.knowledge)."""
    out = []
    for r in records:
        kind = "unhelpful" if getattr(r, "feedback", None) == 0 else "fallback"
        cands = tuple(str(c[0]) for c in (getattr(r, "candidates", None) or []))
        out.append(GapItem(r.question, kind, float(r.asked_at), cands))
    return out


def since_timestamp(since: dt.date | None, now: float | None = None) -> float:
    if since is None:
        return (time.time() if now is None else now) - DEFAULT_DAYS * 86400
    return dt.datetime.combine(since, dt.time(), CHINA_TZ).timestamp()


async def load_gaps(store: Any, since: float, limit: int = MAX_ITEMS) -> list[GapItem]:
    return items_from_records(await store.knowledge.gaps(since, limit=limit))


async def gap_report(
    store: Any, since: float, normalize: Callable[[str], str] | None = None
) -> list[GapGroup]:
    return group_gaps(await load_gaps(store, since), normalize)
