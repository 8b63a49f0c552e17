"""Visits outside any turn: reminders and 督办 of actions through the outbox, a
coverage line for each area's group daily, and the retention purge of households
nobody has touched for the retention period.

An action is followed like a request (``[escalation]``, bot/staff/escalation.py),
inside the working hours of working days only: due today or tomorrow → its owner,
privately, once; overdue (its due day ended) → each step of the ladder whose working
hours have passed — the owner, the area's staff group (the household's name masked
there), the admins and the area's leads — once on every working day while it stays
open.

Each message is queued in the outbox with a dedup key (the action, the step, its due
date and the day), so a job that runs again queues nothing twice, and a crash loses
nothing queued.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.calendar import (
    in_working_hours,
    local_date,
    start_of_day,
    working_days_between,
    working_seconds,
)
from bot.dialog.events import Button, Reply
from bot.dialog.services import Clock, Notifier, ScheduledJob
from bot.staff.jobs import supervisors_of_area
from bot.store.outbox import Outgoing
from bot.visits.report import compute
from bot.visits.service import mask_name

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.store.visit_rows import Action, HouseholdRow
    from bot.visits.service import VisitService

DIGEST_TIME = dt.time(8, 35)  # China time, after the staff digest


async def run_reminders(svc: VisitService, clock: Clock) -> int:
    """Queue the reminders and escalations due now; returns how many were queued."""
    now = float(clock())
    settings = svc.staff.settings
    cal = settings.deadlines.calendar
    esc = settings.escalation
    if not in_working_hours(cal, esc.hours, now):
        return 0  # nobody is reminded at night, on a weekend or on a holiday
    today = local_date(now)
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    supervisors: dict[tuple[str, str, str], list[int]] = {}
    items: list[Outgoing] = []
    for action in await svc.repo.open_actions():
        if action.due_date > tomorrow:
            break  # ordered by due date
        h = await svc.repo.household(action.household_id)
        if h is None:
            continue
        due_day = dt.date.fromisoformat(action.due_date)
        ends = start_of_day(due_day + dt.timedelta(days=1))  # the due day's 24:00
        if now < ends:
            if action.owner_id is not None:
                text = await _render(svc, action, h, "due_soon", to="assignee")
                items.append(
                    Outgoing(
                        Reply(text, await _buttons(svc, action, h), chat_id=action.owner_id),
                        "reminder",
                        dedup=f"visit_action:{action.id}:due_soon:{action.due_date}",
                    )
                )
            continue
        late_hours = working_seconds(cal, esc.hours, ends, now) / 3600
        late_days = max(working_days_between(cal, due_day, today), 1)
        for step in esc.reached(late_hours):
            if step.to == "assignee":
                targets = [action.owner_id] if action.owner_id is not None else []
            elif step.to == "group":
                chat = settings.chat_for(h.city, h.district)
                targets = [chat] if chat is not None else []
            else:
                key = (h.city, h.district, h.township)
                if key not in supervisors:
                    supervisors[key] = await supervisors_of_area(svc.staff, *key)
                targets = supervisors[key]
            if not targets:
                continue
            text = await _render(svc, action, h, "overdue", to=step.to, late_days=late_days)
            buttons = [] if step.to == "group" else await _buttons(svc, action, h)
            items += [
                Outgoing(
                    Reply(text, buttons, chat_id=target),
                    "escalation" if step.to != "assignee" else "reminder",
                    dedup=f"visit_action:{action.id}:{step.to}:{action.due_date}:{today}:{target}",
                )
                for target in targets
            ]
    return await svc.store.outbox.enqueue(items, now=now)


async def _render(
    svc: VisitService, action: Action, h: HouseholdRow, kind: str, to: str, late_days: int = 0
) -> str:
    """The reminder for one recipient: the household's name in full privately (its
    owner, the admins and leads may see it), masked in the area group."""
    in_group = to == "group"
    return svc.r.render(
        "visits/overdue_post" if in_group else "visits/reminder",
        kind=kind,
        to=to,
        a=svc.action_view(action),
        head=mask_name(h.head_name) if in_group else h.head_name,
        area=f"{h.city}{h.district}",
        village=f"{h.township}{h.village}",
        owner=await svc.owner_label(action.owner_id) if to != "assignee" else "",
        late_days=late_days,
    )


async def _buttons(svc: VisitService, action: Action, h: HouseholdRow) -> list[list[Button]]:
    a = svc.action_view(action)
    rows = [[Button(svc.r.label("visits.btn.action_done", title=a["title"]), f"vs:ad:{action.id}")]]
    tasks = await svc.repo.tasks_of_household(h.id)
    if tasks:
        rows.append([Button(svc.r.label("visits.btn.open"), f"vs:h:{tasks[0].id}")])
    return rows


async def run_digest(svc: VisitService, clock: Clock) -> int:
    """A coverage line for each area's staff group (counts only)."""
    now = float(clock())
    items = []
    day = local_date(now).isoformat()
    for area, chat in svc.staff.settings.area_chats.items():
        figures = await compute(svc.store, now, None, area)
        if figures is None or not figures["households"]:
            continue
        text = svc.r.render("visits/digest_line", f=figures, area=area)
        items.append(
            Outgoing(Reply(text, chat_id=chat), "digest", dedup=f"visit_digest:{chat}:{day}")
        )
    return await svc.store.outbox.enqueue(items, now=now)


async def run_maintenance(svc: VisitService, clock: Clock) -> int:
    """Erase households (and what was recorded about them) untouched for the
    retention period: no import, visit or action since."""
    now = float(clock())
    days = svc.staff.settings.retention_days
    erased = await svc.repo.purge_before(now - days * 86400)
    if erased:
        await svc.store.staff.audit(None, "system", "visits_purge", detail=f"n={erased}", now=now)
        await svc.store.scrub()
    return erased


def scheduled(engine: Engine) -> list[ScheduledJob]:
    svc = engine.services.visits
    if svc is None:
        return []
    clock = svc.now
    minutes = svc.staff.settings.reminder_minutes

    async def reminders(notifier: Notifier) -> int:
        queued = await run_reminders(svc, clock)
        if queued and engine.services.outbox is not None:
            engine.services.outbox.wake()
        return queued

    async def digest(notifier: Notifier) -> int:
        return await run_digest(svc, clock)

    async def maintenance(notifier: Notifier) -> int:
        return await run_maintenance(svc, clock)

    from bot.staff.jobs import MAINTENANCE_TIME

    return [
        ScheduledJob("visits-reminders", reminders, every_seconds=minutes * 60),
        ScheduledJob(
            "visits-digest",
            digest,
            daily_at=DIGEST_TIME.replace(tzinfo=svc.staff.settings.digest_time.tzinfo),
        ),
        ScheduledJob("visits-maintenance", maintenance, daily_at=MAINTENANCE_TIME),
    ]
