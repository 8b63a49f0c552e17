"""Pinyin input and homophone slips, with ``pypinyin``.

Residents type with pinyin keyboards and dictate to speech recognition: "dibao zenme
shenqing", 地宝 for 低保, 住学金 for 助学金, 零时 for 临时. Both are repaired against a
vocabulary of policy words (topic titles and keywords, the situation phrases of
``intents/situations.yml``):

- a run of Latin letters that parses as pinyin syllables becomes characters: the
  vocabulary word with those syllables where there is one, else the character of the
  knowledge base most often read with that syllable;
- a window of 2-6 characters that reads like a vocabulary word (toneless pinyin, with the
  Sichuan mergers zh/z, ch/c, sh/s, n/l, hu/fu, in/ing, en/eng) but is not itself found in
  the knowledge base becomes that word. A two-character window must read exactly like the
  word, or share one character with it when it only reads alike after the mergers.

Each character is read with its most common reading (pypinyin's single-character
dictionary, no phrase dictionary: it loads in a fifth of the time and reads both sides the
same way).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

# The phrase dictionary is large and slow to load; single characters are all we read.
os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")

from pypinyin import Style  # noqa: E402
from pypinyin.constants import PINYIN_DICT  # noqa: E402
from pypinyin.style import convert as convert_style  # noqa: E402

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[a-z]+(?:[\s']+[a-z]+)*")
MAX_WORD = 6


@lru_cache(maxsize=65536)
def reading(ch: str) -> str:
    """Toneless pinyin of one character ('' for anything else): what
    ``lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")`` says (tests/test_phonetic.py
    checks every character), read from its dictionary directly, without its segmentation
    and converters around one character: a content load reads some 1,500 characters,
    which took 30 ms through ``lazy_pinyin``."""
    if not _CJK.match(ch):
        return ""
    readings = PINYIN_DICT.get(ord(ch))
    if not readings:
        return ""
    return _toneless(readings.split(",")[0])


@lru_cache(maxsize=4096)
def _toneless(syllable: str) -> str:
    """A syllable as pypinyin's Style.NORMAL writes it (many characters share one)."""
    return convert_style(syllable, Style.NORMAL, True, default=syllable) or ""


@lru_cache(maxsize=65536)
def merged(syllable: str) -> str:
    """A syllable with the sounds Sichuan speakers (and their keyboards) merge."""
    s = syllable
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if s.startswith(a):
            s = b + s[2:]
            break
    if s.startswith("n"):
        s = "l" + s[1:]
    if s.startswith("hu"):
        s = "f" + s[1:]
    if s.endswith("ing"):
        s = s[:-1]
    elif s.endswith("eng"):
        s = s[:-1]
    return s


def _key(word: str) -> tuple[str, ...] | None:
    out = tuple(reading(ch) for ch in word)
    return out if all(out) else None


