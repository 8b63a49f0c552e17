"""The outbox sender: delivers the rows of the outbox table through the channels.

Each channel plugs in one function, ``async deliver(recipient, reply)``: it returns
the channel's message id (or None) once the channel accepted the message, and raises
when it did not. What it raises decides what happens next:

- ``Permanent`` (or python-telegram-bot's ``Forbidden``, or a ``BadRequest`` such as
  "chat not found"): the row is marked failed and whoever caused the message (the
  row's ``cause``, else the admins) is told, through the outbox too;
- ``RetryLater(seconds)`` (or an exception with ``retry_after``, Telegram's 429), a
  network error or a time-out: tried again later, with exponential back-off, at most
  ``MAX_ATTEMPTS`` times;
- anything else: tried again like a network error.

A row is claimed (marked 'sending', committed) before ``deliver`` is called and
marked 'sent' as soon as it returns: a row is delivered at most once, also across
restarts. A row found 'sending' at start-up belongs to a process that died in
between: it is not sent again (the channel may have taken it) but reported as
possibly undelivered. On stop the sender finishes the calls in flight, records
them, and returns before the store closes.

Announcements are outbox rows too (one per recipient, ``broadcast_id`` set): the
sender tells the admin the progress every ``PROGRESS_EVERY`` recipients and the
final counts once the last row is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from bot.dialog.events import Reply
from bot.sending import (  # noqa: F401 - part of this module's interface
    MAX_PER_SECOND,
    Counts,
    Pacer,
    Permanent,
    RetryLater,
    backoff,
    classify,
)
from bot.store.outbox import PRIORITY_BULK, PRIORITY_NORMAL, Message, Outgoing
from bot.undelivered import resident_missed

if TYPE_CHECKING:
    from bot.render import Renderer
    from bot.store import Store

log = logging.getLogger(__name__)

Deliver = Callable[[int, Reply], Awaitable[Any]]

CONCURRENCY = 8
MAX_ATTEMPTS = 12  # with the back-off below: about 3 hours of trying
IDLE_POLL = 5.0  # look at the table this often even without a wake-up
PROGRESS_EVERY = 200
STOP_GRACE = 10.0
REPORTED_KINDS = ("failure", "report", "card_edit")  # failures of these are only logged
EDIT_KIND = "card_edit"  # an edit of a message sent earlier (``Outgoing.edit_of``)


class Sender:
    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        *,
        admins: Callable[[], Iterable[int] | Awaitable[Iterable[int]]] = tuple,
        clock: Callable[[], float] = time.time,
        rate: float = MAX_PER_SECOND,
        concurrency: int = CONCURRENCY,
        progress_every: int = PROGRESS_EVERY,
        pacer: Pacer | None = None,
    ) -> None:
        self.store = store
        self.repo = store.outbox
        self.renderer = renderer
        self.admins = admins
        self.clock = clock
        self.pacer = pacer if pacer is not None else (Pacer(rate) if rate > 0 else None)
        self.progress_every = progress_every
        self.channels: dict[str, Deliver] = {}
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(concurrency)
        self._in_flight: dict[int, asyncio.Task] = {}
        self._busy_recipients: set[tuple[str, int]] = set()
        self._bulk_in_flight = 0
        self._stopping = False
        self._stop_event: asyncio.Event | None = None
        self.delivered = 0

    async def _admin_ids(self) -> list[int]:
        found = self.admins()
        if asyncio.iscoroutine(found) or isinstance(found, Awaitable):
            found = await found
        return sorted({int(a) for a in found})

    def add_channel(self, name: str, deliver: Deliver) -> None:
        self.channels[name] = deliver
        self.wake()

    def wake(self) -> None:
        """Something was queued: look at the table now."""
        self._wake.set()

    # -- queueing helpers (for callers without a transaction of their own) -----------

    async def enqueue(self, items: Iterable[Outgoing]) -> int:
        added = await self.repo.enqueue(items, now=self.clock())
        if added:
            self.wake()
        return added

    async def to_admins(self, reply: Reply, kind: str, dedup: str | None = None) -> int:
        items = [
            Outgoing(
                Reply(reply.text, reply.buttons),
                kind,
                recipient=admin,
                dedup=f"{dedup}:{admin}" if dedup else None,
            )
            for admin in await self._admin_ids()
        ]
        return await self.enqueue(items)

    # -- the loop --------------------------------------------------------------------

    async def recover(self) -> int:
        """At start: rows a dead process left 'sending' are reported, not resent."""
        lost = await self.repo.interrupted(now=self.clock())
        for msg in lost:
            if msg.kind in REPORTED_KINDS:
                continue
            if msg.broadcast_id is not None:
                continue  # counted as unknown in the run's final report
            await self._report_failure(msg, "interrupted")
        # Every run still marked running: one whose last row was done just before the
        # process died gets its final report now (a run with rows left just goes on).
        for broadcast_id in await self.store.admin.running_broadcasts():
            await self.broadcast_progress(broadcast_id)
        return len(lost)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Deliver until ``stop`` is set (or ``stop()`` is called); then let the calls
        in flight finish and record them."""
        stop = stop or asyncio.Event()
        self._stop_event = stop
        stopper = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set() and not self._stopping:
                progressed = await self._pass()
                if progressed:
                    continue
                self._wake.clear()
                wait = IDLE_POLL
                nxt = await self.repo.next_due()
                if nxt is not None:
                    wait = min(wait, max(nxt - self.clock(), 0.05))
                waker = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait(
                    {waker, stopper}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                waker.cancel()
        finally:
            stopper.cancel()
            await self._finish_in_flight()
            self._stop_event = None

    async def stop(self) -> None:
        self._stopping = True
        self.wake()
        await self._finish_in_flight()

    async def drain(self, rounds: int = 1000) -> int:
        """Deliver everything due now, then return how many were delivered (tests)."""
        before = self.delivered
        for _ in range(rounds):
            if not await self._pass():
                await self._finish_in_flight()
                if not await self.repo.due(self.clock(), limit=1, channels=self.channels):
                    break
        await self._finish_in_flight()
        return self.delivered - before

    async def _finish_in_flight(self) -> None:
        tasks = list(self._in_flight.values())
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_GRACE)

    async def _pass(self) -> bool:
        """Start the due rows (as many as the slots allow). True if any was started."""
        if not self.channels:
            return False
        rows = await self.repo.due(self.clock(), limit=64, channels=self.channels)
        started = False
        for msg in rows:
            if self._halted():
                break
            if msg.id in self._in_flight or (msg.channel, msg.recipient) in self._busy_recipients:
                continue  # one message at a time per chat keeps them in order
            if msg.priority >= PRIORITY_BULK and self._bulk_in_flight:
                # One bulk message (announcement) in flight at a time: a crash can cut
                # off at most one of them (which is then reported, not resent).
                continue
            await self._slots.acquire()
            if self._halted():
                self._slots.release()
                break
            await self._pace()
            if not await self.repo.claim(msg.id):
                self._slots.release()
                continue
            self._busy_recipients.add((msg.channel, msg.recipient))
            if msg.priority >= PRIORITY_BULK:
                self._bulk_in_flight += 1
            task = asyncio.ensure_future(self._deliver(msg))
            self._in_flight[msg.id] = task
            started = True
        if started or self._in_flight:
            # Let the started deliveries run before looking again.
            if self._in_flight:
                await asyncio.wait(
                    list(self._in_flight.values()), return_when=asyncio.FIRST_COMPLETED
                )
            return True
        return False

    def _halted(self) -> bool:
        return self._stopping or (self._stop_event is not None and self._stop_event.is_set())

    async def _pace(self) -> None:
        if self.pacer is not None:
            await self.pacer.wait()

    async def _deliver(self, msg: Message) -> None:
        try:
            await self._attempt(msg)
        except Exception as exc:  # noqa: BLE001 - the loop must go on
            log.error("outbox bookkeeping failed: %s", type(exc).__name__)
        finally:
            self._in_flight.pop(msg.id, None)
            self._busy_recipients.discard((msg.channel, msg.recipient))
            if msg.priority >= PRIORITY_BULK:
                self._bulk_in_flight -= 1
            self._slots.release()

    async def _edit_target(self, msg: Message) -> int | str | None:
        """For an edit: the channel's id of the message to edit, "wait" while that
        message is not sent yet, None when there is none (failed, or no id)."""
        assert msg.edit_of is not None
        if await self.repo.superseded(msg.id, msg.edit_of):
            return "skip"  # a later edit says it better
        target = await self.repo.get(msg.edit_of)
        if target is None or target.status in ("failed", "unknown", "cancelled"):
            return None
        if target.status != "sent":
            return "wait"
        return target.message_id

    async def _attempt(self, msg: Message) -> None:
        deliver = self.channels[msg.channel]
        reply = msg.reply
        if msg.edit_of is not None:
            target = await self._edit_target(msg)
            if target is None or target == "skip":
                status = "cancelled" if target == "skip" else "failed"
                error = "superseded" if target == "skip" else "no_message"
                await self.repo.mark_failed(msg.id, error, now=self.clock(), status=status)
                return
            if target == "wait":
                if msg.attempts + 1 >= MAX_ATTEMPTS:
                    await self.repo.mark_failed(msg.id, "gave_up", now=self.clock())
                else:
                    await self.repo.retry(msg.id, self.clock() + backoff(msg.attempts + 1), "wait")
                    self.wake()
                return
            reply.edit_message_id = int(target)
        try:
            result = await deliver(msg.recipient, reply)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified below
            verdict, after, reason = classify(exc)
        else:
            if result is False:  # a notifier's way of saying "blocked"
                verdict, after, reason = "permanent", None, "blocked"
            else:
                message_id = result if isinstance(result, int) and result is not True else None
                await self.repo.mark_sent(msg.id, message_id, now=self.clock())
                self.delivered += 1
                if msg.broadcast_id is not None:
                    await self.broadcast_progress(msg.broadcast_id)
                return
        now = self.clock()
        if verdict == "retry" and msg.attempts + 1 < MAX_ATTEMPTS:
            wait = after if after is not None else backoff(msg.attempts + 1)
            log.info("outbox: retrying a message in %.0f s (%s)", wait, reason)
            await self.repo.retry(msg.id, now + wait, reason)
            self.wake()
            return
        if verdict == "retry":
            reason = "gave_up"
        log.warning("outbox: a message could not be delivered (%s)", reason)
        await self.repo.mark_failed(msg.id, reason, now=now)
        if msg.broadcast_id is not None:
            if reason in ("blocked", "chat_not_found") and msg.user_id is not None:
                await self.store.admin.mark_blocked(msg.user_id)
            await self.broadcast_progress(msg.broadcast_id)
        elif msg.kind not in REPORTED_KINDS:
            await self._report_failure(msg, reason)

    # -- telling whoever caused it ----------------------------------------------------

    async def _report_failure(self, msg: Message, reason: str) -> None:
        ref = None
        reply = msg.reply
        case_id = msg.case_id if msg.case_id is not None else reply.case_id
        case = await self.store.cases.get(case_id) if case_id is not None else None
        if case is not None:
            ref = case.ref
        if case is not None and msg.recipient in (case.chat_id, case.user_id):
            await resident_missed(self, msg, case, reason)
            return
        if reply.group_chat is not None and reply.group_chat != msg.recipient:
            # A private reply to a button pressed in a group: say so in the group,
            # without anything of the case in it.
            text = self.renderer.render("outbox/private_unreachable", reason=reason)
            item = Outgoing(
                Reply(text),
                "failure",
                recipient=reply.group_chat,
                channel=msg.channel,
                dedup=f"fail:{msg.id}:group",
            )
            await self.enqueue([item])
            return
        text = self.renderer.render(
            "outbox/failed", kind=msg.kind, reason=reason, ref=ref, recipient=msg.recipient
        )
        targets = [msg.cause] if msg.cause is not None else await self._admin_ids()
        items = [
            Outgoing(
                Reply(text),
                "failure",
                recipient=target,
                channel=msg.channel,
                priority=PRIORITY_NORMAL,
                dedup=f"fail:{msg.id}:{target}",
            )
            for target in targets
            if target != msg.recipient
        ]
        if not items:
            log.warning("outbox: nobody to tell of an undelivered message")
            return
        await self.enqueue(items)

    async def broadcast_progress(self, broadcast_id: int) -> None:
        """Progress to the admin every ``progress_every`` recipients; the final counts
        once no row of the run is left (each told once: dedup keys)."""
        b = await self.store.admin.broadcast(broadcast_id)
        if b is None:
            return
        row = await self.store.fetchone(
            "SELECT chat_id, reported, stopped_at FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        if row is None:
            return
        chat = row["chat_id"] if row["chat_id"] is not None else b.admin_id
        c = await self.repo.broadcast_counts(broadcast_id)
        counts = Counts(
            total=c["total"],
            sent=c["sent"],
            blocked=c["blocked"],
            failed=c["failed"] + c["unknown"],
        )
        if c["pending"] == 0:
            if b.status == "done":
                return
            stopped = row["stopped_at"] is not None
            text = self.renderer.render(
                "admin/broadcast_done",
                c=counts,
                finished=not stopped,
                stopped=stopped,
                cancelled=c["cancelled"],
            )
            report = Outgoing(
                Reply(text), "report", recipient=chat, dedup=f"bc:{broadcast_id}:done"
            )
            if await self.store.admin.finish_broadcast(
                broadcast_id,
                sent=counts.sent,
                blocked=counts.blocked,
                failed=counts.failed,
                report=report,
                now=self.clock(),
            ):
                self.wake()
            return
        if self.progress_every <= 0:
            return
        step = counts.done // self.progress_every
        if step > row["reported"]:
            changed = await self.store.execute(
                "UPDATE broadcasts SET reported = ?, sent = ?, blocked = ?, failed = ?"
                " WHERE id = ? AND reported < ?",
                (step, counts.sent, counts.blocked, counts.failed, broadcast_id, step),
            )
            if changed:
                text = self.renderer.render("admin/broadcast_progress", c=counts)
                await self.enqueue(
                    [
                        Outgoing(
                            Reply(text),
                            "report",
                            recipient=chat,
                            dedup=f"bc:{broadcast_id}:p{step}",
                        )
                    ]
                )


@contextlib.asynccontextmanager
async def running(sender: Sender):
    """Run the sender in the background; on exit finish what is in flight."""
    stop = asyncio.Event()
    await sender.recover()
    task = asyncio.ensure_future(sender.run(stop))
    try:
        yield sender
    finally:
        stop.set()
        await task
