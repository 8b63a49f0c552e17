"""``sanliang gaps [--since DATE] [--json]``: the questions the assistant could not
answer or whose answer got 没帮助, grouped by need, biggest group first.

``--json`` prints one object: {"since": "YYYY-MM-DD", "groups": [{"representative",
"count", "fallback", "unhelpful", "first", "last", "phrasings", "candidates"}, ...]}.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from collections.abc import Callable

from bot.admin.gaps import DEFAULT_DAYS, GapGroup, gap_report, since_timestamp
from bot.calendar import CHINA_TZ


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date like 2026-01-31: {value!r}") from None


def add_parser(subparsers, common) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gaps",
        help="questions the assistant could not answer, grouped by need",
        description="List the questions that went to fallback (or 都不是) or got 没帮助, "
        "grouped so that phrasings of one need sit together, with counts and first/last "
        f"dates. Default: the last {DEFAULT_DAYS} days.",
    )
    common(parser)
    parser.add_argument(
        "--since", type=_date, metavar="DATE", help="from this day on (YYYY-MM-DD, China time)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object (for other tools)")
    parser.add_argument(
        "--content", metavar="DIR", help="content root for the normaliser (default: bundled)"
    )
    parser.set_defaults(func=cmd_gaps)
    return parser


def _normalizer(root) -> Callable[[str], str] | None:
    from bot.content import load_content

    content, report = load_content(root)
    if report.errors:
        return None  # the plain fallback normalisation still groups sensibly
    kb = content.parts.get("knowledge")
    return getattr(kb, "normalize", None)


async def _report(args: argparse.Namespace) -> tuple[float, list[GapGroup]]:
    from pathlib import Path

    from bot.config import config_from
    from bot.store import Store

    config = config_from(args)
    root = Path(args.content) if args.content else config.content_dir
    normalize = _normalizer(root)
    since = since_timestamp(args.since)
    store = await Store.open(config.db_path)
    try:
        return since, await gap_report(store, since, normalize)
    finally:
        await store.close()


def cmd_gaps(args: argparse.Namespace) -> int:
    since, groups = asyncio.run(_report(args))
    since_day = dt.datetime.fromtimestamp(since, CHINA_TZ).date().isoformat()
    if args.json:
        print(
            json.dumps(
                {"since": since_day, "groups": [g.to_json() for g in groups]}, ensure_ascii=False
            )
        )
        return 0
    print(f"since {since_day}: {len(groups)} group(s), {sum(g.count for g in groups)} question(s)")
    for i, g in enumerate(groups, 1):
        dates = g.to_json()
        span = (
            dates["first"]
            if dates["first"] == dates["last"]
            else f"{dates['first']}..{dates['last']}"
        )
        print(
            f"{i:3d}. {g.representative}  [{g.count}: fallback {g.fallback}, "
            f"unhelpful {g.unhelpful}; {span}]"
        )
        for p in g.phrasings[1:]:
            print(f"       ~ {p}")
        if g.candidates:
            print(f"       topics: {', '.join(g.candidates)}")
    return 0
