"""亮清单 in the chat: the catalogue of help by category (menu "list").

Payloads: ``lst:c:<category>``, ``lst:t:<topic>``, ``lst:p:<page>`` (the categories
in pages when more than fit on one screen).
"""

from __future__ import annotations

import re

from bot.answers.picker import MAX_BUTTONS, page
from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn

_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


def grid(buttons: list[Button], columns: int) -> list[list[Button]]:
    return [buttons[i : i + columns] for i in range(0, len(buttons), columns)]


class CatalogueFlow(Flow):
    name = "catalogue"
    prefix = "lst"

    def _categories(self, turn: Turn):
        topics = turn.content.knowledge
        return [c for c in topics.categories if self._items(turn, c.id)]

    def _items(self, turn: Turn, category_id: str):
        return [t for t in turn.content.knowledge.in_category(category_id) if t.program]

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        turn.state.enter(self.name, "cats")
        self._show_categories(turn)

    def _show_categories(self, turn: Turn, number: int = 0) -> None:
        cats = self._categories(turn)
        # At most 8 buttons: the categories in pages when there are more than fit.
        per_page = MAX_BUTTONS - 2 if len(cats) > MAX_BUTTONS - 2 else len(cats)
        shown, more = page(cats, number, max(per_page, 1))
        if not shown and number:
            raise StaleButton(str(number))
        buttons = [Button(c.name, f"lst:c:{c.id}") for c in shown]
        rows = grid(buttons, 2)
        if more:
            rows.append([turn.button("screen.list.more", f"lst:p:{number + 1}")])
        elif number:
            rows.append([turn.button("screen.list.first", "lst:p:0")])
        elif len(cats) + 2 <= MAX_BUTTONS:
            rows.append([turn.button("menu.screen", "menu:screen")])
        rows.append(turn.nav_row(back=False))
        turn.say(
            "screening/list_categories",
            rows,
            categories=cats,
            screen_label=turn.r.label("menu.screen"),
            screen_button=not more and not number and len(cats) + 2 <= MAX_BUTTONS,
        )

    def _show_category(self, turn: Turn, cid: str) -> None:
        cat = next((c for c in self._categories(turn) if c.id == cid), None)
        if cat is None:
            raise StaleButton(cid)
        topics = self._items(turn, cid)
        rows = [[Button(t.title, f"lst:t:{t.id}")] for t in topics]
        rows.append(turn.nav_row())
        turn.say("screening/list_category", rows, category=cat, topics=topics)

    def _show_item(self, turn: Turn, tid: str) -> None:
        topic = turn.content.knowledge.topics.get(tid)
        if topic is None or not topic.program:
            raise StaleButton(tid)
        rows = [
            [turn.button("screen.list.policy", f"kb:t:{topic.id}")],
            [turn.button("screen.list.screen", "menu:screen")],
            turn.nav_row(),
        ]
        turn.say("screening/list_item", rows, topic=topic)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        kind, sep, arg = rest.partition(":")
        if kind == "p" and arg.isdigit() and len(arg) <= 2:
            turn.state.enter(self.name, "cats")
            self._show_categories(turn, int(arg))
            return
        if not sep or not _ID.match(arg) or kind not in ("c", "t"):
            raise StaleButton(rest)
        state = turn.state
        if state.flow != self.name:
            state.enter(self.name, "cats")
        step = f"{kind}:{arg}"
        if kind == "c":
            self._show_category(turn, arg)
        else:
            self._show_item(turn, arg)
        state.push(step)

    async def prompt(self, turn: Turn, step: str) -> None:
        kind, _, arg = step.partition(":")
        try:
            if kind == "c":
                self._show_category(turn, arg)
                return
            if kind == "t":
                self._show_item(turn, arg)
                return
        except StaleButton:
            pass  # content changed since: show the categories instead
        turn.state.enter(self.name, "cats")
        self._show_categories(turn)
