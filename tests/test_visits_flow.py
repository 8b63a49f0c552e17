"""The visit record through the engine: /visits, the card, each answer saved at once,
resume later, submit, needs becoming actions with working-day deadlines, same-day
corrections by the author only, forged buttons and other areas changing nothing,
the report's figures, the reminders through the outbox, retention."""

from __future__ import annotations

import json

import pytest

from bot.visits.jobs import run_maintenance, run_reminders
from bot.visits.report import compute
from tests.staff_support import (
    ADMIN,
    CHAT_WUHOU,
    JINJIANG,
    RESIDENT,
    WUHOU_A,
    delivered,
    payloads,
    press,
    send,
    ts,
)
from tests.visits_support import visits_app

pytestmark = pytest.mark.both_backends


@pytest.fixture
async def vapp(tmp_path, db_path):
    app, clock = await visits_app(tmp_path, db=db_path)
    try:
        yield app, clock
    finally:
        await app.close()


def ctx(reply) -> dict:
    return dict(getattr(reply.text, "context", {}))


def task_payloads(replies, prefix="vs:h:") -> list[str]:
    return [p for p in payloads(replies) if p.startswith(prefix)]


async def open_first(app, user=WUHOU_A):
    replies = await send(app, user, "/visits")
    assert replies[0].template == "visits/list"
    return replies, task_payloads(replies)


async def answer_all(app, user, visit_payload_prefix, *, short_clothes=True, hazard="elec"):
    """Answer every step of the open visit with the given findings; the last replies."""
    r = await press(app, user, f"{visit_payload_prefix}:m:self")
    assert ctx(r[-1])["step"] == "clothes"
    r = await press(app, user, f"{visit_payload_prefix}:c:{'short' if short_clothes else 'enough'}")
    r = await press(app, user, f"{visit_payload_prefix}:h:enough")
    r = await press(app, user, f"{visit_payload_prefix}:k:electric")
    r = await press(app, user, f"{visit_payload_prefix}:f:enough")
    assert ctx(r[-1])["step"] == "hazard"
    if hazard == "none":
        r = await press(app, user, f"{visit_payload_prefix}:z:none")
    else:
        r = await press(app, user, f"{visit_payload_prefix}:z:{hazard}")
        vid = visit_payload_prefix.split(":")[2]
        r = await press(app, user, f"vs:ok:{vid}:z")
    assert ctx(r[-1])["step"] == "health"
    r = await press(app, user, f"{visit_payload_prefix}:b:ok")
    assert ctx(r[-1])["step"] == "other"
    r = await send(app, user, "屋顶漏雨")
    assert ctx(r[-1])["step"] == "policies"
    r = await press(app, user, f"{visit_payload_prefix}:p:winter-visits")
    vid = visit_payload_prefix.split(":")[2]
    r = await press(app, user, f"vs:ok:{vid}:p")
    assert ctx(r[-1])["step"] == "extras"
    return await press(app, user, f"vs:s:{vid}")


async def start_visit(app, user, task_payload):
    task_id = task_payload.split(":")[2]
    card = await press(app, user, task_payload)
    assert card[0].template == "visits/card"
    assert f"vs:go:{task_id}" in payloads(card)
    r = await press(app, user, f"vs:go:{task_id}")
    assert ctx(r[-1])["step"] == "met"
    visit_prefix = next(p for p in payloads(r) if p.startswith("vs:a:")).rsplit(":", 2)[0]
    return visit_prefix


async def test_list_shows_my_households_by_village(vapp):
    app, _ = vapp
    replies, tasks = await open_first(app)
    c = ctx(replies[0])
    assert c["total"] == 2  # the two 武侯区 households, not 锦江区's
    villages = [g["village"] for g in c["groups"]]
    assert villages == ["玉林街道玉林社区", "玉林街道黉门街社区"][: len(villages)] or sorted(
        villages
    )
    names = {i["name"] for g in c["groups"] for i in g["people"]}
    assert names == {"张大爷", "李孃孃"}
    other, other_tasks = await open_first(app, JINJIANG)
    assert {i["name"] for g in ctx(other[0])["groups"] for i in g["people"]} == {"王小明"}


