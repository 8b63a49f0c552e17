"""The interface every conversation feature implements, and the per-turn context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.dialog.events import Button, Event, Reply
from bot.dialog.state import Conversation

if TYPE_CHECKING:
    from bot.content import Content
    from bot.dialog.engine import Engine
    from bot.render import Renderer
    from bot.store import Store


class StaleButton(Exception):
    """A button payload that is malformed, forged or no longer valid for this state.

    Raising it anywhere in a turn discards every change to the conversation."""


class Turn:
    """Everything one turn of one user needs; collects the replies."""

    def __init__(self, engine: Engine, event: Event, state: Conversation) -> None:
        self.engine = engine
        self.event = event
        self.state = state
        self.content: Content = engine.content.current
        self.replies: list[Reply] = []

    @property
    def store(self) -> Store:
        return self.engine.store

    @property
    def r(self) -> Renderer:
        """The wording of this turn's content snapshot (a reload mid-turn changes nothing)."""
        return self.content.wording

    @property
    def user_id(self) -> int:
        return self.event.user_id

    def text(self, template: str, **context: Any) -> str:
        return self.r.render(template, **context)

    def button(self, label_key: str, payload: str, **context: Any) -> Button:
        return Button(self.r.label(label_key, **context), payload)

    def say(
        self,
        template: str,
        buttons: list[list[Button]] | None = None,
        *,
        edit: bool = False,
        **context: Any,
    ) -> Reply:
        reply = Reply(self.text(template, **context), buttons or [], edit=edit, template=template)
        self.replies.append(reply)
        return reply

    def add(self, reply: Reply) -> Reply:
        self.replies.append(reply)
        return reply

    def nav_row(self, back: bool = True) -> list[Button]:
        """返回上一步 (where the flow has steps) and 回主菜单."""
        row = []
        if back:
            row.append(self.button("nav.back", "nav:back"))
        row.append(self.button("nav.menu", "nav:menu"))
        return row


class Flow:
    """A conversation feature. ``name`` is stored in the state; ``prefix`` routes payloads.

    Payloads look like ``<prefix>:<rest>``; the flow parses ``rest`` strictly and
    raises StaleButton for anything it does not expect in the current state.
    """

    name: str = ""
    prefix: str = ""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        raise NotImplementedError

    async def on_payload(self, turn: Turn, rest: str) -> None:
        raise StaleButton(rest)

    async def on_text(self, turn: Turn, text: str) -> None:
        """Text typed while this flow is active. Default: treat it as a free question."""
        await self.engine.free_text(turn, text)

    async def on_contact(self, turn: Turn) -> None:
        await self.engine.free_text(turn, "")

    async def on_location(self, turn: Turn) -> None:
        await self.engine.free_text(turn, "")

    async def on_photo(self, turn: Turn) -> bool:
        """A photo sent while this flow is active; False: not taken (the engine then
        answers it as a message without text)."""
        return False

    async def on_document(self, turn: Turn) -> None:
        await self.engine.on_document(turn)

    async def prompt(self, turn: Turn, step: str) -> None:
        """Ask the question of ``step`` again (used by 返回上一步)."""
        await self.start(turn)

    async def on_back(self, turn: Turn) -> None:
        step = turn.state.pop()
        if step is None:
            turn.state.leave()
            await self.engine.show_menu(turn)
            return
        await self.prompt(turn, step)


def grid(buttons: list[Button], per_row: int) -> list[list[Button]]:
    """Buttons in rows of ``per_row``."""
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
