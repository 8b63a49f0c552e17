"""``sanliang run``: the assistant on Telegram (long polling, or a webhook)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Callable
from urllib.parse import urlparse

log = logging.getLogger(__name__)

EXIT_NO_TOKEN = 2
EXIT_BAD_TOKEN = 3
EXIT_UNREACHABLE = 4
PRUNE_EVERY = 6 * 3600.0
STOP_TIMEOUT = 20.0
# What Telegram accepts as a webhook's secret_token.
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def add_parser(
    subparsers: argparse._SubParsersAction,
    common: Callable[[argparse.ArgumentParser], None],
) -> argparse.ArgumentParser:
    run = subparsers.add_parser(
        "run",
        help="run the assistant as a Telegram bot",
        description="Run the assistant on Telegram. The bot token comes from "
        "TELEGRAM_BOT_TOKEN, the file named by TELEGRAM_BOT_TOKEN_FILE, the systemd credential "
        "telegram-token, or the configuration file ([telegram] token). Long polling by "
        "default; --webhook-url switches to a webhook. Stop with Ctrl-C or SIGTERM. "
        f"Exit codes: {EXIT_NO_TOKEN} no token, {EXIT_BAD_TOKEN} token rejected by Telegram, "
        f"{EXIT_UNREACHABLE} Bot API server unreachable.",
    )
    common(run)
    run.add_argument(
        "--api-url",
        metavar="URL",
        help="Bot API server URL prefix the token is appended to (python-telegram-bot's "
        "base_url; default https://api.telegram.org/bot); may contain {token}",
    )
    run.add_argument(
        "--webhook-url",
        metavar="URL",
        help="public HTTPS URL Telegram should post updates to (enables webhook mode)",
    )
    run.add_argument(
        "--listen",
        default="127.0.0.1",
        metavar="ADDR",
        help="webhook mode: address to listen on (default 127.0.0.1, behind a reverse proxy)",
    )
    run.add_argument(
        "--port", type=int, default=8443, help="webhook mode: port to listen on (default 8443)"
    )
    run.add_argument(
        "--secret-token",
        metavar="TOKEN",
        help="webhook mode: secret Telegram sends in each request's header "
        "(required; default: $TELEGRAM_WEBHOOK_SECRET, the file in "
        "$TELEGRAM_WEBHOOK_SECRET_FILE, or the systemd credential telegram-webhook-secret)",
    )
    run.set_defaults(func=cmd_run)
    return run


def cmd_run(args: argparse.Namespace) -> int:
    from bot.config import config_from

    # httpx logs every request URL at INFO, and the URL holds the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    cfg = config_from(args)
    token = (cfg.telegram_token or "").strip()
    if not token:
        print(
            "error: no Telegram bot token. Set TELEGRAM_BOT_TOKEN or TELEGRAM_BOT_TOKEN_FILE, "
            'load the systemd credential telegram-token, or put `token = "..."` under '
            "[telegram] in the configuration file (sanliang.toml).",
            file=sys.stderr,
        )
        return EXIT_NO_TOKEN
    secret = args.secret_token or cfg.webhook_secret or None
    if args.webhook_url and not urlparse(args.webhook_url).scheme.startswith("http"):
        print(f"error: --webhook-url must be an http(s) URL: {args.webhook_url}", file=sys.stderr)
        return 2
    if args.webhook_url and not (secret and WEBHOOK_SECRET.fullmatch(secret)):
        # Without it anyone who finds the URL can post forged updates to the bot.
        print(
            "error: webhook mode needs a secret token of 1-256 characters A-Z a-z 0-9 _ -: "
            "set TELEGRAM_WEBHOOK_SECRET, TELEGRAM_WEBHOOK_SECRET_FILE, the systemd "
            "credential telegram-webhook-secret, or --secret-token "
            '(e.g. "$(openssl rand -hex 32)").',
            file=sys.stderr,
        )
        return EXIT_NO_TOKEN
    return asyncio.run(_run(cfg, token, args, secret))


async def _run(cfg, token: str, args: argparse.Namespace, secret: str | None) -> int:
    from telegram.error import InvalidToken, NetworkError

    from bot.admin.reload import install_sighup
    from bot.app import open_app
    from bot.staff.home import refresh_all
    from bot.telegram.adapter import build_application, channel_of
    from bot.telegram.jobs import ApplicationNotifier, schedule_jobs
    from bot.telegram.runtime import Delivery
    from bot.web.channel import with_web_residents

    app = await open_app(cfg)
    # Signals first: a SIGTERM that arrives while starting up still stops cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            application = build_application(app, token, base_url=args.api_url)
            await application.initialize()  # getMe: checks the token
        except InvalidToken:
            print(
                "error: Telegram rejected the bot token (check TELEGRAM_BOT_TOKEN or the "
                "[telegram] token in the configuration file).",
                file=sys.stderr,
            )
            return EXIT_BAD_TOKEN
        except NetworkError as exc:
            print(
                f"error: cannot reach the Bot API server ({type(exc).__name__}); check the "
                "network or --api-url.",
                file=sys.stderr,
            )
            return EXIT_UNREACHABLE
        try:
            # Messages outside a user's turn (staff reminders, reload reports) go
            # through the adapter's own delivery; the outbox sender delivers the rest.
            app.engine.services.notifier = with_web_residents(app, ApplicationNotifier(application))
            delivery = Delivery(app, application)
            schedule_jobs(application, app)
            install_sighup(app, loop)
            await channel_of(application).setup_commands(application.bot)
            await refresh_all(app.engine)  # each staff member's own command menu
            await application.start()
            inbox = delivery.inbox
            await delivery.start()
            if args.webhook_url:
                receiving = asyncio.ensure_future(
                    inbox.serve_webhook(
                        stop,
                        listen=args.listen,
                        port=args.port,
                        url_path=urlparse(args.webhook_url).path.lstrip("/"),
                        webhook_url=args.webhook_url,
                        secret=secret,
                    )
                )
                mode = f"webhook on {args.listen}:{args.port}"
            else:
                receiving = asyncio.ensure_future(inbox.poll(stop))
                mode = "long polling"
            print(
                f"sanliang: @{application.bot.username} running ({mode}); Ctrl-C to stop",
                file=sys.stderr,
                flush=True,
            )
            try:
                await _wait_for_stop(app, stop, receiving)
            finally:
                # Checkpoint before the store closes: no new updates, the turns in
                # flight finish, then the sender records what it had in flight.
                stop.set()
                with contextlib.suppress(BaseException):
                    await asyncio.wait_for(receiving, STOP_TIMEOUT)
                await delivery.stop(STOP_TIMEOUT)
        finally:
            print("sanliang: stopping", file=sys.stderr, flush=True)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(_stop(application), STOP_TIMEOUT)
        return 0
    finally:
        hup: signal.Signals | None = getattr(signal, "SIGHUP", None)
        for stop_sig in (signal.SIGINT, signal.SIGTERM, hup):
            if stop_sig is not None:
                loop.remove_signal_handler(stop_sig)
        await app.close()


async def _stop(application) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    await application.shutdown()


async def _wait_for_stop(app, stop: asyncio.Event, receiving: asyncio.Future) -> None:
    """Until SIGINT or SIGTERM sets ``stop`` (or receiving updates ends); meanwhile
    forget old update ids now and then."""
    while not stop.is_set() and not receiving.done():
        try:
            await app.store.prune_updates()
        except Exception as exc:  # noqa: BLE001 - housekeeping must not stop the bot
            log.warning("pruning update ids failed: %s", type(exc).__name__)
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({stopper, receiving}, timeout=PRUNE_EVERY, return_when="FIRST_COMPLETED")
        stopper.cancel()
    if receiving.done() and not receiving.cancelled() and receiving.exception() is not None:
        log.error("receiving updates stopped: %s", type(receiving.exception()).__name__)
