"""The whole life cycle of a request through the engine: posted to the area's staff
chat, claimed, notes, replies, expected date, transfer, resolve, 回访, reopen."""

from __future__ import annotations

import pytest

from bot.dialog.events import Event
from tests.conftest import Chat
from tests.staff_support import (
    ADMIN,
    CHAT_CHENGDU,
    CHAT_WUHOU,
    JINJIANG,
    MASKED,
    PHONE,
    RESIDENT,
    WUHOU_A,
    WUHOU_B,
    add_worker,
    delivered,
    new_case,
    open_staff_app,
    payloads,
    press,
    said,
    said_with,
    send,
    text_to,
    to,
    ts,
    write,
)

pytestmark = pytest.mark.both_backends


@pytest.fixture
async def sapp(tmp_path, db_path):
    app, clock = await open_staff_app(tmp_path, db=db_path)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(app, WUHOU_B, "成都市/武侯区", "李四")
    await add_worker(app, JINJIANG, "成都市/锦江区", "王五")
    try:
        yield app
    finally:
        await app.close()


async def history(app, case_id):
    return [
        (h.from_status, h.to_status, h.actor_kind, h.actor_id)
        for h in await app.store.cases.history(case_id)
    ]


async def test_new_request_is_posted_to_its_area_chat(sapp):
    case, replies = await new_case(sapp)
    assert [r.chat_id for r in replies] == [CHAT_WUHOU]
    post = replies[0]
    assert post.template == "staff/new_case" and said_with(replies, CHAT_WUHOU)["kind"] == "new"
    shown = said_with(replies, CHAT_WUHOU)["c"]
    living = sapp.engine.services.staff.category_name("living")
    assert (shown["ref"], shown["category"], shown["area"]) == (case.ref, living, "成都市/武侯区")
    # Filed with a street: that street is responsible (and its district's workers),
    # but the street the resident typed is not shown in the group.
    assert str(case.responsible) == "成都市/武侯区/玉林街道"
    assert case.ref in post.text and "成都市/武侯区" in post.text
    assert MASKED in post.text and PHONE not in post.text
    assert "断了粮" not in post.text and "玉林" not in post.text  # no free text in a group
    assert payloads(replies) == [f"st:claim:{case.id}", f"st:view:{case.id}", f"st:xfer:{case.id}"]
    label = sapp.engine.renderer.label
    assert [b.label for b in post.buttons[0]] == [
        label("staff.btn.claim"),
        label("staff.btn.view"),
        label("staff.btn.transfer"),
    ]
    # Deadline: Monday 10:00 + 3 working days = end of Thursday.
    assert case.due_at == ts(2025, 1, 10, 0, 0)
    # Posting twice (a second hook call, the sweep job) posts nothing more.
    assert await sapp.engine.services.staff.on_case_created(case.id) == []
    assert await delivered(sapp) == []


async def test_urgent_request_also_goes_privately_to_the_area_workers(sapp):
    case, replies = await new_case(sapp, urgent=True)
    assert sorted(r.chat_id for r in replies) == sorted([CHAT_WUHOU, WUHOU_A, WUHOU_B])
    assert all(r.template == "staff/new_case" and MASKED in r.text for r in replies)
    assert all(r.text.context["c"]["urgent"] for r in replies)
    assert all(PHONE not in r.text for r in replies)
    # Urgent: 24 hours, every day of the week (Monday 10:00 → Tuesday 10:00).
    assert case.due_at == ts(2025, 1, 7, 10, 0) and case.target_days == 0


async def test_area_without_its_own_chat_uses_the_city_chat(sapp):
    case, replies = await new_case(sapp, district="锦江区")
    assert [r.chat_id for r in replies] == [CHAT_CHENGDU]