async def test_overdue_actions_climb_the_ladder_in_working_hours_only(vapp):
    """督办 of actions as of requests ([escalation] defaults: the owner at once, the
    area group after 4 working hours, the admins after 8), only inside 08:30-18:00 of
    working days, repeated on each working day while open."""
    app, clock = vapp
    _, tasks = await open_first(app)
    prefix = await start_visit(app, WUHOU_A, tasks[0])
    await answer_all(app, WUHOU_A, prefix)
    await press(app, WUHOU_A, f"vs:sub:{prefix.split(':')[2]}")
    await delivered(app)
    svc = app.engine.services.visits

    sent: list = []

    async def who(hour_ts: float) -> list[tuple[int, str]]:
        clock.set(hour_ts)
        await run_reminders(svc, clock)
        sent[:] = await delivered(app)
        return sorted((r.chat_id, r.template) for r in sent)

    # The hazard is due Tuesday 7 Jan 2025 (ends at 24:00), the clothes Thursday 9 Jan.
    assert await who(ts(2025, 1, 8, 7)) == []  # before working hours: nothing
    morning = await who(ts(2025, 1, 8, 9))
    assert morning == [(WUHOU_A, "visits/reminder")] * 2  # hazard overdue, clothes due
    assert await who(ts(2025, 1, 8, 9, 30)) == []  # not twice the same day
    noon = await who(ts(2025, 1, 8, 13))
    assert noon == [(CHAT_WUHOU, "visits/overdue_post")]  # 4.5 working hours late
    evening = await who(ts(2025, 1, 8, 17))
    assert evening == [(ADMIN, "visits/reminder")]  # 8.5 working hours late
    assert await who(ts(2025, 1, 11, 10)) == []  # Saturday
    monday = await who(ts(2025, 1, 13, 9))
    # Both overdue now; the clothes 1 working day (Friday) = 9.5 hours: every step.
    assert monday == sorted(
        [(WUHOU_A, "visits/reminder")] * 2
        + [(CHAT_WUHOU, "visits/overdue_post")] * 2
        + [(ADMIN, "visits/reminder")] * 2
    )
    admin = [r.text for r in sent if r.chat_id == ADMIN]
    assert all("请督办" in t and "张大爷" in t and "负责：" in t for t in admin), admin
    group = [r.text for r in sent if r.chat_id == CHAT_WUHOU]
    assert all("张大爷" not in t and "张**" in t for t in group), group
    assert any("超期 4 个工作日" in t for t in group), group  # the hazard: Wed-Fri, Mon


