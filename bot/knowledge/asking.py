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
- ``everyday``: words the topics share with everyday life in another sense (过年, 被子, 疫苗,
  电话 …; with every topic phrase that is also an out-of-scope keyword). Alone they do not
  make a request for help: "今年过年是几号", "电热毯开一晚上要多少电".
- ``needs``: words that make one (补贴, 救助, 申请, 政府, 困难, 交不起 …): with one of them, or
  with a phrase of the topic that is not an everyday word, a message asks for help.
- ``meanings``: out-of-scope phrases that only ask what a word means (是什么意思): with a
  policy named in full the message asks about the policy; any other out-of-scope subject
  where a message asks, without a word of need, sends it to fallback.
- ``generic``: topics about applying or calling in general (how-to-apply, hotlines): they
  yield to a program that the message names (医疗救助要带哪些材料 → 医疗救助).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.content import LineDict, Report, load_yaml_file
from bot.manifest import content_path

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


def _de_aliases(phrases: dict[str, list[int]]) -> list[tuple[str, str]]:
    """(phrase, the phrase with 的 between its words) for phrases of 4 or more characters,
    split after 2 or 3 of them and leaving 2 or more (残疾人补贴: 残疾的人补贴 is never
    typed and harms nothing, 残疾人的补贴 is). Not where the alias is a phrase itself."""
    out = []
    for p in phrases:
        if len(p) < 4 or "的" in p:
            continue
        for k in (2, 3):
            if len(p) - k >= 2:
                alias = p[:k] + "的" + p[k:]
                if alias not in phrases:
                    out.append((p, alias))
    return out


@dataclass(frozen=True)
class Reading:
    """What a message's phrases say beside the topic scores (see ``Cues.reading``)."""

    plain: dict[int, float]  # per slot: the weight of its phrases that are not everyday
    need: bool  # a word of need (补贴, 申请, 政府 …)
    named: frozenset[int]  # topics named by their own keyword
    other: bool  # an out-of-scope subject where the message asks
    asked_named: frozenset[int]  # topics named there by a keyword of other_named_chars
    covered: dict[int, float]  # per slot: the share of the message inside its phrases


