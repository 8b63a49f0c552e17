"""The Telegram side of work outside any turn: a ``Notifier`` that sends through the
adapter's own delivery, and the features' scheduled jobs on python-telegram-bot's
JobQueue (``sanliang run`` calls ``schedule_jobs`` once at start)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.telegram.adapter import channel_of

if TYPE_CHECKING:
    from bot.app import App
    from bot.dialog.events import Reply
    from bot.dialog.services import Notifier, ScheduledJob

log = logging.getLogger(__name__)


class ApplicationNotifier:
    """Sends through the Telegram adapter's own delivery (keyboards, HTML, errors)."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def send(self, chat_id: int, reply: Reply) -> bool:
        """False when the chat cannot be reached (the resident blocked the assistant)."""
        channel = channel_of(self.application)
        return await channel.deliver(self.application.bot, [reply], chat_id)


def schedule_jobs(application: Any, app: App, notifier: Notifier | None = None) -> list[Any]:
    """Put every feature's scheduled jobs (``app.jobs``) on the Application's JobQueue.
    Returns the JobQueue's jobs."""
    queue = application.job_queue
    if queue is None:
        log.warning("jobs not scheduled (no job queue)")
        return []
    sender = notifier or app.engine.services.notifier or ApplicationNotifier(application)
    out = []
    for job in app.jobs:
        out.append(_schedule(queue, job, sender, app))
    return out


def _schedule(queue: Any, job: ScheduledJob, sender: Notifier, app: App | None = None) -> Any:
    async def callback(context: Any) -> None:
        # Several workers on one PostgreSQL store: only the leader runs the jobs (the
        # others take over when it dies). SQLite's one process always leads.
        if app is not None and not await app.store.leader():
            return
        await job.run(sender)

    if job.daily_at is not None:
        return queue.run_daily(callback, time=job.daily_at, name=job.name)
    return queue.run_repeating(
        callback, interval=job.every_seconds, first=job.first_seconds, name=job.name
    )
