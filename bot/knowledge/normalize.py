"""Question normalisation, driven by ``intents/normalize.yml``.

Order: NFKC (full-width to half-width), lower case, traditional to simplified
characters (OpenCC t2s), pinyin typed in Latin letters to characters, drop
punctuation/emoji/spaces, homophone slips of policy words repaired (both with pypinyin,
see ``bot.knowledge.phonetic``; only once the knowledge base is known), then each phrase
stage (miswritings, dialect, synonyms, fillers) as one longest-first pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import opencc

from bot.content import LineDict, Report, load_yaml_file
from bot.manifest import content_path

if TYPE_CHECKING:
    from bot.knowledge.phonetic import Phonetic

# Keep CJK ideographs, ASCII letters and digits; everything else (punctuation, emoji,
# spaces, symbols) is dropped.
_DROP = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


@dataclass
class Stage:
    name: str
    mapping: dict[str, str]
    pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        keys = sorted((k for k in self.mapping if k), key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, keys))) if keys else None

    def apply(self, text: str) -> str:
        if self.pattern is None:
            return text
        return self.pattern.sub(lambda m: self.mapping[m.group(0)], text)


_T2S = opencc.OpenCC("t2s")


# Texts up to this long are remembered with their forms (see ``Normalizer.__call__``).
_REMEMBER_CHARS = 400
_REMEMBER_TEXTS = 128
# Texts simplified (``Normalizer._chars``) are remembered up to this many characters in all.
_SIMPLIFIED_CHARS = 1_000_000


class Normalizer:
    def __init__(self, chars: Mapping[str, str] | None = None, stages: Iterable[Stage] = ()):
        self.table = str.maketrans(dict(chars or {}))
        self.stages = list(stages)
        self._phonetic: Phonetic | None = None
        # One message is normalised several times (as a question, with the function words
        # kept for the situation cues, for the intents, its asking clause): the last texts
        # are remembered prepared, and with each run of stages applied so far.
        self._prepared: dict[str, str] = {}
        self._forms: dict[tuple[str, bool], dict[tuple[bool, ...], str]] = {}
        self._simplified: dict[str, str] = {}
        self._simplified_chars = 0
        self._remember = _REMEMBER_TEXTS  # see ``remembering``
        self._runs: dict[tuple[str, ...], tuple[tuple[bool, ...], ...]] = {}  # see _runs_for

    @property
    def phonetic(self) -> Phonetic | None:
        """Pinyin input and homophone repair: set once the knowledge base is known."""
        return self._phonetic

    @phonetic.setter
    def phonetic(self, value: Phonetic | None) -> None:
        prepared, forms = self._prepared, self._forms
        self._phonetic = value
        self._prepared, self._forms = {}, {}
        # Forms without the homophone repair follow from the prepared text alone: those of
        # a text prepared as before (no Latin letters read as pinyin now: nearly all) stay.
        # The knowledge base's examples are read before the repair is set up and after.
        for key, known in forms.items():
            text, fix = key
            before = prepared.get(text)
            if not fix and before is not None and before == self.prepare(text):
                self._forms[key] = known

    @contextmanager
    def remembering(self) -> Iterator[None]:
        """While the index is built: every text is remembered with its forms, not only the
        last few (the knowledge base's texts are read several times over, with different
        stages skipped: its keywords alone five times). Forgotten afterwards, so that
        messages are remembered as before (the last few)."""
        before = self._remember
        self._remember = 1 << 62
        try:
            yield
        finally:
            self._remember = before
            if before == _REMEMBER_TEXTS:
                self._prepared.clear()
                self._forms.clear()

    def prepare(self, text: str) -> str:
        """Width, case, simplified characters, pinyin to characters; punctuation kept."""
        text = text or ""
        hit = self._prepared.get(text)
        if hit is not None:
            return hit
        out = self._chars(text)
        if self._phonetic is not None:
            out = self._phonetic.latin(out)
        if len(text) <= _REMEMBER_CHARS:
            if len(self._prepared) >= self._remember:
                self._prepared.clear()
            self._prepared[text] = out
        return out

    def _chars(self, text: str) -> str:
        """Width, case and simplified characters (not pinyin: known only later), kept for
        many texts: building the index reads every text of the knowledge base twice, once
        before the pinyin repair is set up and once after."""
        hit = self._simplified.get(text)
        if hit is not None:
            return hit
        out = _T2S.convert(unicodedata.normalize("NFKC", text).lower())
        if self.table:  # most contents add no pairs of their own
            out = out.translate(self.table)
        if self._simplified_chars + len(text) > _SIMPLIFIED_CHARS:
            self._simplified.clear()
            self._simplified_chars = 0
        self._simplified[text] = out
        self._simplified_chars += len(text)
        return out

    def __call__(self, text: str, skip: tuple[str, ...] = ()) -> str:
        fix = self._phonetic is not None and "homophones" not in skip
        runs = self._runs.get(skip) if type(skip) is tuple else None
        if runs is None:
            runs = self._runs_for(skip)
        applied = runs[-1]
        forms = self._forms.get((text, fix))
        if forms is None:
            forms = {}
            if len(text or "") <= _REMEMBER_CHARS:
                if len(self._forms) >= self._remember:
                    self._forms.clear()
                self._forms[(text, fix)] = forms
        else:
            hit = forms.get(applied)
            if hit is not None:
                return hit
        # The longest run of the same stages already applied to this text, then the rest.
        done = len(applied)
        while done and runs[done] not in forms:
            done -= 1
        if done:
            out = forms[runs[done]]
        else:
            out = _DROP.sub("", self.prepare(text))
            if fix:
                assert self._phonetic is not None
                out = self._phonetic.fix(out)
        for j in range(done, len(applied)):
            if applied[j]:
                out = self.stages[j].apply(out)
            forms[runs[j + 1]] = out
        return out

    def warm(self, texts: Iterable[str], skip: tuple[str, ...] = ()) -> None:
        """While remembering (``remembering``): work out at once the forms that calling
        for each text with ``skip`` would, the same, for the texts not seen yet. Each stage
        runs once over all of them joined by newlines: no phrase of a stage holds one (they
        are letters, digits and characters), none is left in a text by then (punctuation
        is dropped first), and no replacement makes one, so no phrase is found across two
        texts and each comes out as it would alone (a fifth of the content load was one
        stage after the other on one short text after the other)."""
        if self._remember == _REMEMBER_TEXTS or any(
            "\n" in k or "\n" in v for stage in self.stages for k, v in stage.mapping.items()
        ):
            return
        fix = self._phonetic is not None and "homophones" not in skip
        runs = self._runs_for(tuple(skip))
        applied = runs[-1]
        todo = [
            t
            for t in dict.fromkeys(texts)
            if len(t or "") <= _REMEMBER_CHARS and (t, fix) not in self._forms
        ]
        if not todo or not any(applied):
            return
        outs = [_DROP.sub("", self.prepare(t)) for t in todo]
        if fix:
            assert self._phonetic is not None
            outs = [self._phonetic.fix(out) for out in outs]
        forms: list[dict[tuple[bool, ...], str]] = [{} for _ in todo]
        joined = "\n".join(outs)
        for j, stage in enumerate(self.stages):
            if applied[j]:
                joined = stage.apply(joined)
                outs = joined.split("\n")
            for known, out in zip(forms, outs, strict=True):
                known[runs[j + 1]] = out
        for t, known in zip(todo, forms, strict=True):
            self._forms[(t, fix)] = known

    def _runs_for(self, skip: Iterable[str]) -> tuple[tuple[bool, ...], ...]:
        """Which stages run with ``skip`` (the last item), and each run of them from the
        first (the keys of a text's forms), made once for each ``skip``."""
        applied = tuple(stage.name not in skip for stage in self.stages)
        runs = tuple(applied[:j] for j in range(len(applied) + 1))
        if type(skip) is tuple:
            self._runs[skip] = runs
        return runs

    def words(self) -> set[str]:
        """Every phrase and replacement of the stages (words residents really use)."""
        out: set[str] = set()
        for stage in self.stages:
            out.update(stage.mapping)
            out.update(v for v in stage.mapping.values() if v)
        return out


def load_normalizer(root: Path, report: Report) -> Normalizer:
    path = content_path(root, "normalize")
    if not path.exists():
        report.error(path, 1, "missing: the normalisation maps")
        return Normalizer()
    data = load_yaml_file(path, report)
    if data is None:
        return Normalizer()
    if not isinstance(data, LineDict):
        report.error(path, 1, "expected a mapping with 'traditional' and 'stages'")
        return Normalizer()
    # OpenCC converts traditional characters; ``traditional`` may add pairs it lacks.
    chars: dict[str, str] = {}
    pairs = data.get("traditional") or []
    if not isinstance(pairs, list):
        report.error(path, data.line_of("traditional"), "traditional: expected a list of pairs")
        pairs = []
    for i, pair in enumerate(pairs):
        line = pairs.line_of(i) if hasattr(pairs, "line_of") else data.line_of("traditional")
        if not isinstance(pair, str) or len(pair) != 2:
            report.error(path, line, f"traditional: {pair!r} is not a pair of two characters")
            continue
        if pair[0] in chars and chars[pair[0]] != pair[1]:
            report.error(path, line, f"traditional: {pair[0]!r} is mapped twice")
            continue
        chars[pair[0]] = pair[1]
    stages: list[Stage] = []
    raw_stages = data.get("stages") or {}
    if not isinstance(raw_stages, dict):
        report.error(path, data.line_of("stages"), "stages: expected a mapping of stage names")
        raw_stages = {}
    for name, mapping in raw_stages.items():
        line = raw_stages.line_of(name) if isinstance(raw_stages, LineDict) else 1
        if not isinstance(mapping, dict):
            report.error(path, line, f"stage {name!r}: expected a mapping of phrase: replacement")
            continue
        clean: dict[str, str] = {}
        for key, value in mapping.items():
            kline = mapping.line_of(key) if isinstance(mapping, LineDict) else line
            if not isinstance(key, str) or not isinstance(value, str | type(None)):
                report.error(path, kline, f"stage {name!r}: {key!r} needs a text replacement")
                continue
            value = value or ""
            if not _DROP.sub("", key.lower()) == key.lower():
                report.error(path, kline, f"stage {name!r}: {key!r} contains punctuation or spaces")
                continue
            if value == key:
                report.warning(path, kline, f"stage {name!r}: {key!r} maps to itself")
                continue
            clean[key] = value
        stages.append(Stage(str(name), clean))
    return Normalizer(chars, stages)


def ngrams(text: str) -> tuple[list[str], list[str]]:
    """Character unigrams and bigrams of a normalised text."""
    return list(text), [text[i : i + 2] for i in range(len(text) - 1)]
