"""Issue #14 points 1 and 4 (revoke), through the Telegram adapter and the offline
Bot API: a staff text step is bound to its case and cancelled by any command or
another case's button; a text for a resident is previewed and sent only on 发送;
/revoke hands the worker's open cases back to the queue."""

from __future__ import annotations

import json

import pytest
from telegram import Update

from bot.telegram.offline import Updates
from tests.staff_support import (
    ADMIN,
    CHAT_WUHOU,
    RESIDENT,
    WUHOU_A,
    WUHOU_B,
    add_worker,
    new_case,
    open_staff_app,
    send_outbox,
)
from tests.telegram_support import offline_application

RESIDENT_B = 1002
SECRET = "低保标准是多少"  # the worker's own question, never for a resident


class Bot:
    """The real adapter on the offline Bot API; what each chat received."""

    def __init__(self, app, application, stub) -> None:
        self.app, self.application, self.stub = app, application, stub
        self.updates = Updates(start=1000)

    async def _feed(self, update: dict) -> None:
        self.stub.clear()
        await self.application.process_update(Update.de_json(update, self.application.bot))
        # Group cards and notices outside the turn go through the outbox sender.
        await send_outbox(self.app, self.application)

    async def say(self, user: int, text: str) -> None:
        await self._feed(self.updates.message(text, user))

    async def tap(self, user: int, data: str) -> None:
        await self._feed(self.updates.callback(data, user))

    def texts(self, chat: int) -> list[str]:
        return [
            c.params["text"]
            for c in self.stub.sent()
            if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == chat
        ]

    def text(self, chat: int) -> str:
        return "\n".join(self.texts(chat))

    def buttons(self, chat: int) -> list[str]:
        out = []
        for c in self.stub.sent():
            if c.method not in ("sendMessage", "editMessageText"):
                continue
            if int(c.params["chat_id"]) != chat:
                continue
            markup = c.params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            for row in (markup or {}).get("inline_keyboard", []):
                out += [b.get("callback_data") for b in row]
        return out


@pytest.fixture
async def tg(tmp_path):
    app, _clock = await open_staff_app(tmp_path)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(app, WUHOU_B, "成都市/武侯区", "李四")
    try:
        async with offline_application(app) as (application, stub):
            yield Bot(app, application, stub)
    finally:
        await app.close()


async def two_claimed(bot: Bot):
    a, _ = await new_case(bot.app, user_id=RESIDENT)
    b, _ = await new_case(bot.app, user_id=RESIDENT_B, description="老人行动不便，想申请护理补贴")
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")
    await bot.tap(WUHOU_A, f"st:claim:{b.id}")
    return a, b


async def messages_of(bot: Bot, case_id: int):
    return await bot.app.store.cases.messages(case_id, include_private=True)


@pytest.mark.parametrize("between", ["case", "mine"])
async def test_a_command_between_cancels_the_reply(tg, between):
    bot = tg
    a, b = await two_claimed(bot)
    await bot.tap(WUHOU_A, f"st:reply:{a.id}")
    assert a.ref in bot.text(WUHOU_A)  # the prompt names its case
    await bot.say(WUHOU_A, f"/case {b.ref}" if between == "case" else "/mine")
    told = bot.text(WUHOU_A)
    assert f"已取消 {a.ref} 的「回复居民」" in told
    await bot.say(WUHOU_A, SECRET)
    assert bot.texts(RESIDENT) == [] and bot.texts(RESIDENT_B) == []
    assert "发给" not in bot.text(WUHOU_A)
    assert await messages_of(bot, a.id) == [] and await messages_of(bot, b.id) == []
    assert (await bot.app.store.workflow.get(a.id)).status == "claimed"


