"""The screening result in the chat: short first (the verdicts in a few lines, at
most 8 buttons), 详细结果 on demand (every program's reasons, the documents, where to
apply)."""

from __future__ import annotations

import re
from typing import Any

from bot.dialog.events import Button, Reply
from bot.dialog.flow import Turn


def _grid(buttons: list[Button], columns: int) -> list[list[Button]]:
    return [buttons[i : i + columns] for i in range(0, len(buttons), columns)]


def short_title(title: str) -> str:
    """最低生活保障（低保） → 低保: the part in brackets is what people call it;
    other titles are cut to fit a phone's button."""
    m = re.search(r"（(.+?)）$", title)
    if m and len(m.group(1)) <= 6:
        return m.group(1)
    return title if len(title) <= 8 else title[:7] + "…"


def third_person(text: str) -> str:
    """The household of the person helped, not the helper's: 您家 → 他（她）家."""
    return text.replace("您家", "他（她）家")


def say_result(
    turn: Turn,
    view: dict[str, Any],
    unknown: list[str],
    focus: str | None,
    full: bool,
    for_other: bool = False,
) -> None:
    """``focus``: the program the resident asked about (我能办吗), said first;
    ``for_other``: a helper screened someone else's household."""
    if full:
        full_result(turn, view, unknown, focus, for_other)
        return
    first = [r for r in view["likely"] + view["possible"] if r["id"] == focus]
    first += [r for r in view["likely"] + view["possible"] if r["id"] != focus]
    read = [
        turn.button("screen.read", f"scr:read:{r['id']}", title=short_title(r["title"]))
        for r in first[:2]
    ]
    rows: list[list[Button]] = [[turn.button("screen.full", "scr:full")]]
    rows.extend([[b] for b in read])
    rows.append([turn.button("screen.help", "menu:help")])
    rows.append([turn.button("nav.back", "nav:back"), turn.button("screen.again", "scr:restart")])
    rows.append([turn.button("nav.menu", "nav:menu")])
    short = {
        key: [dict(r, short=short_title(r["title"])) for r in view[key]]
        for key in ("likely", "possible", "unlikely")
    }
    text = turn.text(
        "screening/result_short",
        date=view["date"],
        focus=focus,
        unknown=unknown,
        warnings=view.get("warnings", []),
        **short,
    )
    turn.add(Reply(third_person(text) if for_other else text, rows))


def full_result(
    turn: Turn, view: dict[str, Any], unknown: list[str], focus: str | None, for_other: bool
) -> None:
    """详细结果: every program with its reasons, the documents, where to apply."""
    read = [
        turn.button("screen.read", f"scr:read:{r['id']}", title=short_title(r["title"]))
        for r in view["likely"] + view["possible"]
    ]
    rows = _grid(read[:4], 2)
    rows.append(
        [turn.button("screen.channels", "menu:channels"), turn.button("screen.help", "menu:help")]
    )
    rows.append([turn.button("nav.back", "nav:back"), turn.button("nav.menu", "nav:menu")])
    text = turn.text("screening/result", unknown=unknown, focus=focus, for_other=for_other, **view)
    turn.add(Reply(third_person(text) if for_other else text, rows))
