"""The real Telegram adapter on the offline Bot API, for the tests that drive it
(the Telegram, staff and conventions tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram.ext import Application

from bot.app import App
from bot.telegram.adapter import build_application
from bot.telegram.guards import FloodGuard
from bot.telegram.offline import BotAPIStub, OfflineRequest


@asynccontextmanager
async def offline_application(
    app: App, flood: FloodGuard | None = None
) -> AsyncIterator[tuple[Application, BotAPIStub]]:
    """The real Telegram adapter for ``app`` on a fresh offline Bot API (no HTTP, no rate
    limiter), initialised; yields ``(application, stub)`` with the start-up calls
    cleared, and shuts the application down after."""
    stub = BotAPIStub()
    request = OfflineRequest(stub)
    application = build_application(
        app,
        "123456:TEST-TOKEN",
        request=request,
        get_updates_request=request,
        rate_limiter=None,
        flood=flood if flood is not None else FloodGuard(),
    )
    await application.initialize()
    stub.clear()
    try:
        yield application, stub
    finally:
        await application.shutdown()
