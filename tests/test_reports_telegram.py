"""``/report`` through the Telegram adapter on the offline Bot API: a worker gets the
report of their own area as a file (and the .xlsx from its button), an admin every
area; a resident, a group, a forged button and another area are refused kindly and
audited."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
from telegram import Update

from bot.outbox import Sender
from bot.telegram.delivery import telegram_deliver
from bot.telegram.offline import Updates
from tests.staff_support import (
    ADMIN,
    CHAT_WUHOU,
    JINJIANG,
    MASKED,
    PHONE,
    RESIDENT,
    WUHOU_A,
    add_worker,
    new_case,
    open_staff_app,
)
from tests.telegram_support import start_offline_application
from tests.test_reports import parse, svgs


class Bot:
    def __init__(self, app, application, stub) -> None:
        self.app, self.application, self.stub = app, application, stub
        self.updates = Updates(start=3000)

    async def _feed(self, update: dict) -> None:
        self.stub.clear()
        await self.application.process_update(Update.de_json(update, self.application.bot))
        sender = Sender(self.app.store, self.app.renderer, rate=0)
        sender.add_channel("telegram", telegram_deliver(self.application))
        await sender.drain()

    async def say(self, user: int, text: str, group: int | None = None) -> None:
        if group is None:
            await self._feed(self.updates.message(text, user))
        else:
            await self._feed(self.updates.message(text, user, chat_id=group, group=True))

    async def tap(self, user: int, data: str) -> None:
        await self._feed(self.updates.callback(data, user))

    def documents(self, chat: int) -> list:
        return [c for c in self.stub.sent("sendDocument") if int(c.params["chat_id"]) == chat]

    def file(self, call) -> bytes:
        return self.stub.files[call.result["document"]["file_id"]]

    def texts(self, chat: int) -> str:
        return "\n".join(
            c.params["text"]
            for c in self.stub.sent("sendMessage")
            if int(c.params["chat_id"]) == chat
        )


def buttons(call) -> list[str]:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b["callback_data"] for row in (markup or {}).get("inline_keyboard", []) for b in row]


@pytest.fixture
async def bot(tmp_path):
    app, _clock = await open_staff_app(tmp_path)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(app, JINJIANG, "成都市/锦江区", "王五")
    application, stub = await start_offline_application(app)
    b = Bot(app, application, stub)
    b.wuhou = [(await new_case(app))[0], (await new_case(app, category="housing"))[0]]
    b.jinjiang = (await new_case(app, district="锦江区"))[0]
    try:
        yield b
    finally:
        await application.shutdown()
        await app.close()


async def test_a_worker_gets_their_areas_report_and_workbook(bot):
    await bot.say(WUHOU_A, "/report")
    (call,) = bot.documents(WUHOU_A)
    assert "内部资料" in call.params["caption"]
    name = call.result["document"]["file_name"]
    assert name.endswith(".html") and call.result["document"]["mime_type"] == "text/html"
    page = bot.file(call).decode("utf-8")
    p = parse(page)
    assert p.by_id["total"] == "2" and p.by_id["area"] == "成都市/武侯区"
    assert set(p.table("ref")) == {c.ref for c in bot.wuhou}
    assert bot.jinjiang.ref not in page and PHONE not in page
    assert {"chart-rates", "chart-trend", "chart-areas"} <= set(svgs(page))
    (payload,) = buttons(call)
    assert payload.startswith("rp:x:")

    await bot.tap(WUHOU_A, payload)
    (call,) = bot.documents(WUHOU_A)
    assert call.result["document"]["file_name"].endswith(".xlsx")
    assert "内部资料" in call.params["caption"]
    wb = openpyxl.load_workbook(io.BytesIO(bot.file(call)))
    rows = list(wb["明细"].iter_rows(values_only=True))[1:]
    assert sorted(r[0] for r in rows) == sorted(c.ref for c in bot.wuhou)
    assert all(MASKED in r for r in rows)
    entries = await bot.app.store.staff.audit_entries(actor_id=WUHOU_A)
    done = {(e.action, e.allowed) for e in entries}
    assert {("report", True), ("export", True)} <= done
    assert all(PHONE not in (e.detail or "") for e in entries)


async def test_an_admin_sees_every_area_or_the_one_named(bot):
    await bot.say(ADMIN, "/report")
    (call,) = bot.documents(ADMIN)
    assert parse(bot.file(call).decode()).by_id["total"] == "3"
    await bot.say(ADMIN, "/report 2025-01-01 2025-01-31 成都市/锦江区")
    (call,) = bot.documents(ADMIN)
    p = parse(bot.file(call).decode())
    assert p.by_id["total"] == "1" and p.by_id["area"] == "成都市/锦江区"
    await bot.say(ADMIN, "/report 2025-02-01")
    (call,) = bot.documents(ADMIN)
    assert parse(bot.file(call).decode()).by_id["total"] == "0"
    assert buttons(call) == []  # nothing to export


async def test_a_worker_cannot_see_another_area(bot):
    await bot.say(WUHOU_A, "/report 成都市/锦江区")
    assert bot.documents(WUHOU_A) == []
    assert "只能查看自己负责地区" in bot.texts(WUHOU_A)
    # A button made for 锦江区 (by the admin's report) pressed by the 武侯 worker.
    await bot.say(ADMIN, "/report 成都市/锦江区")
    (payload,) = buttons(bot.documents(ADMIN)[0])
    await bot.tap(WUHOU_A, payload)
    assert bot.documents(WUHOU_A) == []
    assert "只能查看自己负责地区" in bot.texts(WUHOU_A)
    refused = await bot.app.store.staff.audit_entries(actor_id=WUHOU_A, allowed=False)
    assert {e.action for e in refused} == {"report", "export"}


@pytest.mark.parametrize(
    "payload", ["rp:x:20250101", "rp:x:2025010:-:-:-", "rp:x:-:-:99:-", "rp:y:-:-:-:-"]
)
async def test_forged_buttons_change_nothing(bot, payload):
    await bot.tap(ADMIN, payload)
    assert bot.documents(ADMIN) == []
    expired = bot.app.engine.renderer.render("core/expired")
    assert expired in bot.texts(ADMIN) or "过期" in bot.texts(ADMIN)


async def test_residents_and_groups_are_refused_kindly(bot):
    await bot.say(RESIDENT, "/report")
    assert bot.documents(RESIDENT) == []
    assert "只给社区工作人员使用" in bot.texts(RESIDENT)
    await bot.tap(RESIDENT, "rp:x:-:-:-:-")
    assert bot.documents(RESIDENT) == []
    await bot.say(WUHOU_A, "/report", group=CHAT_WUHOU)
    assert bot.stub.sent("sendDocument") == []
    refused = await bot.app.store.staff.audit_entries(actor_id=RESIDENT, allowed=False)
    assert refused


async def test_bad_dates_get_the_usage(bot):
    await bot.say(WUHOU_A, "/report 2025-13-01")
    assert bot.documents(WUHOU_A) == []
    text = bot.texts(WUHOU_A)
    assert "不存在" in text and "/report 2026-11-01 2026-11-30" in text
