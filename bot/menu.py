"""The main menu and the basic commands (/start, /menu, /cancel, /help), as a feature.

The menu's items are fixed here; the feature behind each item registers its flow
with ``engine.add_flow(flow, menu_item=...)``. ``/start <arg>`` deep links go to
``engine.hooks.start`` first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialog.services import call_listeners

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.dialog.flow import Turn

MENU_ITEMS = ("ask", "list", "screen", "channels", "winter", "help", "progress")
# The menu's layout: rows of items.
MENU_ROWS = (("ask",), ("list", "screen"), ("channels", "winter"), ("help", "progress"))


class Menu:
    items: tuple[str, ...] = MENU_ITEMS

    async def show(self, turn: Turn, greeting: bool = False) -> None:
        rows = [[turn.button(f"menu.{item}", f"menu:{item}") for item in row] for row in MENU_ROWS]
        turn.say("core/menu", rows, greeting=greeting)


def install(engine: Engine) -> None:
    engine.set_menu(Menu())

    async def start(turn: Turn, arg: str) -> None:
        turn.state.leave()
        if arg:
            for handler in engine.hooks.start:
                if await handler(turn, arg):
                    return
        await call_listeners("home", engine.hooks.home, turn)
        await engine.show_menu(turn, greeting=True)

    async def menu(turn: Turn, arg: str) -> None:
        turn.state.leave()
        await call_listeners("home", engine.hooks.home, turn)
        await engine.show_menu(turn)

    async def cancel(turn: Turn, arg: str) -> None:
        was_busy = turn.state.flow is not None
        turn.state.leave()
        if was_busy:
            turn.say("core/cancelled")
        await engine.show_menu(turn)

    async def help_(turn: Turn, arg: str) -> None:
        turn.say("core/help", [[turn.button("nav.menu", "nav:menu")]])

    engine.add_command("start", start)
    engine.add_command("menu", menu)
    engine.add_command("cancel", cancel)
    engine.add_command("help", help_)
