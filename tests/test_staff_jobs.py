"""Reminders, the digest, auto-close and the retention purge, with a fake clock and the
outbox; and their scheduling on python-telegram-bot's JobQueue."""

from __future__ import annotations

import pytest

from bot.dialog.events import Reply
from bot.staff.jobs import run_digest, run_maintenance, run_reminders
from bot.telegram.jobs import schedule_jobs
from tests.staff_support import (
    ADMIN,
    CHAT_CHENGDU,
    CHAT_WUHOU,
    MASKED,
    PHONE,
    RESIDENT,
    WUHOU_A,
    add_worker,
    delivered,
    new_case,
    open_staff_app,
    press,
    send,
    service,
    ts,
    write,
)

pytestmark = pytest.mark.both_backends


class FakeNotifier:
    """For the JobQueue test: jobs queue in the outbox and never send themselves."""

    async def send(self, chat_id: int, reply: Reply) -> None:
        raise AssertionError("jobs go through the outbox")


async def job(fn, app) -> list[Reply]:
    """Run a job at the app's clock; what it queued in the outbox, as delivered."""
    await fn(service(app), None, app.engine.services.clock)
    return await delivered(app)


def chats(out: list[Reply]) -> list[int | None]:
    return [r.chat_id for r in out]


@pytest.fixture
async def sapp(tmp_path, db_path):
    app, clock = await open_staff_app(tmp_path, db=db_path)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    try:
        yield app
    finally:
        await app.close()


async def test_due_soon_to_the_assignee_then_the_ladder_in_working_hours(sapp):
    clock = sapp.engine.services.clock
    case, _ = await new_case(sapp)  # Monday 10:00, 3 working days: due Friday 00:00
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")

    clock.set(ts(2025, 1, 7, 10))  # Tuesday: nothing yet
    assert await job(run_reminders, sapp) == []
    clock.set(ts(2025, 1, 9, 9))  # Thursday 09:00: 9 working hours left, not yet
    assert await job(run_reminders, sapp) == []
    clock.set(ts(2025, 1, 9, 14))  # 4 working hours left: the assignee, privately
    out = await job(run_reminders, sapp)
    assert chats(out) == [WUHOU_A] and out[0].template == "staff/due_soon"
    assert case.ref in out[0].text and PHONE not in out[0].text
    assert await job(run_reminders, sapp) == []  # not twice

    clock.set(ts(2025, 1, 10, 8))  # Friday 08:00: overdue, but nobody is at work yet
    assert await job(run_reminders, sapp) == []
    clock.set(ts(2025, 1, 10, 8, 30))  # first step: the assignee
    out = await job(run_reminders, sapp)
    assert chats(out) == [WUHOU_A] and out[0].template == "staff/escalate"
    clock.set(ts(2025, 1, 10, 12, 30))  # 4 working hours late: the area group
    out = await job(run_reminders, sapp)
    assert chats(out) == [CHAT_WUHOU] and "张三" in out[0].text and case.ref in out[0].text
    assert PHONE not in out[0].text
    clock.set(ts(2025, 1, 10, 16, 30))  # 8 working hours late: the admins
    out = await job(run_reminders, sapp)
    assert chats(out) == [ADMIN]
    clock.set(ts(2025, 1, 10, 17))
    assert await job(run_reminders, sapp) == []  # each step once a day
    clock.set(ts(2025, 1, 11, 10))  # Saturday: nothing
    assert await job(run_reminders, sapp) == []
    clock.set(ts(2025, 1, 13, 8, 30))  # Monday: every step reached goes again
    out = await job(run_reminders, sapp)
    assert sorted(chats(out)) == sorted([WUHOU_A, CHAT_WUHOU, ADMIN])
    assert {r.text.context["late_days"] for r in out} == {2}
    # /overdue lists it.
    assert case.ref in "\n".join(r.text for r in await send(sapp, WUHOU_A, "/overdue"))


