"""The channel-agnostic dialog engine: Event in, list of Reply out.

One turn: load the user's state, route the event (command, button payload,
contact, location or text) to a flow, save the state and the update id in one
transaction, return the replies. A turn that fails or meets a stale button
changes no state. Turns of one user run one at a time.
"""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from bot.dialog.events import MAX_REPLY_CHARS, Button, Event, Reply
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.dialog.services import Hooks, Services
from bot.dialog.state import Conversation
from bot.store.inbox import outbox_json, replies_to_json

if TYPE_CHECKING:
    from bot.config import Config
    from bot.content import ContentHolder
    from bot.render import Renderer
    from bot.store import Store

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 10_000
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s+(.*))?$", re.S)

_EMPTY_STATE = Conversation().to_json()

CommandHandler = Callable[[Turn, str], Awaitable[None]]
TextHandler = Callable[[Turn, str], Awaitable[None]]
DocumentHandler = Callable[[Turn], Awaitable[None]]
# Whether a user's documents are accepted at all (before anything is downloaded).
DocumentGate = Callable[[int], Awaitable[bool]]


class Menu(Protocol):
    """The main menu (bot.menu): its items, and how it is shown."""

    items: tuple[str, ...]

    async def show(self, turn: Turn, greeting: bool = False) -> None: ...


class DocumentIntake:
    """Who may send files and how big (set by the feature that reads them)."""

    def __init__(self, handler: DocumentHandler, accepts: DocumentGate, max_bytes: int) -> None:
        self.handler = handler
        self.accepts = accepts
        self.max_bytes = max_bytes


