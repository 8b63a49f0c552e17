"""Adversarial privacy and security checks across features: forged and replayed
buttons, masked phones, group replies, /forget over every table, consent, escaping
of user text, and personal data in logs (with the libraries logging at DEBUG)."""

from __future__ import annotations

import logging
import re

import pytest

from bot.dialog.events import Event
from bot.telegram.offline import check_telegram_html
from tests.conftest import Chat
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
    payloads,
    press,
    send,
    text_to,
    write,
)
from tests.test_telegram import tg  # noqa: F401 - the offline Telegram fixture

pytestmark = pytest.mark.both_backends

EXPIRED = "该按钮已过期"
FORBIDDEN = "没有这个权限"
REF = re.compile(r"SC-\d{4}-[2-9A-HJ-NP-Z]{4}")

# What a resident types in the help request below: none of it may survive /forget.
R_PHONE = "13912345678"
R_TOWN = "瑶池街道"
R_VILLAGE = "翠竹社区"
R_DESC = "家里暖气坏了老人怕冷ZQX"
R_MESSAGE = "补充说明住在七楼QWV"
R_COMMENT = "工作人员很耐心JKP"
R_QUESTION = "我想问问残疾人补贴WQZ怎么办"
W_REPLY = "明天上午上门查看RPL"
W_NOTE = "已电话联系NTE"
W_RESULT = "已送去取暖器RSL"


@pytest.fixture
async def sapp(tmp_path, db_path):
    app, _clock = await open_staff_app(tmp_path, db=db_path)
    try:
        yield app
    finally:
        await app.close()


def buttons(replies) -> list[str]:
    return [p for r in replies for p in r.payloads()]


async def fill_form(app, user: int, description: str, phone: str) -> Chat:
    """A resident's help form filled up to the summary, with the 乡镇 and 村 (修改 →
    地区) and a contact time."""
    chat = Chat(app, user_id=user)
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:winter")
    await chat.tap("成都市")
    await chat.tap("武侯区")
    await chat.send(description)
    await chat.send(phone)
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:region")
    await chat.tap("成都市")
    await chat.tap("武侯区")
    await chat.send(R_TOWN)
    await chat.send(R_VILLAGE)
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:time")
    await chat.choose("hc:time:pm")
    return chat


async def file_request(app, user: int, description: str = R_DESC, phone: str = R_PHONE) -> str:
    """A whole help request through the engine; returns its reference."""
    chat = await fill_form(app, user, description, phone)
    if chat.templates() != ["cases/summary"]:  # something to attach was offered first
        assert chat.templates() == ["cases/ask_attach"]
        await chat.choose("hc:att:yes")
    assert chat.templates() == ["cases/summary"]
    ok = [p for p in payloads(chat.last) if p.startswith("hc:ok:")]
    await chat.press(ok[0])
    return REF.findall(chat.text())[0]


# -- 1. forged and replayed buttons ---------------------------------------------------


async def test_every_staff_action_is_refused_to_residents_and_other_areas(sapp):
    """A resident, and a worker of another area, pressing every staff payload (as if
    forged from a post they saw): nothing changes, nothing personal comes back, and
    each refusal is in the audit log."""
    await add_worker(sapp, JINJIANG, "成都市/锦江区", "王五")
    case, _ = await new_case(sapp)
    forged = [
        f"st:{a}:{case.id}"
        for a in ("claim", "view", "xfer", "note", "reply", "res", "inv", "exp", "reopen", "ret")
    ] + [f"st:xc:{case.id}:0", f"st:xd:{case.id}:0:a", f"st:xd:{case.id}:0:0"]
    forged += [f"st:xt:{case.id}:0:3:a", f"st:xt:{case.id}:0:3:0badc0de"]
    for user in (RESIDENT, JINJIANG):
        for payload in forged:
            replies = await press(sapp, user, payload)
            text = "\n".join(r.text for r in replies)
            assert PHONE not in text and MASKED not in text, payload
            assert "玉林" not in text and "断了粮" not in text, payload
            assert all(r.chat_id in (None, user) for r in replies), payload
            assert FORBIDDEN in text or EXPIRED in text, (payload, text)
    fresh = await sapp.store.workflow.get(case.id)
    assert (fresh.status, fresh.assignee_id, fresh.area) == ("new", None, case.area)
    assert [h.to_status for h in await sapp.store.cases.history(case.id)] == ["new"]
    assert await sapp.store.cases.messages(case.id, include_private=True) == []
    refused = await sapp.store.staff.audit_entries(case_id=case.id, allowed=False)
    assert {e.actor_id for e in refused} == {RESIDENT, JINJIANG}
    # Staff commands are refused to a resident too, without revealing a case.
    for command in ("/queue", "/mine", "/overdue", "/find 暖气", f"/case {case.ref}"):
        text = text_to(await send(sapp, RESIDENT, command), None)
        assert case.ref not in text and PHONE not in text, command