async def test_holiday_moves_the_reminders(tmp_path, db_path):
    # Friday 3 Jan 2025 with Monday 6 Jan declared a holiday: due end of Thursday 9 Jan.
    app, clock = await open_staff_app(
        tmp_path, db=db_path, start=ts(2025, 1, 3, 10), deadlines={"holidays": ["2025-01-06"]}
    )
    try:
        await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
        case, _ = await new_case(app)
        assert case.due_at == ts(2025, 1, 10, 0, 0)
        await press(app, WUHOU_A, f"st:claim:{case.id}")
        clock.set(ts(2025, 1, 8, 10))  # Wednesday: more than 4 working hours left
        assert await job(run_reminders, app) == []
        clock.set(ts(2025, 1, 9, 15))
        assert chats(await job(run_reminders, app)) == [WUHOU_A]
    finally:
        await app.close()


async def test_unclaimed_request_is_chased_in_the_area_chat(sapp):
    clock = sapp.engine.services.clock
    case, _ = await new_case(sapp)  # claim target: 1 working day -> Wednesday 00:00
    clock.set(ts(2025, 1, 7, 17))
    assert await job(run_reminders, sapp) == []
    clock.set(ts(2025, 1, 8, 1))  # past the target, but at night: nothing
    assert await job(run_reminders, sapp) == []
    clock.set(ts(2025, 1, 8, 9))
    out = await job(run_reminders, sapp)
    assert chats(out) == [CHAT_WUHOU]
    reply = out[0]
    assert reply.template == "staff/overdue" and reply.text.context["kind"] == "claim"
    assert f"st:claim:{case.id}" in reply.payloads()
    clock.set(ts(2025, 1, 8, 15))
    assert await job(run_reminders, sapp) == []  # once a day
    clock.set(ts(2025, 1, 9, 9))
    assert chats(await job(run_reminders, sapp)) == [CHAT_WUHOU]


async def test_a_request_never_posted_is_posted_by_the_sweep(sapp):
    clock = sapp.engine.services.clock
    from bot.domain.cases import NewCase

    case, _ = await sapp.store.cases.create(
        NewCase(
            draft_id="sweep-test-1",
            user_id=RESIDENT,
            chat_id=RESIDENT,
            category="housing",
            region_city="成都市",
            region_district="武侯区",
            description="房子漏雨",
            phone=PHONE,
            contact_time="am",
            target_days=3,
        ),
        now=clock(),
    )
    assert await job(run_reminders, sapp) == []  # give the hook its chance first
    clock.advance(hours=1)
    posts = await job(run_reminders, sapp)  # queued in the outbox with the posting record
    assert [r.chat_id for r in posts] == [CHAT_WUHOU]
    assert MASKED in posts[0].text and "房子漏雨" not in posts[0].text
    assert await job(run_reminders, sapp) == []  # posted once


async def test_daily_digest_per_chat(sapp):
    clock = sapp.engine.services.clock
    a, _ = await new_case(sapp)
    b, _ = await new_case(sapp, urgent=True)
    c, _ = await new_case(sapp, district="锦江区")
    await press(sapp, WUHOU_A, f"st:claim:{a.id}")
    clock.set(ts(2025, 1, 8, 8, 30))  # b (urgent) is overdue
    out = await job(run_digest, sapp)
    assert sorted(chats(out)) == sorted([CHAT_WUHOU, CHAT_CHENGDU])
    (digest,) = [r for r in out if r.chat_id == CHAT_WUHOU]
    text = digest.text
    assert digest.template == "staff/digest"
    counts = {k: digest.text.context[k] for k in ("waiting", "working", "overdue")}
    assert counts == {"waiting": 1, "working": 1, "overdue": 1}
    assert "1月8日（周三）" in text  # the day, in the one date format
    assert b.ref in text and c.ref not in text and PHONE not in text and MASKED not in text
    assert await job(run_digest, sapp) == []  # once a day
    clock.set(ts(2025, 1, 11, 8, 30))  # Saturday: no digest
    assert await job(run_digest, sapp) == []