class Engine:
    def __init__(
        self,
        store: Store,
        content: ContentHolder,
        renderer: Renderer,
        config: Config | None = None,
    ) -> None:
        self.store = store
        self.content = content
        self.renderer = renderer
        self.config = config
        self.flows: dict[str, Flow] = {}
        self._by_prefix: dict[str, Flow] = {}
        self.menu_targets: dict[str, Flow] = {}
        self.commands: dict[str, CommandHandler] = {}
        self._free_text: TextHandler | None = None
        self._documents: DocumentIntake | None = None
        self.menu: Menu | None = None
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        # What features share (bot.dialog.services). The engine installs no feature
        # itself: bot.app installs the list in bot.features.
        self.services = Services()
        self.hooks = Hooks()

    # -- registration ------------------------------------------------------

    def add_flow(self, flow: Flow, menu_item: str | None = None) -> Flow:
        if flow.name in self.flows and self.flows[flow.name] is not flow:
            old = self.flows[flow.name]
            self._by_prefix.pop(old.prefix, None)
        self.flows[flow.name] = flow
        if flow.prefix:
            if flow.prefix in ("nav", "menu"):
                raise ValueError(f"payload prefix {flow.prefix!r} is reserved")
            self._by_prefix[flow.prefix] = flow
        if menu_item:
            if menu_item not in self.menu_items:
                raise ValueError(f"unknown menu item {menu_item!r}")
            self.menu_targets[menu_item] = flow
        return flow

    def add_command(self, name: str, handler: CommandHandler) -> None:
        self.commands[name] = handler

    def set_free_text(self, handler: TextHandler) -> None:
        self._free_text = handler

    def set_menu(self, menu: Menu) -> None:
        self.menu = menu

    @property
    def menu_items(self) -> tuple[str, ...]:
        return self.menu.items if self.menu is not None else ()

    def set_document_handler(
        self, handler: DocumentHandler, accepts: DocumentGate, max_bytes: int
    ) -> None:
        self._documents = DocumentIntake(handler, accepts, max_bytes)

    async def document_limit(self, user_id: int) -> int | None:
        """The largest file this user may send (a channel fetches nothing bigger),
        or None when their files are not read at all."""
        intake = self._documents
        if intake is None or not await intake.accepts(user_id):
            return None
        return intake.max_bytes

    # -- one turn ------------------------------------------------------------

    def _lock(self, user_id: int) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    async def handle(self, event: Event) -> list[Reply]:
        # One turn per user at a time: in this process (the lock), and across the
        # worker processes sharing a PostgreSQL store (``store.turn_lock``).
        async with self._lock(event.user_id), self.store.turn_lock(event.user_id):
            # One round trip: was this update handled already, and the user's state.
            seen, raw = await self.store.begin_turn(event.user_id, event.update_id)
            if seen:
                return []
            state = Conversation.from_json(raw)
            before = state.to_json()
            turn = Turn(self, event, state)
            try:
                try:
                    await self._route(turn)
                except StaleButton:
                    turn.state = Conversation.from_json(before)
                    turn.replies = []
                    await self.expired(turn)
                # Inside the try: a state that cannot be stored fails the turn.
                after = turn.state.to_json()
            except Exception as exc:  # noqa: BLE001 - one bad turn must not stop the bot
                # No personal data: only the exception's type and where it happened.
                log.error(
                    "turn failed: %s", type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG)
                )
                replies = [Reply(self.renderer.render("core/error"), [[self._menu_button()]])]
                return finalize(replies)
            out = finalize(turn.replies or [self._fallback_reply()])
            # Messages to other chats (notices to residents and staff) go to the
            # outbox, in the same statement as the turn's state: sent once, retried.
            own: list[Reply] = []
            others: list[Reply] = []
            for r in out:
                mine = r.chat_id is None or r.chat_id == event.chat_id
                # Without a sender (the terminal, the web chat) the channel delivers all.
                (own if mine or self.services.outbox is None else others).append(r)
            queued = outbox_json(others) if others else None
            # The replies are kept with the update id until the channel delivered them
            # (a crash after the commit then loses none, and never runs the turn twice).
            said = None if event.update_id is None else replies_to_json(own, event.chat_id)
            if after != before:
                # One statement: the state, the update id, the replies and the outbox.
                await self.store.save_turn_json(
                    event.user_id,
                    None if after == _EMPTY_STATE else after,
                    event.update_id,
                    said,
                    queued,
                )
            elif event.update_id is not None or queued is not None:
                await self.store.mark_update(event.update_id, said, queued, event.user_id)
            if queued is not None:
                self._wake_outbox()
            return own

    def _wake_outbox(self) -> None:
        if self.services.outbox is not None:
            self.services.outbox.wake()

    async def _route(self, turn: Turn) -> None:
        event, state = turn.event, turn.state
        if event.payload is not None:
            await self._route_payload(turn, event.payload)
            return
        if event.contact is not None:
            flow = self.flows.get(state.flow or "")
            if flow is None:
                await self.free_text(turn, "")
            else:
                await flow.on_contact(turn)
            return
        if event.location is not None:
            flow = self.flows.get(state.flow or "")
            if flow is None:
                if "channels" in self.menu_targets:
                    await self.menu_targets["channels"].on_location(turn)
                else:
                    await self.free_text(turn, "")
            else:
                await flow.on_location(turn)
            return
        if event.document is not None:
            flow = self.flows.get(state.flow or "")
            await (flow.on_document(turn) if flow is not None else self.on_document(turn))
            return
        if event.photo is not None and not event.is_group:
            flow = self.flows.get(state.flow or "")
            if flow is not None and await flow.on_photo(turn):
                return
        text = (event.text or "").strip()[:MAX_INPUT_CHARS]
        m = _COMMAND.match(text) if text.startswith("/") else None
        if m:
            await self.command(turn, m.group(1).lower(), (m.group(2) or "").strip())
            return
        if not text:
            # A voice message, a sticker, a photo without words, only spaces: say what
            # to do instead (type a few words, press a button, or call 12345).
            turn.say("core/no_text", [[self._menu_button()]], media=event.media or "empty")
            return
        # Typing 返回上一步 / 回主菜单 (or 返回, 退出, 算了 ..., intents/answers.yml) does
        # what the button does, in every step; never a question, never a gap.
        nav = self._nav_words().get(text)
        words = getattr(turn.content, "answers", None)
        if nav is None and words is not None:
            nav = words.navigation(text)
        if nav is not None:
            await self._nav(turn, nav)
            return
        # Text in a group is never an answer to a step of the user's private
        # conversation (the step's reply could show personal data to the group).
        flow = None if event.is_group else self.flows.get(state.flow or "")
        for guard in self.hooks.text_guards:
            if await guard(turn, text, flow):
                return
        if flow is not None:
            await flow.on_text(turn, text)
        else:
            await self.free_text(turn, text)

    async def _route_payload(self, turn: Turn, payload: str) -> None:
        prefix, sep, rest = payload.partition(":")
        if not sep:
            raise StaleButton(payload)
        if prefix == "nav":
            await self._nav(turn, rest)
        elif prefix == "menu":
            await self.open_menu_item(turn, rest)
        elif prefix in self._by_prefix:
            await self._by_prefix[prefix].on_payload(turn, rest)
        else:
            raise StaleButton(payload)

    async def _nav(self, turn: Turn, rest: str) -> None:
        if rest == "menu":
            turn.state.leave()
            await self.show_menu(turn)
        elif rest == "back":
            # In a group, never step back into the presser's private conversation:
            # its step (e.g. the help request's summary) would show their data there.
            flow = None if turn.event.is_group else self.flows.get(turn.state.flow or "")
            if flow is None:
                await self.show_menu(turn)
            else:
                await flow.on_back(turn)
        else:
            raise StaleButton(rest)

    def _nav_words(self) -> dict[str, str]:
        return {
            self.renderer.label("nav.back"): "back",
            self.renderer.label("nav.menu"): "menu",
        }

    async def command(self, turn: Turn, name: str, arg: str) -> None:
        for hook in self.hooks.command:
            await hook(turn, name)
        handler = self.commands.get(name)
        if handler is None:
            turn.say("core/unknown_command", [[self._menu_button()]], command=name)
            return
        await handler(turn, arg)

    async def open_menu_item(self, turn: Turn, item: str) -> None:
        flow = self.menu_targets.get(item)
        if flow is None:
            raise StaleButton(item)
        turn.state.leave()
        await flow.start(turn)

    async def free_text(self, turn: Turn, text: str) -> None:
        """Text that no flow step is waiting for: a question, a greeting, a menu word."""
        if self._free_text is not None and text:
            await self._free_text(turn, text)
            return
        for item in self.menu_items:
            if text == self.renderer.label(f"menu.{item}"):
                await self.open_menu_item(turn, item)
                return
        await self.say_unsupported(turn)

    async def on_document(self, turn: Turn) -> None:
        """A file sent outside any flow: content uploads by admins, if that feature is on."""
        if self._documents is not None:
            await self._documents.handler(turn)
        else:
            await self.say_unsupported(turn)

    # -- common replies ----------------------------------------------------

    def _menu_button(self) -> Button:
        return Button(self.renderer.label("nav.menu"), "nav:menu")

    def _fallback_reply(self) -> Reply:
        return Reply(self.renderer.render("core/nothing_to_say"), [[self._menu_button()]])

    async def show_menu(self, turn: Turn, greeting: bool = False) -> None:
        if self.menu is None:
            raise RuntimeError("no menu installed (bot.menu is the first feature)")
        await self.menu.show(turn, greeting)

    async def expired(self, turn: Turn) -> None:
        turn.say("core/expired", [[self._menu_button()]])

    async def say_unsupported(self, turn: Turn) -> None:
        turn.say("core/unsupported", [[self._menu_button()]])


