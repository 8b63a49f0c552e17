"""亮清单 in the chat: the catalogue of help (menu "list"): categories, the kinds of
help in each, and one item with who gets it, what, what to bring and where to apply.

Payloads: ``lst:c:<category>``, ``lst:t:<topic>``.
"""

from __future__ import annotations

import re

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

    def _show_categories(self, turn: Turn) -> None:
        cats = self._categories(turn)
        buttons = [Button(c.name, f"lst:c:{c.id}") for c in cats]
        rows = grid(buttons, 2)
        rows.append([turn.button("menu.screen", "menu:screen")])
        rows.append(turn.nav_row(back=False))
        turn.say(
            "screening/list_categories",
            rows,
            categories=cats,
            screen_label=turn.r.label("menu.screen"),
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
