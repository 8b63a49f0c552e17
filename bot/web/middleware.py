"""Middleware of the web app: security headers on every response, and an access log
without personal data. Both are pure ASGI, so streaming responses stay streaming."""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.web.metrics import Metrics

log = logging.getLogger("bot.web")

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Pure ASGI middleware (so that streaming responses stay streaming)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                for name, value in SECURITY_HEADERS:
                    if name not in names:
                        message["headers"].append((name, value))
            await send(message)

        await self.app(scope, receive, with_headers)


class AccessLog:
    """One line per request: method, the route (never the query), status, time. No
    addresses, no cookies, no bodies."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def record(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            if status >= 500:
                self.metrics.http_errors.inc()
            path = scope.get("path", "")
            if path.startswith("/static/"):
                path = "/static/…"
            log.info(
                "%s %s %d %.0fms",
                scope.get("method"),
                path,
                status,
                (time.perf_counter() - start) * 1000,
            )
