"""Sending an announcement to the residents who opted in, paced within Telegram's
limits, as a background task with progress and final counts for the admin.

A channel provides the ``Notifier`` as ``engine.services.notifier``. A send that
raises an exception named ``Forbidden`` (python-telegram-bot's 403: the resident
blocked the assistant) or ``Blocked``, or that returns False, counts as blocked: the
subscriber is marked and skipped from then on, and the run goes on. An exception with
``retry_after`` (429) waits that long and tries once more. Anything else counts as
failed, and the run goes on.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.dialog.events import Button, Reply

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.dialog.services import Notifier

log = logging.getLogger(__name__)

MAX_PER_SECOND = 25.0  # Telegram allows about 30 messages per second to different chats
PROGRESS_EVERY = 200  # tell the admin how far the run is after this many recipients
MAX_RETRY_AFTER = 60.0


class Blocked(Exception):
    """A notifier may raise this when the chat cannot be reached any more."""


def is_blocked(exc: BaseException) -> bool:
    return any(cls.__name__ in ("Forbidden", "Blocked") for cls in type(exc).__mro__)


def retry_after(exc: BaseException) -> float | None:
    with warnings.catch_warnings():
        # python-telegram-bot 22 warns that the int will become a timedelta: both are read.
        warnings.simplefilter("ignore")
        value = getattr(exc, "retry_after", None)
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, int | float) and value >= 0:
        return min(float(value), MAX_RETRY_AFTER)
    return None


class Pacer:
    """At most ``rate`` sends per second: a fixed interval between sends, with the
    clock and the sleep injectable for tests."""

    def __init__(
        self,
        rate: float = MAX_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.interval = 1.0 / rate
        self.clock = clock
        self.sleep = sleep
        self._next: float | None = None

    async def wait(self) -> None:
        now = self.clock()
        if self._next is None or self._next < now:
            self._next = now
        delay = self._next - now
        if delay > 0:
            await self.sleep(delay)
        self._next += self.interval


@dataclass
class Counts:
    total: int
    sent: int = 0
    blocked: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.failed


def announcement_reply(engine: Engine, text: str, region: str | None) -> Reply:
    """What a resident receives: the notice and a one-button 退订."""
    r = engine.renderer
    return Reply(
        r.render("admin/announcement", text=text, region=region),
        [[Button(r.label("admin.unsubscribe"), "sub:off")]],
    )


async def run_broadcast(
    engine: Engine,
    notifier: Notifier,
    broadcast_id: int,
    admin_chat: int,
    recipients: list[tuple[int, int]],
    text: str,
    region: str | None,
    pacer: Pacer | None = None,
    progress_every: int = PROGRESS_EVERY,
) -> Counts:
    repo = engine.store.admin
    r = engine.renderer
    pacer = pacer or Pacer()
    counts = Counts(total=len(recipients))
    status = "failed"
    try:
        for user_id, chat_id in recipients:
            await pacer.wait()
            outcome = await _send_one(notifier, pacer, chat_id, engine, text, region)
            if outcome == "sent":
                counts.sent += 1
            elif outcome == "blocked":
                counts.blocked += 1
                await repo.mark_blocked(user_id)
            else:
                counts.failed += 1
            if (
                progress_every > 0
                and counts.done % progress_every == 0
                and counts.done < counts.total
            ):
                await repo.update_broadcast(
                    broadcast_id, sent=counts.sent, blocked=counts.blocked, failed=counts.failed
                )
                await pacer.wait()
                await _tell(
                    notifier, admin_chat, Reply(r.render("admin/broadcast_progress", c=counts))
                )
        status = "done"
    finally:
        await repo.update_broadcast(
            broadcast_id,
            sent=counts.sent,
            blocked=counts.blocked,
            failed=counts.failed,
            status=status,
        )
        log.info(
            "broadcast %d %s: %d sent, %d blocked, %d failed",
            broadcast_id,
            status,
            counts.sent,
            counts.blocked,
            counts.failed,
        )
        await _tell(
            notifier,
            admin_chat,
            Reply(r.render("admin/broadcast_done", c=counts, finished=status == "done")),
        )
    return counts


async def _send_one(
    notifier: Notifier, pacer: Pacer, chat_id: int, engine: Engine, text: str, region: str | None
) -> str:
    for attempt in range(2):
        try:
            result = await notifier.send(chat_id, announcement_reply(engine, text, region))
        except Exception as exc:  # noqa: BLE001 - one resident's failure must not stop the run
            if is_blocked(exc):
                return "blocked"
            wait = retry_after(exc)
            if wait is not None and attempt == 0:
                await pacer.sleep(wait)
                await pacer.wait()  # the retry takes a slot of its own
                continue
            log.warning("announcement not delivered: %s", type(exc).__name__)
            return "failed"
        return "blocked" if result is False else "sent"
    return "failed"


async def _tell(notifier: Notifier, chat_id: int, reply: Reply) -> None:
    try:
        await notifier.send(chat_id, reply)
    except Exception as exc:  # noqa: BLE001 - the run's result is in the database anyway
        log.warning("could not tell the admin about the broadcast: %s", type(exc).__name__)


def start_broadcast(engine: Engine, coro: Awaitable[Counts]) -> asyncio.Task:
    """Run in the background (the admin's turn returns at once); the task is kept
    referenced until it ends."""
    tasks = engine.services.tasks
    task = asyncio.ensure_future(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task
