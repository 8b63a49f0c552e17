"""A whole visit through the Telegram adapter (offline Bot API): the worker's /visits,
the buttons of each step, a location, a photo too large (refused kindly) and one that
fits, the submit; the need becomes an action whose reminder goes out through the
outbox sender and the adapter's delivery."""

from __future__ import annotations

import json

import pytest
from telegram import Update

from bot.outbox import Sender
from bot.telegram.delivery import telegram_deliver
from bot.telegram.offline import BotAPIStub, Updates
from bot.visits.jobs import run_reminders
from tests.staff_support import WUHOU_A
from tests.telegram_support import start_offline_application
from tests.visits_support import visits_app


@pytest.fixture
async def tg(tmp_path):
    app, clock = await visits_app(tmp_path, visits={"photo_max_kb": 100})
    application, stub = await start_offline_application(app)
    try:
        yield app, application, stub, clock
    finally:
        await application.shutdown()
        await app.close()


def last_buttons(stub: BotAPIStub) -> list[str]:
    for call in reversed(stub.sent()):
        markup = call.params.get("reply_markup")
        if not markup:
            continue
        markup = json.loads(markup) if isinstance(markup, str) else markup
        if "inline_keyboard" in markup:
            return [b["callback_data"] for row in markup["inline_keyboard"] for b in row]
    return []


def texts(stub: BotAPIStub) -> list[str]:
    return [c.params["text"] for c in stub.sent() if c.method in ("sendMessage", "editMessageText")]


async def test_a_whole_visit_over_telegram(tg):
    app, application, stub, clock = tg
    updates = Updates(start=900)

    async def feed(update: dict) -> None:
        await application.process_update(Update.de_json(update, application.bot))

    async def press(data: str) -> list[str]:
        stub.clear()
        await feed(updates.callback(data, WUHOU_A))
        return last_buttons(stub)

    await feed(updates.message("/visits", WUHOU_A))
    tasks = [p for p in last_buttons(stub) if p.startswith("vs:h:")]
    assert len(tasks) == 2 and any("张大爷" in t for t in texts(stub))
    card = await press(tasks[0])
    go = next(p for p in card if p.startswith("vs:go:"))
    buttons = await press(go)
    prefix = next(p for p in buttons if p.startswith("vs:a:")).rsplit(":", 2)[0]
    vid = prefix.split(":")[2]
    for answer in (
        "m:self",
        "c:enough",
        "h:short",
        "k:coal",
        "f:enough",
        "z:none",
        "b:ill",
        "o:none",
    ):
        buttons = await press(f"{prefix}:{answer}")
    assert f"vs:ok:{vid}:p" in buttons
    buttons = await press(f"vs:ok:{vid}:p")
    assert f"vs:s:{vid}" in buttons
    # The location keyboard is offered, and a shared location is stored.
    assert any(
        "keyboard"
        in (
            json.loads(c.params["reply_markup"])
            if isinstance(c.params.get("reply_markup"), str)
            else c.params.get("reply_markup") or {}
        )
        for c in stub.sent()
    )
    await feed(updates.location(30.64, 104.04, WUHOU_A))
    visit = await app.store.visits.visit(int(vid))
    assert (visit.latitude, visit.longitude) == (30.64, 104.04)
    # A photo over the limit is refused kindly; one that fits is kept (its file id).
    big = [
        {
            "file_id": "BIG",
            "file_unique_id": "b",
            "width": 4000,
            "height": 3000,
            "file_size": 300_000,
        }
    ]
    stub.clear()
    await feed(updates.message(None, WUHOU_A, photo=big))
    assert any("太大" in t for t in texts(stub))
    small = [
        {"file_id": "THUMB", "file_unique_id": "t", "width": 90, "height": 60, "file_size": 2_000},
        {
            "file_id": "PHOTO1",
            "file_unique_id": "p",
            "width": 1280,
            "height": 960,
            "file_size": 80_000,
        },
    ]
    await feed(updates.message(None, WUHOU_A, photo=small))
    assert (await app.store.visits.visit(int(vid))).photos == 1
    buttons = await press(f"vs:s:{vid}")
    assert f"vs:sub:{vid}" in buttons
    await press(f"vs:sub:{vid}")
    assert any("送取暖物资" in t for t in texts(stub))
    (action,) = await app.store.visits.actions_of_visit(int(vid))
    assert action.kind == "heating" and action.owner_id == WUHOU_A

    # Three working days later the action is overdue: the reminder goes out through
    # the outbox sender and the adapter, with its 已办好 button.
    clock.advance(days=4)
    assert await run_reminders(app.engine.services.visits, clock) >= 1
    stub.clear()
    sender = Sender(app.store, app.renderer, rate=0)
    sender.add_channel("telegram", telegram_deliver(application))
    await sender.drain()
    private = [
        c for c in stub.sent() if c.method == "sendMessage" and int(c.params["chat_id"]) == WUHOU_A
    ]
    assert private and "送取暖物资" in private[0].params["text"]
    assert f"vs:ad:{action.id}" in last_buttons(stub)
    await press(f"vs:ad:{action.id}")
    assert (await app.store.visits.action(action.id)).status == "done"
