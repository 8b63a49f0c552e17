"""Emergency triage: which emergency numbers a message calls for, if any.

The words and patterns are data (``intents/emergency.yml``, loaded by
``bot.safety.content``); this module only applies them. One message is normalised
(full-width to half-width, lower case, traditional to simplified characters, spaces
and punctuation dropped), then:

1. ``safe`` phrases (idioms such as 笑死, 急死; other senses such as 火锅, 烤火费) are
   cut out, so they can neither fire nor join their neighbours into a trigger;
2. each kind's ``words`` (plain substrings) and ``patterns`` (regular expressions) are
   searched; an occurrence right after a negation (没, 不是 ...) does not count;
3. a kind lists the ``contexts`` that calm it (a policy question, a past event, a
   story): when one of those context words is in the message and none of the ``now``
   words (救命, 起不来, 正在 ...) is, that kind's hits are dropped;
4. a kind's ``immediate`` words add its ``immediate_numbers`` (the crisis line gets
   110/120 when life is in immediate danger).

A pure function of the text: no state, no I/O, safe to call on every message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

_T2S: Callable[[str], str] | None
try:  # OpenCC converts traditional characters (著火, 煤氣) to simplified ones.
    import opencc

    _T2S = opencc.OpenCC("t2s").convert
except ImportError:  # pragma: no cover - the dependency is declared; be safe anyway
    _T2S = None

# Keep CJK ideographs, ASCII letters and digits; a cut safe phrase leaves "|".
_DROP = re.compile(r"[^0-9a-z|\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
SEPARATOR = "|"


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    if _T2S is not None:
        text = _T2S(text)
    return _DROP.sub("", text.replace(SEPARATOR, ""))


@dataclass(frozen=True)
class Kind:
    id: str
    numbers: tuple[str, ...]
    category: str = "other"  # the help request's category when one is started from here
    words: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    contexts: tuple[str, ...] = ()  # names of the context groups that calm this kind
    immediate: tuple[str, ...] = ()
    immediate_patterns: tuple[re.Pattern[str], ...] = ()
    immediate_numbers: tuple[str, ...] = ()
    # A kind that only stands in when no other kind fired (a bare 救命).
    fallback: bool = False
    emergency: bool = True  # False: urgent, but no emergency number (hunger, no shelter)


@dataclass(frozen=True)
class Verdict:
    kinds: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()  # emergency numbers first, the crisis line after
    immediate: bool = False
    hits: tuple[str, ...] = ()  # what fired, for the bench and tests (never logged)
    category: str = "other"  # of the first kind that fired

    @property
    def emergency(self) -> bool:
        return bool(self.numbers)

    @property
    def urgent(self) -> bool:
        return bool(self.kinds)


NOTHING = Verdict()


@dataclass
class Triage:
    kinds: list[Kind] = field(default_factory=list)
    safe: tuple[str, ...] = ()
    negations: tuple[str, ...] = ()
    now: tuple[str, ...] = ()
    contexts: dict[str, tuple[str, ...]] = field(default_factory=dict)
    number_order: tuple[str, ...] = ("119", "120", "110", "12356")

    def __post_init__(self) -> None:
        keys = sorted(set(self.safe), key=len, reverse=True)
        self._safe = re.compile("|".join(map(re.escape, keys))) if keys else None
        self._negations = tuple(sorted(set(self.negations), key=len, reverse=True))

    def classify(self, text: str) -> Verdict:
        t = normalize(text)
        if not t:
            return NOTHING
        if self._safe is not None:
            t = self._safe.sub(SEPARATOR, t)
        has_now = any(w in t for w in self.now)
        calm = {name for name, words in self.contexts.items() if any(w in t for w in words)}
        fired: list[Kind] = []
        hits: list[str] = []
        immediate = False
        for kind in self.kinds:
            found = self._find(kind.words, kind.patterns, t)
            if not found:
                continue
            if not has_now and calm.intersection(kind.contexts):
                continue
            fired.append(kind)
            hits.extend(found)
            if self._find(kind.immediate, kind.immediate_patterns, t):
                immediate = True
        if any(not k.fallback for k in fired):
            fired = [k for k in fired if not k.fallback]
        if not fired:
            return NOTHING
        numbers: list[str] = []
        for kind in fired:
            numbers.extend(kind.numbers)
            if immediate:
                numbers.extend(kind.immediate_numbers)
        ordered = sorted(
            dict.fromkeys(numbers),
            key=lambda n: self.number_order.index(n) if n in self.number_order else 99,
        )
        return Verdict(
            kinds=tuple(k.id for k in fired),
            numbers=tuple(ordered),
            immediate=immediate and bool(numbers),
            hits=tuple(hits),
            category=fired[0].category,
        )

    def _find(
        self, words: tuple[str, ...], patterns: tuple[re.Pattern[str], ...], t: str
    ) -> list[str]:
        found = []
        for w in words:
            start = t.find(w)
            while start >= 0:
                if not self._negated(t, start):
                    found.append(w)
                    break
                start = t.find(w, start + 1)
        for p in patterns:
            for m in p.finditer(t):
                if not self._negated(t, m.start()):
                    found.append(m.group(0))
                    break
        return found

    def _negated(self, t: str, start: int) -> bool:
        before = t[max(0, start - 4) : start]
        return any(before.endswith(n) for n in self._negations)
