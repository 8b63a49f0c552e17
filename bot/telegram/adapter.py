"""The Telegram channel: updates in, engine events; engine replies out, Bot API calls.

``build_application(app, token, ...)`` is the one place a python-telegram-bot
Application is made; tests and the benchmark inject an offline request object.

What the adapter adds on top of the engine, and nothing more:
- inline keyboards for buttons, editing the pressed button's message where the reply
  asks for it, an answer to every callback query;
- a one-time reply keyboard for "share my phone number / my location";
- a per-user flood guard (more than 20 messages in 10 s gets one calm 请稍后再试);
- groups: only commands and mentions are answered (no deep-link arguments there); a
  button whose flow touches personal data (the screening, a help request, its progress,
  /forget, any flow not declared group-safe) gets a t.me link to a private chat
  instead. Commands decide for themselves (features check ``Event.is_group``), and the
  engine never treats group text as an answer to a private step;
- an error handler that logs the error's type only and tells the user;
- the Chinese command menu (setMyCommands).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.admin.auth import is_admin
from bot.admin.files import MAX_UPLOAD_BYTES
from bot.dialog.events import Button, Contact, Document, Event, Location, Reply
from bot.render import html_to_plain

if TYPE_CHECKING:
    from bot.app import App
    from bot.dialog.engine import Engine
    from bot.dialog.flow import Turn

log = logging.getLogger(__name__)

GROUP_CHATS = {ChatType.GROUP, ChatType.SUPERGROUP}
# Commands offered in the groups' command menu.
GROUP_MENU_COMMANDS = {"start", "menu", "help"}
# Menu items that show only public information (policies, the list, channels); the
# others (screening, help request, progress) are sent to a private chat.
GROUP_SAFE_MENU = {"ask", "list", "channels"}
# The command menu, in this order, for the commands the engine has.
MENU_COMMANDS = ("start", "menu", "help", "cancel", "forget")
# `/start go-<menu item>` opens that menu item (the private-chat deep link from a group).
DEEP_LINK_PREFIX = "go-"
FLOOD_LIMIT = 20
FLOOD_WINDOW = 10.0
CHANNEL_KEY = "sanliang.channel"
_DEFAULT = object()
KEYBOARD_CACHE_SIZE = 512


def media_kind(message: Message) -> str | None:
    """What a message without text carries, in the engine's words (Event.media)."""
    if message.text:
        return None
    if message.voice is not None or message.video_note is not None:
        return "voice"
    if message.audio is not None:
        return "audio"
    if message.sticker is not None:
        return "sticker"
    if message.photo:
        return "photo"
    if message.video is not None or message.animation is not None:
        return "video"
    return None if message.caption else "other"


class _Keyboard(InlineKeyboardMarkup):
    """An inline keyboard of the engine's buttons. Those sent many times (the menu,
    回主菜单 ...) are built once and reused (python-telegram-bot objects are immutable,
    so sharing one is safe); the JSON form is made straight from the buttons, once,
    not by python-telegram-bot's generic ``to_dict`` on every message."""

    __slots__ = ("_as_dict",)

    def __init__(self, rows: list[list[Button]]) -> None:
        super().__init__(
            [[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row] for row in rows]
        )
        self._as_dict = {
            "inline_keyboard": [
                [{"text": b.label, "callback_data": b.payload} for b in row] for row in rows
            ]
        }

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        if not recursive:
            return super().to_dict(recursive=False)
        return dict(self._as_dict)


class _LinkPreview(LinkPreviewOptions):
    """The same options on every message: their JSON form computed once."""

    __slots__ = ("_as_dict",)

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        cached = getattr(self, "_as_dict", None)
        if cached is None:
            cached = self._as_dict = super().to_dict(recursive)
        return dict(cached)


_NO_PREVIEW = _LinkPreview(is_disabled=True)


