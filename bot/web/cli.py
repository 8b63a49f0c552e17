"""``sanliang web``: the mobile chat page (and, optionally, the Telegram webhook)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

STOP_TIMEOUT = 20.0


def add_parser(
    subparsers: argparse._SubParsersAction,
    common: Callable[[argparse.ArgumentParser], None],
) -> argparse.ArgumentParser:
    web = subparsers.add_parser(
        "web",
        help="serve the mobile chat page (and optionally the Telegram webhook)",
        description="Serve the assistant as a mobile web page at / (for a link, a QR code or "
        "a WeChat menu), with /healthz and /metrics. Put it behind an HTTPS reverse proxy. "
        "With a Telegram token and --telegram-webhook-url the same process also receives "
        "Telegram's webhook at /telegram (secret: $TELEGRAM_WEBHOOK_SECRET).",
    )
    common(web)
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    web.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    web.add_argument(
        "--telegram-webhook-url",
        metavar="URL",
        help="public HTTPS URL of this server's /telegram path: also serve the Telegram bot",
    )
    web.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        metavar="IPS",
        help="proxies whose X-Forwarded-For/-Proto are trusted (default 127.0.0.1)",
    )
    web.add_argument(
        "--api-url", metavar="URL", help="Bot API server URL prefix (see `sanliang run --help`)"
    )
    web.set_defaults(func=cmd_web)
    return web


def cmd_web(args: argparse.Namespace) -> int:
    from bot.cli import config_from

    logging.getLogger("httpx").setLevel(logging.WARNING)
    cfg = config_from(args)
    return asyncio.run(_serve(cfg, args))


async def _serve(cfg, args: argparse.Namespace) -> int:
    import uvicorn

    from bot.app import open_app
    from bot.web.server import WebSettings, build_asgi

    settings = WebSettings.from_config(cfg.section("web"))
    # $TELEGRAM_WEBHOOK_SECRET, its _FILE, or the systemd credential (bot.config).
    settings.telegram_secret = cfg.webhook_secret or settings.telegram_secret
    app = await open_app(cfg)
    application = None
    delivery = None
    try:
        if args.telegram_webhook_url:
            application = await _telegram(app, cfg, args, settings)
            if application is None:
                return 2
        inbox = None
        if application is not None:
            from bot.telegram.inbox import TelegramInbox

            inbox = TelegramInbox(application, app.store)
        asgi = build_asgi(app, settings, telegram_inbox=inbox)
        if application is not None:
            from bot.telegram.jobs import schedule_jobs
            from bot.telegram.runtime import Delivery

            # Reminders and digests reach web residents too (through the router).
            schedule_jobs(application, app, notifier=asgi.state.web.router)
            # After the router is in place: the sender's notices to web residents go to
            # their page. Staff cards of requests filed on the page go out from here.
            delivery = Delivery(app, application, inbox=inbox)
            await delivery.start()
        server = uvicorn.Server(
            uvicorn.Config(
                asgi,
                host=args.host,
                port=args.port,
                access_log=False,  # our own access log has no addresses or queries
                proxy_headers=True,
                forwarded_allow_ips=args.forwarded_allow_ips,
                log_level="warning",
                timeout_graceful_shutdown=5,
            )
        )
        print(
            f"sanliang: web chat on http://{args.host}:{args.port}/ ; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        await server.serve()
        return 0
    finally:
        if delivery is not None:
            # The server stopped taking requests: the turns in flight finish, then the
            # sender records what it had in flight, before the store closes.
            await delivery.stop(STOP_TIMEOUT)
        if application is not None:
            await _stop_telegram(application)
        await app.close()


async def _telegram(app, cfg, args, settings):
    """The Telegram Application fed by this server's webhook route."""
    from bot.telegram.adapter import build_application, channel_of
    from bot.telegram.cli import WEBHOOK_SECRET
    from bot.telegram.jobs import ApplicationNotifier

    token = (cfg.telegram_token or "").strip()
    secret = settings.telegram_secret or ""
    if not token or not WEBHOOK_SECRET.fullmatch(secret):
        print(
            "error: --telegram-webhook-url needs a bot token (TELEGRAM_BOT_TOKEN) and a "
            "secret of 1-256 characters A-Z a-z 0-9 _ - (TELEGRAM_WEBHOOK_SECRET, its _FILE, "
            "or the systemd credential telegram-webhook-secret).",
            file=sys.stderr,
        )
        return None
    application = build_application(app, token, base_url=args.api_url)
    await application.initialize()
    app.engine.services.notifier = ApplicationNotifier(application)
    await channel_of(application).setup_commands(application.bot)
    await application.bot.set_webhook(
        args.telegram_webhook_url,
        secret_token=settings.telegram_secret,
        allowed_updates=["message", "callback_query"],
    )
    await application.start()
    return application


async def _stop_telegram(application) -> None:
    if application.running:
        await application.stop()
    await application.shutdown()