async def test_retention_purge_erases_personal_data_and_keeps_statistics(sapp):
    clock = sapp.engine.services.clock
    svc = service(sapp)
    old, _ = await new_case(sapp)
    recent, _ = await new_case(sapp)
    for case in (old, recent):
        await press(sapp, WUHOU_A, f"st:claim:{case.id}")
        await press(sapp, WUHOU_A, f"st:note:{case.id}")
        await send(sapp, WUHOU_A, "上门看过，情况属实")
        await write(sapp, WUHOU_A, case.id, "res", "已发放临时救助")
    await press(sapp, RESIDENT, f"rv:r:{old.id}:s")
    await send(sapp, RESIDENT, "谢谢社区")
    # `recent` is never rated: closed automatically after followup_days.
    clock.advance(days=170)
    await press(sapp, RESIDENT, f"rv:r:{recent.id}:b")  # rated (and closed) on day 170
    clock.advance(days=11)  # old: closed 181 days ago; recent: 11 days ago
    note = FakeNotifier()
    report = await run_maintenance(svc, note, clock)
    assert report.changed == 1
    erased = await sapp.store.workflow.get(old.id)
    assert erased.erased_at is not None
    assert erased.phone is None and erased.description is None
    assert erased.region_township is None and erased.region_village is None
    assert erased.rating_comment is None and erased.contact_time is None
    # Statistics stay.
    assert (erased.status, erased.category, erased.area, erased.rating) == (
        "closed",
        "living",
        "成都市/武侯区",
        "satisfied",
    )
    assert erased.first_claimed_at and erased.resolved_at and erased.due_at
    msgs = await sapp.store.cases.messages(old.id, include_private=True)
    assert msgs and all(m.body is None for m in msgs)
    assert all(h.note is None for h in await sapp.store.cases.history(old.id))
    kept = await sapp.store.workflow.get(recent.id)
    assert kept.erased_at is None and kept.phone == PHONE
    audit = await sapp.store.staff.audit_entries(action="retention_purge")
    assert [(e.actor_role, e.detail) for e in audit] == [("system", "n=1")]
    # The card says so, and runs again erase nothing more.
    text = "\n".join(r.text for r in await press(sapp, WUHOU_A, f"st:view:{old.id}"))
    (card,) = await press(sapp, WUHOU_A, f"st:view:{old.id}")
    assert card.template == "staff/card" and card.text.context["c"]["erased"]
    assert PHONE not in text
    assert (await run_maintenance(svc, note, clock)).changed == 0


async def test_resolved_and_not_rated_is_closed_after_followup_days(sapp):
    clock = sapp.engine.services.clock
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await write(sapp, WUHOU_A, case.id, "res", "已办好")
    clock.advance(days=6)
    await run_maintenance(service(sapp), FakeNotifier(), clock)
    assert (await sapp.store.workflow.get(case.id)).status == "resolved"
    clock.advance(days=2)
    await run_maintenance(service(sapp), FakeNotifier(), clock)
    closed = await sapp.store.workflow.get(case.id)
    assert closed.status == "closed" and closed.rating is None
    history = await sapp.store.cases.history(case.id)
    assert (history[-1].actor_kind, history[-1].to_status) == ("system", "closed")


@pytest.mark.sqlite_only
async def test_schedule_jobs_on_the_job_queue(sapp):
    from telegram.ext import Application

    application = Application.builder().token("123:TEST").build()
    jobs = schedule_jobs(application, sapp, notifier=FakeNotifier())
    staff = ["staff-reminders", "staff-digest", "staff-maintenance", "staff-uncovered"]
    visits = ["visits-reminders", "visits-digest", "visits-maintenance"]
    assert [j.name for j in jobs] == staff + visits
    names = {j.name for j in application.job_queue.jobs()}
    assert names >= {*staff, *visits}


async def test_forget_withdraws_and_the_assignee_hears_of_it_once(sapp):
    clock = sapp.engine.services.clock
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await send(sapp, RESIDENT, "/forget")
    await press(sapp, RESIDENT, "fg:yes")
    assert (await sapp.store.workflow.get(case.id)).status == "withdrawn"
    clock.advance(hours=1)
    out = await job(run_reminders, sapp)
    (event,) = [r for r in out if r.chat_id == WUHOU_A]
    assert event.template == "staff/resident_event" and event.text.context["kind"] != "message"
    assert await job(run_reminders, sapp) == []