async def test_whole_life_cycle(sapp):
    clock = sapp.engine.services.clock
    case, _ = await new_case(sapp)

    # 认领 in the staff group: the post is edited, the card goes privately (masked,
    # because the press came from a group), the resident is told.
    replies = await press(sapp, WUHOU_A, f"st:claim:{case.id}", group=CHAT_WUHOU)
    group = to(replies, None)
    assert len(group) == 1 and group[0].edit and group[0].template == "staff/claimed_post"
    assert said_with(replies)["holder"] == "张三"
    card = text_to(replies, WUHOU_A)
    assert said(replies, WUHOU_A) == ["staff/card"]
    assert said_with(replies, WUHOU_A)["notice"] == "claimed"
    assert MASKED in card and PHONE not in card
    assert said(replies, RESIDENT) == ["staff/resident"]
    assert said_with(replies, RESIDENT)["kind"] == "claimed"

    # 查看 in the private chat: the full phone and the description.
    clock.advance(hours=1)
    replies = await press(sapp, WUHOU_A, f"st:view:{case.id}")
    card = text_to(replies, None)
    assert PHONE in card and "断了粮" in card and "玉林街道" in card
    assert {f"st:reply:{case.id}", f"st:res:{case.id}", f"st:note:{case.id}"} <= set(
        payloads(replies)
    )

    # A private note: stored, the resident hears nothing.
    await press(sapp, WUHOU_A, f"st:note:{case.id}")
    replies = await send(sapp, WUHOU_A, "已电话联系，下午上门")
    assert said(replies) == ["staff/done"] and said_with(replies)["kind"] == "note"
    assert not to(replies, RESIDENT)
    msgs = await sapp.store.cases.messages(case.id, include_private=True)
    assert [(m.body, m.private) for m in msgs] == [("已电话联系，下午上门", True)]
    assert await sapp.store.cases.messages(case.id) == []  # residents never see notes

    # A blank reply is asked again; a real one reaches the resident.
    await press(sapp, WUHOU_A, f"st:reply:{case.id}")
    replies = await send(sapp, WUHOU_A, "   。。。")
    assert said(replies) == ["staff/ask_text"] and said_with(replies)["retry"] == "blank"
    replies = await send(sapp, WUHOU_A, "您好，<b>明天</b>上午我们上门看看")
    # First a preview naming the case; only 发送 sends it.
    assert not to(replies, RESIDENT)
    preview = text_to(replies, None)
    assert f"发给 <b>{case.ref}</b> 的居民" in preview and "&lt;b&gt;明天" in preview
    replies = await press(sapp, WUHOU_A, f"st:send:{case.id}")
    resident = to(replies, RESIDENT)
    assert len(resident) == 1 and resident[0].template == "staff/resident"
    assert "&lt;b&gt;明天&lt;/b&gt;" in resident[0].text  # the worker's words, escaped
    assert (await sapp.store.workflow.get(case.id)).status == "in_progress"

    # Expected date by a button: the resident is told the date.
    replies = await press(sapp, WUHOU_A, f"st:exp:{case.id}")
    days = [p for p in payloads(replies) if p.startswith("st:expd:")]
    assert days[0] == f"st:expd:{case.id}:20250106"
    replies = await press(sapp, WUHOU_A, f"st:expd:{case.id}:20250108")
    assert said_with(replies, RESIDENT)["kind"] == "expected"
    assert "1月8日（周三）" in text_to(replies, RESIDENT)
    # ... or typed; a date in the past is asked again.
    await press(sapp, WUHOU_A, f"st:exp:{case.id}")
    replies = await send(sapp, WUHOU_A, "2024-12-01")
    assert said(replies) == ["staff/ask_text"] and said_with(replies)["retry"] == "date"
    replies = await send(sapp, WUHOU_A, "1月9日")
    assert "1月9日（周四）" in text_to(replies, RESIDENT)
    assert (await sapp.store.workflow.get(case.id)).expected_date == "2025-01-09"

    # Transfer to 锦江区: the worker picks 市州 then 区县.
    replies = await press(sapp, WUHOU_A, f"st:xfer:{case.id}")
    assert f"st:xc:{case.id}:0" in payloads(replies)  # 成都市 is first
    replies = await press(sapp, WUHOU_A, f"st:xc:{case.id}:0")
    jinjiang = [
        p
        for r in replies
        for row in r.buttons
        for b in row
        if b.label == "锦江区"
        for p in [b.payload]
    ]
    replies = await press(sapp, WUHOU_A, jinjiang[0])
    # Every transfer has a reason, typed next.
    assert said(replies) == ["staff/ask_text"] and said_with(replies)["kind"] == "xr"
    replies = await send(sapp, WUHOU_A, "居民实际住在锦江区")
    assert said(replies) == ["staff/done"] and said_with(replies)["kind"] == "transfer"
    assert said_with(replies)["area"] == "成都市/锦江区"
    assert said_with(replies, RESIDENT)["kind"] == "transferred"
    assert "成都市锦江区" in text_to(replies, RESIDENT)
    posted = to(replies, CHAT_CHENGDU)  # 锦江区 has no chat of its own
    assert len(posted) == 1 and posted[0].template == "staff/new_case" and MASKED in posted[0].text
    assert said_with(replies, CHAT_CHENGDU)["kind"].startswith("transfer")
    moved = await sapp.store.workflow.get(case.id)
    assert moved.status == "transferred" and moved.assignee_id is None
    assert moved.area == "成都市/锦江区" and moved.region == "成都市/武侯区"
    # The old area has lost it; the sender keeps read access (no buttons, masked).
    replies = await press(sapp, WUHOU_A, f"st:view:{case.id}")
    assert said(replies) == ["staff/card"] and PHONE not in text_to(replies, None)
    assert "居民实际住在锦江区" in text_to(replies, None)
    assert not [p for p in payloads(replies) if not p.startswith("st:view")]
    assert said(await press(sapp, WUHOU_B, f"st:view:{case.id}")) == ["staff/forbidden"]
    assert said(await press(sapp, WUHOU_B, f"st:claim:{case.id}")) == ["staff/forbidden"]

    # 锦江区 claims and resolves; the resident gets the result and the rating buttons.
    await press(sapp, JINJIANG, f"st:claim:{case.id}")
    # Someone else in the area cannot resolve it (and the refusal is logged).
    assert said(await press(sapp, WUHOU_B, f"st:res:{case.id}")) == ["staff/forbidden"]
    replies = await write(sapp, JINJIANG, case.id, "res", "已送去米面油和棉被")
    resident = to(replies, RESIDENT)
    assert len(resident) == 1 and "已送去米面油和棉被" in resident[0].text
    assert said_with(replies, RESIDENT)["kind"] == "resolved"
    assert payloads(resident)[:3] == [f"rv:r:{case.id}:s", f"rv:r:{case.id}:b", f"rv:r:{case.id}:u"]
    assert (await sapp.store.workflow.get(case.id)).status == "resolved"

    # 回访: 不满意 reopens it with the same worker, who is told, and so is the area chat.
    clock.advance(days=1)
    replies = await press(sapp, RESIDENT, f"rv:r:{case.id}:u")
    assert said(replies) == ["staff/rate_done"] and said_with(replies)["kind"] == "unsatisfied"
    for chat in (JINJIANG, CHAT_CHENGDU):
        # (and the posted cards are edited to the new status)
        assert [t for t in said(replies, chat) if t != "staff/claimed_post"] == ["staff/rated"]
        rated = [r for r in replies if r.template == "staff/rated"]
        assert said_with(rated, chat)["rating"] == "unsatisfied"
    reopened = await sapp.store.workflow.get(case.id)
    assert reopened.status == "in_progress" and reopened.assignee_id == JINJIANG
    assert reopened.rating == "unsatisfied" and reopened.reopen_count == 1
    assert reopened.due_at > case.due_at  # a fresh deadline
    # The resident may say why.
    replies = await send(sapp, RESIDENT, "棉被太薄了")
    assert said(replies) == ["staff/rate_done"] and said_with(replies)["kind"] == "thanks"
    assert (await sapp.store.workflow.get(case.id)).rating_comment == "棉被太薄了"
    # Pressing a rating button again does nothing.
    replies = await press(sapp, RESIDENT, f"rv:r:{case.id}:s")
    assert said(replies) == ["staff/rate_done"] and said_with(replies)["kind"] == "already"

    # Resolved again, then 满意: closed.
    await write(sapp, JINJIANG, case.id, "res", "换了厚棉被")
    replies = await press(sapp, RESIDENT, f"rv:r:{case.id}:s")
    assert said(replies) == ["staff/rate_done"] and said_with(replies)["kind"] == "satisfied"
    assert said(replies, JINJIANG) == ["staff/rated"]
    assert said_with(replies, JINJIANG)["rating"] == "satisfied"
    await press(sapp, RESIDENT, f"rv:skip:{case.id}")
    closed = await sapp.store.workflow.get(case.id)
    assert closed.status == "closed" and closed.rating == "satisfied" and closed.closed_at

    # Staff reopen of a closed request.
    replies = await press(sapp, JINJIANG, f"st:reopen:{case.id}")
    assert said(replies) == ["staff/done"] and said_with(replies)["kind"] == "reopen"
    assert said_with(replies, RESIDENT)["kind"] == "reopened"
    assert (await sapp.store.workflow.get(case.id)).status == "in_progress"

    # Every change is in the history, with who.
    assert await history(sapp, case.id) == [
        (None, "new", "resident", RESIDENT),
        ("new", "claimed", "staff", WUHOU_A),
        ("claimed", "in_progress", "staff", WUHOU_A),  # the reply
        ("in_progress", "in_progress", "staff", WUHOU_A),  # expected date (button)
        ("in_progress", "in_progress", "staff", WUHOU_A),  # expected date (typed)
        ("in_progress", "transferred", "staff", WUHOU_A),
        ("transferred", "claimed", "staff", JINJIANG),
        ("claimed", "resolved", "staff", JINJIANG),
        ("resolved", "in_progress", "resident", RESIDENT),
        ("in_progress", "resolved", "staff", JINJIANG),
        ("resolved", "closed", "resident", RESIDENT),
        ("closed", "in_progress", "staff", JINJIANG),
    ]
    refused = await sapp.store.staff.audit_entries(case_id=case.id, allowed=False)
    assert {(e.actor_id, e.action) for e in refused} == {
        (WUHOU_B, "view"),
        (WUHOU_B, "claim"),
        (WUHOU_B, "res"),
    }


