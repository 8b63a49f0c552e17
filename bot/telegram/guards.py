"""Per-user flood guard and recently handled update ids, in memory."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

FLOOD_LIMIT = 20
FLOOD_WINDOW = 10.0


class FloodGuard:
    """More than ``limit`` messages in ``window`` seconds from one user: warn once, then
    drop that user's messages until they slow down. Other users are not affected."""

    OK, WARN, DROP = "ok", "warn", "drop"

    def __init__(
        self,
        limit: int = FLOOD_LIMIT,
        window: float = FLOOD_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._warned: set[int] = set()
        self._calls = 0

    def check(self, user_id: int) -> str:
        now = self.clock()
        self._calls += 1
        if self._calls % 4096 == 0:
            self._prune(now)
        times = self._seen.get(user_id)
        if times is None:
            times = self._seen[user_id] = deque(maxlen=self.limit)
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) >= self.limit:
            if user_id in self._warned:
                return self.DROP
            self._warned.add(user_id)
            return self.WARN
        self._warned.discard(user_id)
        times.append(now)
        return self.OK

    def _prune(self, now: float) -> None:
        stale = [u for u, t in self._seen.items() if not t or now - t[-1] >= self.window]
        for user_id in stale:
            del self._seen[user_id]
            self._warned.discard(user_id)

    def __len__(self) -> int:
        return len(self._seen)


class RecentUpdates:
    """Update ids handled lately, in memory (the engine de-duplicates private turns
    durably; group turns are stateless and only de-duplicated here)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def seen(self, update_id: int) -> bool:
        if update_id in self._ids:
            return True
        self._ids[update_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)
        return False
