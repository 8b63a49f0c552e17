"""Prometheus metrics for the process: turns, failed turns, turn latency, backlogs.

Each app gets its own registry (tests run several apps in one process). Turns are
counted around ``Engine.handle`` whatever channel they come from; a turn the engine
caught failing (it answers ``core/error`` and logs "turn failed") is counted from
that log record, which carries no personal data.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from bot.store.identities import is_allocated

if TYPE_CHECKING:
    from bot.app import App

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def channel_of_user(user_id: int) -> str:
    return "web" if is_allocated(user_id) else "telegram"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.turns = Counter(
            "sanliang_turns", "Turns handled by the engine", ["channel"], registry=self.registry
        )
        self.errors = Counter(
            "sanliang_turn_errors",
            "Turns that failed (the resident got the error message)",
            registry=self.registry,
        )
        self.latency = Histogram(
            "sanliang_turn_seconds",
            "Time the engine took for one turn",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_errors = Counter(
            "sanliang_http_errors",
            "Web requests that failed with a server error",
            registry=self.registry,
        )
        self.rejected = Counter(
            "sanliang_web_rejected",
            "Web requests refused (rate limit, size, CSRF)",
            ["reason"],
            registry=self.registry,
        )
        self.web_backlog = Gauge(
            "sanliang_web_queue_backlog",
            "Messages outside the turn waiting for a web page to show them",
            registry=self.registry,
        )
        self.outbox_backlog = Gauge(
            "sanliang_outbox_backlog",
            "Messages waiting in the outbox to be delivered",
            registry=self.registry,
        )
        self.open_pages = Gauge(
            "sanliang_web_open_pages", "Pages listening for messages", registry=self.registry
        )

    def instrument(self, app: App) -> None:
        """Count every turn of ``app.engine`` (once per engine)."""
        engine = app.engine
        if getattr(engine, "_sanliang_metrics", None) is not None:
            return
        inner = engine.handle

        async def handle(event: Any) -> Any:
            start = time.perf_counter()
            try:
                return await inner(event)
            finally:
                channel = channel_of_user(event.user_id)
                self.turns.labels(channel).inc()
                self.latency.labels(channel).observe(time.perf_counter() - start)

        engine.handle = handle  # type: ignore[method-assign]
        engine._sanliang_metrics = self  # type: ignore[attr-defined]
        handler = _FailedTurns(self)
        logging.getLogger(type(engine).__module__).addHandler(handler)
        self._handler: _FailedTurns | None = handler

    def close(self) -> None:
        handler = getattr(self, "_handler", None)
        if handler is not None:
            for name in list(logging.Logger.manager.loggerDict):
                logging.getLogger(name).removeHandler(handler)
            self._handler = None

    async def refresh(self, app: App, open_pages: int) -> None:
        self.web_backlog.set(await app.store.web.backlog())
        outbox = getattr(app.store, "outbox", None)
        backlog = getattr(outbox, "backlog", None)
        if backlog is not None:
            self.outbox_backlog.set(await backlog())
        self.open_pages.set(open_pages)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class _FailedTurns(logging.Handler):
    def __init__(self, metrics: Metrics) -> None:
        super().__init__(logging.ERROR)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("turn failed"):
            self.metrics.errors.inc()