async def test_mark_invalid_and_reopen_unclaimed(sapp):
    case, _ = await new_case(sapp)
    # Any worker of the area may mark an unclaimed request invalid.
    replies = await write(sapp, WUHOU_B, case.id, "inv", "重复提交，已在 SC 另一条里办理")
    assert said(replies) == ["staff/done"] and said_with(replies)["kind"] == "inv"
    assert said_with(replies, RESIDENT)["kind"] == "invalid"
    assert "12345" in text_to(replies, RESIDENT)  # where else to turn
    assert (await sapp.store.workflow.get(case.id)).status == "invalid"
    # Reopened with nobody on it: back to the queue and posted again.
    replies = await press(sapp, WUHOU_A, f"st:reopen:{case.id}")
    fresh = await sapp.store.workflow.get(case.id)
    assert fresh.status == "new" and fresh.assignee_id is None
    # One new card (the old one is edited to say where the case is now).
    assert said(replies, CHAT_WUHOU) == ["staff/claimed_post", "staff/new_case"]


async def test_stale_actions_after_the_state_moved_on(sapp):
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await press(sapp, WUHOU_A, f"st:res:{case.id}")  # waits for the result text
    # Meanwhile the resident withdraws it.
    await sapp.store.cases.change_status(case.id, "withdrawn", "resident", RESIDENT)
    replies = await send(sapp, WUHOU_A, "办好了")
    assert said(replies) == ["staff/state_changed"]
    assert not to(replies, RESIDENT)
    assert (await sapp.store.workflow.get(case.id)).status == "withdrawn"
    # Claiming a withdrawn one: told its state, nothing changes.
    replies = await press(sapp, WUHOU_B, f"st:claim:{case.id}")
    assert said(replies) == ["staff/claim_lost"] and not said_with(replies)["holder"]


