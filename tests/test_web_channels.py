"""Two channels on one engine: Telegram through the channel identities, and a message
for a web resident produced in a Telegram turn reaching the resident's web queue."""

from __future__ import annotations

import pytest
from telegram import Update

from bot.dialog.events import Reply
from bot.store.identities import FIRST_ALLOCATED_ID
from bot.telegram.adapter import build_application, channel_of
from bot.telegram.offline import BotAPIStub, OfflineRequest, Updates
from tests.test_web_http import client_for, open_page

pytestmark = pytest.mark.both_backends


async def test_telegram_goes_through_identities_and_reaches_web_residents(app):
    stub = BotAPIStub()
    request = OfflineRequest(stub)
    application = build_application(
        app, "123456:TEST", request=request, get_updates_request=request, rate_limiter=None
    )
    await application.initialize()
    try:
        async with client_for(app) as web:
            updates = Updates(start=10)
            await application.process_update(
                Update.de_json(updates.message("/start", 4242), application.bot)
            )
            row = await app.store.fetchone(
                "SELECT id, external_id FROM channel_identities WHERE channel = 'telegram'"
            )
            assert (row["id"], row["external_id"]) == (4242, "4242")
            assert await app.store.load_state(4242) is None  # the menu keeps no state
            assert any(c.params.get("chat_id") == 4242 for c in stub.sent("sendMessage"))

            h = await open_page(web)
            await web.post("/api/send", json={"start": True}, headers=h)
            web_id = (
                await app.store.fetchone("SELECT id FROM channel_identities WHERE channel = 'web'")
            )["id"]
            assert web_id > FIRST_ALLOCATED_ID
            # A staff turn on Telegram answers a web resident (Reply.chat_id = their id).
            stub.clear()
            channel = channel_of(application)
            ok = await channel.deliver(
                application.bot, [Reply("工作人员回复了您", chat_id=web_id), Reply("已发送")], 4242
            )
            assert ok
            sent_to = [c.params.get("chat_id") for c in stub.sent("sendMessage")]
            assert sent_to == [4242]  # nothing tried on Telegram for the web resident
            history = (await web.get("/api/history")).json()
            assert history["unread"] == 1 and "工作人员回复了您" in history["messages"][-1]["html"]
    finally:
        await application.shutdown()
