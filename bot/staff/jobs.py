"""What happens outside any user's turn: reminders, the daily digest, closing
resolved requests nobody rated, and the retention purge.

Each job is a plain async function taking the service, a ``Notifier`` and a clock, so
tests run them with a fake clock and a fake notifier. ``scheduled`` declares them for
bot.features; a channel puts them on its scheduler (bot/telegram/jobs.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.calendar import CHINA_TZ, fmt_when, in_working_hours, local_date, working_days_between
from bot.dialog.events import Button, Reply
from bot.dialog.services import Clock, Notifier, ScheduledJob
from bot.domain.cases import OPEN_STATUSES, UNCLAIMED, WORKING, Case
from bot.store.outbox import Outgoing

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.staff.service import StaffService

log = logging.getLogger(__name__)

SWEEP_GRACE_SECONDS = 120  # a request not posted this long after creation is posted
DIGEST_ITEMS = 10
WITHDRAWN_LOOKBACK_SECONDS = 7 * 86400
MAINTENANCE_TIME = dt.time(3, 30, tzinfo=CHINA_TZ)
IDLE_FORM_DAYS = 30  # a conversation without a turn this long is deleted
OUTBOX_KEEP_DAYS = 7  # delivered messages (their texts are personal) are kept this long


@dataclass
class JobReport:
    sent: int = 0  # messages queued in the outbox (the sender delivers them)
    failed: int = 0
    changed: int = 0


def _view(svc: StaffService, case_id: int) -> list[list[Button]]:
    return [[Button(svc.r.label("staff.btn.view"), f"st:view:{case_id}")]]


async def _once(
    svc: StaffService, case: Case, kind: str, key: str, items: list[Outgoing], report: JobReport
) -> None:
    """Queue ``items`` in the outbox with the record that this notice went out, in one
    transaction: once per (case, kind, key), and never recorded without being queued."""
    if not items:
        return
    if await svc.store.workflow.notice_once(case.id, kind, key, items, svc.now()):
        report.sent += len(items)
        svc.wake()


async def _queue_replies(
    svc: StaffService, replies: list[Reply], kind: str, dedup: str, report: JobReport
) -> None:
    items = [
        Outgoing(Reply(r.text, r.buttons), kind, recipient=r.chat_id, dedup=f"{dedup}:{r.chat_id}")
        for r in replies
        if r.chat_id is not None
    ]
    if items:
        report.sent += await svc.store.outbox.enqueue(items, now=svc.now())
        svc.wake()


async def supervisors_of(svc: StaffService, case: Case) -> list[int]:
    """Who hears of a request at the top of the ladder: the admins (configured and
    invited) and the leads of the request's area."""
    return await supervisors_of_area(
        svc, case.responsible_city, case.responsible_district, case.region_township
    )


async def supervisors_of_area(
    svc: StaffService, city: str, district: str | None, township: str | None
) -> list[int]:
    """The admins (configured and invited) and the leads covering this area."""
    found = set(svc.settings.admin_ids) | set(await svc.store.staff.admins())
    leads = await svc.store.supervision.leads()
    if leads:
        for worker in await svc.store.staff.workers_covering(city, district, township):
            if worker.user_id in leads:
                found.add(worker.user_id)
    return sorted(found)


async def _step_recipients(
    svc: StaffService, case: Case, to: str, cache: dict[tuple, list[int]]
) -> list[int]:
    if to == "assignee":
        return [case.assignee_id] if case.assignee_id is not None else []
    if to == "group":
        chat = svc.settings.chat_for(case.responsible_city, case.responsible_district)
        return [chat] if chat is not None else []
    area = (case.responsible_city, case.responsible_district, case.region_township)
    if area not in cache:  # once per area and pass
        cache[area] = await supervisors_of(svc, case)
    return cache[area]


