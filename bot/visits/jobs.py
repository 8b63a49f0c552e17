"""Visits outside any turn: reminders of actions through the outbox (due today or
tomorrow → the owner, privately; overdue → the owner and the area's staff group,
the household's name masked there), a coverage line for each area's group daily,
and the retention purge of households nobody has touched for the retention period.

Each message is queued in the outbox with a dedup key (the action and its due date),
so a job that runs again queues nothing twice, and a crash loses nothing queued.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.calendar import local_date
from bot.dialog.events import Button, Reply
from bot.dialog.services import Clock, Notifier, ScheduledJob
from bot.store.outbox import Outgoing
from bot.visits.report import compute
from bot.visits.service import mask_name

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.visits.service import VisitService

DIGEST_TIME = dt.time(8, 35)  # China time, after the staff digest


async def run_reminders(svc: VisitService, clock: Clock) -> int:
    """Queue the reminders due now; returns how many were queued."""
    now = float(clock())
    today = local_date(now)
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    items: list[Outgoing] = []
    for action in await svc.repo.open_actions():
        if action.due_date > tomorrow:
            break  # ordered by due date
        h = await svc.repo.household(action.household_id)
        if h is None:
            continue
        overdue = action.due_date < today.isoformat()
        kind = "overdue" if overdue else "due_soon"
        a = svc.action_view(action)
        tasks = await svc.repo.tasks_of_household(h.id)
        buttons = [
            [Button(svc.r.label("visits.btn.action_done", title=a["title"]), f"vs:ad:{action.id}")]
        ]
        if tasks:
            buttons.append([Button(svc.r.label("visits.btn.open"), f"vs:h:{tasks[0].id}")])
        if action.owner_id is not None:
            text = svc.r.render(
                "visits/reminder",
                kind=kind,
                a=a,
                head=h.head_name,
                area=f"{h.city}{h.district}",
                village=f"{h.township}{h.village}",
            )
            items.append(
                Outgoing(
                    Reply(text, buttons, chat_id=action.owner_id),
                    "reminder",
                    dedup=f"visit_action:{action.id}:{kind}:{action.due_date}",
                )
            )
        chat = svc.staff.settings.chat_for(h.city, h.district) if overdue else None
        if chat is not None:
            owner = await svc.owner_label(action.owner_id)
            text = svc.r.render(
                "visits/overdue_post",
                a=a,
                head=mask_name(h.head_name),
                area=f"{h.city}{h.district}",
                village=f"{h.township}{h.village}",
                owner=owner,
            )
            items.append(
                Outgoing(
                    Reply(text, chat_id=chat),
                    "reminder",
                    dedup=f"visit_action:{action.id}:post:{action.due_date}",
                )
            )
    return await svc.store.outbox.enqueue(items, now=now)


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
