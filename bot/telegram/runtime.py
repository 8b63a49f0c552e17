"""What every process that talks to Telegram runs beside the adapter's handlers.

``sanliang run`` (polling or its own webhook server) and ``sanliang web
--telegram-webhook-url`` (the webhook route inside the web server) both need the same
three things, in the same order, or acknowledged work is lost:

- the durable inbox (``bot.telegram.inbox``): an update is stored before Telegram is
  told it arrived, and handled from the store;
- the outbox sender (``bot.outbox``): staff cards, residents' notices, announcements
  and reports queued by turns and jobs are delivered, retried, reported when they fail;
- recovery of what a process that died left: rows it was sending, requests never
  posted to a staff chat, updates stored but not handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from bot.telegram.inbox import TelegramInbox

if TYPE_CHECKING:
    from telegram.ext import Application

    from bot.app import App
    from bot.outbox import Sender

log = logging.getLogger(__name__)


def start_outbox(app: App, application: Application) -> Sender:
    """The outbox sender with the Telegram channel plugged in, kept in the services.
    Call it after the process's notifier is in place: where that notifier routes web
    residents to their page (``ChannelRouter``), the sender's notices go the same way."""
    from bot.outbox import Sender
    from bot.telegram.delivery import notifier_deliver, telegram_deliver

    admins = set(app.config.admin_ids or ())

    async def admin_ids() -> set[int]:
        found = set(admins)
        staff = getattr(app.store, "staff", None)
        lister = getattr(staff, "admins", None)
        if lister is not None:
            found |= {int(a) for a in await lister()}
        return found

    svc = app.engine.services.staff
    clock = svc.now if svc is not None else time.time
    sender = Sender(app.store, app.renderer, admins=admin_ids, clock=clock)
    notifier = app.engine.services.notifier
    if notifier is not None and notifier.__class__.__name__ == "ChannelRouter":
        # Web residents' notices go to their web queue, the rest to Telegram.
        sender.add_channel("telegram", notifier_deliver(notifier))
    else:
        sender.add_channel("telegram", telegram_deliver(application))
    app.engine.services.outbox = sender
    if svc is not None:
        svc.wake = sender.wake
        svc.queue_notices = True  # residents' notices go out with the change (#12)
    return sender


async def post_unposted(app: App) -> None:
    """At start: requests never posted to a staff chat (a crash between the commit
    and the post) are posted now, without the sweep's grace period."""
    svc = app.engine.services.staff
    if svc is None:
        return
    try:
        for case in await app.store.workflow.unposted(svc.now() + 1):
            await svc.post_case(case)
    except Exception as exc:  # noqa: BLE001 - the sweep job tries again
        log.error("posting unposted requests failed: %s", type(exc).__name__)


class Delivery:
    """The inbox and the outbox sender of one process, started and stopped together."""

    def __init__(
        self, app: App, application: Application, inbox: TelegramInbox | None = None
    ) -> None:
        self.app = app
        self.sender = start_outbox(app, application)
        self.inbox = inbox or TelegramInbox(application, app.store)
        self._stop = asyncio.Event()
        self._task: asyncio.Future | None = None

    async def start(self) -> None:
        """After ``application.start()``: recover, then run the sender."""
        await self.sender.recover()
        self._task = asyncio.ensure_future(self.sender.run(self._stop))
        await post_unposted(self.app)
        await self.inbox.recover()

    async def stop(self, grace: float) -> None:
        """Before the store closes, once no new updates arrive: the turns in flight
        finish, then the sender records what it had in flight."""
        await self.inbox.wait_idle()
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self._task, grace)
