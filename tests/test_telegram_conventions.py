"""Telegram's conventions, against the offline Bot API stand-in: /privacy in the chat
and the command menu, the Chinese descriptions set at start-up, and PTB Defaults for the
parse mode and link previews (overridden where a message must go out as plain text)."""

from __future__ import annotations

import html

import pytest
from telegram import Update

from bot.telegram.adapter import (
    MAX_DESCRIPTION,
    MAX_SHORT_DESCRIPTION,
    channel_of,
)
from bot.telegram.offline import Updates
from tests.telegram_support import offline_application

CJK = range(0x4E00, 0xA000)


def chinese(text: str) -> bool:
    return sum(ord(ch) in CJK for ch in text) > len(text) / 3


@pytest.fixture
async def bot(app):
    async with offline_application(app) as (application, stub):
        yield application, stub


async def feed(application, data) -> None:
    await application.process_update(Update.de_json(data, application.bot))


async def test_descriptions_and_menu_at_start_up(bot):
    application, stub = bot
    await channel_of(application).setup_commands(application.bot)
    description, short = stub.bot_texts["description", ""], stub.bot_texts["short_description", ""]
    assert 0 < len(description) <= MAX_DESCRIPTION and chinese(description)
    assert 0 < len(short) <= MAX_SHORT_DESCRIPTION and chinese(short)
    assert "12345" in description and "<" not in description + short
    for scope in ("default", "all_private_chats", "all_group_chats"):
        commands = {c["command"]: c["description"] for c in stub.commands[scope]}
        assert "privacy" in commands and chinese(commands["privacy"])


async def test_stand_in_refuses_descriptions_over_telegrams_limits(bot):
    application, _stub = bot
    from telegram.error import BadRequest

    with pytest.raises(BadRequest):
        await application.bot.set_my_description("长" * (MAX_DESCRIPTION + 1))
    with pytest.raises(BadRequest):
        await application.bot.set_my_short_description("短" * (MAX_SHORT_DESCRIPTION + 1))


@pytest.mark.parametrize("group", [False, True])
async def test_privacy_says_what_is_kept_in_the_consent_words(bot, app, group):
    application, stub = bot
    updates = Updates()
    chat_id = -100_777 if group else 1001
    await feed(application, updates.message("/privacy", 1001, chat_id=chat_id, group=group))
    (call,) = stub.sent("sendMessage")
    assert call.params["chat_id"] == chat_id
    text = html.unescape(call.params["text"])
    # The consent's own sentences: what, why, who, how long, how to delete.
    consent = app.renderer.render("cases/consent", days=180)
    for heading in ("要填什么", "为什么要填", "谁能看到", "保存多久", "怎么删除"):
        line = next(ln for ln in consent.splitlines() if heading in ln)
        assert html.unescape(line) in text
    assert "/forget" in text and "180 天" in text
    # Defaults: Telegram HTML, no link previews, without every call repeating them.
    assert call.params["parse_mode"] == "HTML"
    assert '"is_disabled": true' in str(call.params["link_preview_options"]).replace(
        "True", "true"
    ).replace("'", '"')


async def test_plain_text_fallback_overrides_the_html_default(bot, app):
    application, stub = bot
    from bot.dialog.events import Reply

    channel = channel_of(application)
    # HTML Telegram cannot parse: the stand-in rejects it, the adapter resends plain.
    await channel.deliver(application.bot, [Reply("<b>未闭合的标签")], 1001)
    sent = stub.sent("sendMessage")
    assert [c.params.get("parse_mode") for c in sent] == ["HTML", None]  # None: not sent
    assert sent[-1].result is not None and "未闭合的标签" in sent[-1].params["text"]