async def test_another_cases_button_between_cancels_the_step(tg):
    bot = tg
    a, b = await two_claimed(bot)
    for action in ("reply", "res", "inv", "note"):
        await bot.tap(WUHOU_A, f"st:{action}:{a.id}")
        await bot.tap(WUHOU_A, f"st:view:{b.id}")
        assert f"已取消 {a.ref}" in bot.text(WUHOU_A) and b.ref in bot.text(WUHOU_A)
        await bot.say(WUHOU_A, SECRET)
        assert bot.texts(RESIDENT) == [] and bot.texts(RESIDENT_B) == []
    assert await messages_of(bot, a.id) == [] and await messages_of(bot, b.id) == []
    assert (await bot.app.store.workflow.get(a.id)).status == "claimed"
    # The case's own card keeps the step: the text then goes to a preview of A.
    await bot.tap(WUHOU_A, f"st:reply:{a.id}")
    await bot.tap(WUHOU_A, f"st:view:{a.id}")
    assert "已取消" not in bot.text(WUHOU_A)
    await bot.say(WUHOU_A, "明天上午上门")
    assert f"发给 <b>{a.ref}</b> 的居民" in bot.text(WUHOU_A)
    assert bot.texts(RESIDENT) == []


async def test_an_expected_date_step_is_cancelled_by_a_command(tg):
    bot = tg
    a, _b = await two_claimed(bot)
    await bot.tap(WUHOU_A, f"st:exp:{a.id}")
    await bot.say(WUHOU_A, "/queue")
    assert f"已取消 {a.ref} 的「预计办结日期」" in bot.text(WUHOU_A)
    await bot.say(WUHOU_A, "1月20日")
    assert bot.texts(RESIDENT) == []
    assert (await bot.app.store.workflow.get(a.id)).expected_date is None


async def test_preview_then_send_or_cancel(tg):
    bot = tg
    a, _b = await two_claimed(bot)
    await bot.tap(WUHOU_A, f"st:reply:{a.id}")
    await bot.say(WUHOU_A, "您好，明天上午我们上门看看")
    preview = bot.text(WUHOU_A)
    assert f"发给 <b>{a.ref}</b> 的居民" in preview and "明天上午我们上门看看" in preview
    assert f"st:send:{a.id}" in bot.buttons(WUHOU_A) and "st:cancel" in bot.buttons(WUHOU_A)
    assert bot.texts(RESIDENT) == [] and await messages_of(bot, a.id) == []
    # 取消: nothing goes out.
    await bot.tap(WUHOU_A, "st:cancel")
    assert "没有发给居民" in bot.text(WUHOU_A) and bot.texts(RESIDENT) == []
    # The old preview's 发送 no longer sends anything.
    await bot.tap(WUHOU_A, f"st:send:{a.id}")
    assert bot.texts(RESIDENT) == [] and await messages_of(bot, a.id) == []
    # A command while the preview waits cancels it too.
    await bot.tap(WUHOU_A, f"st:reply:{a.id}")
    await bot.say(WUHOU_A, "先不发这句")
    await bot.say(WUHOU_A, "/mine")
    await bot.tap(WUHOU_A, f"st:send:{a.id}")
    assert bot.texts(RESIDENT) == [] and await messages_of(bot, a.id) == []
    # Typed again while the preview waits: the new text replaces the draft.
    await bot.tap(WUHOU_A, f"st:reply:{a.id}")
    await bot.say(WUHOU_A, "第一稿")
    await bot.say(WUHOU_A, "您好，明天上午我们上门看看")
    assert "第一稿" not in bot.text(WUHOU_A)
    # 发送: exactly this text, to this case's resident, once.
    await bot.tap(WUHOU_A, f"st:send:{a.id}")
    assert "已把您的回复发给居民" in bot.text(WUHOU_A)
    (got,) = bot.texts(RESIDENT)
    assert "明天上午我们上门看看" in got and bot.texts(RESIDENT_B) == []
    assert [m.body for m in await messages_of(bot, a.id)] == ["您好，明天上午我们上门看看"]
    await bot.tap(WUHOU_A, f"st:send:{a.id}")  # pressed twice
    assert bot.texts(RESIDENT) == [] and len(await messages_of(bot, a.id)) == 1


