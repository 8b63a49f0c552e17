"""The report as one self-contained HTML page (tables and inline SVG charts, drawn by
``templates/zh-CN/reports/report.html.j2``) and the requests as an .xlsx workbook
(XlsxWriter, streamed row by row). Both are marked 内部资料; phone numbers are masked
(DESIGN: masked wherever more than one person can see them, and a file is passed on).

The words (titles, column headers, status and category names) come from the wording
snapshot (``templates/``): a reload changes them with the rest.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from bot.calendar import CHINA_TZ, fmt_when
from bot.domain.cases import Case, status_name
from bot.render import mask_phone
from bot.reports import charts
from bot.reports.kpi import Figures, Stats
from bot.reports.scope import Scope

MAX_OPEN_ROWS = 500  # open requests listed in the page; the workbook has them all
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
XLSX_COLUMNS = (
    "ref",
    "category",
    "status",
    "urgent",
    "area",
    "region",
    "assignee",
    "created",
    "first_claimed",
    "due",
    "resolved",
    "reopen_count",
    "first_rating",
    "rating",
    "phone",
)
_DATE_COLUMNS = {"created", "first_claimed", "due", "resolved"}


class Names:
    """Status, category, rating and column names from the wording snapshot."""

    def __init__(self, renderer: Any) -> None:
        self.r = renderer

    def _label(self, key: str, fallback: str) -> str:
        return self.r.label(key) if self.r.has_label(key) else fallback

    def status(self, code: str) -> str:
        return status_name(self.r, code)  # the one name of each status

    def category(self, code: str) -> str:
        key = f"cases.cat.{code}"
        return self._label(key, self._label(f"staff.cat.{code}", code))

    def rating(self, code: str | None) -> str:
        return "" if not code else self._label(f"staff.rate.{code}", code)

    def column(self, code: str) -> str:
        return self._label(f"reports.col.{code}", code)


@dataclass(frozen=True)
class Meta:
    """Who the report is for and what it covers (shown on the page and in the file)."""

    scope: Scope
    generated_at: float
    by: str = ""  # who asked for it (a staff label), empty from the command line

    @property
    def first(self) -> str:
        return fmt_when(self.scope.period.first, year=True)

    @property
    def last(self) -> str:
        return fmt_when(self.scope.period.last, year=True)


def _figures_row(f: Figures) -> dict[str, Any]:
    return {
        "total": f.total,
        "open": f.open,
        "done": f.done,
        "claim_rate": f.claim_rate,
        "resolve_rate": f.resolve_rate,
        "satisfaction": f.satisfaction,
        "first_time": f.first_time,
        "reopens": f.reopens,
        "reopened_cases": f.reopened_cases,
        "overdue": f.overdue,
        "overdue_open": f.overdue_open,
        "overdue_done": f.overdue_done,
        "median_claim": f.median_claim_hours,
        "median_resolve": f.median_resolve_hours,
    }


def render_html(stats: Stats, meta: Meta, renderer: Any, holders: dict[int, str]) -> str:
    names = Names(renderer)
    o = stats.overall
    rates = charts.percent_bars(
        [
            (renderer.label("reports.kpi.claim"), o.claim_rate.value),
            (renderer.label("reports.kpi.resolve"), o.resolve_rate.value),
            (renderer.label("reports.kpi.satisfaction"), o.satisfaction.value),
            (renderer.label("reports.kpi.first_time"), o.first_time.value),
        ]
    )
    areas = charts.horizontal_bars(
        [(name, f.total, str(f.total)) for name, f in stats.by_area[:30]]
    )
    now = stats.generated_at
    open_rows = [
        {
            "ref": c.ref,
            "category": names.category(c.category),
            "area": c.area,
            "status": names.status(c.status),
            "urgent": c.urgent,
            "created": fmt_when(c.created_at, now=now),
            "due": fmt_when(c.due_at, deadline=True, now=now),
            "overdue": c.due_at is not None and c.due_at <= now,
            "phone": mask_phone(c.phone) if c.phone else "",
            "holder": holders.get(c.assignee_id, f"#{c.assignee_id}") if c.assignee_id else "",
        }
        for c in stats.open_cases[:MAX_OPEN_ROWS]
    ]
    return renderer.render(
        "reports/report.html",
        generated=fmt_when(now, year=True),
        first=meta.first,
        last=meta.last,
        area=meta.scope.area_name,
        by=meta.by,
        total=o.total,
        kpi=_figures_row(o),
        first_ratings=[
            {"code": k, "name": names.rating(k), "n": n} for k, n in o.first_ratings.items()
        ],
        by_status=[{"code": s, "name": names.status(s), "n": n} for s, n in stats.by_status],
        by_category=[{"code": k, "name": names.category(k), "n": n} for k, n in stats.by_category],
        by_area=[{"name": name, **_figures_row(f)} for name, f in stats.by_area],
        by_worker=[
            {"id": uid, "name": holders.get(uid, f"#{uid}"), **_figures_row(f)}
            for uid, f in stats.by_worker
        ],
        weeks=[
            {"monday": f"{w.monday:%Y-%m-%d}", "filed": w.filed, "resolved": w.resolved}
            for w in stats.weeks
        ],
        trend=charts.trend(stats.weeks),
        rates_chart=rates,
        areas_chart=areas,
        areas_shown=min(len(stats.by_area), 30),
        open_cases=open_rows,
        open_total=len(stats.open_cases),
    )


def _local(ts: float | None) -> dt.datetime | None:
    """A China-time moment without its zone (Excel has none), to the minute."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, CHINA_TZ).replace(tzinfo=None, second=0, microsecond=0)