async def test_a_whole_visit_turns_needs_into_actions(vapp, tmp_path):
    app, clock = vapp
    _, tasks = await open_first(app)
    prefix = await start_visit(app, WUHOU_A, tasks[0])
    summary = await answer_all(app, WUHOU_A, prefix)
    assert summary[-1].template == "visits/summary"
    vid = prefix.split(":")[2]
    assert f"vs:sub:{vid}" in payloads(summary)
    done = await press(app, WUHOU_A, f"vs:sub:{vid}")
    assert done[0].template == "visits/submitted"
    kinds = {a["kind"] for a in ctx(done[0])["actions"]}
    assert kinds == {"clothes", "hazard_elec"}
    visit = await app.store.visits.visit(int(vid))
    assert visit.finished_at is not None and visit.answers["other"] == "屋顶漏雨"
    assert visit.answers["policies"] == ["winter-visits"]
    actions = await app.store.visits.actions_of_visit(int(vid))
    # 2025-01-06 is a Monday: the hazard is due in 1 working day, the rest in 3.
    due = {a.kind: a.due_date for a in actions}
    assert due["hazard_elec"] == "2025-01-07" and due["clothes"] == "2025-01-09"
    assert all(a.owner_id == WUHOU_A for a in actions)
    task = await app.store.visits.task(int(tasks[0].split(":")[2]))
    assert task.status == "done"
    # The report counts it.
    figures = await compute(app.store, clock())
    assert figures["households"] == 3 and figures["visited"] == 1
    assert figures["open_actions"] == 2 and figures["needs_found"] == 2
    wuhou = next(a for a in figures["by_area"] if a["area"] == "成都市/武侯区")
    assert (wuhou["households"], wuhou["visited"]) == (2, 1)

    # Reminders: the hazard is due tomorrow → its owner, privately, through the outbox.
    assert await run_reminders(app.engine.services.visits, clock) == 1
    out = await delivered(app)
    assert [r.chat_id for r in out] == [WUHOU_A] and out[0].template == "visits/reminder"
    assert await run_reminders(app.engine.services.visits, clock) == 0  # not twice
    # Two days later both are overdue: the owner and the area's group (name masked).
    clock.set(ts(2025, 1, 10, 9))
    await run_reminders(app.engine.services.visits, clock)
    out = await delivered(app)
    group = [r for r in out if r.chat_id == CHAT_WUHOU]
    assert group and all("张大爷" not in r.text and "张**" in r.text for r in group)
    # Done from the reminder's button.
    action_id = next(a.id for a in actions if a.kind == "hazard_elec")
    r = await press(app, WUHOU_A, f"vs:ad:{action_id}")
    assert r[0].template == "visits/action_done" and ctx(r[0])["ok"]
    figures = await compute(app.store, clock())
    assert figures["needs_resolved"] == 1 and figures["open_actions"] == 1
    # The 台账: the visit's result, needs and actions on the household's row.
    from openpyxl import load_workbook

    from bot.visits.cli import export_ledger

    path = tmp_path / "台账.xlsx"
    assert await export_ledger(app.config, "成都市/武侯区", path) == 2
    rows = {r[0]: r for r in load_workbook(path).active.iter_rows(values_only=True)}
    assert rows["张大爷"][11] == "已走访" and "送棉衣棉被" in rows["张大爷"][14]
    assert "排除用电隐患（已办好" in rows["张大爷"][15]


async def test_each_answer_is_saved_and_the_visit_resumes(vapp):
    app, _ = vapp
    _, tasks = await open_first(app)
    prefix = await start_visit(app, WUHOU_A, tasks[0])
    await press(app, WUHOU_A, f"{prefix}:m:family")
    await press(app, WUHOU_A, f"{prefix}:c:enough")
    # Poor signal: the worker leaves (another command), and comes back later.
    await send(app, WUHOU_A, "/visits")
    vid = int(prefix.split(":")[2])
    assert (await app.store.visits.visit(vid)).answers == {"met": "family", "clothes": "enough"}
    task_id = tasks[0].split(":")[2]
    r = await press(app, WUHOU_A, f"vs:go:{task_id}")
    assert ctx(r[-1])["step"] == "heating" and ctx(r[-1])["resumed"]
    # An old button of an earlier step is stale now: nothing changes.
    r = await press(app, WUHOU_A, f"{prefix}:m:nobody")
    assert r[0].template == "core/expired"
    assert (await app.store.visits.visit(vid)).answers["met"] == "family"
    # Typed text where a button is expected: asked again, nothing stored.
    r = await send(app, WUHOU_A, "够的")
    assert ctx(r[-1])["retry"] == "buttons" and ctx(r[-1])["step"] == "heating"