async def test_a_revoked_worker_loses_a_half_finished_action(sapp):
    """A worker opens 回复 on their case, is revoked, then sends the text: refused."""
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await press(sapp, WUHOU_A, f"st:reply:{case.id}")
    assert "没有找到" not in text_to(await send(sapp, ADMIN, f"/revoke {WUHOU_A}"), None)
    assert "没有找到" not in text_to(await press(sapp, ADMIN, f"rk:q:{WUHOU_A}"), None)
    replies = await send(sapp, WUHOU_A, "我来了解一下情况")
    assert all(r.chat_id in (None, WUHOU_A) for r in replies)
    assert await sapp.store.cases.messages(case.id, include_private=True) == []
    # And the card is no longer theirs to see.
    text = text_to(await press(sapp, WUHOU_A, f"st:view:{case.id}"), None)
    assert PHONE not in text and FORBIDDEN in text


async def test_residents_cannot_touch_another_residents_request(sapp):
    """pg (progress), rv (rating), hc:ok (a replayed confirm) with another resident's
    ids: refused as expired, and the other resident's request is unchanged."""
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    ref = await file_request(sapp, RESIDENT)
    case = await sapp.store.cases.get_by_ref(ref)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await write(sapp, WUHOU_A, case.id, "res", W_RESULT)
    draft = case.draft_id
    other = 4242
    for payload in (
        f"pg:v:{case.id}",
        f"pg:m:{case.id}",
        f"pg:w:{case.id}",
        f"pg:wy:{case.id}",
        f"rv:r:{case.id}:u",
        f"rv:r:{case.id}:s",
        f"hc:ok:{draft}",
    ):
        text = text_to(await press(sapp, other, payload), None)
        assert EXPIRED in text, payload
        assert ref not in text and R_PHONE not in text and R_DESC not in text, payload
    fresh = await sapp.store.workflow.get(case.id)
    assert fresh.status == "resolved" and fresh.rating is None
    assert fresh.user_id == RESIDENT


# -- 2. phones masked, full only privately to the area's worker, views audited -------


