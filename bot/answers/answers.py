"""Typed answers (``intents/answers.yml``), as one pure object the flows ask.

Every method takes what the resident typed and returns what it means, or None when
it means nothing here (the flow then asks again with its buttons)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Spaces and punctuation are dropped before comparing: "同意！" is "同意".
_DROP = re.compile(r"[\s\u3000,.!?;:，。！？；：、~～…·\"'“”‘’()（）\[\]【】]+")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}  # fmt: skip
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
# 两三千, 一两百, 七八百, 三五百; also 2000到3000, 两千到三千, 2000-3000.
_ADJACENT = re.compile(
    r"^([一二两三四五六七八九])([一二两三四五六七八九])([十百千万])(块钱?|元)?(左右)?$"
)
_SPAN = re.compile(r"^(.+?)(到|至|-|~|—)(.+?)(块钱?|元)?(左右)?$")


def squash(text: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def simple_number(text: str) -> int | None:
    """1500, 1.5万 (as 15000), 两千, 三千五, 一千五百: a plain amount or None."""
    t = squash(text)
    t = re.sub(r"(块钱?|元|左右|多)$", "", t)
    if re.fullmatch(r"\d{1,9}", t):
        return int(t)
    m = re.fullmatch(r"(\d+(?:\.\d+)?)万", t)
    if m:
        return int(float(m.group(1)) * 10000)
    return _chinese_number(t)


def _chinese_number(t: str) -> int | None:
    if not t or any(ch not in _CN_DIGITS and ch not in _CN_UNITS for ch in t):
        return None
    total, digit, last_unit = 0, None, None
    for ch in t:
        if ch in _CN_DIGITS:
            if digit is not None:
                return None  # two digits in a row: a range, not a number
            digit = _CN_DIGITS[ch]
        else:
            unit = _CN_UNITS[ch]
            if last_unit is not None and unit >= last_unit:
                return None
            total += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
    if digit is not None:
        # 三千五 = 3500: a trailing digit counts in the next lower unit
        total += digit * (last_unit // 10 if last_unit and last_unit >= 10 else 1)
    return total


@dataclass
class Answers:
    back: frozenset[str] = frozenset()
    menu: frozenset[str] = frozenset()
    yes: frozenset[str] = frozenset()
    no: frozenset[str] = frozenset()
    unknown: frozenset[str] = frozenset()
    restart: frozenset[str] = frozenset()
    alone: frozenset[str] = frozenset()
    values: dict[str, frozenset[str]] = field(default_factory=dict)
    place_suffixes: tuple[str, ...] = ()
    progress: tuple[re.Pattern[str], ...] = ()
    amount: tuple[re.Pattern[str], ...] = ()
    # (label, member names) for pickers of 市州 (bot.answers.picker)
    region_groups: tuple[tuple[str, tuple[str, ...]], ...] = ()
    other_group_label: str = "其他"

    squash = staticmethod(squash)

    # -- single meanings ----------------------------------------------------------

    def navigation(self, text: str) -> str | None:
        """ "back" or "menu" for 返回 / 退出 / 算了 / 不弄了 ..., else None."""
        t = squash(text)
        if t in self.back:
            return "back"
        if t in self.menu:
            return "menu"
        return None

    def yes_no(self, text: str) -> bool | None:
        t = squash(text)
        if t in self.yes:
            return True
        if t in self.no:
            return False
        return None

    def is_unknown(self, text: str) -> bool:
        return squash(text) in self.unknown

    def is_restart(self, text: str) -> bool:
        return squash(text) in self.restart

    def is_alone(self, text: str) -> bool:
        return squash(text) in self.alone

    def asks_progress(self, text: str) -> bool:
        """我的求助办得咋样了, 我昨天交的那个求助有人管没有 ..."""
        t = squash(text)
        return any(p.search(t) for p in self.progress)

    def asks_amount(self, text: str) -> bool:
        """低保一个月好多钱, 护理补贴有多少, 特困标准是多少 ...: the answer shows the figures."""
        t = squash(text)
        return any(p.search(t) for p in self.amount)

    # -- places -------------------------------------------------------------------

    def place_core(self, name: str) -> str:
        """凉山 for 凉山彝族自治州 / 凉山州 / 凉山; 武侯 for 武侯区. A two-character
        name keeps its suffix (a county called 某县 with a one-character core)."""
        t = squash(name)
        for suffix in self.place_suffixes:
            if t.endswith(suffix) and len(t) - len(suffix) >= 2:
                return t[: -len(suffix)]
        return t

    def pick_place(self, text: str, names: Iterable[str]) -> str | None:
        """The one name among ``names`` the resident typed (with or without 市/州/区/县,
        or its first characters); None when none or several fit."""
        names = list(names)
        t = squash(text)
        if not t:
            return None
        exact = [n for n in names if squash(n) == t]
        if len(exact) == 1:
            return exact[0]
        core = self.place_core(t)
        by_core = [n for n in names if self.place_core(n) == core]
        if len(by_core) == 1:
            return by_core[0]
        if len(core) >= 2:
            by_prefix = [n for n in names if self.place_core(n).startswith(core)]
            if len(by_prefix) == 1:
                return by_prefix[0]
        return None

    # -- choices --------------------------------------------------------------------

    def pick_option(self, text: str, options: Sequence[tuple[Any, str]]) -> int | None:
        """The index of the (value, label) option the typed text means: its label, a
        place name, a synonym of its value, or a yes/no word when exactly one option
        says yes (value true, or a label starting with 有) or no."""
        t = squash(text)
        if not t:
            return None
        labels = [squash(label) for _, label in options]
        exact = [i for i, lab in enumerate(labels) if lab == t]
        if len(exact) == 1:
            return exact[0]
        place = self.pick_place(text, [label for _, label in options])
        if place is not None:
            return [label for _, label in options].index(place)
        synonyms = [i for i, (v, _) in enumerate(options) if t in self.values.get(str(v), ())]
        if len(synonyms) == 1:
            return synonyms[0]
        meaning = self.yes_no(text)
        if meaning is not None:
            fits = [i for i, (v, lab) in enumerate(options) if _says(v, lab) is meaning]
            if len(fits) == 1:
                return fits[0]
        return None

    # -- amounts ----------------------------------------------------------------------

    def amount_range(self, text: str) -> tuple[int, int] | None:
        """(low, high) for 两三千, 七八百, 2000到3000, 两千到三千; None otherwise."""
        t = squash(text)
        m = _ADJACENT.match(t)
        if m:
            a, b = _CN_DIGITS[m.group(1)], _CN_DIGITS[m.group(2)]
            unit = _CN_UNITS[m.group(3)]
            return (a * unit, b * unit) if a < b else None
        m = _SPAN.match(t)
        if m:
            start, end = simple_number(m.group(1)), simple_number(m.group(3))
            if end is not None and m.group(1) in _CN_DIGITS and end >= 10:
                # 两到三千: the unit written once, after the second number
                start = _CN_DIGITS[m.group(1)] * 10 ** (len(str(end)) - 1)
            if start is not None and end is not None and start < end:
                return start, end
        return None


def _says(value: Any, label: str) -> bool | None:
    """Whether an option means yes (True), no (False), or neither (None)."""
    if value is True or value == "yes":
        return True
    if value is False or value in ("no", "none", 0):
        return False
    lab = squash(label)
    if lab.startswith(("没有", "没得", "不")):
        return False
    if lab.startswith("有"):
        return True
    return None


_REF_SPACES = re.compile(r"[\s\-_—–.·]+")
_REF = re.compile(r"SC(\d{4})([2-9A-HJ-NP-Z]{4})(?![0-9A-Z])")


def find_reference(text: str) -> str | None:
    """A help request's reference typed in any case, with or without spaces and
    hyphens (sc 2611 7kq9, SC26117KQ9), in the stored form SC-2611-7KQ9."""
    t = _REF_SPACES.sub("", unicodedata.normalize("NFKC", text or "").upper())
    m = _REF.search(t)
    return f"SC-{m.group(1)}-{m.group(2)}" if m else None
