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

import html
import logging
from typing import TYPE_CHECKING, Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseRateLimiter,
    CallbackQueryHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.dialog.events import Contact, Document, Event, Location, Photo
from bot.render import html_to_plain
from bot.store.identities import TELEGRAM
from bot.telegram.guards import FloodGuard, RecentUpdates
from bot.telegram.outgoing import _NO_PREVIEW, DEEP_LINK_PREFIX, Sender

if TYPE_CHECKING:
    from bot.app import App
    from bot.dialog.engine import Engine
    from bot.dialog.flow import Turn

log = logging.getLogger(__name__)

GROUP_CHATS = {ChatType.GROUP, ChatType.SUPERGROUP}
# Commands offered in the groups' command menu.
GROUP_MENU_COMMANDS = {"start", "menu", "help", "privacy"}
# Menu items that show only public information (policies, the list, channels); the
# others (screening, help request, progress) are sent to a private chat.
GROUP_SAFE_MENU = {"ask", "list", "channels"}
# The command menu, in this order, for the commands the engine has.
MENU_COMMANDS = ("start", "menu", "help", "cancel", "privacy", "forget")
# Telegram's limits for setMyDescription and setMyShortDescription.
MAX_DESCRIPTION = 512
MAX_SHORT_DESCRIPTION = 120
CHANNEL_KEY = "sanliang.channel"
_DEFAULT = object()


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


def install_deep_links(engine: Engine) -> None:
    """``/start go-help`` opens 我要求助 directly (the link a group reply points to)."""
    handlers = engine.hooks.start
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


class TelegramChannel(Sender):
    def __init__(self, app: App, flood: FloodGuard) -> None:
        self.app = app
        self.engine = app.engine
        self.renderer = app.renderer
        self.flood = flood
        self.recent = RecentUpdates()
        super().__init__()
        install_deep_links(self.engine)

    # -- updates in ------------------------------------------------------------

    async def internal_id(self, telegram_user_id: int) -> int:
        """The user's internal id, through the channel identities (a Telegram user
        keeps their Telegram id; see bot/store/identities.py)."""
        return await self.app.store.identities.resolve(TELEGRAM, str(telegram_user_id))

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
            "user_id": await self.internal_id(user.id),
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
        """A sent file, fetched only when the engine reads this user's files (admins'
        content uploads) and only up to its limit; anyone else's is answered as
        something the engine cannot read."""
        doc = message.document
        assert doc is not None
        limit = await self.engine.document_limit(base["user_id"])
        if limit is None:
            return Event(text=None, **base)
        name = doc.file_name or ""
        if doc.file_size is not None and doc.file_size > limit:
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
        photo = None
        if message.photo:
            largest = message.photo[-1]
            photo = Photo(largest.file_id, largest.file_size)
        # Photos, voice, stickers ... carry no text: the engine says what it can read.
        return Event(
            text=message.text or message.caption, media=media_kind(message), photo=photo, **base
        )

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
            user_id=await self.internal_id(user.id),
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
        safe = set(self.engine.services.group_safe_prefixes)
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
        """The Chinese command menu (all commands in private chats, the public ones in
        groups), and the descriptions an empty chat shows before /start."""
        await bot.set_my_commands(self.commands())
        await bot.set_my_commands(self.commands(), scope=BotCommandScopeAllPrivateChats())
        await bot.set_my_commands(self.commands(group=True), scope=BotCommandScopeAllGroupChats())
        # Plain text (Telegram shows descriptions without markup): the rendered
        # template unescaped, then cut to Telegram's limits.
        description = html.unescape(self.renderer.render("telegram/description")).strip()
        short = html.unescape(self.renderer.render("telegram/short_description")).strip()
        await bot.set_my_description(description[:MAX_DESCRIPTION])
        await bot.set_my_short_description(short[:MAX_SHORT_DESCRIPTION])


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
    # Every message is Telegram HTML without link previews, unless a call says otherwise.
    builder = builder.defaults(
        Defaults(parse_mode=ParseMode.HTML, link_preview_options=_NO_PREVIEW)
    )
    application = builder.build()

    channel = TelegramChannel(app, flood if flood is not None else FloodGuard())
    application.bot_data[CHANNEL_KEY] = channel
    application.add_handler(CallbackQueryHandler(channel.on_callback))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, channel.on_message))
    application.add_error_handler(channel.on_error)

    async def command_menu(user_id: int, commands: list[tuple[str, str]]) -> None:
        """A staff member's own menu (BotCommandScopeChat); none: the default one."""
        scope = BotCommandScopeChat(user_id)
        if commands:
            menu = [BotCommand(name, what[:256]) for name, what in commands]
            await application.bot.set_my_commands(menu, scope=scope)
        else:
            await application.bot.delete_my_commands(scope=scope)

    app.engine.services.command_menu = command_menu
    return application
