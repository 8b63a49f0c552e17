"""Staff buttons through the Telegram adapter (offline Bot API): a 认领 pressed in
the staff group edits the post there, the card goes privately, the resident is told;
jobs send through the adapter's delivery."""

from __future__ import annotations

import json

import pytest
from telegram import Update

from bot.staff.jobs import run_reminders
from bot.telegram.jobs import ApplicationNotifier
from bot.telegram.offline import BotAPIStub, Updates
from tests.staff_support import (
    CHAT_WUHOU,
    MASKED,
    PHONE,
    RESIDENT,
    WUHOU_A,
    add_worker,
    new_case,
    open_staff_app,
    send_outbox,
    service,
    ts,
)
from tests.telegram_support import offline_application


@pytest.fixture
async def tg(tmp_path):
    app, clock = await open_staff_app(tmp_path)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    try:
        async with offline_application(app) as (application, stub):
            yield app, application, stub
    finally:
        await app.close()


def sent(stub: BotAPIStub) -> list[tuple[str, int, str]]:
    return [
        (c.method, int(c.params["chat_id"]), c.params["text"])
        for c in stub.sent()
        if c.method in ("sendMessage", "editMessageText")
    ]


async def test_claim_pressed_in_the_staff_group(tg):
    app, application, stub = tg
    case, replies = await new_case(app)
    post = replies[0]
    message = {
        "message_id": 77,
        "date": 1736128800,
        "chat": {"id": CHAT_WUHOU, "type": "supergroup", "title": "武侯区社区工作群"},
        "from": {"id": 7000000001, "is_bot": True, "first_name": "三亮助手"},
        "text": post.text,
        "reply_markup": {
            "inline_keyboard": [
                [{"text": b.label, "callback_data": b.payload} for b in row] for row in post.buttons
            ]
        },
    }
    update = Updates(start=500).callback(f"st:claim:{case.id}", WUHOU_A, message=message)
    assert update["callback_query"]["message"]["chat"]["id"] == CHAT_WUHOU
    await application.process_update(Update.de_json(update, application.bot))
    # The private card and the resident's notice go through the outbox sender.
    await send_outbox(app, application)
    calls = sent(stub)
    group = [c for c in calls if c[1] == CHAT_WUHOU]
    renderer = app.engine.renderer
    summary = app.engine.services.staff.summary(await app.store.workflow.get(case.id))
    claimed = renderer.render("staff/claimed_post", c=summary, holder="张三")
    assert group and group[0][0] == "editMessageText" and group[0][2] == claimed
    assert all(PHONE not in c[2] for c in group)
    private = [c for c in calls if c[1] == WUHOU_A]
    # The card (its notice is asserted in test_staff_workflow), privately and masked.
    assert private and MASKED in private[0][2] and summary["ref"] in private[0][2]
    assert [c for c in calls if c[1] == RESIDENT]
    assert (await app.store.workflow.get(case.id)).assignee_id == WUHOU_A


async def test_reminders_go_out_through_the_adapter(tg):
    app, application, stub = tg
    clock = app.engine.services.clock
    case, _ = await new_case(app)
    await send_outbox(app, application)
    stub.clear()
    clock.set(ts(2025, 1, 8, 1))  # not claimed within 1 working day, but at night
    assert (await run_reminders(service(app), ApplicationNotifier(application), clock)).sent == 0
    clock.set(ts(2025, 1, 8, 9))  # working hours: queued in the outbox, sent by the sender
    report = await run_reminders(service(app), ApplicationNotifier(application), clock)
    assert report.sent == 1 and report.failed == 0
    assert not [c for c in stub.sent() if c.method == "sendMessage"]
    assert await send_outbox(app, application) == 1
    (call,) = [c for c in stub.sent() if c.method == "sendMessage"]
    assert int(call.params["chat_id"]) == CHAT_WUHOU and case.ref in call.params["text"]
    markup = call.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    data = [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
    assert f"st:claim:{case.id}" in data
