"""Home visits (走访) as a feature: the workers' flow (bot.visits.flow), /visits and
/visits report, /campaign for admins, the resident's 冬季自查 (bot.visits.selfcheck)
and what /forget erases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.dialog.flow import Turn
from bot.staff.cards import staff_actor
from bot.staff.common import regions_of
from bot.staff.roles import admin_in_private
from bot.visits.coldwave import flagged_list
from bot.visits.flow import VisitFlow, service_of
from bot.visits.report import compute
from bot.visits.selfcheck import WinterCheckFlow, on_case_created
from bot.visits.service import VisitService, VisitSettings

if TYPE_CHECKING:
    from bot.dialog.engine import Engine


async def cmd_visits(turn: Turn, arg: str) -> None:
    flow = turn.engine.flows["visits"]
    assert isinstance(flow, VisitFlow)
    words = arg.split()
    if words and words[0] in ("report", "报告", "进度"):
        await show_report(turn, " ".join(words[1:]))
        return
    if words and words[0] in ("flagged", "复访"):
        await show_flagged(turn)
        return
    await flow.show_list(turn, 0)


async def show_flagged(turn: Turn) -> None:
    """A worker's households with a risk flag (80+ living alone, not met, no heating,
    a hazard), for a re-visit; privately, audited."""
    actor = await staff_actor(turn)
    if actor is None:
        return
    svc = service_of(turn)
    items, rows = await flagged_list(svc, turn.r, actor.user_id)
    await svc.audit(actor, "visits_flagged", detail=f"n={len(items)}")
    turn.say("visits/flagged", rows, items=items)


async def show_report(turn: Turn, campaign: str) -> None:
    """Coverage in the chat: a worker sees their area, an admin every area; a staff
    group sees its area's counts (no names: the report carries none)."""
    svc = service_of(turn)
    if turn.event.is_group:
        settings = svc.staff.settings
        area = next(
            (a for a, chat in settings.area_chats.items() if chat == turn.event.chat_id), None
        )
        if area is None:
            turn.say("visits/report_nowhere")
            return
    else:
        actor = await staff_actor(turn)
        if actor is None:
            return
        area = "" if actor.is_admin else "/".join(actor.area.parts()[:2])
    figures = await compute(svc.store, svc.now(), campaign or None, area)
    if figures is None:
        turn.say("visits/report_nowhere", campaign=campaign[:30])
        return
    turn.say("visits/report", f=figures)


async def cmd_campaign(turn: Turn, arg: str) -> None:
    """/campaign 名称 开始日期 截止日期 地区 [地区 ...] (admins, privately)."""
    actor = await admin_in_private(turn, "campaign")
    if actor is None:
        return
    words = arg.split()
    if len(words) < 4:
        turn.say("visits/campaign_usage", why="")
        return
    svc = service_of(turn)
    out = await svc.open_campaign(
        words[0], words[1], words[2], words[3:], regions_of(turn), actor.user_id
    )
    if out.campaign is None:
        turn.say("visits/campaign_usage", why=out.why, bad=out.bad[:3])
        return
    await svc.audit(actor, "campaign_open", detail=f"campaign={out.campaign.id}")
    turn.say(
        "visits/campaign_opened",
        title=out.campaign.name,
        start=out.campaign.start_date,
        deadline=out.campaign.deadline,
        areas=["/".join(p for p in a if p) for a in out.campaign.areas],
        assigned=out.assigned,
        unassigned=out.unassigned,
    )


def install(engine: Engine) -> None:
    staff = engine.services.staff
    assert staff is not None, "the staff feature is installed before visits"
    svc = VisitService(
        engine.store,
        engine.renderer,
        staff,
        VisitSettings.from_config(engine.config),
        clock=engine.services.now,
    )
    engine.services.visits = svc
    engine.add_flow(VisitFlow(engine))
    # The resident's 冬季自查 (a menu item); a home visit asked for there becomes a
    # visit task once its help request is stored.
    engine.add_flow(WinterCheckFlow(engine), menu_item="winter")
    engine.hooks.case_created.append(on_case_created)
    engine.add_command("visits", cmd_visits)
    engine.add_command("campaign", cmd_campaign)

    async def on_command(turn: Turn, name: str) -> None:
        """Any command ends a step waiting for a typed text (the plan item, the
        request's reference), so the next text never lands in it; the answers of a
        visit are stored already (继续走访 resumes)."""
        if turn.state.flow != "visits":
            return
        waiting = turn.state.step in ("plan_add", "link")
        turn.state.leave()
        if waiting:
            turn.say("visits/cancelled", waiting=True)

    engine.hooks.command.append(on_command)

    async def forget(store: Any, user_id: int) -> None:
        await store.visits.forget_user(user_id)

    engine.hooks.forget.append(forget)
