"""The inbox: updates stored before they are confirmed, handled from here.

``receive`` stores raw updates (one statement for a whole getUpdates batch or one
webhook call) and says which were new; ``done`` removes an update once its turn
committed and its replies went out (turns of many users share one statement);
``pending`` lists what a process that died left behind, with the replies stored by
turns that had committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.dialog.events import Reply
from bot.store import Coalescer, Repo, _padded
from bot.store.outbox import reply_from_json, reply_to_json

log = logging.getLogger(__name__)
DONE_DELAY = 0.05  # seconds: done marks of the turns finished meanwhile share a statement


def replies_to_json(replies: list[Reply], chat_id: int) -> str:
    """The replies of a turn, each with the chat it goes to."""
    return json.dumps(
        [[r.chat_id if r.chat_id is not None else chat_id, reply_to_json(r)] for r in replies],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def outbox_json(replies: list[Reply]) -> str:
    """Messages for other chats, as the ``turn_saves`` view queues them."""
    return json.dumps(
        [[r.chat_id, reply_to_json(r)] for r in replies], ensure_ascii=False, separators=(",", ":")
    )


def replies_from_json(raw: str) -> list[Reply]:
    return [reply_from_json(body, chat) for chat, body in json.loads(raw)]


@dataclass(frozen=True)
class Stored:
    update_id: int
    raw: dict[str, Any]
    handled: bool  # the turn committed
    replies: list[Reply] | None  # what it said, when not delivered yet


class InboxRepo(Repo):
    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self._done = Coalescer(self._mark_done)
        self._done_later: list[int] = []
        self._flush: asyncio.TimerHandle | None = None
        self._flushing: set[asyncio.Task] = set()
        self._receive = Coalescer(self._store_received)

    async def receive(
        self, updates: Iterable[tuple[int, str]], now: float | None = None
    ) -> set[int]:
        """Store ``(update_id, raw JSON)`` pairs; returns the ids that were new. One
        statement; webhook calls arriving together share it."""
        items = list(updates)
        if not items:
            return set()
        now = time.time() if now is None else now
        if len(items) == 1:  # a webhook call: no gather
            u, raw = items[0]
            return {u} if await self._receive.submit((u, raw, now)) else set()
        results = await asyncio.gather(*(self._receive.submit((u, raw, now)) for u, raw in items))
        return {u for (u, _raw), new in zip(items, results, strict=True) if new}

    async def _store_received(self, items: list[tuple[int, str, float]]) -> list[bool]:
        sql = (
            "INSERT INTO inbox (update_id, raw, received_at, worker) VALUES "
            + ", ".join(["(?, ?, ?, ?)"] * len(items))
            + " ON CONFLICT DO NOTHING RETURNING update_id"
        )
        worker = self.store.worker
        rows = await self.store.fetchall(sql, [v for item in items for v in (*item, worker)])
        fresh = {r[0] for r in rows}
        return [u in fresh for u, _raw, _now in items]

    def done_soon(self, update_id: int) -> None:
        """Mark an update done within ``DONE_DELAY`` seconds, together with the others
        finished meanwhile (one statement for many turns). A crash before that only
        means its already delivered replies are delivered again at start-up."""
        self._done_later.append(update_id)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(DONE_DELAY, self._start_flush)

    def _start_flush(self) -> None:
        ids, self._done_later, self._flush = self._done_later, [], None
        task = asyncio.ensure_future(self._flush_done(ids))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _flush_done(self, ids: list[int]) -> None:
        for start in range(0, len(ids), 256):
            try:
                await self._mark_done(ids[start : start + 256])
            except Exception:  # noqa: BLE001 - left in the inbox: redelivered at start-up
                log.warning("marking updates done failed")

    async def flush(self) -> None:
        """Write the pending done marks now (on stop, before the store closes)."""
        if self._flush is not None:
            self._flush.cancel()
            self._start_flush()
        if self._flushing:
            await asyncio.gather(*list(self._flushing), return_exceptions=True)

    async def done(self, update_id: int) -> None:
        await self._done.submit(update_id)

    async def _mark_done(self, ids: list[int]) -> list[None]:
        rows = _padded(ids, None)
        await self.store.execute(
            "INSERT INTO updates_done (update_id) VALUES " + ", ".join(["(?)"] * len(rows)), rows
        )
        return [None] * len(ids)

    async def pending(self) -> list[Stored]:
        """The updates a process that is gone left (at start-up: to handle again, or
        to deliver their stored replies). They become this worker's first, in one
        statement, so two workers starting together never take the same update;
        an update another running worker is handling is left to it."""
        await self.store.execute(
            f"UPDATE inbox SET worker = ? WHERE {self.store.gone('worker')}",
            (self.store.worker,),
        )
        rows = await self.store.fetchall(
            "SELECT i.update_id AS update_id, i.raw AS raw, p.update_id IS NOT NULL AS handled,"
            " p.replies AS replies FROM inbox i"
            " LEFT JOIN processed_updates p ON p.update_id = i.update_id WHERE i.worker = ?"
            " ORDER BY i.update_id",
            (self.store.worker,),
        )
        out = []
        for r in rows:
            try:
                raw = json.loads(r["raw"])
            except ValueError:
                raw = {}
            replies = replies_from_json(r["replies"]) if r["replies"] else None
            out.append(Stored(r["update_id"], raw, bool(r["handled"]), replies))
        return out

    async def count(self) -> int:
        return int(await self.store.fetchval("SELECT COUNT(*) FROM inbox"))