def case_row(c: Case, names: Names, holders: dict[int, str]) -> dict[str, Any]:
    return {
        "ref": c.ref,
        "category": names.category(c.category),
        "status": names.status(c.status),
        "urgent": names.column("urgent_yes") if c.urgent else "",
        "area": c.area,
        "region": c.region,
        "assignee": holders.get(c.assignee_id, f"#{c.assignee_id}") if c.assignee_id else "",
        "created": _local(c.created_at),
        "first_claimed": _local(c.first_claimed_at),
        "due": _local(c.due_at),
        "resolved": _local(c.resolved_at),
        "reopen_count": c.reopen_count,
        "first_rating": names.rating(c.first_rating),
        "rating": names.rating(c.rating),
        "phone": mask_phone(c.phone) if c.phone else "",
    }


def render_xlsx(cases: list[Case], meta: Meta, renderer: Any, holders: dict[int, str]) -> bytes:
    """The requests as a workbook (XlsxWriter, rows streamed): sheet 1 says what it is
    (内部资料, the period and area, when and for whom), sheet 2 has one row per request.
    Text is always written as text: a name typed as ``=...`` is never a formula."""
    import xlsxwriter

    names = Names(renderer)
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(
        buf,
        {
            "in_memory": True,
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    internal = renderer.label("reports.internal")
    wb.set_properties(
        {
            "title": renderer.label("reports.xlsx.title"),
            "subject": internal,
            "keywords": internal,
            "comments": internal,
        }
    )
    mark = wb.add_format({"bold": True, "font_color": "#B00000", "font_size": 14})
    bold = wb.add_format({"bold": True})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    about = wb.add_worksheet(renderer.label("reports.xlsx.about_sheet"))
    about.write_string(0, 0, internal, mark)
    text = renderer.render(
        "reports/xlsx_about",
        generated=fmt_when(meta.generated_at, year=True),
        first=meta.first,
        last=meta.last,
        area=meta.scope.area_name,
        by=meta.by,
        n=len(cases),
    )
    for i, line in enumerate(str(text).splitlines(), start=1):
        about.write_string(i, 0, line)
    about.set_column(0, 0, 90)

    sheet = wb.add_worksheet(renderer.label("reports.xlsx.cases_sheet"))
    sheet.freeze_panes(1, 0)
    for col, code in enumerate(XLSX_COLUMNS):
        sheet.write_string(0, col, names.column(code), bold)
        sheet.set_column(col, col, 18 if code in _DATE_COLUMNS or code == "area" else 12)
    for row, c in enumerate(cases, start=1):
        values = case_row(c, names, holders)
        for col, code in enumerate(XLSX_COLUMNS):
            value = values[code]
            if value is None or value == "":
                continue
            if code in _DATE_COLUMNS:
                sheet.write_datetime(row, col, value, when)
            elif isinstance(value, str):
                sheet.write_string(row, col, value)
            else:
                sheet.write_number(row, col, value)
    for ws in (about, sheet):
        ws.set_header(f"&C{internal}")  # printed pages say it too
        ws.set_footer("&C&P / &N")
    wb.close()
    return buf.getvalue()
