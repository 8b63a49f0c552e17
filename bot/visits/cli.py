"""``sanliang households import FILE`` (the roster) and ``sanliang visits open |
assign | report | export`` (campaigns, coverage, the 台账). They read and write the
database directly; messages for the people who run them are in
``templates/<locale>/labels/visits.yml``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.store.backends import is_url


def add_parser(
    subparsers: argparse._SubParsersAction,
    common: Callable[[argparse.ArgumentParser], None],
) -> argparse.ArgumentParser:
    households = subparsers.add_parser(
        "households",
        help="the household roster for home visits (走访)",
        description="Import the roster of households to visit.",
    )
    hsub = households.add_subparsers(dest="households_command", metavar="ACTION", required=True)
    imp = hsub.add_parser(
        "import",
        help="import a roster (.csv in UTF-8, or .xlsx)",
        description="Import a roster with the header 户主姓名,身份证后四位,市州,区县,乡镇街道,"
        "村社区,地址,电话,类别,人数,备注. Every row is checked first; any problem: exit 2, one "
        "'FILE:LINE: message' per problem on stderr, nothing imported. Importing the same "
        "household again updates it in place.",
    )
    common(imp)
    imp.add_argument("file", metavar="FILE")
    imp.set_defaults(func=cmd_import)

    visits = subparsers.add_parser(
        "visits",
        help="home-visit campaigns: open, assign, report, export",
        description="Home-visit campaigns (走访): open one, assign households to workers, "
        "report coverage, export the 台账.",
    )
    vsub = visits.add_subparsers(dest="visits_command", metavar="ACTION", required=True)
    opened = vsub.add_parser("open", help="open a campaign and assign its households")
    common(opened)
    opened.add_argument("--name", required=True)
    opened.add_argument("--start", required=True, metavar="YYYY-MM-DD")
    opened.add_argument("--deadline", required=True, metavar="YYYY-MM-DD")
    opened.add_argument(
        "--area", action="append", required=True, metavar="AREA", help="市州 or 市州/区县"
    )
    opened.set_defaults(func=cmd_open)
    assign = vsub.add_parser(
        "assign", help="assign households nobody has yet (new roster rows, new workers)"
    )
    common(assign)
    assign.add_argument("--campaign", required=True, metavar="NAME")
    assign.set_defaults(func=cmd_assign)
    report = vsub.add_parser("report", help="coverage as JSON (stdout) or an HTML file")
    common(report)
    out = report.add_mutually_exclusive_group(required=True)
    out.add_argument("--json", action="store_true", help="print JSON on stdout")
    out.add_argument("--html", metavar="FILE", help="write an HTML page")
    report.add_argument("--campaign", metavar="NAME")
    report.add_argument("--area", metavar="AREA", default="", help="市州 or 市州/区县")
    report.set_defaults(func=cmd_report)
    export = vsub.add_parser("export", help="the 台账 of an area as .xlsx")
    common(export)
    export.add_argument("--xlsx", required=True, metavar="FILE")
    export.add_argument("--area", required=True, metavar="AREA", help="市州 or 市州/区县")
    export.set_defaults(func=cmd_export)
    return visits


def _labels(config: Any) -> Any:
    from bot.render import Renderer

    return Renderer(config.templates_dir, config.locale)


def load_regions(config: Any) -> dict[str, list[str]]:
    """The 市州 and 区县 of the content's regions.yml (only the shipped 市州)."""
    import yaml

    from bot.domain.regions import CITIES
    from bot.manifest import content_path

    data = yaml.safe_load(content_path(config.content_dir, "regions").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return {}
    return {
        str(c): [str(d) for d in (v or [])]
        for c, v in data.items()
        if str(c) in CITIES and isinstance(v, list)
    }


async def _store(config: Any):
    from bot.store import Store

    return await Store.open(config.db_path)


# -- households import ---------------------------------------------------------------


async def import_file(
    config: Any, path: Path, now: float | None = None
) -> tuple[int, list[str], str]:
    """(exit code, problem lines for stderr, the summary for stdout)."""
    from bot.visits.roster import read_roster

    r = _labels(config)
    roster = read_roster(path, load_regions(config))
    if roster.problems:
        lines = [
            f"{path}:{p.line}: " + r.label(f"visits.import.{p.code}", **p.values)
            for p in roster.problems
        ]
        if roster.more_problems:
            lines.append(f"{path}: " + r.label("visits.import.more", n=roster.more_problems))
        lines.append(f"{path}: " + r.label("visits.import.nothing"))
        return 2, lines, ""
    store = await _store(config)
    try:
        counts = await store.visits.import_households(
            roster.rows, time.time() if now is None else now
        )
    finally:
        await store.close()
    summary = r.label(
        "visits.import.summary",
        total=len(roster.rows),
        added=counts.added,
        updated=counts.updated,
        unchanged=counts.unchanged,
    )
    return 0, [], summary


def cmd_import(args: argparse.Namespace) -> int:
    from bot.config import config_from

    config = config_from(args)
    code, problems, summary = asyncio.run(import_file(config, Path(args.file)))
    for line in problems:
        print(line, file=sys.stderr)
    if summary:
        print(summary)
    return code


# -- campaigns -----------------------------------------------------------------------


async def _service(config: Any, store: Any):
    from bot.staff.service import StaffService
    from bot.staff.settings import StaffSettings
    from bot.visits.service import VisitService, VisitSettings

    r = _labels(config)
    staff = StaffService(store, r, StaffSettings.from_config(config), clock=time.time)
    return VisitService(store, r, staff, VisitSettings.from_config(config), clock=time.time)


async def open_campaign(config: Any, args: argparse.Namespace) -> tuple[int, str]:
    r = _labels(config)
    store = await _store(config)
    try:
        svc = await _service(config, store)
        out = await svc.open_campaign(
            args.name, args.start, args.deadline, args.area, load_regions(config), None
        )
        if out.campaign is None:
            why = out.why + (": " + "、".join(out.bad) if out.bad else "")
            return 2, r.label("visits.cli.not_opened", why=why)
        await store.staff.audit(
            None, "operator", "campaign_open", detail=f"campaign={out.campaign.id}"
        )
        return 0, r.label(
            "visits.cli.opened",
            name=out.campaign.name,
            assigned=out.assigned,
            unassigned=out.unassigned,
        )
    finally:
        await store.close()


def cmd_open(args: argparse.Namespace) -> int:
    from bot.config import config_from

    code, line = asyncio.run(open_campaign(config_from(args), args))
    print(line, file=sys.stderr if code else sys.stdout)
    return code


async def assign_campaign(config: Any, name: str) -> tuple[int, str]:
    r = _labels(config)
    store = await _store(config)
    try:
        svc = await _service(config, store)
        campaign = await store.visits.campaign(name)
        if campaign is None:
            return 2, r.label("visits.cli.no_campaign", name=name)
        assigned, unassigned = await svc.add_tasks(campaign)
        return 0, r.label(
            "visits.cli.opened", name=campaign.name, assigned=assigned, unassigned=unassigned
        )
    finally:
        await store.close()


def cmd_assign(args: argparse.Namespace) -> int:
    from bot.config import config_from

    code, line = asyncio.run(assign_campaign(config_from(args), args.campaign))
    print(line, file=sys.stderr if code else sys.stdout)
    return code


# -- report and export ----------------------------------------------------------------


async def report_figures(
    config: Any, campaign: str | None, area: str, now: float | None = None
) -> dict[str, Any] | None:
    from bot.visits.report import compute

    store = await _store(config)
    try:
        return await compute(store, time.time() if now is None else now, campaign, area)
    finally:
        await store.close()


def render_html(config: Any, figures: dict[str, Any]) -> str:
    return str(_labels(config).render("visits/report_page", f=figures))


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
    figures = asyncio.run(report_figures(config, args.campaign, args.area.strip()))
    if figures is None:
        print(_labels(config).label("visits.cli.no_campaign", name=args.campaign), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
    else:
        Path(args.html).write_text(render_html(config, figures), encoding="utf-8")
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


async def export_ledger(config: Any, area: str, path: Path) -> int:
    """Write the area's 台账: one row per household with its visit and actions."""
    from openpyxl import Workbook

    from bot.calendar import fmt_when
    from bot.store.visits import Action
    from bot.visits.steps import needs

    r = _labels(config)
    city, _, district = area.partition("/")
    store = await _store(config)
    try:
        rows = await store.visits.ledger(city, district)
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = r.label("visits.ledger.sheet")
        sheet.append([r.label(f"visits.ledger.{c}") for c in LEDGER_COLUMNS])
        for row in rows:
            try:
                answers = json.loads(row["answers"] or "{}")
            except ValueError:
                answers = {}
            actions: list[Action] = await store.visits.actions_of(row["id"])
            found = [r.label(f"visits.action.{k}") for k in needs(answers)]
            acts = [
                (a.need if a.kind == "plan" else r.label(f"visits.action.{a.kind}"))
                + f"（{r.label(f'visits.astatus.{a.status}')}，{a.due_date}）"
                for a in actions
            ]
            status = row["status"] or "none"
            sheet.append(
                [
                    row["head_name"],
                    row["id_tail"],
                    row["city"],
                    row["district"],
                    row["township"],
                    row["village"],
                    row["address"],
                    row["phone"],
                    row["categories"],
                    row["size"],
                    row["campaign"] or "",
                    r.label(f"visits.tstatus.{status}"),
                    r.label(f"visits.ans.met.{row['met']}") if row["met"] else "",
                    fmt_when(row["finished_at"], year=True) if row["finished_at"] else "",
                    "、".join(found),
                    "；".join(acts),
                    r.label("visits.ledger.yes") if row["plan"] else "",
                ]
            )
        book.save(path)
        await store.staff.audit(None, "operator", "ledger_export", detail=f"n={len(rows)}")
        return len(rows)
    finally:
        await store.close()


LEDGER_COLUMNS = (
    "name",
    "id_tail",
    "city",
    "district",
    "township",
    "village",
    "address",
    "phone",
    "categories",
    "size",
    "campaign",
    "status",
    "met",
    "visited",
    "needs",
    "actions",
    "plan",
)


def cmd_export(args: argparse.Namespace) -> int:
    from bot.config import config_from

    config = config_from(args)
    area = args.area.strip()
    city, _, district = area.partition("/")
    regions = load_regions(config)
    if city not in regions or (district and district not in regions[city]):
        print(_labels(config).label("visits.cli.bad_area", area=area[:30]), file=sys.stderr)
        return 2
    n = asyncio.run(export_ledger(config, area, Path(args.xlsx)))
    print(f"wrote {n} household(s) to {args.xlsx}", file=sys.stderr)
    return 0