@dataclass
class Cues:
    """Phrase -> the document slots it points to, with an IDF-like weight."""

    phrases: dict[str, list[int]] = field(default_factory=dict)
    weight: dict[str, float] = field(default_factory=dict)
    groups: frozenset[str] = frozenset()
    lengths: tuple[int, ...] = ()
    group_bigrams: frozenset[str] = frozenset()
    first: dict[str, tuple[int, ...]] = field(default_factory=dict)  # first char -> lengths
    everyday: frozenset[str] = frozenset()
    needs: tuple[str, ...] = ()
    named: dict[str, frozenset[int]] = field(default_factory=dict)  # keyword -> its slots
    meanings: frozenset[str] = frozenset()  # out-of-scope phrases that ask what a word means
    _spans: dict[str, list[tuple[int, str]]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(
        cls,
        per_slot: Sequence[Sequence[str]],
        groups: Sequence[str],
        everyday: Sequence[str] = (),
        needs: Sequence[str] = (),
        keywords: Sequence[Sequence[str]] = (),
        negatives: int = 0,
        meanings: Sequence[str] = (),
    ) -> Cues:
        """``per_slot``: the phrases of each slot (topics first, then the ``negatives``
        out-of-scope groups); ``keywords``: each topic's own keywords (a program named)."""
        phrases: dict[str, list[int]] = {}
        for slot, words in enumerate(per_slot):
            for w in set(words):
                if len(w) >= 2:
                    phrases.setdefault(w, []).append(slot)
        n = max(1, len(per_slot))
        weight = {p: math.log(1 + n / len(slots)) for p, slots in phrases.items()}
        bigrams = frozenset(g[i : i + 2] for g in groups for i in range(len(g) - 1))
        # A topic phrase that is also an out-of-scope keyword has an everyday sense too.
        topics = len(per_slot) - negatives
        shared = {
            p
            for p, slots in phrases.items()
            if any(i < topics for i in slots) and any(i >= topics for i in slots)
        }
        named: dict[str, set[int]] = {}
        for slot, words in enumerate(keywords):
            for w in words:
                if len(w) >= 2 and w not in shared and w not in everyday:
                    named.setdefault(w, set()).add(slot)
        # Said with 的 inside (残疾人的补贴, 低保的钱): the same phrase.
        everyday_set = frozenset(e for e in everyday if e)
        group_set = {g for g in groups if g}
        for p, alias in _de_aliases(phrases):
            if p in group_set:
                group_set.add(alias)
            phrases[alias] = phrases[p]
            weight[alias] = weight[p]
            if p in shared or p in everyday_set:
                shared.add(alias)
            if p in named:
                named[alias] = named[p]
        lengths = tuple(sorted({len(p) for p in phrases}, reverse=True))
        first: dict[str, set[int]] = {}
        for p in phrases:
            first.setdefault(p[0], set()).add(len(p))
        starts = {c: tuple(sorted(v, reverse=True)) for c, v in first.items()}
        return cls(
            phrases,
            weight,
            frozenset(group_set),
            lengths,
            bigrams,
            starts,
            everyday_set | shared,
            tuple(n for n in needs if n),
            {w: frozenset(v) for w, v in named.items()},
            frozenset(m for m in meanings if m),
        )

    @classmethod
    def empty(cls) -> Cues:
        return cls()

    def scan(self, text: str) -> list[str]:
        """The phrases found in a normalised text, longest first at each position."""
        return [p for _, p in self.spans(text)]

    def spans(self, text: str) -> list[tuple[int, str]]:
        """(start, phrase) of the phrases found in a text, longest first at each position
        (one message's texts are scanned several times: the last ones are remembered)."""
        hit = self._spans.get(text)
        if hit is None:
            if len(self._spans) > 64:
                self._spans.clear()
            hit = self._spans[text] = self._scan(text)
        return hit

    def _scan(self, text: str) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        i, n = 0, len(text)
        phrases, first = self.phrases, self.first
        while i < n - 1:
            for size in first.get(text[i], ()):
                if i + size <= n and text[i : i + size] in phrases:
                    out.append((i, text[i : i + size]))
                    i += size
                    break
            else:
                i += 1
        return out

    def junctions(self, text: str) -> frozenset[str]:
        """Bigrams that straddle the edge of a phrase found in the text ("低保钱": 保钱):
        made by two words side by side, they are not words of any topic."""
        found = self.spans(text)
        inner: set[str] = set()
        edges: set[str] = set()
        for i, p in found:
            inner.update(p[k : k + 2] for k in range(len(p) - 1))
            if i > 0:
                edges.add(text[i - 1 : i + 1])
            end = i + len(p)
            if end < len(text):
                edges.add(text[end - 1 : end + 1])
        return frozenset(edges - inner)

    def group_grams(self, text: str) -> frozenset[str]:
        """Bigrams of the words naming a group as found in the text (not those inside a
        longer phrase: 残疾人补贴 names a program, not who asks)."""
        groups: set[str] = set()
        other: set[str] = set()
        for _, p in self.spans(text):
            grams = {p[k : k + 2] for k in range(len(p) - 1)}
            (groups if p in self.groups else other).update(grams)
        return frozenset(groups - other)

    def sense(self, text: str) -> tuple[dict[int, float], bool]:
        """Per slot, the weight of its phrases found in the text that are not everyday
        words; and whether the text has a word of need (补贴, 申请, 政府 …)."""
        plain: dict[int, float] = {}
        for p in self.scan(text):
            if p in self.everyday:
                continue
            for slot in self.phrases[p]:
                plain[slot] = plain.get(slot, 0.0) + self.weight[p]
        return plain, any(n in text for n in self.needs)

    def reading(self, text: str, asked: str, first_other: int, named_chars: int) -> Reading:
        """The sense of a message (``text``) and of where it asks (``asked``); slots from
        ``first_other`` on are the out-of-scope groups."""
        plain, need = self.sense(text)
        found = {
            p for p in self.scan(asked) if any(slot >= first_other for slot in self.phrases[p])
        }
        # Only a question of meaning (是什么意思): a policy named in full is what it asks about.
        meaning_only = bool(found) and found <= self.meanings
        return Reading(
            plain,
            need,
            self.named_slots(text),
            bool(found),
            self.named_slots(asked, named_chars) if meaning_only else frozenset(),
            self.covered(text),
        )

    def covered(self, text: str) -> dict[int, float]:
        """Per slot, the share of the text's characters inside its phrases (救命钱: all)."""
        if not text:
            return {}
        chars: dict[int, int] = {}
        for _, p in self.spans(text):
            for slot in self.phrases[p]:
                chars[slot] = chars.get(slot, 0) + len(p)
        return {slot: n / len(text) for slot, n in chars.items()}

    def named_slots(self, text: str, min_chars: int = 2) -> frozenset[int]:
        """The topics whose own keyword (not an everyday word, at least ``min_chars``
        long) the text names."""
        out: set[int] = set()
        for p in self.scan(text):
            if len(p) >= min_chars:
                out.update(self.named.get(p, ()))
        return frozenset(out)

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
    everyday: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    generic: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    compares: tuple[str, ...] = ()


def load_situations(root: Path, report: Report, topic_ids: Sequence[str]) -> Situations:
    path = content_path(root, "situations")
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
    generic = words("generic")
    for tid in generic:
        if tid not in known:
            report.warning(path, data.line_of("generic"), f"unknown reference in generic: {tid!r}")
    generic = tuple(t for t in generic if t in known)
    return Situations(
        asking,
        words("groups"),
        topics,
        words("everyday"),
        words("needs"),
        generic,
        words("meanings"),
        words("compares"),
    )
