"""``sanliang report --html FILE``: how requests are being handled, as one HTML page.

Counts by status, category and area; 及时签收率, 按时办结率 and 满意率; the open
requests (phones masked). Reads the database only; needs no chat app and no content.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.store.backends import is_url


def add_parser(
    subparsers: argparse._SubParsersAction,
    common: Callable[[argparse.ArgumentParser], None],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "report",
        help="write a report of how help requests are handled (HTML)",
        description="Write an HTML report: requests by status, category and area; the share "
        "claimed in time (及时签收率), resolved on time (按时办结率) and rated satisfied "
        "(满意率); the open requests with masked phones. Deadlines and holidays come from "
        "the [deadlines] section of the configuration.",
    )
    common(parser)
    parser.add_argument("--html", required=True, metavar="FILE", help="HTML file to write")
    parser.set_defaults(func=cmd_report)
    return parser


async def build_report(config, now: float | None = None) -> tuple[str, int]:
    """The report's HTML for this configuration's database, and the number of cases."""
    from bot.render import Renderer
    from bot.staff.report import compute, render_html
    from bot.staff.settings import StaffSettings
    from bot.store import Store

    settings = StaffSettings.from_config(config)
    labels = Renderer(config.templates_dir, config.locale).labels()
    store = await Store.open(config.db_path)
    try:
        cases = await store.workflow.all_cases()
        members = await store.staff.members(include_revoked=True)
    finally:
        await store.close()
    holders = {m.user_id: m.label for m in members}
    stats = compute(cases, settings.deadlines, time.time() if now is None else now)
    html = render_html(stats, config.templates_dir, labels, holders, config.locale)
    return html, len(cases)


def cmd_report(args: argparse.Namespace) -> int:
    from bot.config import config_from

    config = config_from(args)
    if (
        config.db_path != ":memory:"
        and not is_url(config.db_path)
        and not Path(config.db_path).exists()
    ):
        print(f"no database at {config.db_path} (use --db PATH)", file=sys.stderr)
        return 1
    html, n = asyncio.run(build_report(config))
    out = Path(args.html)
    out.write_text(html, encoding="utf-8")
    print(f"wrote a report of {n} request(s) to {out}", file=sys.stderr)
    return 0
