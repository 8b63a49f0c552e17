"""The Telegram channel's ``deliver`` for the outbox sender (bot/outbox.py).

Returns the sent message's id. Telegram's refusals are left as python-telegram-bot
raises them (Forbidden, BadRequest "chat not found", RetryAfter, NetworkError): the
sender classifies them. HTML Telegram cannot parse is sent as plain words instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.error import BadRequest

from bot.dialog.events import Reply
from bot.render import html_to_plain
from bot.sending import Permanent

if TYPE_CHECKING:
    from telegram.ext import Application


def telegram_deliver(application: Application):
    from bot.telegram.adapter import channel_of

    async def deliver(chat_id: int, reply: Reply) -> int:
        channel = channel_of(application)
        bot: Any = application.bot
        markup = channel._inline(reply.buttons)  # noqa: SLF001 - the adapter's keyboards
        if reply.document is not None:
            from telegram.error import Forbidden

            from bot.telegram.outgoing import send_file

            sent = await send_file(bot, chat_id, reply, markup)
            if sent is None:
                raise Forbidden("chat unreachable")
            return int(sent.message_id)
        if reply.edit_message_id is not None:
            return await edit(bot, chat_id, reply.edit_message_id, reply.text, markup)
        try:
            # HTML and no link previews: the Application's defaults.
            sent = await bot.send_message(chat_id, reply.text, reply_markup=markup)
        except BadRequest as exc:
            if "parse entities" not in exc.message.lower():
                raise
            sent = await bot.send_message(
                chat_id,
                html_to_plain(reply.text),
                parse_mode=None,  # over the HTML default
                reply_markup=markup,
            )
        return int(sent.message_id)

    return deliver


async def edit(bot: Any, chat_id: int, message_id: int, text: str, markup: Any) -> int:
    """Edit an earlier message (a staff group's case card). Without buttons the
    keyboard goes (Telegram drops it when an edit has none). A message that already
    says this counts as edited; one that cannot be edited any more is refused for
    good (``Permanent``)."""
    try:
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=message_id, reply_markup=markup
        )
    except BadRequest as exc:
        words = exc.message.lower()
        if "not modified" in words:
            return message_id
        if "parse entities" in words:
            await bot.edit_message_text(
                html_to_plain(text),
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=markup,
                parse_mode=None,
            )
            return message_id
        raise Permanent("edit_refused") from exc
    return message_id


def notifier_deliver(notifier: Any):
    """A ``deliver`` over a notifier (``send`` returns False when the chat cannot be
    reached; errors are raised as the channel raises them)."""

    async def deliver(chat_id: int, reply: Reply) -> bool | None:
        return None if await notifier.send(chat_id, reply) is not False else False

    return deliver
