"""The help form's long pickers on a phone: the 市州 by 片区 and the 区县 a page at a
time (never more than 8 buttons on one screen)."""

from __future__ import annotations

from typing import Any

from bot.answers.picker import groups_for, page, short_place
from bot.dialog.events import Button
from bot.dialog.flow import StaleButton, Turn, grid

DISTRICTS_PER_PAGE = 4  # + 更多区县, 其他区县, 返回上一步, 回主菜单: 8 buttons


def city_rows(
    turn: Turn, choices: list[Button], group: int | None
) -> tuple[list[list[Button]], list[dict[str, Any]]]:
    """The 市州 by 片区 (intents/answers.yml region_groups): the groups first (a group
    of one is its 市州's button), then the 市州 of one group. Returns the rows and the
    groups to list in the text."""
    words = turn.content.answers
    by_name = {b.label: b for b in choices}
    groups = groups_for(words, list(by_name))
    if group is not None:
        if group >= len(groups):
            raise StaleButton(str(group))
        members = [Button(short_place(words, m), by_name[m].payload) for m in groups[group].members]
        return [*grid(members, 2), [turn.button("cases.city.groups", "hc:cg:all")]], []
    buttons = [
        by_name[g.members[0]] if len(g.members) == 1 else Button(g.label, f"hc:cg:{i}")
        for i, g in enumerate(groups)
    ]
    listed = [
        {"label": g.label, "members": [short_place(words, m) for m in g.members]}
        for g in groups
        if len(g.members) > 1
    ]
    return grid(buttons, 2), listed


def district_rows(turn: Turn, choices: list[Button], number: int) -> list[list[Button]]:
    """A page of 区县 and 更多区县 (back to the first page after the last)."""
    shown, more = page(choices, number, DISTRICTS_PER_PAGE)
    if not shown:
        raise StaleButton(str(number))
    rows = grid(shown, 2)
    following = number + 1 if more else 0
    rows.append([turn.button("cases.district.more", f"hc:dp:{following}")])
    return rows


def short_name(typed: str, label: str) -> bool:
    """成都 for 成都市, 武侯 for 武侯区: a typed prefix of the label."""
    return len(typed) >= 2 and label.startswith(typed)