async def run_reminders(
    svc: StaffService, notifier: Notifier | None = None, clock: Clock | None = None
) -> JobReport:
    """One pass, everything queued in the outbox: post requests that were never
    posted; tell of withdrawals nobody was told of; and 督办 (``[escalation]``), only
    inside the working hours of a working day (any day for urgent requests): before
    the deadline the assignee privately; once overdue each step of the ladder whose
    hours have passed (assignee, area group, admins and area leads), once per day
    while it stays overdue; not claimed within the claim target: the area group,
    once per day."""
    report = JobReport()
    now = float(clock()) if clock is not None else svc.now()
    wf = svc.store.workflow
    settings = svc.settings
    deadlines = settings.deadlines
    cal = deadlines.calendar
    esc = settings.escalation

    for case in await wf.unposted(now - SWEEP_GRACE_SECONDS):
        await svc.on_case_created(case.id)

    # Withdrawn without the help-request flow telling us (/forget withdraws open ones).
    for case in await wf.select(("withdrawn",)):
        if case.updated_at >= now - WITHDRAWN_LOOKBACK_SECONDS:
            replies = await svc.on_case_changed(case.id)
            await _queue_replies(svc, replies, "staff_notice", f"withdrawn:{case.id}", report)

    day = local_date(now)
    cache: dict[tuple, list[int]] = {}
    for case in await wf.select(OPEN_STATUSES):
        if case.due_at is None or not in_working_hours(cal, esc.hours, now, case.urgent):
            continue
        key = str(int(case.due_at))
        c = svc.summary(case, now)
        if case.due_at > now:
            if (
                case.status in WORKING
                and case.assignee_id is not None
                and esc.hours_left(cal, case, now) <= esc.remind_before_hours
            ):
                text = svc.r.render("staff/due_soon", c=c)
                item = Outgoing(
                    Reply(text, _view(svc, case.id)),
                    "reminder",
                    recipient=case.assignee_id,
                    dedup=f"due_soon:{case.id}:{key}",
                    case_id=case.id,
                )
                await _once(svc, case, "due_soon", key, [item], report)
        else:
            late_days = max(working_days_between(cal, local_date(case.due_at - 1), day), 1)
            if case.urgent:
                late_days = max((day - local_date(case.due_at - 1)).days, 1)
            holder: str | None = None
            stamp = f"{key}:{day.isoformat()}"
            for step in esc.reached(esc.late_hours(cal, case, now)):
                if await wf.has_notice(case.id, f"esc_{step.to}", stamp):
                    continue  # sent today already: the steady state costs one lookup
                if holder is None:
                    holder = await svc.holder_label(case) or ""
                text = svc.r.render(
                    "staff/escalate", c=c, to=step.to, holder=holder, late_days=late_days
                )
                items = [
                    Outgoing(
                        Reply(text, _view(svc, case.id)),
                        "escalation",
                        recipient=target,
                        dedup=f"esc:{case.id}:{step.to}:{stamp}:{target}",
                        case_id=case.id,
                    )
                    for target in await _step_recipients(svc, case, step.to, cache)
                ]
                await _once(svc, case, f"esc_{step.to}", stamp, items, report)
        chat = settings.chat_for(case.responsible_city, case.responsible_district)
        if case.status in UNCLAIMED and chat is not None:
            claim_due = deadlines.claim_due_at(case.created_at, case.urgent)
            stamp = f"{key}:{day.isoformat()}"
            if claim_due <= now and not await wf.has_notice(case.id, "claim_overdue", stamp):
                text = svc.r.render("staff/overdue", c=c, kind="claim", holder="")
                item = Outgoing(
                    Reply(text, svc.post_buttons(case)),
                    "escalation",
                    recipient=chat,
                    dedup=f"claim:{case.id}:{stamp}",
                    case_id=case.id,
                )
                await _once(svc, case, "claim_overdue", stamp, [item], report)
    return report