async def test_resident_cannot_rate_someone_elses_or_unresolved_request(sapp):
    case, _ = await new_case(sapp)
    assert said(await press(sapp, 4242, f"rv:r:{case.id}:s")) == ["core/expired"]
    replies = await press(sapp, RESIDENT, f"rv:r:{case.id}:s")
    assert said(replies) == ["staff/rate_done"] and said_with(replies)["kind"] == "already"
    assert said(await press(sapp, RESIDENT, f"rv:r:{case.id}:x")) == ["core/expired"]
    assert said(await press(sapp, RESIDENT, "rv:r:abc:s")) == ["core/expired"]
    assert (await sapp.store.workflow.get(case.id)).rating is None


async def test_cancel_a_text_step_changes_nothing(sapp):
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await press(sapp, WUHOU_A, f"st:reply:{case.id}")
    assert said(await press(sapp, WUHOU_A, "st:cancel")) == ["staff/cancelled"]
    replies = await send(sapp, WUHOU_A, "这句不该发给居民")
    assert not to(replies, RESIDENT)
    assert await sapp.store.cases.messages(case.id, include_private=True) == []


async def test_over_long_text_is_asked_again(sapp):
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await press(sapp, WUHOU_A, f"st:res:{case.id}")
    replies = await send(sapp, WUHOU_A, "好" * 1001)
    assert said(replies) == ["staff/ask_text"] and said_with(replies)["retry"] == "long"
    assert (await sapp.store.workflow.get(case.id)).status == "claimed"