async def test_nobody_home_skips_to_the_end_and_is_flagged(vapp):
    app, clock = vapp
    _, tasks = await open_first(app)
    prefix = await start_visit(app, WUHOU_A, tasks[1])
    r = await press(app, WUHOU_A, f"{prefix}:m:nobody")
    assert ctx(r[-1])["step"] == "extras" and r[-1].request_location
    vid = prefix.split(":")[2]
    await press(app, WUHOU_A, f"vs:s:{vid}")
    r = await press(app, WUHOU_A, f"vs:sub:{vid}")
    assert r[0].template == "visits/submitted" and ctx(r[0])["actions"] == []
    figures = await compute(app.store, clock())
    assert figures["not_met"] == 1 and figures["visited"] == 1 and figures["flagged"] == 1
    r = await send(app, WUHOU_A, "/visits 复访")
    assert r[0].template == "visits/flagged"
    assert r[0].text.context["items"][0]["flags"] == ["没见到人"]


async def test_forged_buttons_and_other_areas_change_nothing(vapp):
    app, _ = vapp
    _, tasks = await open_first(app)
    task_id = tasks[0].split(":")[2]
    # 锦江区's worker opens a 武侯区 household: refused, audited, nothing shown.
    r = await press(app, JINJIANG, f"vs:h:{task_id}")
    assert r[0].template == "staff/forbidden" and "张大爷" not in r[0].text
    r = await press(app, JINJIANG, f"vs:go:{task_id}")
    assert r[0].template == "staff/forbidden"
    assert await app.store.visits.visit_of_task(int(task_id)) is None
    # A resident pressing a staff button.
    r = await press(app, RESIDENT, f"vs:h:{task_id}")
    assert r[0].template == "staff/forbidden"
    # The assignee starts; someone else's answer to that visit is refused.
    prefix = await start_visit(app, WUHOU_A, tasks[0])
    r = await press(app, JINJIANG, f"{prefix}:m:self")
    assert r[0].template == "core/expired"
    for forged in (f"{prefix}:m:maybe", f"{prefix}:q:self", "vs:a:abc:m:self", "vs:h:0", "vs:zz:1"):
        r = await press(app, WUHOU_A, forged)
        assert r[0].template == "core/expired", forged
    vid = int(prefix.split(":")[2])
    assert (await app.store.visits.visit(vid)).answers == {}
    refused = await app.store.staff.audit_entries(actor_id=JINJIANG, allowed=False)
    assert len(refused) >= 2
    # The household's data never goes to a group.
    r = await press(app, WUHOU_A, f"vs:h:{task_id}", group=CHAT_WUHOU)
    assert r[0].template == "core/expired"


async def test_same_day_correction_by_the_author_updates_actions(vapp):
    app, clock = vapp
    _, tasks = await open_first(app)
    prefix = await start_visit(app, WUHOU_A, tasks[0])
    await answer_all(app, WUHOU_A, prefix)
    vid = prefix.split(":")[2]
    await press(app, WUHOU_A, f"vs:sub:{vid}")
    # The clothes were enough after all: the clothes action is cancelled.
    r = await press(app, WUHOU_A, f"vs:s:{vid}")
    assert f"vs:e:{vid}:c" in payloads(r)
    r = await press(app, WUHOU_A, f"vs:e:{vid}:c")
    assert ctx(r[-1])["step"] == "clothes"
    r = await press(app, WUHOU_A, f"{prefix}:c:enough")
    assert "visits/actions_changed" in [x.template for x in r]
    kinds = {
        a.kind for a in await app.store.visits.actions_of_visit(int(vid)) if a.status == "open"
    }
    assert kinds == {"hazard_elec"}
    # Another worker of the area, or the next day: no more corrections.
    clock.advance(days=1)
    r = await press(app, WUHOU_A, f"vs:s:{vid}")
    assert r[0].template in ("visits/not_author", "core/expired")
    r = await press(app, WUHOU_A, f"vs:e:{vid}:c")
    assert r[0].template in ("visits/not_author", "core/expired")
    assert (await app.store.visits.visit(int(vid))).answers["clothes"] == "enough"