async def run_digest(
    svc: StaffService, notifier: Notifier | None = None, clock: Clock | None = None
) -> JobReport:
    """The daily digest to each staff chat (waiting, in progress, overdue, due soon),
    on working days, through the outbox (once per chat and day)."""
    report = JobReport()
    now = float(clock()) if clock is not None else svc.now()
    settings = svc.settings
    day = local_date(now)
    if not settings.deadlines.calendar.is_working_day(day):
        return report
    soon = now + settings.deadlines.due_soon_hours * 3600
    by_chat: dict[int, list[Any]] = defaultdict(list)
    for case in await svc.store.workflow.select(OPEN_STATUSES):
        chat = settings.chat_for(case.responsible_city, case.responsible_district)
        if chat is not None:
            by_chat[chat].append(case)
    items = []
    for chat, cases in by_chat.items():
        overdue = [c for c in cases if c.due_at is not None and c.due_at <= now]
        waiting = [c for c in cases if c.status in UNCLAIMED]
        text = svc.r.render(
            "staff/digest",
            day=fmt_when(day),
            waiting=len(waiting),
            working=sum(1 for c in cases if c.status in WORKING),
            overdue=len(overdue),
            due_soon=sum(1 for c in cases if c.due_at is not None and now < c.due_at <= soon),
            overdue_items=[svc.summary(c, now) for c in overdue[:DIGEST_ITEMS]],
            waiting_items=[svc.summary(c, now) for c in waiting[:DIGEST_ITEMS]],
        )
        items.append(
            Outgoing(
                Reply(text), "digest", recipient=chat, dedup=f"digest:{chat}:{day.isoformat()}"
            )
        )
    if items:
        report.sent += await svc.store.outbox.enqueue(items, now=now)
        svc.wake()
    return report


async def run_maintenance(svc: StaffService, notifier: Notifier, clock: Clock) -> JobReport:
    """Daily: close resolved requests nobody rated within ``followup_days``, then
    erase the personal data of requests closed more than ``retention_days`` ago."""
    report = JobReport()
    now = float(clock())
    settings = svc.settings
    wf = svc.store.workflow
    for case in await wf.resolved_before(now - settings.followup_days * 86400):
        done = await wf.transition(
            case.id,
            "closed",
            "system",
            None,
            expect_from=("resolved",),
            note=svc.r.label("staff.note.auto_close"),
            now=now,
        )
        if done is not None:
            report.changed += 1
    erased = await wf.purge_closed(now - settings.retention_days * 86400, now=now)
    if erased:
        await svc.store.staff.audit(
            None, "system", "retention_purge", detail=f"n={erased}", now=now
        )
    report.changed += erased
    await svc.store.supervision.purge_erased()
    await purge_retained(svc.store, now, settings.retention_days)
    return report


async def purge_retained(store: Any, now: float, retention_days: int) -> int:
    """What the consent and /forget texts promise beyond the requests themselves:
    conversations idle for ``IDLE_FORM_DAYS`` (half-filled forms start over), the
    question log with its 有帮助/没帮助 feedback after the retention period, and
    delivered outbox messages after a week; then the WAL is checkpointed so the
    erased bytes leave the disk. Returns the rows removed."""
    removed = await store.purge_idle_conversations(now - IDLE_FORM_DAYS * 86400)
    removed += await store.knowledge.purge_before(now - retention_days * 86400)
    removed += await store.outbox.purge(now - OUTBOX_KEEP_DAYS * 86400)
    await store.scrub()
    return removed


def scheduled(engine: Engine) -> list[ScheduledJob]:
    """The staff jobs: reminders every ``reminder_minutes``, the digest daily at
    ``digest_time`` and the maintenance (auto-close, retention purge) daily at 03:30,
    China time."""
    svc = engine.services.staff
    if svc is None:
        return []
    clock = svc.now

    async def reminders(notifier: Notifier) -> JobReport:
        return await run_reminders(svc, notifier, clock)

    async def digest(notifier: Notifier) -> JobReport:
        return await run_digest(svc, notifier, clock)

    async def maintenance(notifier: Notifier) -> JobReport:
        return await run_maintenance(svc, notifier, clock)

    return [
        ScheduledJob(
            "staff-reminders", reminders, every_seconds=svc.settings.reminder_minutes * 60
        ),
        ScheduledJob("staff-digest", digest, daily_at=svc.settings.digest_time),
        ScheduledJob("staff-maintenance", maintenance, daily_at=MAINTENANCE_TIME),
    ]