class FloodGuard:
    """More than ``limit`` messages in ``window`` seconds from one user: warn once, then
    drop that user's messages until they slow down. Other users are not affected."""

    OK, WARN, DROP = "ok", "warn", "drop"

    def __init__(
        self,
        limit: int = FLOOD_LIMIT,
        window: float = FLOOD_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._warned: set[int] = set()
        self._calls = 0

    def check(self, user_id: int) -> str:
        now = self.clock()
        self._calls += 1
        if self._calls % 4096 == 0:
            self._prune(now)
        times = self._seen.get(user_id)
        if times is None:
            times = self._seen[user_id] = deque(maxlen=self.limit)
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            if user_id in self._warned:
                return self.DROP
            self._warned.add(user_id)
            return self.WARN
        self._warned.discard(user_id)
        times.append(now)
        return self.OK

    def _prune(self, now: float) -> None:
        stale = [u for u, t in self._seen.items() if not t or now - t[-1] >= self.window]
        for user_id in stale:
            del self._seen[user_id]
            self._warned.discard(user_id)

    def __len__(self) -> int:
        return len(self._seen)


class RecentUpdates:
    """Update ids handled lately, in memory (the engine de-duplicates private turns
    durably; group turns are stateless and only de-duplicated here)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def seen(self, update_id: int) -> bool:
        if update_id in self._ids:
            return True
        self._ids[update_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False


def install_deep_links(engine: Engine) -> None:
    """``/start go-help`` opens 我要求助 directly (the link a group reply points to)."""
    handlers = engine.services.setdefault("start_handlers", [])
    if any(getattr(h, "_sanliang_go", False) for h in handlers):
        return

    async def go(turn: Turn, arg: str) -> bool:
        if not arg.startswith(DEEP_LINK_PREFIX) or turn.event.is_group:
            return False
        item = arg[len(DEEP_LINK_PREFIX) :]
        if item not in engine.menu_targets:
            return False
        await engine.open_menu_item(turn, item)
        return True

    go._sanliang_go = True  # type: ignore[attr-defined]
    handlers.append(go)


class TelegramChannel:
    def __init__(self, app: App, flood: FloodGuard) -> None:
        self.app = app
        self.engine = app.engine
        self.renderer = app.renderer
        self.flood = flood
        self.recent = RecentUpdates()
        # Keyboards by their buttons (label and payload), least recently used first out.
        self._keyboards: OrderedDict[tuple[tuple[Button, ...], ...], InlineKeyboardMarkup] = (
            OrderedDict()
        )
        install_deep_links(self.engine)

    # -- updates in ------------------------------------------------------------

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.message
        user = update.effective_user
        if message is None or user is None or user.is_bot:
            return
        if self.recent.seen(update.update_id):
            return
        chat = message.chat
        is_group = chat.type in GROUP_CHATS
        base: dict[str, Any] = {
            "user_id": user.id,
            "chat_id": chat.id,
            "update_id": update.update_id,
            "is_group": is_group,
            "user_name": user.first_name,
        }
        bot = context.bot
        if is_group:
            text = self._group_text(message, bot)
            if text is None:
                return  # not for us: neither a command nor a mention
            if not await self._flood_ok(bot, user.id, chat.id, message):
                return
            event = Event(text=text, **base)
        else:
            if not await self._flood_ok(bot, user.id, chat.id, message):
                return
            if message.document is not None:
                event = await self._document_event(message, base)
            else:
                event = self._private_event(message, base)
        replies = await self.engine.handle(event)
        await self.deliver(bot, replies, chat.id, reply_to=message if is_group else None)

    async def _document_event(self, message: Message, base: dict[str, Any]) -> Event:
        """A sent file. Only admins' files are fetched (content uploads), and only up to
        the upload limit; anyone else's is answered as something the engine cannot read."""
        doc = message.document
        assert doc is not None
        if not await is_admin(self.engine, base["user_id"]):
            return Event(text=None, **base)
        name = doc.file_name or ""
        if doc.file_size is not None and doc.file_size > MAX_UPLOAD_BYTES:
            return Event(document=Document(name, b"", size=doc.file_size), **base)
        file = await doc.get_file()
        data = bytes(await file.download_as_bytearray())
        return Event(document=Document(name, data, size=len(data)), **base)

    def _private_event(self, message: Message, base: dict[str, Any]) -> Event:
        if message.contact is not None:
            contact = Contact(message.contact.phone_number, message.contact.user_id)
            return Event(contact=contact, **base)
        if message.location is not None:
            loc = Location(message.location.latitude, message.location.longitude)
            return Event(location=loc, **base)
        # Photos, voice, stickers ... carry no text: the engine says what it can read.
        return Event(text=message.text or message.caption, media=media_kind(message), **base)

    def _group_text(self, message: Message, bot: Any) -> str | None:
        """The text to hand the engine for a group message, or None to stay silent."""
        text = message.text or ""
        me = (bot.username or "").lower()
        if text.startswith("/"):
            head, _, rest = text.partition(" ")
            name, _, addressee = head.partition("@")
            if addressee and addressee.lower() != me:
                return None  # a command for another bot
            if name.lower() == "/start":
                return "/start"  # no deep links in groups
            return f"{name} {rest}".strip()
        mentioned = False
        for entity, value in message.parse_entities(
            [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
        ).items():
            if entity.type == MessageEntity.MENTION and value.lower() == f"@{me}":
                mentioned = True
                text = text.replace(value, " ")
            elif entity.type == MessageEntity.TEXT_MENTION and entity.user is not None:
                mentioned = mentioned or entity.user.id == bot.id
        replied = message.reply_to_message
        if replied is not None and replied.from_user is not None:
            mentioned = mentioned or replied.from_user.id == bot.id
        if not mentioned:
            return None
        text = " ".join(text.split())
        return text or "/menu"

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        bot = context.bot
        user = query.from_user
        pressed = query.message if isinstance(query.message, Message) else None
        chat_id = query.message.chat.id if query.message is not None else user.id
        is_group = query.message is not None and query.message.chat.type in GROUP_CHATS
        if self.recent.seen(update.update_id):
            await self._answer(query)
            return
        verdict = self.flood.check(user.id)
        if verdict != FloodGuard.OK:
            text = self.renderer.render("telegram/flood") if verdict == FloodGuard.WARN else None
            await self._answer(query, html_to_plain(text) if text else None)
            return
        # Stop the button's spinner at once, whatever happens next.
        await self._answer(query)
        payload = query.data
        if not payload:
            return
        if is_group:
            blocked = self._group_blocked_payload(payload)
            if blocked is not None:
                await self.send_private_only(bot, chat_id, blocked)
                return
        event = Event(
            user_id=user.id,
            chat_id=chat_id,
            payload=payload,
            update_id=update.update_id,
            is_group=is_group,
            user_name=user.first_name,
        )
        replies = await self.engine.handle(event)
        await self.deliver(bot, replies, chat_id, pressed=pressed)

    def _group_blocked_payload(self, payload: str) -> str | None:
        prefix, _, rest = payload.partition(":")
        if prefix == "nav":
            return None
        if prefix == "menu":
            return None if rest in GROUP_SAFE_MENU else rest
        safe = set(self.engine.services.get("group_safe_prefixes", ()))
        by_prefix: dict[str, str] = {}
        for item, flow in self.engine.menu_targets.items():
            if flow.prefix:
                by_prefix.setdefault(flow.prefix, item)
                if item in GROUP_SAFE_MENU:
                    safe.add(flow.prefix)
        if prefix in safe:
            return None
        return by_prefix.get(prefix, "")

    async def _flood_ok(self, bot: Any, user_id: int, chat_id: int, message: Message) -> bool:
        verdict = self.flood.check(user_id)
        if verdict == FloodGuard.OK:
            return True
        if verdict == FloodGuard.WARN:
            await self._send(bot, chat_id, self.renderer.render("telegram/flood"), None)
        return False

    async def _answer(self, query: Any, text: str | None = None) -> None:
        try:
            await query.answer(text)
        except BadRequest:
            # Too old to answer (after about 15 minutes): nothing to stop any more.
            log.info("callback query could not be answered")

    # -- replies out ---------------------------------------------------------

    async def deliver(
        self,
        bot: Any,
        replies: list[Reply],
        chat_id: int,
        *,
        pressed: Message | None = None,
        reply_to: Message | None = None,
    ) -> bool:
        """Send the replies; False when ``chat_id`` cannot be reached (blocked, left)."""
        edited = False
        for reply in replies:
            target = reply.chat_id if reply.chat_id is not None else chat_id
            inline = self._inline(reply.buttons)
            share = reply.request_contact or reply.request_location
            if (
                reply.edit
                and not edited
                and not share
                and pressed is not None
                and pressed.chat.id == target
            ):
                edited = True
                if await self._edit(bot, pressed, reply.text, inline):
                    continue
            markup: Any = inline
            follow_up = None
            if share:
                keyboard = self._share_keyboard(reply)
                if inline is None:
                    markup = keyboard
                else:
                    follow_up = keyboard
            sent = await self._send(
                bot, target, reply.text, markup, reply_to if target == chat_id else None
            )
            if not sent:
                if target == chat_id:
                    return False  # the user blocked the bot: nothing more can reach them
                continue
            if target == chat_id:
                reply_to = None
            if follow_up is not None:
                name = (
                    "telegram/share_contact" if reply.request_contact else "telegram/share_location"
                )
                await self._send(bot, target, self.renderer.render(name), follow_up)
        return True

    def _inline(self, rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
        if not rows:
            return None
        key = tuple(tuple(row) for row in rows)
        keyboard = self._keyboards.get(key)
        if keyboard is not None:
            self._keyboards.move_to_end(key)
            return keyboard
        keyboard = _Keyboard(rows)
        self._keyboards[key] = keyboard
        if len(self._keyboards) > KEYBOARD_CACHE_SIZE:
            self._keyboards.popitem(last=False)
        return keyboard

    def _share_keyboard(self, reply: Reply) -> ReplyKeyboardMarkup:
        row = []
        if reply.request_contact:
            row.append(
                KeyboardButton(self.renderer.label("telegram.share_contact"), request_contact=True)
            )
        if reply.request_location:
            row.append(
                KeyboardButton(
                    self.renderer.label("telegram.share_location"), request_location=True
                )
            )
        return ReplyKeyboardMarkup([row], one_time_keyboard=True, resize_keyboard=True)

    async def _send(
        self, bot: Any, chat_id: int, text: str, markup: Any, reply_to: Message | None = None
    ) -> bool:
        """Send one message; False when the chat cannot be reached (blocked, left)."""
        params = (
            ReplyParameters(reply_to.message_id, allow_sending_without_reply=True)
            if reply_to is not None
            else None
        )
        try:
            await bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                reply_parameters=params,
                link_preview_options=_NO_PREVIEW,
            )
        except Forbidden:
            log.info("chat unreachable (blocked or left)")
            return False
        except BadRequest as exc:
            if "parse entities" not in exc.message.lower():
                raise
            # A template produced HTML Telegram cannot read: send the words anyway.
            log.error("reply HTML rejected by Telegram; sent as plain text")
            await bot.send_message(
                chat_id,
                html_to_plain(text),
                reply_markup=markup,
                reply_parameters=params,
                link_preview_options=_NO_PREVIEW,
            )
        return True

    async def _edit(self, bot: Any, message: Message, text: str, markup: Any) -> bool:
        try:
            await bot.edit_message_text(
                text,
                chat_id=message.chat.id,
                message_id=message.message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                link_preview_options=_NO_PREVIEW,
            )
        except BadRequest as exc:
            if "not modified" in exc.message.lower():
                return True  # pressed twice: the message already says this
            log.info("message could not be edited; sending a new one")
            return False
        return True

    async def send_private_only(
        self, bot: Any, chat_id: int, item: str, reply_to: Message | None = None
    ) -> None:
        """In a group: ask the user to continue privately, with a deep link."""
        link = f"https://t.me/{bot.username}"
        if item and item in self.engine.menu_targets:
            link += f"?start={DEEP_LINK_PREFIX}{item}"
        markup = InlineKeyboardMarkup(
            [[InlineKeyboardButton(self.renderer.label("telegram.private"), url=link)]]
        )
        await self._send(
            bot, chat_id, self.renderer.render("telegram/private_only"), markup, reply_to
        )

    # -- errors and start-up -----------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # Only the error's type: the update holds the user's words and names.
        log.error("update failed: %s", type(context.error).__name__)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        try:
            if update.callback_query is not None:
                await self._answer(update.callback_query)
            menu = InlineKeyboardMarkup(
                [[InlineKeyboardButton(self.renderer.label("nav.menu"), callback_data="nav:menu")]]
            )
            await context.bot.send_message(
                update.effective_chat.id,
                self.renderer.render("core/error"),
                parse_mode=ParseMode.HTML,
                reply_markup=menu,
            )
        except Exception as exc:  # noqa: BLE001 - the error path must never raise
            log.error("could not tell the user about the error: %s", type(exc).__name__)

    def commands(self, group: bool = False) -> list[BotCommand]:
        names = [n for n in MENU_COMMANDS if n in self.engine.commands]
        if group:
            names = [n for n in names if n in GROUP_MENU_COMMANDS]
        return [BotCommand(n, self.renderer.label(f"telegram.cmd.{n}")) for n in names]

    async def setup_commands(self, bot: Any) -> None:
        """The Chinese command menu: all commands in private chats, the public ones in groups."""
        await bot.set_my_commands(self.commands())
        await bot.set_my_commands(self.commands(), scope=BotCommandScopeAllPrivateChats())
        await bot.set_my_commands(self.commands(group=True), scope=BotCommandScopeAllGroupChats())


def channel_of(application: Application) -> TelegramChannel:
    return application.bot_data[CHANNEL_KEY]


def build_application(
    app: App,
    token: str,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    base_url: str | None = None,
    base_file_url: str | None = None,
    rate_limiter: BaseRateLimiter | None | object = _DEFAULT,
    concurrent_updates: int = 64,
    flood: FloodGuard | None = None,
) -> Application:
    """The Telegram Application for ``app``'s engine.

    ``base_url`` is python-telegram-bot's: the prefix the token is appended to
    (default ``https://api.telegram.org/bot``), or a string with ``{token}`` in it.
    ``rate_limiter`` defaults to AIORateLimiter (Telegram's flood limits for outgoing
    calls); pass None to switch it off (tests, benchmarks).
    """
    builder = Application.builder().token(token).concurrent_updates(concurrent_updates)
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    if base_url:
        builder = builder.base_url(base_url)
        if base_file_url is None and base_url.endswith("/bot"):
            base_file_url = base_url[: -len("bot")] + "file/bot"
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    if rate_limiter is _DEFAULT:
        rate_limiter = AIORateLimiter()
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)  # type: ignore[arg-type]
    application = builder.build()

    channel = TelegramChannel(app, flood if flood is not None else FloodGuard())
    application.bot_data[CHANNEL_KEY] = channel
    application.add_handler(CallbackQueryHandler(channel.on_callback))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, channel.on_message))
    application.add_error_handler(channel.on_error)
    return application
