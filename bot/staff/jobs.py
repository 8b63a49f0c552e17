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

from bot.calendar import CHINA_TZ, fmt_when, local_date
from bot.dialog.events import Button, Reply
from bot.dialog.services import Clock, Notifier, ScheduledJob
from bot.domain.cases import OPEN_STATUSES, UNCLAIMED, WORKING

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
    sent: int = 0
    failed: int = 0
    changed: int = 0


async def _send(notifier: Notifier, reply: Reply, report: JobReport) -> None:
    if reply.chat_id is None:
        return
    try:
        await notifier.send(reply.chat_id, reply)
        report.sent += 1
    except Exception as exc:  # noqa: BLE001 - one chat that fails must not stop the rest
        report.failed += 1
        log.warning("staff notice not delivered: %s", type(exc).__name__)


def _view(svc: StaffService, case_id: int) -> list[list[Button]]:
    return [[Button(svc.r.label("staff.btn.view"), f"st:view:{case_id}")]]


async def run_reminders(svc: StaffService, notifier: Notifier, clock: Clock) -> JobReport:
    """One pass: post requests that were never posted; tell of withdrawals nobody was
    told of; due soon → the assignee
    privately; overdue → the area chat; not claimed within the claim target → the
    area chat (催办). Each notice goes once per deadline."""
    report = JobReport()
    now = float(clock())
    wf = svc.store.workflow
    settings = svc.settings
    deadlines = settings.deadlines

    for case in await wf.unposted(now - SWEEP_GRACE_SECONDS):
        for reply in await svc.on_case_created(case.id):
            await _send(notifier, reply, report)

    # Withdrawn without the help-request flow telling us (/forget withdraws open ones).
    for case in await wf.select(("withdrawn",)):
        if case.updated_at >= now - WITHDRAWN_LOOKBACK_SECONDS:
            for reply in await svc.on_case_changed(case.id):
                await _send(notifier, reply, report)

    soon = now + deadlines.due_soon_hours * 3600
    for case in await wf.select(OPEN_STATUSES):
        if case.due_at is None:
            continue
        key = str(int(case.due_at))
        c = svc.summary(case, now)
        chat = settings.chat_for(case.responsible_city, case.responsible_district)
        if case.due_at <= now:
            if chat is not None and await wf.mark_notice(case.id, "overdue", key, now):
                holder = await svc.holder_label(case) or ""
                text = svc.r.render("staff/overdue", c=c, kind="due", holder=holder)
                await _send(notifier, Reply(text, _view(svc, case.id), chat_id=chat), report)
        elif case.due_at <= soon and case.status in WORKING and case.assignee_id is not None:
            if await wf.mark_notice(case.id, "due_soon", key, now):
                text = svc.r.render("staff/due_soon", c=c)
                reply = Reply(text, _view(svc, case.id), chat_id=case.assignee_id)
                await _send(notifier, reply, report)
        if case.status in UNCLAIMED and chat is not None:
            claim_due = deadlines.claim_due_at(case.created_at, case.urgent)
            if claim_due <= now and await wf.mark_notice(case.id, "claim_overdue", key, now):
                text = svc.r.render("staff/overdue", c=c, kind="claim", holder="")
                reply = Reply(text, svc.post_buttons(case), chat_id=chat)
                await _send(notifier, reply, report)
    return report


async def run_digest(svc: StaffService, notifier: Notifier, clock: Clock) -> JobReport:
    """The daily digest to each staff chat: waiting, in progress, overdue, due soon."""
    report = JobReport()
    now = float(clock())
    settings = svc.settings
    soon = now + settings.deadlines.due_soon_hours * 3600
    by_chat: dict[int, list[Any]] = defaultdict(list)
    for case in await svc.store.workflow.select(OPEN_STATUSES):
        chat = settings.chat_for(case.responsible_city, case.responsible_district)
        if chat is not None:
            by_chat[chat].append(case)
    day = local_date(now)
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
        await _send(notifier, Reply(text, chat_id=chat), report)
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
