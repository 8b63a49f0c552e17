"""Reading an area the resident typed in one line: “昭觉县”, “凉山州昭觉县”, “凉山 昭觉”,
“我在西昌市，川兴镇” — a 区县 names its 市州 when only one 市州 has it, so one typed
line answers both questions; a 乡镇/街道 or 村/社区 written after it is kept too.
A pure function of the regions (policy_texts/regions.yml) and the place suffixes
(intents/answers.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.answers.answers import Answers

MAX_PLACE_CHARS = 30
# What a 乡镇/街道 or 村/社区 written after the 区县 ends with.
_PLACE_END = re.compile(r"(乡|镇|街道|街办|村|社区|组)")


@dataclass(frozen=True)
class Area:
    city: str
    district: str | None = None
    township: str | None = None  # what followed the 区县 (乡镇, 村), when it looks like a place


def _names(answers: Answers, name: str) -> list[str]:
    """A place's name as typed: in full, and without its suffix when two characters
    or more are left (凉山彝族自治州 → 凉山, 昭觉县 → 昭觉)."""
    full = answers.squash(name)
    core = answers.place_core(name)
    return [full] if core == full else [full, core]


def _find(answers: Answers, name: str, t: str) -> tuple[int, int] | None:
    """Where ``name`` (in full or by its core) is in ``t``: (start, end), longest first."""
    for form in _names(answers, name):
        at = t.find(form)
        if at >= 0:
            end = at + len(form)
            # 昭觉 found: take a suffix written after it too (昭觉县).
            full = answers.squash(name)
            if form != full and t.startswith(full[len(form) :], end):
                end += len(full) - len(form)
            return at, end
    return None


def read_area(answers: Answers, regions: dict[str, list[str]], text: str) -> Area | None:
    """The 市州 (and 区县) a typed line names; None when it names none, or more than
    one 市州 could be meant (市中区 is in both 内江 and 乐山: the 市州 must be said)."""
    t = answers.squash(text)
    if not t:
        return None
    spans = {c: found for c in regions if (found := _find(answers, c, t)) is not None}
    if len(spans) > 1:
        return None
    city = next(iter(spans), None)
    candidates = [
        (c, d) for c, districts in regions.items() if city in (None, c) for d in districts
    ]
    # A 区县 in full first (广安区), then by its core once the 市州 is cut out (广安 is
    # the 市州 广安市, not its 广安区).
    full = [
        (c, d, at + len(answers.squash(d)))
        for c, d in candidates
        if (at := t.find(answers.squash(d))) >= 0
    ]
    hits = full
    if len({(c, d) for c, d, _ in hits}) != 1:
        rest = t
        if city is not None:
            a, b = spans[city]
            rest = t[:a] + "|" * (b - a) + t[b:]
        hits = [
            (c, d, found[1])
            for c, d in candidates
            if (found := _find(answers, d, rest)) is not None
        ]
    if len({(c, d) for c, d, _ in hits}) == 1:
        c, d, end = hits[0]
        after = t[end:]
        township = after if _PLACE_END.search(after) and len(after) <= MAX_PLACE_CHARS else None
        return Area(c, d, township)
    if city is not None:
        return Area(city)
    return None
