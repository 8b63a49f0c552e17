"""Issue #14 points 2, 3 and 4 through the Telegram adapter and the offline Bot API,
with the outbox sender delivering: transfers to a whole 市州, a 区县 or a 乡镇/街道
with a reason, 签收 and 退回; coverage by hierarchy; /revoke handing open cases to
the queue or a colleague; an area nobody covers alerting every working day; group
cards edited when a case moves on; a resident who blocked the bot, and a private
reply to a group press that cannot go."""

from __future__ import annotations

import json
import secrets

import pytest
from telegram import Update

from bot.domain.cases import NewCase
from bot.outbox import Sender
from bot.staff.coverage import run_uncovered
from bot.telegram.delivery import telegram_deliver
from bot.telegram.offline import ApiError, BotAPIStub, Updates
from tests.staff_support import (
    ADMIN,
    CHAT_CHENGDU,
    CHAT_DEFAULT,
    CHAT_WUHOU,
    MASKED,
    PHONE,
    RESIDENT,
    WUHOU_A,
    WUHOU_B,
    add_worker,
    open_staff_app,
    service,
    ts,
)
from tests.telegram_support import start_offline_application

pytestmark = pytest.mark.both_backends

CHAT_BAZHONG = -100200
BAZHONG = 701  # a worker of the whole 巴中市
YULIN = 801  # a street worker: 成都市/武侯区/玉林街道
RESIDENT_B = 1002
CITY_BAZHONG, CITY_CHENGDU, DISTRICT_WUHOU = 16, 0, 3  # indexes in regions.yml


