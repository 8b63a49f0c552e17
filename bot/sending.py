"""How the outbox sender treats a channel's answer: what is permanent (blocked, no
such chat), what is tried again and when (RetryAfter, network errors, back-off),
and the pace of sending (at most ``MAX_PER_SECOND``)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

MAX_PER_SECOND = 25.0  # Telegram: about 30 messages per second to different chats
BACKOFF_FIRST = 2.0
BACKOFF_MAX = 1800.0
MAX_RETRY_AFTER = 3600.0


class Permanent(Exception):
    """The channel will never take this message (blocked, no such chat)."""

    def __init__(self, reason: str = "rejected") -> None:
        super().__init__(reason)
        self.reason = reason


class RetryLater(Exception):
    """The channel asks to try again after ``after`` seconds (None: back off)."""

    def __init__(self, after: float | None = None, reason: str = "retry") -> None:
        super().__init__(reason)
        self.after = after
        self.reason = reason


def _retry_after(exc: BaseException) -> float | None:
    with warnings.catch_warnings():
        # python-telegram-bot 22 warns that the int will become a timedelta: both are read.
        warnings.simplefilter("ignore")
        value = getattr(exc, "retry_after", None)
    if isinstance(value, dt.timedelta):
        value = value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return min(float(value), MAX_RETRY_AFTER)
    return None


_GONE = (
    "chat not found",
    "user not found",
    "chat_id is empty",
    "peer_id_invalid",
    "bot was kicked",
)


def classify(exc: BaseException) -> tuple[str, float | None, str]:
    """("permanent", None, reason) or ("retry", seconds or None, reason)."""
    if isinstance(exc, Permanent):
        return "permanent", None, exc.reason
    if isinstance(exc, RetryLater):
        return "retry", exc.after, exc.reason
    names = {cls.__name__ for cls in type(exc).__mro__}
    after = _retry_after(exc)
    if after is not None:
        return "retry", after, "flood"
    if "Forbidden" in names or "Blocked" in names:
        return "permanent", None, "blocked"
    text = str(exc).lower()
    if "BadRequest" in names or "ChatMigrated" in names:
        if any(g in text for g in _GONE) or "ChatMigrated" in names:
            return "permanent", None, "chat_not_found"
        return "permanent", None, "rejected"
    if names & {"TimedOut", "NetworkError", "TimeoutError", "ConnectionError", "OSError"}:
        return "retry", None, "network"
    return "retry", None, type(exc).__name__[:40]


def backoff(attempts: int) -> float:
    base = min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)
    return base * (0.75 + random.random() / 2)  # noqa: S311 - jitter, not security


class Pacer:
    """At most ``rate`` sends per second: a fixed interval between sends (idle time
    is not saved up as a burst), with the clock and the sleep injectable for tests."""

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
        self._next += self.interval
        if delay > 0:
            await self.sleep(delay)


@dataclass
class Counts:
    """What the admin's templates show of a run."""

    total: int
    sent: int = 0
    blocked: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.blocked + self.failed