class Phonetic:
    def __init__(
        self, vocabulary: Iterable[str], corpus: Iterable[str], words: Iterable[str] = ()
    ) -> None:
        self.corpus = "\n".join(corpus)
        exact: dict[tuple[str, ...], set[str]] = {}
        fuzzy: dict[tuple[str, ...], set[str]] = {}
        for word in vocabulary:
            if not 2 <= len(word) <= MAX_WORD or not all(_CJK.match(c) for c in word):
                continue
            key = _key(word)
            if key is None:
                continue
            exact.setdefault(key, set()).add(word)
            fuzzy.setdefault(tuple(map(merged, key)), set()).add(word)
        # A reading shared by two different words says nothing: left out.
        self.exact = {k: next(iter(v)) for k, v in exact.items() if len(v) == 1}
        self.fuzzy = {k: next(iter(v)) for k, v in fuzzy.items() if len(v) == 1}
        self.lengths = sorted(
            {len(k) for k in self.exact} | {len(k) for k in self.fuzzy}, reverse=True
        )
        # First two syllables (merged) -> the word lengths starting with them, longest first:
        # most positions of a message start no policy word and are passed over at once.
        starts: dict[tuple[str, str], set[int]] = {}
        for key in (*self.exact, *self.fuzzy):
            starts.setdefault((merged(key[0]), merged(key[1])), set()).add(len(key))
        self.starts = {k: sorted(v, reverse=True) for k, v in starts.items()}
        # Bigrams inside known words (keywords, phrases, place names): a two-character window
        # is not repaired when it would break one of them at its edge ("成都地铁": 都地 reads
        # like 兜底, but 成都 is a word).
        self.bigrams = frozenset(w[k : k + 2] for w in words for k in range(len(w) - 1))
        self._cache: dict[str, str] = {}
        # Syllable -> the knowledge base's most frequent character with that reading.
        counts = Counter({c: k for c, k in Counter(self.corpus).items() if _CJK.match(c)})
        self.char_of: dict[str, str] = {}
        for ch, _n in counts.most_common():
            syl = reading(ch)
            if syl and syl not in self.char_of:
                self.char_of[syl] = ch
        self.syllables = frozenset(self.char_of)
        self.max_syllable = max(map(len, self.syllables), default=0)

    # -- Chinese homophones ---------------------------------------------------------

    def fix(self, text: str) -> str:
        if not self.exact or len(text) < 2:
            return text
        hit = self._cache.get(text)
        if hit is not None:
            return hit
        out = self._fix(text)
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[text] = out
        return out

    def _fix(self, text: str) -> str:
        keys = [reading(ch) for ch in text]
        sounds = [merged(k) for k in keys]
        # ends[i]: where the run of characters with a reading that holds i ends.
        n = len(text)
        ends = [n] * (n + 1)
        for j in range(n - 1, -1, -1):
            ends[j] = ends[j + 1] if keys[j] else j
        out: list[str] = []
        i = 0
        while i < n:
            done = False
            if keys[i] and i + 1 < n:
                for size in self.starts.get((sounds[i], sounds[i + 1]), ()):
                    if i + size > ends[i]:
                        continue
                    key = tuple(keys[i : i + size])
                    word = self.exact.get(key)
                    is_exact = word is not None
                    if word is None:
                        word = self.fuzzy.get(tuple(sounds[i : i + size]))
                    if word is None:
                        continue
                    original = text[i : i + size]
                    if word == original:
                        out.append(original)
                        i += size
                        done = True
                        break
                    if size == 2 and not is_exact and not set(word) & set(original):
                        continue
                    if size == 2 and (
                        (i > 0 and text[i - 1 : i + 1] in self.bigrams)
                        or (i + 2 < n and text[i + 1 : i + 3] in self.bigrams)
                    ):
                        continue
                    if original in self.corpus:
                        continue
                    out.append(word)
                    i += size
                    done = True
                    break
            if not done:
                out.append(text[i])
                i += 1
        return "".join(out)

    # -- pinyin typed in Latin letters ----------------------------------------------

    def split(self, run: str) -> list[str] | None:
        """The fewest pinyin syllables that spell ``run`` exactly, or None."""
        n = len(run)
        best: list[list[str] | None] = [None] * (n + 1)
        best[0] = []
        for i in range(n):
            if best[i] is None:
                continue
            here = best[i]
            if here is None:
                continue
            for j in range(min(n, i + self.max_syllable), i, -1):
                syl = run[i:j]
                if syl in self.syllables:
                    cand = [*here, syl]
                    there = best[j]
                    if there is None or len(cand) < len(there):
                        best[j] = cand
        return best[n]

    def latin(self, text: str) -> str:
        if not self.syllables:
            return text
        return _LATIN.sub(self._convert, text)

    def _convert(self, m: re.Match[str]) -> str:
        run = re.sub(r"[\s']+", "", m.group(0))
        syllables = self.split(run) if len(run) >= 4 else None
        if not syllables or len(syllables) < 2:
            return m.group(0)
        out: list[str] = []
        i, n = 0, len(syllables)
        while i < n:
            for size in self.lengths:
                if size > 1 and i + size <= n:
                    word = self.exact.get(tuple(syllables[i : i + size]))
                    if word is not None:
                        out.append(word)
                        i += size
                        break
            else:
                out.append(self.char_of.get(syllables[i], ""))
                i += 1
        return "".join(out)