class BlockingStub(BotAPIStub):
    """The offline Bot API, where some chats blocked the bot or never opened it: every
    message to them is refused with 403, as Telegram does."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.blocked: set[int] = set()

    def call(self, method, params):
        chat = params.get("chat_id")
        if method.startswith(("send", "edit")) and chat is not None and int(chat) in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return super().call(method, params)


class Bot:
    """The real adapter on the offline Bot API; the outbox delivered after each update."""

    def __init__(self, app, application, stub) -> None:
        self.app, self.application, self.stub = app, application, stub
        self.updates = Updates(start=3000)
        # As `sanliang run` wires it: a turn's messages to other chats go to the outbox.
        self.sender = Sender(app.store, app.renderer, rate=0)
        self.sender.add_channel("telegram", telegram_deliver(application))
        app.engine.services.outbox = self.sender
        service(app).wake = self.sender.wake

    async def drain(self) -> None:
        await self.sender.drain()

    async def _feed(self, update: dict) -> None:
        self.stub.clear()
        await self.application.process_update(Update.de_json(update, self.application.bot))
        await self.drain()

    async def say(self, user: int, text: str) -> None:
        await self._feed(self.updates.message(text, user))

    async def tap(self, user: int, data: str, group: int | None = None) -> None:
        if group is None:
            await self._feed(self.updates.callback(data, user))
        else:
            await self._feed(self.updates.callback(data, user, chat_id=group, group=True))

    def calls(self, chat: int, method: str | None = None):
        return [
            c
            for c in self.stub.sent()
            if c.method in ("sendMessage", "editMessageText")
            and (method is None or c.method == method)
            and int(c.params["chat_id"]) == chat
        ]

    def text(self, chat: int) -> str:
        return "\n".join(c.params["text"] for c in self.calls(chat))

    def buttons(self, chat: int) -> list[str]:
        out = []
        for c in self.calls(chat):
            markup = c.params.get("reply_markup")
            if isinstance(markup, str):
                markup = json.loads(markup)
            for row in (markup or {}).get("inline_keyboard", []):
                out += [b.get("callback_data") for b in row]
        return out

    async def case(self, case_id: int):
        return await self.app.store.workflow.get(case_id)

    async def file(self, *, user: int = RESIDENT, district="武侯区", township=None, city="成都市"):
        """A request as the help flow stores it; its card goes out through the stand-in."""
        app = self.app
        clock = app.engine.services.clock
        days, due = app.engine.services.deadlines.for_new_case("living", False, clock(), 3)
        case, _ = await app.store.cases.create(
            NewCase(
                draft_id=secrets.token_urlsafe(9),
                user_id=user,
                chat_id=user,
                category="living",
                region_city=city,
                region_district=district,
                region_township=township,
                region_village=None,
                description="家里断了粮，想申请临时救助",
                phone=PHONE,
                contact_time="pm",
                target_days=days,
                due_at=due,
            ),
            now=clock(),
        )
        self.stub.clear()
        await service(app).on_case_created(case.id)
        await self.drain()
        return await self.case(case.id)


@pytest.fixture
async def tg(tmp_path, db_path):
    staff = {
        "area_chats": {
            "成都市/武侯区": CHAT_WUHOU,
            "成都市": CHAT_CHENGDU,
            "巴中市": CHAT_BAZHONG,
        },
        "default_chat": CHAT_DEFAULT,
    }
    app, _clock = await open_staff_app(tmp_path, db=db_path, staff=staff)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(app, WUHOU_B, "成都市/武侯区", "李四")
    application, stub = await start_offline_application(app, BlockingStub())
    try:
        yield Bot(app, application, stub)
    finally:
        await application.shutdown()
        await app.close()


async def street_worker(bot: Bot) -> None:
    from bot.domain.regions import Area

    invite = await bot.app.store.staff.create_invite(
        "worker", Area("成都市", "武侯区", "玉林街道"), ADMIN, 86400
    )
    assert (await bot.app.store.staff.redeem(invite.code, YULIN, "赵六"))[0] is not None


async def transfer(bot: Bot, user: int, case_id: int, *taps: str, reason: str) -> None:
    await bot.tap(user, f"st:xfer:{case_id}")
    for data in taps:
        assert data in bot.buttons(user), (data, bot.buttons(user))
        await bot.tap(user, data)
    assert "转办的原因" in bot.text(user)
    await bot.say(user, reason)


# -- point 3: areas that mean what they say -----------------------------------------


async def test_transfer_to_a_whole_city_then_signed(tg):
    bot = tg
    await add_worker(bot.app, BAZHONG, "巴中市", "陈七")
    case = await bot.file()
    (post,) = bot.calls(CHAT_WUHOU, "sendMessage")
    post_id = post.result["message_id"]
    await bot.tap(WUHOU_A, f"st:claim:{case.id}")
    # Claimed privately: the group card is edited (no second card).
    (edit,) = bot.calls(CHAT_WUHOU)
    assert edit.method == "editMessageText" and int(edit.params["message_id"]) == post_id
    assert "张三" in edit.params["text"] and f"st:claim:{case.id}" not in bot.buttons(CHAT_WUHOU)

    await transfer(
        bot,
        WUHOU_A,
        case.id,
        f"st:xc:{case.id}:{CITY_BAZHONG}",
        f"st:xd:{case.id}:{CITY_BAZHONG}:a",  # 整个巴中市
        reason="居民已经搬到巴中市住了",
    )
    moved = await bot.case(case.id)
    assert (moved.status, moved.assignee_id) == ("transferred", None)
    assert moved.area == "巴中市" and moved.responsible_district is None
    assert "已转给 巴中市" in bot.text(WUHOU_A)
    # The resident is told where it went, in plain words; no leftover district anywhere.
    told = bot.text(RESIDENT)
    assert "巴中市" in told and "武侯区" not in told
    card = bot.text(CHAT_BAZHONG)
    assert case.ref in card and "巴中市/武侯区" not in card and MASKED in card
    assert {f"st:claim:{case.id}", f"st:ret:{case.id}"} <= set(bot.buttons(CHAT_BAZHONG))
    assert "签收" in card or "签收" in json.dumps(
        bot.calls(CHAT_BAZHONG)[0].params, ensure_ascii=False
    )
    # The old group's card now says where it went.
    (old,) = bot.calls(CHAT_WUHOU)
    assert old.method == "editMessageText" and int(old.params["message_id"]) == post_id
    assert "已转给 巴中市" in old.params["text"]
    history = await bot.app.store.cases.history(case.id)
    assert "居民已经搬到巴中市住了" in history[-1].note and "巴中市" in history[-1].note

    # 巴中 sees it; the old district no longer does, but the sender may still read it.
    await bot.say(BAZHONG, "/queue")
    assert case.ref in bot.text(BAZHONG)
    await bot.say(WUHOU_B, "/queue")
    assert case.ref not in bot.text(WUHOU_B)
    await bot.tap(WUHOU_B, f"st:claim:{case.id}")
    assert "没有这个权限" in bot.text(WUHOU_B)
    await bot.tap(WUHOU_A, f"st:view:{case.id}")
    read = bot.text(WUHOU_A)
    assert case.ref in read and "居民已经搬到巴中市住了" in read and PHONE not in read
    assert bot.buttons(WUHOU_A) == []  # reading only

    # 签收: the receiving worker takes it; the sender and the resident hear of it.
    await bot.tap(BAZHONG, f"st:claim:{case.id}")
    signed = await bot.case(case.id)
    assert (signed.status, signed.assignee_id, signed.area) == ("claimed", BAZHONG, "巴中市")
    assert "陈七 签收" in bot.text(WUHOU_A)
    assert "已经有社区工作人员接手" in bot.text(RESIDENT)
    assert PHONE in bot.text(BAZHONG)  # their area now: the full number privately
    edits = {int(c.params["chat_id"]) for c in bot.stub.sent("editMessageText")}
    assert {CHAT_WUHOU, CHAT_BAZHONG} <= edits  # both cards say who has it


async def test_transfer_to_a_district_sent_back_with_a_reason(tg):
    bot = tg
    await add_worker(bot.app, BAZHONG, "巴中市", "陈七")
    case = await bot.file()
    await bot.tap(WUHOU_A, f"st:claim:{case.id}")
    await transfer(
        bot,
        WUHOU_A,
        case.id,
        f"st:xc:{case.id}:{CITY_BAZHONG}",
        f"st:xd:{case.id}:{CITY_BAZHONG}:0",  # 巴州区
        reason="户籍在巴州区",
    )
    assert (await bot.case(case.id)).area == "巴中市/巴州区"
    # 退回 asks for a reason; a blank one is asked again.
    await bot.tap(BAZHONG, f"st:ret:{case.id}")
    assert "退回的原因" in bot.text(BAZHONG)
    await bot.say(BAZHONG, "。。。")
    assert "没有收到内容" in bot.text(BAZHONG)
    assert (await bot.case(case.id)).status == "transferred"
    await bot.say(BAZHONG, "核实过了，居民户籍和住处都在武侯区")
    back = await bot.case(case.id)
    # Back where it came from, with the worker who sent it.
    assert (back.status, back.assignee_id, back.area) == ("claimed", WUHOU_A, "成都市/武侯区")
    assert back.transferred_from is None
    told = bot.text(WUHOU_A)
    assert "被退回" in told and "核实过了" in told
    assert "回到 成都市武侯区" in bot.text(RESIDENT)
    history = await bot.app.store.cases.history(case.id)
    assert history[-1].actor_id == BAZHONG and "核实过了" in history[-1].note
    # 巴中 can no longer act on it; pressing 退回 again changes nothing.
    await bot.tap(BAZHONG, f"st:ret:{case.id}")
    assert (await bot.case(case.id)).assignee_id == WUHOU_A


async def test_street_workers_and_transfers_to_a_street(tg):
    bot = tg
    await street_worker(bot)
    district_case = await bot.file(township=None)  # filed without a street
    other_street = await bot.file(user=RESIDENT_B, township="簇桥街道")
    assert str(district_case.responsible) == "成都市/武侯区"
    assert str(other_street.responsible) == "成都市/武侯区/簇桥街道"
    await bot.say(YULIN, "/queue")
    queue = bot.text(YULIN)
    assert district_case.ref in queue and other_street.ref not in queue
    await bot.tap(YULIN, f"st:claim:{other_street.id}")
    assert "没有这个权限" in bot.text(YULIN)
    # The district's workers cover both.
    await bot.say(WUHOU_B, "/queue")
    assert district_case.ref in bot.text(WUHOU_B) and other_street.ref in bot.text(WUHOU_B)
    # A transfer down to a street: the 区县 offers the streets that have a worker.
    await bot.tap(WUHOU_A, f"st:xfer:{other_street.id}")
    await bot.tap(WUHOU_A, f"st:xc:{other_street.id}:{CITY_CHENGDU}")
    await bot.tap(WUHOU_A, f"st:xd:{other_street.id}:{CITY_CHENGDU}:{DISTRICT_WUHOU}")
    streets = [b for b in bot.buttons(WUHOU_A) if b.startswith(f"st:xt:{other_street.id}:")]
    assert len(streets) == 2  # 整个武侯区 and 玉林街道
    await bot.tap(WUHOU_A, streets[1])
    await bot.say(WUHOU_A, "在玉林街道的辖区")
    moved = await bot.case(other_street.id)
    assert moved.area == "成都市/武侯区/玉林街道" and moved.status == "transferred"
    await bot.tap(YULIN, f"st:claim:{other_street.id}")
    assert (await bot.case(other_street.id)).assignee_id == YULIN
    # The district case (above the street's level) is the street worker's to claim too.
    await bot.tap(YULIN, f"st:claim:{district_case.id}")
    assert (await bot.case(district_case.id)).assignee_id == YULIN


async def test_invites_are_checked_against_the_regions(tg):
    bot = tg
    before = await bot.app.store.fetchval("SELECT COUNT(*) FROM staff_invites")
    await bot.say(ADMIN, "/invite worker 成都市/五侯区")
    said = bot.text(ADMIN)
    assert "五侯区" in said and "成都市/武侯区" in said and "/join" not in said
    await bot.say(ADMIN, "/invite worker 巴州市")
    assert "巴中市" in bot.text(ADMIN)
    await bot.say(ADMIN, "/invite worker 成都市/武侯区/随便写写")
    assert "/join" not in bot.text(ADMIN)
    assert await bot.app.store.fetchval("SELECT COUNT(*) FROM staff_invites") == before
    await bot.say(ADMIN, "/invite worker 巴中/巴州")
    assert "/join" in bot.text(ADMIN) and "巴中市/巴州区" in bot.text(ADMIN)


# -- point 4: no stranded case --------------------------------------------------------


async def test_revoke_hands_open_cases_to_a_named_colleague(tg):
    bot = tg
    a = await bot.file()
    b = await bot.file(user=RESIDENT_B)
    await bot.tap(WUHOU_A, f"st:claim:{a.id}")
    await bot.tap(WUHOU_A, f"st:claim:{b.id}")
    await bot.say(ADMIN, f"/revoke {WUHOU_A}")
    assert a.ref in bot.text(ADMIN) and b.ref in bot.text(ADMIN)
    await bot.tap(ADMIN, f"rk:w:{WUHOU_A}:{WUHOU_B}")
    assert "李四" in bot.text(ADMIN)
    for case in (a, b):
        fresh = await bot.case(case.id)
        assert (fresh.status, fresh.assignee_id) == ("claimed", WUHOU_B)
        assert "李四" in (await bot.app.store.cases.history(case.id))[-1].note
    told = bot.text(WUHOU_B)
    assert a.ref in told and b.ref in told
    assert f"st:view:{a.id}" in bot.buttons(WUHOU_B)
    assert "权限已被管理员取消" in bot.text(WUHOU_A)
    # The group cards name the new holder.
    edited = [c.params["text"] for c in bot.stub.sent("editMessageText")]
    assert any("李四" in t and a.ref in t for t in edited)
    # The revoked worker's old buttons do nothing.
    await bot.tap(WUHOU_A, f"st:reply:{a.id}")
    assert "没有这个权限" in bot.text(WUHOU_A)
    assert (await bot.app.store.staff.member(WUHOU_A)) is None


async def test_an_area_nobody_covers_alerts_every_working_day(tg):
    bot = tg
    clock = bot.app.engine.services.clock
    clock.set(ts(2025, 1, 10, 10))  # a Friday
    case = await bot.file(city="巴中市", district="巴州区")
    # At once: the admins and the default chat.
    for chat in (ADMIN, CHAT_DEFAULT):
        assert "没有人负责" in bot.text(chat) and case.ref in bot.text(chat)
    assert PHONE not in bot.text(CHAT_DEFAULT)
    svc = service(bot.app)

    async def job_at(when: float) -> str:
        clock.set(when)
        bot.stub.clear()
        await run_uncovered(svc, None, clock)
        await bot.drain()
        return bot.text(ADMIN)

    assert await job_at(ts(2025, 1, 10, 18)) == ""  # told today already
    assert await job_at(ts(2025, 1, 11, 8, 30)) == ""  # Saturday
    assert await job_at(ts(2025, 1, 12, 8, 30)) == ""  # Sunday
    monday = await job_at(ts(2025, 1, 13, 8, 30))
    assert "没有人负责" in monday and case.ref in monday
    assert "没有人负责" in bot.text(CHAT_DEFAULT)
    assert "没有人负责" in await job_at(ts(2025, 1, 14, 8, 30))  # Tuesday
    # Someone claims it (an admin may): no more alerts, and the alerts are edited.
    await bot.tap(ADMIN, f"st:claim:{case.id}")
    assert (await bot.case(case.id)).assignee_id == ADMIN
    assert await job_at(ts(2025, 1, 15, 8, 30)) == ""


async def test_revoking_the_only_worker_of_an_area_alerts_at_once(tg):
    bot = tg
    await add_worker(bot.app, BAZHONG, "巴中市", "陈七")
    case = await bot.file(city="巴中市", district="巴州区")
    assert "没有人负责" not in bot.text(ADMIN)
    await bot.tap(BAZHONG, f"st:claim:{case.id}")
    await bot.say(ADMIN, f"/revoke {BAZHONG}")
    await bot.tap(ADMIN, f"rk:q:{BAZHONG}")
    assert (await bot.case(case.id)).status == "new"
    assert "没有人负责" in bot.text(ADMIN) and "没有人负责" in bot.text(CHAT_DEFAULT)


# -- point 2: delivery you can trust --------------------------------------------------


async def test_a_resident_who_blocked_the_bot(tg):
    bot = tg
    case = await bot.file()
    bot.stub.blocked.add(RESIDENT)
    await bot.tap(WUHOU_A, f"st:claim:{case.id}")
    await bot.tap(WUHOU_A, f"st:reply:{case.id}")
    await bot.say(WUHOU_A, "您好，明天上午我们上门看看")
    await bot.tap(WUHOU_A, f"st:send:{case.id}")
    told = bot.text(WUHOU_A)
    assert "居民没收到" in told and "已屏蔽" in told and "打电话" in told and case.ref in told
    assert f"st:view:{case.id}" in bot.buttons(WUHOU_A)
    notes = [h.note or "" for h in await bot.app.store.cases.history(case.id)]
    assert any("居民没收到" in n for n in notes)
    # The card shows it in the history.
    await bot.tap(WUHOU_A, f"st:view:{case.id}")
    assert "居民没收到" in bot.text(WUHOU_A)


async def test_a_group_press_whose_private_reply_cannot_go(tg):
    bot = tg
    case = await bot.file()
    bot.stub.blocked.add(WUHOU_B)  # never opened the bot's private chat
    await bot.tap(WUHOU_B, f"st:view:{case.id}", group=CHAT_WUHOU)
    group = bot.text(CHAT_WUHOU)
    assert "私聊" in group and "开始" in group
    for private in (PHONE, MASKED, case.ref, "断了粮", "玉林"):
        assert private not in group


# -- forged buttons for the new actions -------------------------------------------------


async def test_forged_buttons_for_the_new_actions_change_nothing(tg):
    bot = tg
    await add_worker(bot.app, BAZHONG, "巴中市", "陈七")
    case = await bot.file()
    await bot.tap(WUHOU_A, f"st:claim:{case.id}")
    before = await bot.case(case.id)
    forged = [
        f"rk:q:{WUHOU_A}",
        f"rk:w:{WUHOU_A}:{WUHOU_B}",
        "rk:q:abc",
        f"rk:w:{WUHOU_A}",
        f"st:ret:{case.id}",
        f"st:xt:{case.id}:0:3:a",
        f"st:xt:{case.id}:0:3:0badc0de",
        f"st:xt:{case.id}:99:3:a",
        f"st:xd:{case.id}:{CITY_BAZHONG}:99",
    ]
    for user in (RESIDENT, BAZHONG, WUHOU_B):
        for data in forged:
            await bot.tap(user, data)
            said = bot.text(user)
            assert PHONE not in said and "断了粮" not in said, (user, data)
            await bot.say(user, "随便写点什么")
    after = await bot.case(case.id)
    assert (after.status, after.assignee_id, after.area) == (
        before.status,
        before.assignee_id,
        before.area,
    )
    assert await bot.app.store.staff.member(WUHOU_A) is not None
    # An admin's forged hand-over to someone who is not a worker changes nothing.
    await bot.say(ADMIN, f"/revoke {WUHOU_A} {RESIDENT}")
    assert "不是在职的社区工作人员" in bot.text(ADMIN)
    await bot.tap(ADMIN, f"rk:w:{WUHOU_A}:{RESIDENT}")
    assert await bot.app.store.staff.member(WUHOU_A) is not None
    assert (await bot.case(case.id)).assignee_id == WUHOU_A
    refused = await bot.app.store.staff.audit_entries(action="revoke", allowed=False)
    assert {e.actor_id for e in refused} >= {RESIDENT, BAZHONG, WUHOU_B}


async def test_one_definition_of_area_in_python_and_sql(tg):
    """``Area.covers`` (permissions) and ``CaseQuery.covered_by`` (lists) agree on
    every pair of a worker's area and a case's area."""
    from bot.domain.regions import Area

    bot = tg
    areas = [
        Area("成都市"),
        Area("成都市", "武侯区"),
        Area("成都市", "武侯区", "玉林街道"),
        Area("成都市", "武侯区", "簇桥街道"),
        Area("成都市", "锦江区"),
        Area("巴中市"),
        Area("巴中市", "巴州区"),
    ]
    wf = bot.app.store.workflow
    ids = {}
    for i, area in enumerate(areas):
        case = await bot.file(user=2000 + i)
        moved = await wf.transition(
            case.id,
            "new",
            "staff",
            ADMIN,
            expect_from=("new",),
            set_fields={
                "area_city": area.city,
                "area_district": area.district,
                "area_township": area.township,
            },
        )
        assert moved is not None and moved.responsible == area
        ids[case.id] = area
    for worker in [Area(), *areas]:
        listed = {c.id for c in await wf.select(("new",), covered_by=worker)}
        expected = {i for i, a in ids.items() if worker.covers(a.city, a.district, a.township)}
        assert listed == expected, worker
