"""Screening questions on a phone: a long choice (the 21 市州) by group, and a typed
range (两三千) answered by pressing the closest amount."""

from __future__ import annotations

from typing import Any

from bot.answers.picker import MAX_BUTTONS, groups_for, short_place
from bot.dialog.events import Button
from bot.dialog.flow import Turn
from bot.screening.catalogue import grid
from bot.screening.questionnaire import Question


def choice_rows(
    turn: Turn, q: Question, group: int | None
) -> tuple[list[list[Button]], bool, list[dict[str, Any]]]:
    """(answer rows, whether to add the navigation rows, the groups to list in the text).
    A long choice shows its groups first (a group of one is its option's button), then
    the options of one group with 返回选片区; never more than MAX_BUTTONS."""
    if q.type != "choice":
        return [], True, []
    if len(q.options) <= MAX_BUTTONS - 2:
        buttons = [Button(o.label, f"scr:a:{q.fact}:{i}") for i, o in enumerate(q.options)]
        return grid(buttons, q.columns), True, []
    words = turn.content.answers
    labels = [o.label for o in q.options]
    groups = groups_for(words, labels)
    if group is not None:
        buttons = [
            Button(short_place(words, m), f"scr:a:{q.fact}:{labels.index(m)}")
            for m in groups[group].members
        ]
        buttons.append(turn.button("screen.other_group", f"scr:g:{q.fact}:all"))
        return grid(buttons, 2), False, []  # typed 返回 / 退出 still work
    listed = [
        {"label": g.label, "members": [short_place(words, m) for m in g.members]}
        for g in groups
        if len(g.members) > 1
    ]
    buttons = [
        Button(g.label, f"scr:a:{q.fact}:{labels.index(g.members[0])}")
        if len(g.members) == 1
        else Button(g.label, f"scr:g:{q.fact}:{i}")
        for i, g in enumerate(groups)
    ]
    return grid(buttons, 2), True, listed


def ask_within(turn: Turn, q: Question, span: tuple[int, int]) -> None:
    """A typed range (两三千): which amount is it closest to?"""
    low, high = span
    amounts = list(dict.fromkeys((low, (low + high) // 2, high)))
    rows = [[Button(f"{a}", f"scr:n:{q.fact}:{a}") for a in amounts]]
    if q.allow_unknown:
        rows.append([turn.button("screen.unknown", f"scr:u:{q.fact}")])
    rows.append([turn.button("nav.back", "nav:back"), turn.button("nav.menu", "nav:menu")])
    reply = turn.say("screening/which_amount", rows, low=low, high=high, unit=q.unit)
    reply.expects_number = True
