"""Cases nobody covers (#14 point 4): an unclaimed case in an area without an active
worker alerts the admins and the default chat at once (``StaffService.post_case``)
and again every working day until it is claimed or someone covers the area — this
daily job, at the digest time, on working days only (``bot.calendar``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.calendar import local_date
from bot.dialog.services import Clock, Notifier, ScheduledJob

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.staff.service import StaffService


async def run_uncovered(svc: StaffService, notifier: Notifier | None, clock: Clock) -> int:
    """One pass (through the outbox): the number of cases alerted. Nothing on a day
    off; each case at most once a day."""
    if not svc.settings.deadlines.calendar.is_working_day(local_date(float(clock()))):
        return 0
    return await svc.alert_all_uncovered()


def scheduled(engine: Engine) -> list[ScheduledJob]:
    svc = engine.services.staff
    if svc is None:
        return []

    async def uncovered(notifier: Notifier) -> int:
        return await run_uncovered(svc, notifier, svc.now)

    return [ScheduledJob("staff-uncovered", uncovered, daily_at=svc.settings.digest_time)]
