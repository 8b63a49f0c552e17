"""Requests to the store made at the same moment, sent together in one statement."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def _padded(items: list[Any], filler: Any) -> list[Any]:
    """``items`` filled up to the next power of two, so that batched statements come
    in a handful of sizes (each prepared once, then reused from the statement cache)."""
    size = 1
    while size < len(items):
        size *= 2
    return items + [filler] * (size - len(items))


class Coalescer(Generic[T, R]):
    """Requests made while a round trip is in flight wait and go together in the next.

    ``run(items)`` returns one result per item. A lone request goes at once (no timer,
    no added latency); under load, many requests share one trip to the database
    thread. If a batch fails, its items are retried one by one, so one bad request
    fails only itself (``run`` must be all-or-nothing, e.g. one statement).
    """

    def __init__(self, run: Callable[[list[T]], Awaitable[list[R]]], limit: int = 128) -> None:
        self._run = run
        self.limit = limit
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        if self._task is None:
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._pending:
                batch = self._pending[: self.limit]
                del self._pending[: self.limit]
                await self._settle(batch)
        except BaseException:
            # Cancelled (the loop is shutting down): nobody may wait forever.
            for _, future in batch + self._pending:
                if not future.done():
                    future.set_exception(_stopped())
            self._pending.clear()
            raise
        finally:
            self._task = None

    async def _settle(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._run([item for item, _ in batch])
        except Exception as exc:
            if len(batch) > 1:
                for one in batch:
                    await self._settle([one])
            elif not batch[0][1].done():
                batch[0][1].set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


def _stopped() -> Exception:
    from bot.store import StoreError

    return StoreError("the store stopped")