# -- reply post-processing -----------------------------------------------------


def finalize(replies: list[Reply]) -> list[Reply]:
    """Split any reply over the message limit; buttons stay on the last part."""
    out: list[Reply] = []
    for reply in replies:
        text = reply.text.strip() or "…"
        if len(text) <= MAX_REPLY_CHARS:
            if text != reply.text:  # keep a rendered text (it knows its template) as it is
                reply.text = text
            out.append(reply)
            continue
        parts = split_text(text, MAX_REPLY_CHARS)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            out.append(
                Reply(
                    part,
                    reply.buttons if last else [],
                    edit=reply.edit and i == 0,
                    request_contact=reply.request_contact and last,
                    request_location=reply.request_location and last,
                    expects_number=reply.expects_number and last,
                    chat_id=reply.chat_id,
                    template=reply.template,
                )
            )
    return out


_OPEN_TAG = re.compile(r"<(b|i|u|s|code|pre|blockquote|a)(\s[^>]*)?>")


def split_text(text: str, limit: int) -> list[str]:
    """Split at paragraph boundaries, then lines, then anywhere safe (never inside a
    tag or an HTML entity, never leaving a tag open)."""
    parts: list[str] = []
    rest = text
    room = limit - 64  # space for closing and reopening tags
    while len(rest) > limit:
        window = rest[:room]
        cut = window.rfind("\n\n")
        if cut < room // 4:
            cut = window.rfind("\n")
        if cut < room // 4:
            cut = _safe_hard_cut(window)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip("\n")
        head, carry = _close_open_tags(head)
        parts.append(head)
        rest = carry + rest
    if rest.strip():
        parts.append(rest)
    return parts


def _safe_hard_cut(window: str) -> int:
    cut = len(window)
    lt, gt = window.rfind("<"), window.rfind(">")
    if lt > gt:
        cut = lt
    amp, semi = window.rfind("&", 0, cut), window.rfind(";", 0, cut)
    if amp > semi and cut - amp < 12:
        cut = amp
    return max(cut, 1)


def _close_open_tags(head: str) -> tuple[str, str]:
    """Close tags left open in ``head``; return the reopening prefix for the next part."""
    stack: list[tuple[str, str]] = []
    for m in re.finditer(r"<(/?)([a-z]+)(\s[^>]*)?>", head):
        closing, name = m.group(1), m.group(2)
        if closing:
            if stack and stack[-1][0] == name:
                stack.pop()
        elif _OPEN_TAG.fullmatch(m.group(0)):
            stack.append((name, m.group(0)))
    if not stack:
        return head, ""
    closing = "".join(f"</{name}>" for name, _ in reversed(stack))
    reopen = "".join(tag for _, tag in stack)
    return head + closing, reopen
