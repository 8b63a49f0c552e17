"""The ``sanliang`` command (also ``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import logging
import os
import sys
from collections.abc import Sequence

from bot import __version__
from bot.config import DEFAULT_DB, ConfigError, config_from, load_config
from bot.content import ContentError, load_content
from bot.features import add_subcommands
from bot.store import StoreError


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML configuration file (default: sanliang.toml if present)",
    )
    parser.add_argument(
        "--db",
        metavar="PATH|URL",
        help="SQLite database file, or postgresql://USER@HOST:PORT/DB"
        f" (default: $SANLIANG_DB, else ./{DEFAULT_DB})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sanliang",
        description="三亮助手 sanliang: policies, the list of help and the channels for people "
        "in hardship, in a chat app or a terminal.",
    )
    parser.add_argument("--version", action="version", version=f"sanliang {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    chat = sub.add_parser(
        "chat",
        help="talk to the assistant in this terminal",
        description="Talk to the assistant in the terminal. Buttons show as [1] [2] ...: type the "
        "number or the label. Piped input is read one line per turn, so a conversation can be "
        "scripted: printf '/start\\n1\\n' | sanliang chat",
    )
    _common(chat)
    chat.add_argument(
        "--user", type=int, default=1, metavar="ID", help="user id to talk as (default 1)"
    )
    chat.set_defaults(func=cmd_chat)

    check = sub.add_parser(
        "check",
        help="validate policy texts, intents, standards and channels",
        description="Validate all content. Prints one 'path:line: message' per problem; exit 1 "
        "when there is any error, 0 otherwise.",
    )
    check.add_argument(
        "--warnings",
        action="store_true",
        help="also list warnings (unconfirmed figures, stale topics)",
    )
    check.add_argument(
        "--content", metavar="DIR", help="content root (default: the bundled content)"
    )
    check.set_defaults(func=cmd_check)

    add_subcommands(sub, _common)
    return parser


async def _chat(args: argparse.Namespace) -> int:
    from bot.app import open_app
    from bot.console import run_console

    app = await open_app(config_from(args))
    try:
        return await run_console(app.engine, args.user)
    finally:
        await app.close()


def cmd_chat(args: argparse.Namespace) -> int:
    return asyncio.run(_chat(args))


def cmd_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    root = Path(args.content) if args.content else load_config().content_dir
    _content, report = load_content(root)
    from bot.calendar import CHINA_TZ, calendar_warnings

    # Not content, but what an operator must renew yearly: the official holiday calendar.
    calendar = calendar_warnings(datetime.datetime.now(CHINA_TZ).date())
    for problem in report.errors:
        print(problem)
    if args.warnings:
        for line in [*map(str, report.warnings), *calendar]:
            print(line)
    n_err, n_warn = len(report.errors), len(report.warnings) + len(calendar)
    summary = f"{n_err} error(s), {n_warn} warning(s)"
    if n_warn and not args.warnings:
        summary += " (list them with --warnings)"
    print(summary, file=sys.stderr)
    return 1 if n_err else 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=os.environ.get("SANLIANG_LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from bot.logsafe import quiet_chatty_loggers

    quiet_chatty_loggers()  # no message texts or SQL arguments in the logs at DEBUG
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except ContentError as exc:
        print("the content has errors; fix them (see `sanliang check`):", file=sys.stderr)
        print(exc, file=sys.stderr)
        return 1
    except StoreError as exc:
        # One line, no traceback: a read-only or missing folder, a damaged file, a
        # schema newer than this code (exit codes 5, 6, 7).
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
