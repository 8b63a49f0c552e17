"""Issue #14 points 5, 6 and 8 through the real Telegram adapter on the offline Bot
API, with an admin, an area lead, two workers and residents: /open and /workload,
改派, 退回待接手, 延期 asked and decided, the second check before 无法受理, admins'
full phones (audited); 督办 on a fake clock across weekends and the 2026 holidays;
the staff panel, per-user command menus, /admin, who did each step, 联系记录."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from telegram import Update

from bot.calendar import WorkCalendar, calendar_warnings, official_working_day
from bot.outbox import Sender
from bot.staff.jobs import run_digest, run_reminders
from bot.telegram.delivery import telegram_deliver
from bot.telegram.offline import Updates
from tests.staff_support import (
    ADMIN,
    CHAT_WUHOU,
    PHONE,
    RESIDENT,
    WUHOU_A,
    WUHOU_B,
    add_worker,
    new_case,
    open_staff_app,
    service,
    ts,
)
from tests.telegram_support import start_offline_application

pytestmark = pytest.mark.both_backends

JINJIANG_W = 601  # a worker of another district


class Bot:
    """The real adapter on the offline Bot API; what each chat received."""

    def __init__(self, app, application, stub) -> None:
        self.app, self.application, self.stub = app, application, stub
        self.updates = Updates(start=3000)
        self.clock = app.engine.services.clock

    async def deliver(self) -> int:
        sender = Sender(self.app.store, self.app.renderer, rate=0)
        sender.add_channel("telegram", telegram_deliver(self.application))
        return await sender.drain()

    async def _feed(self, update: dict) -> None:
        self.stub.clear()
        await self.application.process_update(Update.de_json(update, self.application.bot))
        await self.deliver()

    async def say(self, user: int, text: str) -> None:
        await self._feed(self.updates.message(text, user))

    async def tap(self, user: int, data: str) -> None:
        await self._feed(self.updates.callback(data, user))

    async def job(self, fn) -> None:
        self.stub.clear()
        await fn(service(self.app), None, self.clock)
        await self.deliver()

    def texts(self, chat: int) -> list[str]:
        return [
            c.params["text"]
            for c in self.stub.sent()
            if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == chat
        ]

    def text(self, chat: int) -> str:
        return "\n".join(self.texts(chat))

    def chats(self) -> list[int]:
        return sorted(
            int(c.params["chat_id"])
            for c in self.stub.sent()
            if c.method in ("sendMessage", "editMessageText")
        )

    def labels(self, chat: int) -> str:
        out = []
        for c in self.stub.sent():
            if c.method in ("sendMessage", "editMessageText") and int(c.params["chat_id"]) == chat:
                markup = c.params.get("reply_markup")
                if isinstance(markup, str):
                    markup = json.loads(markup)
                for row in (markup or {}).get("inline_keyboard", []):
                    out += [b.get("text") for b in row]
        return "\n".join(out)

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


async def make_bot(tmp_path, db_path=None, **extra):
    app, _clock = await open_staff_app(tmp_path, db=db_path, **extra)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(app, WUHOU_B, "成都市/武侯区", "李四")
    await add_worker(app, JINJIANG_W, "成都市/锦江区", "王五")
    application, stub = await start_offline_application(app)
    return Bot(app, application, stub)


@pytest.fixture
async def tg(tmp_path, db_path):
    bot = await make_bot(tmp_path, db_path)
    try:
        yield bot
    finally:
        await bot.application.shutdown()
        await bot.app.close()


@pytest.fixture
async def checked(tmp_path, db_path):
    bot = await make_bot(
        tmp_path,
        db_path,
        staff={"area_chats": {"成都市/武侯区": CHAT_WUHOU}, "invalid_needs_check": True},
    )
    try:
        yield bot
    finally:
        await bot.application.shutdown()
        await bot.app.close()


async def history(bot: Bot, case_id: int):
    return await bot.app.store.cases.history(case_id)


# -- point 5: supervision ------------------------------------------------------------


async def test_open_workload_reassign_and_release(tg):
    bot = tg
    a, _ = await new_case(bot.app)
    b, _ = await new_case(bot.app, district="锦江区")
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")

    # Workers are not supervisors: refused (and audited).
    await bot.say(WUHOU_A, "/open")
    assert "只有管理员和辖区负责人" in bot.text(WUHOU_A)
    refused = await bot.app.store.staff.audit_entries(action="supervise")
    assert [(e.actor_id, e.allowed) for e in refused] == [(WUHOU_A, False)]

    await bot.say(ADMIN, "/open")
    text = bot.text(ADMIN)
    assert a.ref in text and b.ref in text and "张三" in text and PHONE not in text
    assert f"st:view:{a.id}" in bot.buttons(ADMIN)
    await bot.say(ADMIN, "/workload")
    text = bot.text(ADMIN)
    assert "张三：1 条" in text and "待接手：1 条" in text and "王五：0 条" in text

    # 改派: the admin's card offers it; the candidates are the area's other workers.
    await bot.tap(ADMIN, f"st:view:{a.id}")
    assert f"sv:ra:{a.id}" in bot.buttons(ADMIN) and f"sv:rel:{a.id}" in bot.buttons(ADMIN)
    await bot.tap(ADMIN, f"sv:ra:{a.id}")
    picks = [p for p in bot.buttons(ADMIN) if p.startswith("sv:rw:")]
    assert picks == [f"sv:rw:{a.id}:{WUHOU_B}"]  # not 张三 (has it), not 锦江's 王五
    # A forged button naming a worker of another area changes nothing.
    await bot.tap(ADMIN, f"sv:rw:{a.id}:{JINJIANG_W}")
    assert (await bot.app.store.workflow.get(a.id)).assignee_id == WUHOU_A
    await bot.tap(ADMIN, f"sv:rw:{a.id}:{WUHOU_B}")
    case = await bot.app.store.workflow.get(a.id)
    assert case.assignee_id == WUHOU_B and case.status == "claimed"
    assert a.ref in bot.text(WUHOU_B) and f"st:view:{a.id}" in bot.buttons(WUHOU_B)
    assert "改派给了别的工作人员" in bot.text(WUHOU_A)
    assert "李四" in bot.text(ADMIN)
    # The card posted in the area group is queued for an edit naming the new holder.
    edits = await bot.app.store.fetchall(
        "SELECT recipient, body FROM outbox WHERE case_id = ? AND kind = 'card_edit'", (a.id,)
    )
    assert any(r[0] == CHAT_WUHOU and "李四" in r[1] for r in edits), edits
    last = (await history(bot, a.id))[-1]
    assert last.actor_id == ADMIN and "张三" in last.note and "李四" in last.note

    # 退回待接手: back to the queue, posted again in the area group, 李四 told.
    await bot.tap(ADMIN, f"sv:rel:{a.id}")
    case = await bot.app.store.workflow.get(a.id)
    assert case.status == "new" and case.assignee_id is None
    assert a.ref in bot.text(CHAT_WUHOU) and f"st:claim:{a.id}" in bot.buttons(CHAT_WUHOU)
    assert "退回了待接手" in bot.text(WUHOU_B)
    # Pressed again (an old button): nothing changes.
    await bot.tap(ADMIN, f"sv:rel:{a.id}")
    assert "已经不能做了" in bot.text(ADMIN)
    # A worker pressing a supervision button of their own area is refused.
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")
    await bot.tap(WUHOU_B, f"sv:rel:{a.id}")
    assert (await bot.app.store.workflow.get(a.id)).assignee_id == WUHOU_A
    entries = await bot.app.store.staff.audit_entries(action="release")
    assert (WUHOU_B, False) in [(e.actor_id, e.allowed) for e in entries]


async def test_an_area_lead_supervises_only_their_area(tg):
    bot = tg
    a, _ = await new_case(bot.app)
    b, _ = await new_case(bot.app, district="锦江区")
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")
    await bot.tap(JINJIANG_W, f"st:claim:{b.id}")
    await bot.say(WUHOU_B, "/lead 501")  # not an admin: not even revealed
    assert not await bot.app.store.supervision.leads()
    await bot.say(ADMIN, f"/lead {WUHOU_B}")
    assert "李四" in bot.text(ADMIN) and "负责人" in bot.text(WUHOU_B)
    await bot.say(WUHOU_B, "/open")
    text = bot.text(WUHOU_B)
    assert a.ref in text and b.ref not in text
    await bot.tap(WUHOU_B, f"sv:rel:{b.id}")  # another district: refused
    assert (await bot.app.store.workflow.get(b.id)).assignee_id == JINJIANG_W
    await bot.tap(WUHOU_B, f"sv:rel:{a.id}")
    assert (await bot.app.store.workflow.get(a.id)).status == "new"
    await bot.say(ADMIN, f"/lead {WUHOU_B} off")
    await bot.say(WUHOU_B, "/workload")
    assert "只有管理员和辖区负责人" in bot.text(WUHOU_B)
    await bot.say(ADMIN, "/lead abc")
    assert "/lead 编号" in bot.text(ADMIN)


async def test_extension_asked_with_a_reason_then_approved_or_refused(tg):
    bot = tg
    a, _ = await new_case(bot.app)  # Monday 10:00: due Thursday 24:00
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")
    await bot.tap(WUHOU_A, f"st:view:{a.id}")
    assert f"sv:ext:{a.id}" in bot.buttons(WUHOU_A)
    assert f"sv:ra:{a.id}" not in bot.buttons(WUHOU_A)  # workers do not reassign
    await bot.tap(WUHOU_A, f"sv:ext:{a.id}")
    assert f"sv:exd:{a.id}:2" in bot.buttons(WUHOU_A)
    assert "1月13日（周一）24:00前" in bot.labels(WUHOU_A)  # +2 working days, over the weekend
    await bot.tap(WUHOU_A, f"sv:exd:{a.id}:2")
    assert a.ref in bot.text(WUHOU_A) and "原因" in bot.text(WUHOU_A)
    # A command cancels the step: the reason never goes anywhere.
    await bot.say(WUHOU_A, "/mine")
    await bot.say(WUHOU_A, "要等民政局的复函")
    assert not await bot.app.store.supervision.pending(a.id)
    # Again, to the end.
    await bot.tap(WUHOU_A, f"sv:exd:{a.id}:2")
    await bot.say(WUHOU_A, "。。。")
    assert "没有收到内容" in bot.text(WUHOU_A)
    await bot.say(WUHOU_A, "要等民政局的复函")
    assert "延期申请已发给" in bot.text(WUHOU_A)
    (req,) = await bot.app.store.supervision.pending(a.id)
    assert (req.days, req.reason, req.requested_by) == (2, "要等民政局的复函", WUHOU_A)
    assert "要等民政局的复函" in bot.text(ADMIN) and f"sv:ok:{req.id}" in bot.buttons(ADMIN)
    assert RESIDENT not in bot.chats()  # the reason is internal
    # A second request while one waits is refused kindly.
    await bot.tap(WUHOU_A, f"sv:exd:{a.id}:1")
    await bot.say(WUHOU_A, "再多一天")
    assert "已经有一个延期申请" in bot.text(WUHOU_A)
    # The requester cannot approve their own; a worker of the area cannot either.
    await bot.tap(WUHOU_A, f"sv:ok:{req.id}")
    await bot.tap(WUHOU_B, f"sv:ok:{req.id}")
    assert (await bot.app.store.supervision.request(req.id)).status == "pending"
    before = (await bot.app.store.workflow.get(a.id)).due_at
    await bot.tap(ADMIN, f"sv:ok:{req.id}")
    case = await bot.app.store.workflow.get(a.id)
    assert case.due_at == ts(2025, 1, 14, 0, 0) and case.due_at > before
    assert "批准了" in bot.text(WUHOU_A) and "1月13日（周一）24:00前" in bot.text(WUHOU_A)
    assert "1月13日（周一）24:00前" in bot.text(RESIDENT)  # told the new date, not the reason
    assert "复函" not in bot.text(RESIDENT)
    last = (await history(bot, a.id))[-1]
    assert last.actor_id == ADMIN and "延期 2 个工作日" in last.note
    await bot.tap(ADMIN, f"sv:ok:{req.id}")  # decided once
    assert "已经有人处理过了" in bot.text(ADMIN)
    # Refused: the deadline stays.
    await bot.tap(WUHOU_A, f"sv:exd:{a.id}:1")
    await bot.say(WUHOU_A, "居民外出")
    (req2,) = await bot.app.store.supervision.pending(a.id)
    await bot.tap(ADMIN, f"sv:no:{req2.id}")
    assert (await bot.app.store.workflow.get(a.id)).due_at == ts(2025, 1, 14, 0, 0)
    assert "没有批准" in bot.text(WUHOU_A)


async def test_invalid_needs_a_second_person(checked):
    bot = checked
    a, _ = await new_case(bot.app)
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")
    await bot.tap(WUHOU_A, f"st:inv:{a.id}")
    await bot.say(WUHOU_A, "不属于本辖区的事项")
    await bot.tap(WUHOU_A, f"st:send:{a.id}")  # the preview's 发送
    assert (await bot.app.store.workflow.get(a.id)).status == "claimed"
    assert "复核" in bot.text(WUHOU_A)
    assert RESIDENT not in bot.chats()  # the resident hears nothing yet
    (req,) = await bot.app.store.supervision.pending(a.id)
    assert f"sv:ok:{req.id}" in bot.buttons(WUHOU_B) and f"sv:ok:{req.id}" in bot.buttons(ADMIN)
    assert WUHOU_A not in bot.chats() or f"sv:ok:{req.id}" not in bot.buttons(WUHOU_A)
    await bot.tap(JINJIANG_W, f"sv:ok:{req.id}")  # another district: refused
    await bot.tap(WUHOU_A, f"sv:ok:{req.id}")  # not one's own
    assert (await bot.app.store.supervision.request(req.id)).status == "pending"
    await bot.tap(WUHOU_B, f"sv:ok:{req.id}")  # a colleague of the area agrees
    case = await bot.app.store.workflow.get(a.id)
    assert case.status == "invalid"
    assert "不属于本辖区的事项" in bot.text(RESIDENT)
    assert "复核同意" in bot.text(WUHOU_A)
    steps = [(h.to_status, h.actor_id) for h in await history(bot, a.id)][-2:]
    assert steps == [("invalid", WUHOU_A), ("invalid", WUHOU_B)]
    # Refused: the case stays with its worker.
    b, _ = await new_case(bot.app)
    await bot.tap(WUHOU_A, f"st:claim:{b.id}")
    await bot.tap(WUHOU_A, f"st:inv:{b.id}")
    await bot.say(WUHOU_A, "重复提交")
    await bot.tap(WUHOU_A, f"st:send:{b.id}")
    (req,) = await bot.app.store.supervision.pending(b.id)
    await bot.tap(ADMIN, f"sv:no:{req.id}")
    assert (await bot.app.store.workflow.get(b.id)).status == "claimed"
    assert "不同意" in bot.text(WUHOU_A)


async def test_admins_see_the_full_phone_privately_and_it_is_audited(tg):
    bot = tg
    a, _ = await new_case(bot.app)
    await bot.tap(ADMIN, f"st:view:{a.id}")
    assert PHONE in bot.text(ADMIN)
    await bot.tap(JINJIANG_W, f"st:view:{a.id}")  # another district: not even the card
    assert PHONE not in bot.text(JINJIANG_W)
    views = await bot.app.store.staff.audit_entries(action="view")
    assert (ADMIN, True, "phone=full") in [(e.actor_id, e.allowed, e.detail) for e in views]


# -- point 6: 督办 ----------------------------------------------------------------------


async def test_escalation_ladder_across_the_2026_holidays(tmp_path, db_path):
    # Monday 28 Sep 2026, 2 working days: due at the end of Wednesday 30 Sep. Then
    # 1-7 Oct is the National Day holiday, Saturday 10 Oct a working day (调休) and
    # Sunday 11 Oct a rest day (chinesecalendar's official 2026 calendar).
    assert official_working_day(dt.date(2026, 10, 5)) is False
    assert official_working_day(dt.date(2026, 10, 10)) is True
    bot = await make_bot(
        tmp_path, db_path, start=ts(2026, 9, 28, 10), deadlines={"ordinary": 2, "urgent": 1}
    )
    try:
        a, _ = await new_case(bot.app)
        u, _ = await new_case(bot.app, urgent=True, description="家里老人摔倒了没人管")
        # Urgent: due in hours, every day of the week (urgent = 1 → 24 hours).
        assert a.due_at == ts(2026, 10, 1, 0, 0) and u.due_at == ts(2026, 9, 29, 10, 0)
        await bot.tap(WUHOU_A, f"st:claim:{a.id}")
        await bot.tap(WUHOU_B, f"st:claim:{u.id}")

        bot.clock.set(ts(2026, 9, 30, 7))  # before working hours: nothing at all
        await bot.job(run_reminders)
        assert bot.chats() == []
        bot.clock.set(ts(2026, 9, 30, 14))  # 4 working hours left: 张三, privately
        await bot.job(run_reminders)
        assert "快到期了" in bot.text(WUHOU_A) and a.ref in bot.text(WUHOU_A)
        assert a.ref not in bot.text(CHAT_WUHOU) + bot.text(ADMIN)

        seen: dict[int, list[tuple[str, int, int]]] = {a.id: [], u.id: []}
        for n in range(12):  # 1 Oct .. 12 Oct, each hour at :30 from 07:30 to 18:30
            for hour in range(7, 19):
                bot.clock.set(ts(2026, 10, 1 + n, hour, 30))
                await bot.job(run_reminders)
                for chat in (WUHOU_A, WUHOU_B, CHAT_WUHOU, ADMIN):
                    for text in bot.texts(chat):
                        for case in (a, u):
                            if case.ref in text and "督办" in text:
                                seen[case.id].append((f"10-{1 + n:02d}", hour, chat))
        days = sorted({d for d, _, _ in seen[a.id]})
        # Ordinary: never on the holiday or the Sunday; the 调休 Saturday counts.
        assert days == ["10-08", "10-09", "10-10", "10-12"]
        first = [(h, chat) for d, h, chat in seen[a.id] if d == "10-08"]
        # 08:30 the assignee, 4 working hours later the group, 8 later the admins.
        assert first == [(8, WUHOU_A), (12, CHAT_WUHOU), (16, ADMIN)]
        second = sorted((h, chat) for d, h, chat in seen[a.id] if d == "10-09")
        assert second == sorted([(8, WUHOU_A), (8, CHAT_WUHOU), (8, ADMIN)])
        # Urgent: calendar hours, every day of the week (inside the working hours).
        urgent_days = sorted({d for d, _, _ in seen[u.id]})
        assert urgent_days == [f"10-{d:02d}" for d in range(1, 13)]
        assert all(8 <= h <= 17 for _, h, _ in seen[u.id])
        assert {chat for _, _, chat in seen[u.id]} == {WUHOU_B, CHAT_WUHOU, ADMIN}
        # The digest skips the holiday, and comes on the 调休 Saturday.
        bot.clock.set(ts(2026, 10, 5, 8, 30))
        await bot.job(run_digest)
        assert bot.chats() == []
        bot.clock.set(ts(2026, 10, 10, 8, 30))
        await bot.job(run_digest)
        assert bot.chats() == [CHAT_WUHOU] and PHONE not in bot.text(CHAT_WUHOU)
    finally:
        await bot.application.shutdown()
        await bot.app.close()


def test_a_year_the_calendar_does_not_know_falls_back_to_the_statutory_days_and_says_so():
    day = dt.date(2027, 7, 1)
    if official_working_day(day) is not None:
        assert not [w for w in calendar_warnings(dt.date(2026, 12, 1)) if "2027" in w]
        return
    # chinesecalendar has no 2027 yet: weekends and the statutory holidays, no 调休, and
    # `check --warnings` says so.
    warnings = calendar_warnings(dt.date(2026, 12, 1))
    assert any("2027" in w and "not yet the 调休" in w for w in warnings)
    cal = WorkCalendar(official=True)
    assert not cal.is_working_day(dt.date(2027, 1, 1))  # 元旦, by the 放假办法
    assert not cal.is_working_day(dt.date(2027, 1, 2))  # a Saturday
    assert cal.is_working_day(dt.date(2027, 1, 4))


# -- point 8: staff at home -----------------------------------------------------------


async def test_staff_panel_command_menus_and_admin_list(tg):
    bot = tg
    a, _ = await new_case(bot.app)
    b, _ = await new_case(bot.app)
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")
    bot.clock.set(ts(2025, 1, 10, 9))  # both are overdue

    await bot.say(WUHOU_A, "/start")
    texts = bot.texts(WUHOU_A)
    assert len(texts) == 2 and "工作台" in texts[0] and "三亮助手" in texts[1]
    assert "待接手：<b>1</b>" in texts[0] and "我负责：<b>1</b>" in texts[0]
    assert "已超期：<b>2</b>" in texts[0]
    assert {"sv:l:queue", "sv:l:mine", "sv:l:overdue"} <= set(bot.buttons(WUHOU_A))
    assert "sv:l:open" not in bot.buttons(WUHOU_A)
    await bot.tap(WUHOU_A, "sv:l:mine")
    assert a.ref in bot.text(WUHOU_A) and b.ref not in bot.text(WUHOU_A)
    # Their own command menu: the residents' commands and the worker's.
    menu = [c["command"] for c in bot.stub.commands[f"chat:{WUHOU_A}"]]
    assert menu[:2] == ["start", "menu"] and {"queue", "mine", "case"} <= set(menu)
    assert "invite" not in menu and "open" not in menu
    # A resident: the plain menu, no panel, no menu of their own.
    await bot.say(RESIDENT, "/start")
    assert len(bot.texts(RESIDENT)) == 1 and "工作台" not in bot.text(RESIDENT)
    assert f"chat:{RESIDENT}" not in bot.stub.commands

    await bot.say(ADMIN, "/start")
    assert "工作台" in bot.texts(ADMIN)[0] and "sv:l:open" in bot.buttons(ADMIN)
    admin_menu = [c["command"] for c in bot.stub.commands[f"chat:{ADMIN}"]]
    assert {"invite", "staff", "revoke", "open", "workload", "lead", "reload"} <= set(admin_menu)
    # /admin: every admin command, one line each.
    await bot.say(ADMIN, "/admin")
    lines = [ln for ln in bot.text(ADMIN).splitlines() if ln.startswith("/")]
    names = [ln.split()[0][1:] for ln in lines]
    for name in ("invite", "staff", "revoke", "open", "workload", "lead", "reload", "announce"):
        assert name in names
    assert len(names) == len(set(names)) and all(" — " in ln for ln in lines)

    # Revoked: back to the default menu.
    await bot.say(WUHOU_B, "/start")
    assert f"chat:{WUHOU_B}" in bot.stub.commands
    await bot.say(ADMIN, f"/revoke {WUHOU_B}")
    assert f"chat:{WUHOU_B}" not in bot.stub.commands


async def test_history_names_every_actor_and_contacts_are_logged(tg):
    bot = tg
    a, _ = await new_case(bot.app)
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")
    await bot.tap(WUHOU_A, f"st:view:{a.id}")
    assert f"sv:co:{a.id}" in bot.buttons(WUHOU_A)
    await bot.tap(WUHOU_A, f"sv:co:{a.id}")
    assert f"sv:cw:{a.id}:n" in bot.buttons(WUHOU_A)
    await bot.tap(WUHOU_A, f"sv:cw:{a.id}:n")
    assert f"sv:ct:{a.id}:n:30" in bot.buttons(WUHOU_A)
    await bot.tap(WUHOU_A, f"sv:ct:{a.id}:n:30")
    assert "联系记录已保存" in bot.text(WUHOU_A)
    await bot.tap(WUHOU_A, f"sv:ct:{a.id}:x:30")  # forged: nothing stored
    await bot.tap(WUHOU_A, f"sv:ct:{a.id}:r:7")
    (contact,) = await bot.app.store.supervision.contacts(a.id)
    assert (contact.outcome, contact.staff_id) == ("no_answer", WUHOU_A)
    assert contact.at == bot.clock() - 1800
    await bot.tap(JINJIANG_W, f"sv:ct:{a.id}:r:0")  # another district: refused
    assert len(await bot.app.store.supervision.contacts(a.id)) == 1

    await bot.tap(ADMIN, f"sv:rw:{a.id}:{WUHOU_B}")
    await bot.tap(WUHOU_B, f"st:view:{a.id}")
    card = bot.text(WUHOU_B)
    assert "联系记录" in card and "1月6日（周一）09:30 张三：没人接" in card
    assert "已接手（张三）" in card  # the claim, by name
    assert "（管理员 #900）：改派" in card  # the admin's step, by name
    assert PHONE in card  # a worker of the area, privately
