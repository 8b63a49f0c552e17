"""The web channel: a browser's turn in, the engine, replies stored and returned.

- ``WebChannel.turn`` runs one resident turn and stores it in the conversation log
  (``store.web``), so a reload shows the conversation again. Replies the engine
  addresses to other chats (a new request posted to the workers' group, a message to
  the assignee) go to the ``ChannelRouter``.
- ``WebSender`` is the web channel's sender for messages outside the resident's
  turn: ``deliver(user, reply)`` puts the reply in the resident's durable queue and
  wakes every open page of theirs (server-sent events); a closed page gets it on the
  next visit, marked unread until shown.
- ``ChannelRouter`` is the ``Notifier`` for the whole process: it sends a chat's
  messages through the channel that chat belongs to (web ids are allocated, see
  ``bot.store.identities``; every other chat id is Telegram's).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bot.dialog.events import Event, Location, Reply
from bot.store.identities import is_allocated
from bot.store.web import Entry, WebMessage
from bot.web.safe_html import to_safe_html

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)

WEB = "web"
MAX_TEXT_CHARS = 1000  # what one typed message may hold
MAX_LABEL_CHARS = 64


class Sender(Protocol):
    async def deliver(self, user_id: int, reply: Reply) -> bool: ...


def reply_entry(reply: Reply, role: str = "bot") -> Entry:
    buttons = [[[b.label, b.payload] for b in row] for row in reply.buttons]
    extra: dict[str, Any] = {}
    if reply.request_location:
        extra["location"] = True
    if reply.request_contact:
        extra["contact"] = True
    if reply.expects_number:
        extra["number"] = True
    return role, reply.text, buttons, extra


def message_json(m: WebMessage) -> dict[str, Any]:
    """What the page gets for one message. Bot text is rebuilt from the allow-list."""
    out: dict[str, Any] = {"id": m.id, "role": m.role}
    if m.role == "user":
        out["text"] = m.body
    else:
        out["html"] = to_safe_html(m.body)
        out["buttons"] = m.buttons
        out.update({k: v for k, v in m.extra.items() if k in ("location", "contact", "number")})
    if m.unread:
        out["unread"] = True
    return out


def update_id_for(user_id: int, client_id: str) -> int | None:
    """A page's message id as the engine's update id: negative (Telegram's are
    positive) and bound to the user, so a resent message is handled once."""
    if not client_id:
        return None
    digest = hashlib.blake2b(f"{user_id}:{client_id}".encode(), digest_size=7).digest()
    return -(int.from_bytes(digest, "big") + 1)


@dataclass
class TurnResult:
    messages: list[dict[str, Any]]
    forgotten: bool = False  # /forget erased this device's identity
    duplicate: bool = False  # the same message again (a retry): already handled


class WebSender:
    """Messages outside the turn, for web residents: durable queue + live pages."""

    def __init__(self, app: App) -> None:
        self.store = app.store
        self._pages: dict[int, set[asyncio.Event]] = {}

    async def deliver(self, user_id: int, reply: Reply) -> bool:
        """Store the reply in the resident's queue and wake their open pages. False
        when there is no such web resident (erased with /forget): nothing to keep."""
        if await self.store.identities.channel_of(user_id) != WEB:
            return False
        await self.store.web.append(user_id, [reply_entry(reply, "notice")])
        self.wake(user_id)
        await self.store.notify("web", str(user_id))  # pages open on other workers
        return True

    async def send(self, chat_id: int, reply: Reply) -> bool:
        return await self.deliver(chat_id, reply)

    def wake(self, user_id: int) -> None:
        for flag in self._pages.get(user_id, ()):
            flag.set()

    def woken_elsewhere(self, payload: str) -> None:
        """Another worker stored a notice for this resident (LISTEN/NOTIFY)."""
        if payload.isdigit():
            self.wake(int(payload))

    @asynccontextmanager
    async def listen(self, user_id: int) -> AsyncIterator[asyncio.Event]:
        flag = asyncio.Event()
        self._pages.setdefault(user_id, set()).add(flag)
        try:
            yield flag
        finally:
            pages = self._pages.get(user_id)
            if pages is not None:
                pages.discard(flag)
                if not pages:
                    del self._pages[user_id]

    def pages_of(self, user_id: int) -> int:
        return len(self._pages.get(user_id, ()))

    def open_pages(self) -> int:
        return sum(len(p) for p in self._pages.values())


class ChannelRouter:
    """The process's notifier: each chat's messages through its own channel."""

    def __init__(self, app: App, telegram: Any = None) -> None:
        self.store = app.store
        self.channels: dict[str, Any] = {}
        self.telegram = telegram  # anything with ``send(chat_id, reply)``

    def add(self, channel: str, sender: Any) -> None:
        self.channels[channel] = sender

    async def send(self, chat_id: int, reply: Reply) -> bool:
        if is_allocated(chat_id):
            channel = await self.store.identities.channel_of(chat_id)
            sender = self.channels.get(channel or "")
        else:
            sender = self.telegram
        if sender is None:
            log.warning("no channel in this process for a message to chat kind %s", _kind(chat_id))
            return False
        result = await sender.send(chat_id, reply)
        return result is not False

    async def deliver(self, user_id: int, reply: Reply) -> bool:
        return await self.send(user_id, reply)


def with_web_residents(app: App, telegram: Any) -> ChannelRouter:
    """The notifier of a Telegram-only process: web residents' messages (a worker's
    reply on Telegram to a request made on the web) still go to their queue."""
    router = ChannelRouter(app, telegram)
    router.add(WEB, WebSender(app))
    return router


def _kind(chat_id: int) -> str:
    return "allocated" if is_allocated(chat_id) else "group" if chat_id < 0 else "telegram"


class WebChannel:
    def __init__(self, app: App, sender: WebSender, router: ChannelRouter) -> None:
        self.app = app
        self.engine = app.engine
        self.store = app.store
        self.sender = sender
        self.router = router

    async def user_for(self, device_id: str, create: bool = True) -> int | None:
        if create:
            return await self.store.identities.resolve(WEB, device_id)
        return await self.store.identities.find(WEB, device_id)

    async def history(self, device_id: str) -> tuple[list[dict[str, Any]], int]:
        user_id = await self.user_for(device_id, create=False)
        if user_id is None:
            return [], 0
        messages = await self.store.web.history(user_id)
        return [message_json(m) for m in messages], sum(1 for m in messages if m.unread)

    async def after(self, user_id: int, after_id: int) -> list[dict[str, Any]]:
        return [message_json(m) for m in await self.store.web.after(user_id, after_id)]

    async def turn(
        self,
        device_id: str,
        *,
        text: str | None = None,
        payload: str | None = None,
        label: str | None = None,
        location: tuple[float, float] | None = None,
        client_id: str = "",
        silent: bool = False,
    ) -> TurnResult:
        """One turn. ``label`` is what the page showed on the pressed button (the log
        shows it as the resident's message); ``silent`` keeps the resident's side out
        of the log (the greeting a first visit starts with)."""
        user_id = await self.user_for(device_id)
        assert user_id is not None
        update_id = update_id_for(user_id, client_id)
        if payload is not None:
            event = Event(user_id, user_id, payload=payload, update_id=update_id)
            shown = (label or "").strip()[:MAX_LABEL_CHARS]
        elif location is not None:
            event = Event(user_id, user_id, location=Location(*location), update_id=update_id)
            shown = self.app.renderer.label("web.location_sent")
        else:
            shown = (text or "")[:MAX_TEXT_CHARS]
            event = Event(user_id, user_id, text=shown, update_id=update_id)
        replies = await self.engine.handle(event)
        if not replies:
            return TurnResult([], duplicate=True)
        own = [r for r in replies if r.chat_id in (None, user_id)]
        for reply in replies:
            if reply.chat_id not in (None, user_id):
                await self._route(reply)
        if await self.user_for(device_id, create=False) is None:
            # /forget ran: nothing of this turn is kept; the page starts afresh.
            return TurnResult(
                [
                    {"id": 0, "role": "bot", "html": to_safe_html(r.text), "buttons": []}
                    for r in own
                ],
                forgotten=True,
            )
        entries: list[Entry] = [] if silent or not shown else [("user", shown, [], {})]
        entries += [reply_entry(r) for r in own]
        stored = await self.store.web.append(user_id, entries)
        return TurnResult([message_json(m) for m in stored])

    async def _route(self, reply: Reply) -> None:
        assert reply.chat_id is not None
        try:
            await self.router.send(reply.chat_id, reply)
        except Exception as exc:  # noqa: BLE001 - the resident's turn is done and stored
            log.error("notice to another chat failed: %s", type(exc).__name__)


def valid_location(lat: Any, lon: Any) -> tuple[float, float] | None:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return None
    return lat, lon


async def forget_web_identity(store: Any, user_id: int) -> None:
    """/forget (any channel): the conversation log and the channel identities go too."""
    await store.web.forget_user(user_id)
    await store.identities.forget(user_id)
