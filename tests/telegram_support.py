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


async def start_offline_application(
    app: App, stub: BotAPIStub | None = None, flood: FloodGuard | None = None
) -> tuple[Application, BotAPIStub]:
    """The real Telegram adapter for ``app`` on an offline Bot API (``stub``, else a
    fresh one; no HTTP, no rate limiter), initialised, with the start-up calls cleared.
    The caller shuts it down (``offline_application`` does that itself)."""
    stub = stub if stub is not None else BotAPIStub()
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
    return application, stub


@asynccontextmanager
async def offline_application(
    app: App, flood: FloodGuard | None = None, stub: BotAPIStub | None = None
) -> AsyncIterator[tuple[Application, BotAPIStub]]:
    """``start_offline_application`` as a context: yields ``(application, stub)`` and
    shuts the application down after."""
    application, stub = await start_offline_application(app, stub, flood)
    try:
        yield application, stub
    finally:
        await application.shutdown()