async def test_plan_and_link_and_reassign(vapp):
    app, _ = vapp
    from tests.staff_support import new_case

    _, tasks = await open_first(app)
    task_id = tasks[0].split(":")[2]
    r = await press(app, WUHOU_A, f"vs:pa:{task_id}")
    assert r[0].template == "visits/ask_text"
    r = await send(app, WUHOU_A, "冬天缺被子；村里送两床棉被")
    assert r[0].template == "visits/plan"
    items = ctx(r[0])["items"]
    assert items[0]["need"] == "冬天缺被子" and items[0]["measure"] == "村里送两床棉被"
    case, _ = await new_case(app)
    # A command ends the step waiting for the reference: the next text is not taken.
    await press(app, WUHOU_A, f"vs:lk:{task_id}")
    r = await send(app, WUHOU_A, "/mine")
    assert "visits/cancelled" in [x.template for x in r]
    r = await send(app, WUHOU_A, case.ref)
    assert (
        await app.store.visits.linked_cases(
            (await app.store.visits.task(int(task_id))).household.id
        )
        == []
    )
    await press(app, WUHOU_A, f"vs:lk:{task_id}")
    r = await send(app, WUHOU_A, case.ref)
    assert r[0].template == "visits/card" and case.ref in r[0].text
    h = (await app.store.visits.task(int(task_id))).household
    assert await app.store.visits.linked_cases(h.id) == [case.id]
    # Reassign: admins only, to a worker covering the place.
    r = await press(app, WUHOU_A, f"vs:ra:{task_id}")
    assert r[0].template == "staff/admin_only"
    r = await press(app, ADMIN, f"vs:rt:{task_id}:{JINJIANG}")
    assert r[0].template == "core/expired"  # not a worker of this area
    from tests.staff_support import WUHOU_B, add_worker

    await add_worker(app, WUHOU_B, "成都市/武侯区", "李四")
    r = await press(app, ADMIN, f"vs:rt:{task_id}:{WUHOU_B}")
    assert r[0].template == "visits/reassigned"
    assert [x.chat_id for x in r if x.template == "visits/assigned_you"] == [WUHOU_B]
    assert (await app.store.visits.task(int(task_id))).assignee_id == WUHOU_B


async def test_report_in_the_chat_and_files(vapp):
    app, _ = vapp
    r = await send(app, WUHOU_A, "/visits report")
    assert r[0].template == "visits/report"
    f = ctx(r[0])["f"]
    assert f["households"] == 2 and f["area"] == "成都市/武侯区"  # a worker: their area
    r = await send(app, ADMIN, "/visits report")
    assert ctx(r[0])["f"]["households"] == 3
    r = await send(app, WUHOU_A, "/visits report", group=CHAT_WUHOU)
    assert r[0].template == "visits/report" and "张大爷" not in r[0].text
    from bot.visits.cli import render_html, report_figures

    out = await report_figures(app.config, None, "成都市/锦江区")
    out = json.loads(json.dumps(out, ensure_ascii=False))
    assert out["households"] == 1 and out["visited"] == 0 and out["open_actions"] == 0
    assert out["by_area"] == [
        {
            "area": "成都市/锦江区",
            "households": 1,
            "visited": 0,
            "rate": 0.0,
            "not_met": 0,
            "flagged": 0,
            "alone_80": 0,
            "needs_found": 0,
            "needs_resolved": 0,
            "open_actions": 0,
            "overdue_actions": 0,
        }
    ]
    html = render_html(app.config, await report_figures(app.config, "春节前走访", ""))
    assert "完成率" in html and "成都市/武侯区" in html
    assert await report_figures(app.config, "没有这个", "") is None


async def test_retention_erases_untouched_households(vapp):
    app, clock = vapp
    svc = app.engine.services.visits
    assert await run_maintenance(svc, clock) == 0
    clock.advance(days=181)
    assert await run_maintenance(svc, clock) == 3
    assert await app.store.visits.count_households() == 0