async def test_full_phone_only_to_the_area_worker_in_private_and_audited(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(sapp, JINJIANG, "成都市/锦江区", "王五")
    case, posts = await new_case(sapp, urgent=True)
    group = text_to(posts, CHAT_WUHOU)
    assert MASKED in group and PHONE not in group
    assert "断了粮" not in group and "玉林街道" not in group
    private_post = text_to(posts, WUHOU_A)  # urgent: also privately, still masked
    assert MASKED in private_post and PHONE not in private_post
    # Pressed in the group: the card goes privately, masked.
    replies = await press(sapp, WUHOU_A, f"st:view:{case.id}", group=CHAT_WUHOU)
    assert text_to(replies, CHAT_WUHOU) == ""
    assert PHONE not in text_to(replies, WUHOU_A)
    # In a private chat: in full, for the area's worker only.
    assert PHONE in text_to(await press(sapp, WUHOU_A, f"st:view:{case.id}"), None)
    assert PHONE not in text_to(await press(sapp, JINJIANG, f"st:view:{case.id}"), None)
    views = await sapp.store.staff.audit_entries(case_id=case.id)
    got = [(e.actor_id, e.action, e.allowed, e.detail) for e in views]
    assert (WUHOU_A, "view", True, "phone=masked") in got
    assert (WUHOU_A, "view", True, "phone=full") in got
    assert (JINJIANG, "view", False, None) in got
    # Lists seen by staff mask the phone.
    for command in ("/queue", "/find 断了粮"):
        text = text_to(await send(sapp, WUHOU_A, command), None)
        assert case.ref in text and PHONE not in text, command
    # The admins' staff list shows no resident data at all.
    assert PHONE not in text_to(await send(sapp, ADMIN, "/staff"), None)


# -- 3. groups --------------------------------------------------------------------


async def test_group_replies_never_carry_personal_data(sapp):
    """Everything a resident or a worker can send in a group: no phone, description,
    place or screening answer in any reply addressed to the group."""
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    ref = await file_request(sapp, RESIDENT)
    case = await sapp.store.cases.get_by_ref(ref)
    group = CHAT_WUHOU
    seen: list = []
    for text in ("/start", "/menu", "/forget", "/queue", "/mine", f"/case {ref}", "/staff"):
        for user in (RESIDENT, WUHOU_A, ADMIN):
            seen += await send(sapp, user, text, group=group)
    for payload in (
        "menu:help",
        "menu:progress",
        "menu:screen",
        f"pg:v:{case.id}",
        "fg:yes",
        f"st:view:{case.id}",
        f"st:claim:{case.id}",
        f"st:note:{case.id}",
        f"rv:r:{case.id}:s",
    ):
        for user in (RESIDENT, WUHOU_A):
            seen += await press(sapp, user, payload, group=group)
    in_group = "\n".join(r.text for r in seen if r.chat_id in (None, group))
    for secret in (R_PHONE, R_DESC, R_TOWN, R_VILLAGE, "13912345678"):
        assert secret not in in_group, secret
    # The resident's data is still there: a group press erased nothing.
    assert (await sapp.store.cases.get(case.id)).phone == R_PHONE


# -- 4. /forget ------------------------------------------------------------------


async def test_forget_leaves_nothing_personal_in_any_table(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    resident = Chat(sapp, user_id=RESIDENT)
    await resident.send(R_QUESTION)  # the question log
    await resident.send("/subscribe")
    await resident.press("sub:all")
    assert await sapp.store.admin.subscription(RESIDENT) is not None
    # A request followed to its end, with every kind of free text on it.
    ref = await file_request(sapp, RESIDENT)
    case = await sapp.store.cases.get_by_ref(ref)
    await resident.press(f"pg:m:{case.id}")
    await resident.send(R_MESSAGE)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    for action, text in (("reply", W_REPLY), ("note", W_NOTE), ("res", W_RESULT)):
        await write(sapp, WUHOU_A, case.id, action, text)
    await resident.press(f"rv:r:{case.id}:b")
    await resident.send(R_COMMENT)
    assert (await sapp.store.workflow.get(case.id)).rating_comment == R_COMMENT
    # A second request still open, and a form half filled.
    ref2 = await file_request(sapp, RESIDENT, description="没有吃的了家里断粮ZQX2")
    await resident.press("menu:help")
    await resident.tap("为自己求助")
    await resident.tap("同意，开始填写")
    secrets = [
        R_PHONE,
        R_TOWN,
        R_VILLAGE,
        R_DESC,
        "ZQX2",
        R_MESSAGE,
        R_COMMENT,
        R_QUESTION,
        W_REPLY,
        W_NOTE,
        W_RESULT,
    ]
    tables = await sapp.store.tables()

    async def dump() -> str:
        out = []
        for table in tables:
            rows = await sapp.store.fetchall(f"SELECT * FROM {table}")  # noqa: S608
            out.append(f"{table}: {[tuple(r) for r in rows]!r}")
        return "\n".join(out)

    before = await dump()
    missing = [s for s in secrets if s not in before]
    assert not missing, missing  # the test data really reached the database

    await resident.send("/forget")
    await resident.tap("确定删除")
    after = await dump()
    for secret in secrets:
        leftovers = [line.split(":")[0] for line in after.splitlines() if secret in line]
        assert not leftovers, (secret, leftovers)
    assert await sapp.store.load_state(RESIDENT) is None
    assert await sapp.store.admin.subscription(RESIDENT) is None
    # Statistics stay: category, region, dates, status and rating.
    for r in (ref, ref2):
        kept = await sapp.store.workflow.get_by_ref(r)
        assert (kept.category, kept.region_city, kept.region_district) == (
            "winter",
            "成都市",
            "武侯区",
        )
        assert kept.created_at > 0 and kept.erased_at is not None
    assert (await sapp.store.workflow.get_by_ref(ref)).rating == "basic"
    assert (await sapp.store.workflow.get_by_ref(ref2)).status == "withdrawn"
    assert len(await sapp.store.cases.history(case.id)) >= 4  # statuses and times kept


async def help_form_at(app, user: int, step_label: str | None = "修改") -> Chat:
    """A resident with a private help request filled up to the summary (and, by
    default, the 修改 step after it)."""
    chat = await fill_form(app, user, R_DESC, R_PHONE)
    if step_label:
        await chat.tap(step_label)
    return chat


async def test_back_in_a_group_never_steps_into_the_private_form(app):
    """返回上一步 is let through in groups; pressed there by a resident whose private
    help form is open, it must not show that form's summary (phone, description,
    address) to the group, nor change the form."""
    chat = await help_form_at(app, RESIDENT)
    state = await app.store.load_state(RESIDENT)
    group = -100_777
    replies = await app.engine.handle(
        Event(user_id=RESIDENT, chat_id=group, payload="nav:back", is_group=True)
    )
    text = "\n".join(r.text for r in replies if r.chat_id in (None, group))
    for secret in (R_PHONE, R_DESC, R_TOWN, R_VILLAGE):
        assert secret not in text, secret
    assert await app.store.load_state(RESIDENT) == state
    # In the private chat 返回上一步 still goes back to the summary.
    await chat.press("nav:back")
    assert R_PHONE in chat.text()


@pytest.mark.parametrize(
    "payload",
    ["hc:edit", "hc:ef:phone", "hc:urg:no", "hc:consent:yes", "fg:yes", "fg:no", "scr:restart"],
)
async def test_private_flow_buttons_do_nothing_in_a_group(app, payload):
    """A help-form, /forget or screening button pressed in a group (forged, the adapter
    does not offer them there): expired, nothing personal shown, nothing changed."""
    chat = await help_form_at(app, RESIDENT, step_label=None)
    ref_chat = Chat(app, user_id=RESIDENT)
    await ref_chat.press([p for p in payloads(chat.last) if p.startswith("hc:ok:")][0])
    case = (await app.store.cases.for_user(RESIDENT))[0]
    await help_form_at(app, RESIDENT)  # a second form open at 修改
    state = await app.store.load_state(RESIDENT)
    group = -100_777
    replies = await app.engine.handle(
        Event(user_id=RESIDENT, chat_id=group, payload=payload, is_group=True)
    )
    text = "\n".join(r.text for r in replies)
    assert EXPIRED in text
    for secret in (R_PHONE, R_DESC, R_TOWN, R_VILLAGE):
        assert secret not in text, secret
    assert await app.store.load_state(RESIDENT) == state
    assert (await app.store.cases.get(case.id)).phone == R_PHONE


# -- 2. no personal data in the logs, even at DEBUG ------------------------------------


async def test_a_whole_help_request_logs_nothing_personal_at_debug(tg, caplog):  # noqa: F811
    """Through the Telegram adapter with every logger at DEBUG: the libraries log
    message texts and SQL arguments there, so none of the resident's words may
    appear in any log record."""
    caplog.set_level(logging.DEBUG)
    calls = await tg.tap("我要求助", await tg.send("/start"))
    for label in ("为自己求助", "同意，开始填写", "生活困难", "成都市", "锦江区"):
        calls = await tg.tap(label, calls)
    for text in (R_DESC, "139 1234 5678"):
        calls = await tg.send(text)
    for label in ("修改", "地区", "成都市", "锦江区"):
        calls = await tg.tap(label, calls)
    for text in (R_TOWN, R_VILLAGE):
        calls = await tg.send(text)
    for label in ("修改", "方便联系的时间", "上午", "确认提交"):
        calls = await tg.tap(label, calls)
    assert await tg.app.store.cases.for_user(1001)
    await tg.send("/forget")
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert caplog.records  # the capture works
    for secret in (R_PHONE, "139 1234 5678", R_DESC, R_TOWN, R_VILLAGE, "居民"):
        assert secret not in logged, secret


# -- 5. consent ------------------------------------------------------------------------


async def test_consent_says_what_why_who_how_long_how_to_delete_and_declining_stores_nothing(
    app,
):
    chat = Chat(app, user_id=RESIDENT)
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    text = chat.text()
    for words in ("要填什么", "为什么", "谁能看到", "保存多久", "/forget", "180"):
        assert words in text, words
    await chat.tap("不同意，只看求助电话")
    tables = await app.store.tables()
    for table in tables:
        if table in ("processed_updates", "schema_migrations"):
            continue
        rows = await app.store.fetchall(f"SELECT * FROM {table}")  # noqa: S608
        # The id as a value, or inside a text (a float timestamp may contain its digits).
        stored = [
            tuple(r)
            for r in rows
            for v in tuple(r)
            if v == RESIDENT or (isinstance(v, str) and str(RESIDENT) in v)
        ]
        assert not stored, table


# -- 6. user text is escaped everywhere it is shown -------------------------------------


async def test_user_text_is_escaped_in_staff_views(sapp):
    """A worker's /join name, a resident's description, message and rating comment,
    a question shown to admins in /gaps, and an announcement: shown as text, never
    as markup (and every reply is HTML Telegram accepts: `press`/`send` check it)."""
    evil_name = "<b>张</b>&<i>"
    code = (await sapp.store.staff.create_invite("worker", *_area("成都市", "武侯区"))).code
    joined = text_to(await send(sapp, WUHOU_A, f"/join {code} {evil_name}"), None)
    assert "&lt;b&gt;张&lt;/b&gt;&amp;&lt;i&gt;" in joined
    evil = "<a href='http://x'>点我</a> & <b>"
    case, posts = await new_case(sapp, description=f"家里没有吃的 {evil}")
    for reply in posts:
        assert check_telegram_html(reply.text) is None
    claimed = await press(sapp, WUHOU_A, f"st:claim:{case.id}", group=CHAT_WUHOU)
    posted = text_to(claimed, None)  # the group post, edited in place
    assert "&lt;b&gt;张&lt;/b&gt;" in posted and "<b>张</b>" not in posted
    card = text_to(await press(sapp, WUHOU_A, f"st:view:{case.id}"), None)
    assert "&lt;a href=" in card and "<a href='http://x'>" not in card
    # A question with markup, shown to admins in the gaps report.
    await send(sapp, RESIDENT, "<b>粗体</b>问题 & 其他")
    gaps = text_to(await send(sapp, ADMIN, "/gaps"), None)
    assert "<b>粗体</b>" not in gaps
    # An announcement's text is previewed (and sent) as plain text.
    await send(sapp, ADMIN, "/announce")
    await press(sapp, ADMIN, "adm:bcr:*")
    preview = text_to(await send(sapp, ADMIN, "<i>停水</i> <a href='x'>通知</a>"), None)
    assert "&lt;i&gt;停水&lt;/i&gt;" in preview


def _area(city: str, district: str):
    from bot.store.staff import Area

    return Area(city, district), ADMIN, 86400


async def test_phone_and_id_numbers_typed_into_a_question_are_stored_masked(app, chat):
    await chat.send("我电话13812341234，身份证510104199001011234，火车票咋个买")
    rows = await app.store.fetchall("SELECT * FROM kb_questions")
    stored = " ".join(str(v) for row in rows for v in tuple(row))
    assert "13812341234" not in stored and "199001011234" not in stored
    assert "138****1234" in stored and "510104********1234" in stored
