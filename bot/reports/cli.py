"""``sanliang report --html FILE [--xlsx FILE] [--from D] [--to D] [--area 市州/区县]``:
how requests are being handled, as one HTML page (tables, weekly trend, inline SVG
charts, the KPIs) and/or an .xlsx workbook of the requests (内部资料, phones masked).

Dates are China time, both ends included, by the day a request was filed. A bad date
or area gets a message in Chinese and exit status 2. Each file written is recorded in
the audit table (operator, scope, rows). Reads the database and the wording only.
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
        help="write a report of how help requests are handled (HTML, .xlsx)",
        description="Write an HTML report (per-area and per-worker tables, a weekly trend, "
        "inline SVG charts; 及时签收率, 按时办结率, 满意率 on each request's first rating, "
        "一次办结率, reopens, overdue, median time to claim and to resolve) and/or an .xlsx "
        "workbook of the requests (responsible area, assignee, dates, reopen count, first "
        "rating; phones masked). Both are marked 内部资料 and every file written is audited. "
        "Deadlines and holidays come from the [deadlines] section of the configuration.",
    )
    common(parser)
    parser.add_argument("--html", metavar="FILE", help="HTML file to write")
    parser.add_argument("--xlsx", metavar="FILE", help=".xlsx workbook of the requests to write")
    parser.add_argument(
        "--from", dest="first", metavar="DATE", help="first day (China time), e.g. 2026-11-01"
    )
    parser.add_argument("--to", dest="last", metavar="DATE", help="last day, included")
    parser.add_argument("--area", metavar="市州[/区县]", help="only this area (now responsible)")
    parser.set_defaults(func=cmd_report)
    return parser


async def run_report(config, args: argparse.Namespace, now: float | None = None) -> tuple[int, str]:
    """(exit status, message) for ``sanliang report``; writes the files asked for."""
    from bot.render import Renderer
    from bot.reports.build import audit_detail, build
    from bot.reports.scope import Period, Scope, ScopeError, parse_area, regions_for
    from bot.staff.settings import StaffSettings
    from bot.store import Store
    from bot.store.staff import Area

    now = time.time() if now is None else now
    renderer = Renderer(config.templates_dir, config.locale)
    try:
        period = Period.parse(args.first, args.last, now)
    except ScopeError as exc:
        return 2, str(renderer.render("reports/bad_date", code=exc.code, value=exc.value))
    area = Area()
    if args.area:
        found = parse_area(args.area, regions_for(config.content_dir))
        if found is None:
            return 2, str(renderer.render("reports/bad_area", value=args.area[:40]))
        area = found
    if not args.html and not args.xlsx:
        return 2, str(renderer.render("reports/no_output"))
    if (
        config.db_path != ":memory:"
        and not is_url(config.db_path)
        and not await asyncio.to_thread(Path(config.db_path).exists)
    ):
        return 1, f"no database at {config.db_path} (use --db PATH)"
    scope = Scope(period, area)
    settings = StaffSettings.from_config(config)
    store = await Store.open(config.db_path)
    try:
        built = await build(
            store,
            renderer,
            settings.deadlines,
            scope,
            now,
            html=bool(args.html),
            xlsx=bool(args.xlsx),
        )
        written = []
        if args.html and built.html is not None:
            await asyncio.to_thread(Path(args.html).write_text, built.html, encoding="utf-8")
            written.append(args.html)
            await store.staff.audit(
                None, "operator", "report", detail=audit_detail(scope, "html", built.cases), now=now
            )
        if args.xlsx and built.xlsx is not None:
            await asyncio.to_thread(Path(args.xlsx).write_bytes, built.xlsx)
            written.append(args.xlsx)
            await store.staff.audit(
                None, "operator", "export", detail=audit_detail(scope, "xlsx", built.cases), now=now
            )
    finally:
        await store.close()
    return 0, f"wrote a report of {built.cases} request(s) to {', '.join(written)} (内部资料)"


def cmd_report(args: argparse.Namespace) -> int:
    from bot.config import config_from

    config = config_from(args)
    status, message = asyncio.run(run_report(config, args))
    print(message, file=sys.stderr)
    return status
