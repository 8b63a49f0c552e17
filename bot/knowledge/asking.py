"""Finding the ask in a message, and the situation phrases that point to a topic.

Data in ``intents/situations.yml``:

- ``openers``: words that start the asking part of a long message (想问一下, 请问 …); the
  ask is the text from the last opener on. Without an opener, the last clause of a
  punctuated message that has an ask word (``asks``: 有没有, 能不能, 咋个, 好多钱 …), or
  the last clause; a long unpunctuated message (voice-to-text) ends with its ask, so its
  last ``tail_chars`` characters are taken.
- ``groups``: words that name a group of people (低保户, 五保户, 残疾人 …). Naming a group
  says who is asking, not what is asked, so in a longer message they weigh less.
- ``topics``: per topic id, phrases of situations and asks that point to it without policy
  words (被偷了, 房子烧了, 不公平, 每个月固定的钱 …). With the topics' own keywords they make
  the "cue" feature of the matcher.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.content import LineDict, Report, load_yaml_file

_CLAUSE = re.compile(r"[，。！？,.!?;；、\n…~～]+")


@dataclass
class Asking:
    openers: tuple[str, ...] = ()
    asks: tuple[str, ...] = ()
    tail_chars: int = 16
    multi: tuple[str, ...] = ()

    def many_needs(self, text: str) -> bool:
        """The message asks what help there is in general (能申请哪些帮助)."""
        return any(m in text for m in self.multi)

    def ask_part(self, text: str) -> str:
        """The asking part of a prepared (not yet normalised) message; '' if it is all ask."""
        text = text.strip()
        best = -1
        for op in self.openers:
            i = text.rfind(op)
            if i > best:
                best = i
        if best > 0:
            part = text[best:]
            if len(_CLAUSE.sub("", part)) >= 4:
                return part
        clauses = [c for c in _CLAUSE.split(text) if c.strip()]
        if len(clauses) >= 2:
            for c in reversed(clauses):
                if any(a in c for a in self.asks):
                    return c
            return clauses[-1]
        plain = _CLAUSE.sub("", text)
        if len(plain) > 2 * self.tail_chars:
            return plain[-self.tail_chars :]
        return ""


@dataclass
class Cues:
    """Phrase -> the document slots it points to, with an IDF-like weight."""

    phrases: dict[str, list[int]] = field(default_factory=dict)
    weight: dict[str, float] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    lengths: tuple[int, ...] = ()
    group_bigrams: frozenset[str] = frozenset()
    first: dict[str, tuple[int, ...]] = field(default_factory=dict)  # first char -> lengths

    @classmethod
    def build(cls, per_slot: Sequence[Sequence[str]], groups: Sequence[str]) -> Cues:
        phrases: dict[str, list[int]] = {}
        for slot, words in enumerate(per_slot):
            for w in set(words):
                if len(w) >= 2:
                    phrases.setdefault(w, []).append(slot)
        n = max(1, len(per_slot))
        weight = {p: math.log(1 + n / len(slots)) for p, slots in phrases.items()}
        lengths = tuple(sorted({len(p) for p in phrases}, reverse=True))
        bigrams = frozenset(g[i : i + 2] for g in groups for i in range(len(g) - 1))
        first: dict[str, set[int]] = {}
        for p in phrases:
            first.setdefault(p[0], set()).add(len(p))
        starts = {c: tuple(sorted(v, reverse=True)) for c, v in first.items()}
        return cls(phrases, weight, frozenset(g for g in groups if g), lengths, bigrams, starts)

    @classmethod
    def empty(cls) -> Cues:
        return cls()

    def scan(self, text: str) -> list[str]:
        """The phrases found in a normalised text, longest first at each position."""
        out: list[str] = []
        i, n = 0, len(text)
        phrases, first = self.phrases, self.first
        while i < n - 1:
            for size in first.get(text[i], ()):
                if i + size <= n and text[i : i + size] in phrases:
                    out.append(text[i : i + size])
                    i += size
                    break
            else:
                i += 1
        return out

    def sums(
        self, text: str, ask: str, ask_weight: float, group_weight: float, short: int
    ) -> dict[int, float]:
        found: dict[int, float] = {}
        damp = group_weight if len(text) > short else 1.0
        for part, mult in ((text, 1.0), (ask, ask_weight)):
            if not part or not mult:
                continue
            for p in self.scan(part):
                w = self.weight[p] * mult * (damp if p in self.groups else 1.0)
                for slot in self.phrases[p]:
                    found[slot] = found.get(slot, 0.0) + w
        return found


@dataclass
class Situations:
    asking: Asking
    groups: tuple[str, ...]
    topics: dict[str, tuple[str, ...]]


def load_situations(root: Path, report: Report, topic_ids: Sequence[str]) -> Situations:
    path = root / "intents" / "situations.yml"
    empty = Situations(Asking(), (), {})
    if not path.exists():
        return empty
    data = load_yaml_file(path, report)
    if data is None:
        return empty
    if not isinstance(data, LineDict):
        report.error(path, 1, "expected a mapping with openers, asks, groups and topics")
        return empty

    def words(key: str, value=None, line=None) -> tuple[str, ...]:
        value = data.get(key) if value is None else value
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            report.error(path, line or data.line_of(key), f"{key}: expected a list of words")
            return ()
        return tuple(v.strip() for v in value if v.strip())

    tail = data.get("tail_chars", 16)
    if not isinstance(tail, int) or isinstance(tail, bool) or not 4 <= tail <= 200:
        report.error(path, data.line_of("tail_chars"), "tail_chars: a whole number from 4 to 200")
        tail = 16
    topics: dict[str, tuple[str, ...]] = {}
    raw = data.get("topics") or {}
    if not isinstance(raw, dict):
        report.error(path, data.line_of("topics"), "topics: expected topic id: [phrases]")
        raw = {}
    known = set(topic_ids)
    for tid, phrases in raw.items():
        line = raw.line_of(tid) if isinstance(raw, LineDict) else data.line_of("topics")
        if tid not in known:
            # A warning: the topic may only be missing because its own file is broken.
            report.warning(path, line, f"unknown reference in topics: {tid!r} (phrases unused)")
            continue
        topics[str(tid)] = words(str(tid), phrases, line)
    asking = Asking(words("openers"), words("asks"), tail, words("multi"))
    return Situations(asking, words("groups"), topics)