async def test_resident_message_and_withdraw_reach_the_assignee(sapp):
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    staff = sapp.engine.services.staff
    replies = await staff.on_resident_message(case.id)
    assert [r.chat_id for r in replies] == [WUHOU_A]
    assert said(replies, WUHOU_A) == ["staff/resident_event"]
    assert said_with(replies, WUHOU_A)["kind"] == "message"
    await sapp.store.cases.change_status(case.id, "withdrawn", "resident", RESIDENT)
    replies = await staff.on_case_changed(case.id)
    assert [r.chat_id for r in replies] == [WUHOU_A]
    assert said(replies, WUHOU_A) == ["staff/resident_event"]
    assert said_with(replies, WUHOU_A)["kind"] != "message"


async def test_admin_can_act_in_every_area_and_sees_full_phones_privately(sapp):
    case, _ = await new_case(sapp)
    replies = await press(sapp, ADMIN, f"st:claim:{case.id}")
    card = text_to(replies, None)
    assert said(replies) == ["staff/card"] and said_with(replies)["notice"] == "claimed"
    assert PHONE in card  # privately; in a group the card is masked
    replies = await press(sapp, ADMIN, f"st:view:{case.id}", group=CHAT_WUHOU)
    assert PHONE not in "".join(r.text for r in replies)


async def test_through_the_help_flow_the_hook_posts_the_request(sapp):
    """The real 我要求助 flow calls the staff hook after its commit."""
    chat = Chat(sapp, user_id=RESIDENT)
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:winter")
    await chat.tap("成都市")
    await chat.tap("武侯区")
    await chat.send("家里没钱交暖气费，老人身体也不好")
    await chat.send("138 0013 8000")
    confirm = [p for r in chat.last for p in r.payloads() if p.startswith("hc:ok:")]
    replies = await sapp.engine.handle(
        Event(user_id=RESIDENT, chat_id=RESIDENT, payload=confirm[0])
    )
    assert to(replies, CHAT_WUHOU) == []  # not in the turn: queued in the outbox
    posts = to(await delivered(sapp), CHAT_WUHOU)
    assert len(posts) == 1 and "138****8000" in posts[0].text
    assert "13800138000" not in posts[0].text


async def test_rating_mid_form_keeps_the_form(sapp):
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await write(sapp, WUHOU_A, case.id, "res", "已办好")
    chat = Chat(sapp, user_id=RESIDENT)
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    before = await sapp.store.load_state(RESIDENT)
    replies = await press(sapp, RESIDENT, f"rv:r:{case.id}:s")
    assert said(replies) == ["staff/rate_done"] and said_with(replies)["kind"] == "satisfied"
    assert not said_with(replies)["ask"]  # no comment asked in the middle of a form
    after = await sapp.store.load_state(RESIDENT)
    assert after["flow"] == before["flow"] and after["step"] == before["step"]
    assert (await sapp.store.workflow.get(case.id)).status == "closed"


async def test_forget_erases_the_rating_comment_too(sapp):
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await write(sapp, WUHOU_A, case.id, "res", "已办好")
    await press(sapp, RESIDENT, f"rv:r:{case.id}:b")
    await send(sapp, RESIDENT, "我家住在玉林北路8号")
    assert (await sapp.store.workflow.get(case.id)).rating_comment
    await send(sapp, RESIDENT, "/forget")
    await press(sapp, RESIDENT, "fg:yes")
    erased = await sapp.store.workflow.get(case.id)
    assert erased.rating_comment is None and erased.phone is None
    assert erased.rating == "basic"