async def test_resolve_goes_through_the_preview(tg):
    bot = tg
    a, _b = await two_claimed(bot)
    await bot.tap(WUHOU_A, f"st:res:{a.id}")
    await bot.say(WUHOU_A, "已发放临时救助")
    assert "办结" in bot.text(WUHOU_A) and bot.texts(RESIDENT) == []
    assert (await bot.app.store.workflow.get(a.id)).status == "claimed"
    await bot.tap(WUHOU_A, f"st:send:{a.id}")
    assert "已发放临时救助" in bot.text(RESIDENT)
    assert (await bot.app.store.workflow.get(a.id)).status == "resolved"


async def test_text_with_nothing_pending_never_reaches_a_resident(tg):
    bot = tg
    a, _b = await two_claimed(bot)
    await bot.tap(WUHOU_A, f"st:view:{a.id}")
    await bot.say(WUHOU_A, SECRET)
    assert bot.texts(RESIDENT) == [] and await messages_of(bot, a.id) == []


async def test_revoke_hands_open_cases_back_to_the_queue(tg):
    bot = tg
    a, b = await two_claimed(bot)
    await bot.tap(WUHOU_A, f"st:reply:{a.id}")  # a step half done when revoked
    await bot.say(ADMIN, f"/revoke {WUHOU_A}")
    # First the open cases and where they may go; nothing is changed yet.
    plan = bot.text(ADMIN)
    assert "2 件" in plan and a.ref in plan and b.ref in plan
    assert f"rk:q:{WUHOU_A}" in bot.buttons(ADMIN)
    assert f"rk:w:{WUHOU_A}:{WUHOU_B}" in bot.buttons(ADMIN)
    assert (await bot.app.store.workflow.get(a.id)).assignee_id == WUHOU_A
    await bot.tap(ADMIN, f"rk:q:{WUHOU_A}")
    admin = bot.text(ADMIN)
    assert "2 件" in admin and a.ref in admin and b.ref in admin
    told = bot.text(WUHOU_A)
    assert "权限已被管理员取消" in told and a.ref in told and b.ref in told
    # Posted again in the area's group, with 认领.
    group = bot.text(CHAT_WUHOU)
    assert a.ref in group and b.ref in group
    assert f"st:claim:{a.id}" in bot.buttons(CHAT_WUHOU)
    for case in (a, b):
        fresh = await bot.app.store.workflow.get(case.id)
        assert (fresh.status, fresh.assignee_id, fresh.claimed_at) == ("new", None, None)
        last = (await bot.app.store.cases.history(case.id))[-1]
        assert (last.to_status, last.actor_id) == ("new", ADMIN)
        assert "张三" in last.note and "权限已取消" in last.note
    # The old buttons and the half-done step no longer work.
    await bot.say(WUHOU_A, SECRET)
    for action in ("reply", "res", "claim", "view"):
        await bot.tap(WUHOU_A, f"st:{action}:{a.id}")
        assert "没有这个权限" in bot.text(WUHOU_A)
    assert bot.texts(RESIDENT) == [] and await messages_of(bot, a.id) == []
    assert (await bot.app.store.workflow.get(a.id)).assignee_id is None
    # Another worker of the area takes it from the queue.
    await bot.say(WUHOU_B, "/queue")
    assert a.ref in bot.text(WUHOU_B)
    await bot.tap(WUHOU_B, f"st:claim:{a.id}")
    assert (await bot.app.store.workflow.get(a.id)).assignee_id == WUHOU_B
    # Revoking again: nothing more to hand back.
    await bot.say(ADMIN, f"/revoke {WUHOU_A}")
    assert "没有找到" in bot.text(ADMIN)


async def test_revoke_of_a_worker_with_no_open_case(tg):
    bot = tg
    await bot.say(ADMIN, f"/revoke {WUHOU_B}")
    assert "没有没办完的求助" in bot.text(ADMIN)
    assert "权限已被管理员取消" in bot.text(WUHOU_B)
