"""Long pickers on a phone: never more than 8 buttons on one screen.

The 21 市州 are picked in two taps, by group (intents/answers.yml ``region_groups``:
成都平原, 川南, 川东北 ...), and any other long list in pages. Labels are shortened for
a phone (an autonomous prefecture's name becomes its first two characters and 州)
while the value stays the full name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from bot.answers.answers import Answers

MAX_BUTTONS = 8
MAX_LABEL = 8


@dataclass(frozen=True)
class Group:
    label: str
    members: tuple[str, ...]  # full names, in the order of the list being grouped


def groups_for(answers: Answers, names: Sequence[str]) -> list[Group]:
    """The configured groups restricted to ``names`` (matched by place name, suffix or
    not); names in no group go to a last group 其他. Empty groups are dropped."""
    left = list(names)
    out: list[Group] = []
    for label, members in answers.region_groups:
        picked = []
        for member in members:
            name = answers.pick_place(member, left)
            if name is not None:
                picked.append(name)
                left.remove(name)
        if picked:
            out.append(Group(label, tuple(n for n in names if n in picked)))
    if left:
        out.append(Group(answers.other_group_label, tuple(left)))
    return out


def short_place(answers: Answers, name: str) -> str:
    """A 自治州 becomes its core name and 州 (e.g. 凉山州); short names stay."""
    if len(name) <= MAX_LABEL - 3:
        return name
    core = answers.place_core(name)
    kind = "州" if name.endswith("州") else "县" if name.endswith("县") else ""
    return (core + kind)[:MAX_LABEL]


T = TypeVar("T")


def page(items: Sequence[T], number: int, per_page: int) -> tuple[list[T], bool]:
    """Items of page ``number`` (0-based) and whether a next page exists."""
    start = number * per_page
    return list(items[start : start + per_page]), start + per_page < len(items)
