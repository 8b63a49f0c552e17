"""Engine replies out as Bot API calls: inline keyboards (built once, cached), the
one-time share keyboard, editing the pressed message, HTML with a plain-text retry,
and the deep link to a private chat."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    LinkPreviewOptions,
    Message,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden

from bot.dialog.events import Button, Reply
from bot.render import html_to_plain
from bot.store.identities import is_allocated

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.render import Renderer

log = logging.getLogger(__name__)

KEYBOARD_CACHE_SIZE = 512
# `/start go-<menu item>` opens that menu item (the private-chat deep link from a group).
DEEP_LINK_PREFIX = "go-"


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


async def send_file(bot: Any, chat_id: int, reply: Reply, markup: Any) -> Any:
    """A reply with a file: the file, its text as the caption (HTML, plain words when
    Telegram cannot read it). The sent message, or None when the chat is unreachable."""
    doc = reply.document
    assert doc is not None

    def upload() -> InputFile:
        return InputFile(doc.data, filename=doc.file_name, attach=True)

    try:
        return await bot.send_document(chat_id, upload(), caption=reply.text, reply_markup=markup)
    except Forbidden:
        log.info("chat unreachable (blocked or left)")
        return None
    except BadRequest as exc:
        if "parse entities" not in exc.message.lower():
            raise
        log.error("caption HTML rejected by Telegram; sent as plain text")
        return await bot.send_document(
            chat_id,
            upload(),
            caption=html_to_plain(reply.text),
            parse_mode=None,
            reply_markup=markup,
        )


class Sender:
    """The sending half of the Telegram channel."""

    engine: Engine
    renderer: Renderer

    def __init__(self) -> None:
        # Keyboards by their buttons (label and payload), least recently used first out.
        self._keyboards: OrderedDict[tuple[tuple[Button, ...], ...], InlineKeyboardMarkup] = (
            OrderedDict()
        )

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
            if is_allocated(target):
                # Another channel's chat (a web resident): through the process's notifier.
                await self._elsewhere(target, reply)
                continue
            inline = self._inline(reply.buttons)
            if reply.document is not None:
                if not await send_file(bot, target, reply, inline) and target == chat_id:
                    return False
                continue
            if reply.edit_message_id is not None:
                # An edit of an earlier message (a staff group's case card), never a new one.
                from bot.telegram.delivery import edit

                try:
                    await edit(bot, target, reply.edit_message_id, reply.text, inline)
                except Forbidden:
                    return False
                except Exception as exc:  # noqa: BLE001 - the card stays as it was
                    log.info("card not edited: %s", type(exc).__name__)
                continue
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

    async def _elsewhere(self, chat_id: int, reply: Reply) -> None:
        notifier: Any = self.engine.services.notifier
        if notifier is None or not hasattr(notifier, "channels"):
            log.warning("a message for another channel's chat has no channel in this process")
            return
        try:
            await notifier.send(chat_id, reply)
        except Exception as exc:  # noqa: BLE001 - this chat's own replies still go out
            log.error("message to another channel failed: %s", type(exc).__name__)

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
                reply_markup=markup,
                reply_parameters=params,
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
                parse_mode=None,  # over the HTML default
                reply_markup=markup,
                reply_parameters=params,
            )
        return True

    async def _edit(self, bot: Any, message: Message, text: str, markup: Any) -> bool:
        try:
            await bot.edit_message_text(
                text,
                chat_id=message.chat.id,
                message_id=message.message_id,
                reply_markup=markup,
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
