"""The main menu, the basic commands and honest placeholders for menu items
whose feature has not landed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.dialog.engine import MENU_ITEMS, Engine
from bot.dialog.flow import Flow, Turn

StartHandler = Callable[[Turn, str], Awaitable[bool]]


class ComingSoon(Flow):
    """A menu item whose feature is not built yet: say so and show where to ask."""

    def __init__(self, engine: Engine, item: str) -> None:
        super().__init__(engine)
        self.item = item
        self.name = f"soon-{item}"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        turn.say(
            "core/coming_soon",
            [[turn.button("nav.menu", "nav:menu")]],
            feature=turn.r.label(f"menu.{self.item}"),
        )


def install(engine: Engine) -> None:
    for item in MENU_ITEMS:
        engine.add_flow(ComingSoon(engine, item), menu_item=item)

    # /start <arg> deep links: features append handlers that return True when they took it.
    engine.services.setdefault("start_handlers", [])

    async def start(turn: Turn, arg: str) -> None:
        turn.state.leave()
        if arg:
            for handler in engine.services["start_handlers"]:
                if await handler(turn, arg):
                    return
        await engine.show_menu(turn, greeting=True)

    async def menu(turn: Turn, arg: str) -> None:
        turn.state.leave()
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
