"""Issue #14 point 7: ``sanliang report`` and ``/report``. The figures on a history
made through the real transitions (first-rating 满意率, 一次办结率, reopens, overdue,
medians), the page parsed back (tables, and the inline SVG with xml.etree), the
date range and the area, the .xlsx read back with openpyxl, and the audit rows."""

from __future__ import annotations

import csv
import html.parser
import io
import re
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import openpyxl
import pytest

from bot.cli import main
from bot.domain.regions import Area
from bot.render import Renderer
from bot.reports.cli import run_report
from bot.reports.output import XLSX_COLUMNS, Meta, render_xlsx
from bot.reports.scope import Scope
from tests.staff_support import (
    ADMIN,
    CHAT_WUHOU,
    JINJIANG,
    MASKED,
    PHONE,
    RESIDENT,
    WUHOU_A,
    add_worker,
    new_case,
    open_staff_app,
    press,
    service,
    staff_config,
    ts,
    write,
)

SVG = "{http://www.w3.org/2000/svg}"
NOW = ts(2025, 1, 20, 10)


class ReportParser(html.parser.HTMLParser):
    """Text by element id, and rows by their data-* attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.rows: dict[tuple[str, str], list[str]] = {}
        self._id: str | None = None
        self._row: tuple[str, str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs and tag in ("span", "td", "p"):
            self._id = attrs["id"]
            self.by_id[self._id] = ""
        if tag == "tr":
            for key, value in attrs.items():
                if key.startswith("data-"):
                    self._row = (key[5:], value)
                    self.rows[self._row] = []
        if tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("span", "td", "p"):
            self._id = None
        if tag == "td" and self._row is not None and self._cell is not None:
            self.rows[self._row].append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._id is not None:
            self.by_id[self._id] += data
        if self._cell is not None:
            self._cell.append(data)

    def table(self, kind: str) -> dict[str, list[str]]:
        return {k[1]: v for k, v in self.rows.items() if k[0] == kind}


def parse(text: str) -> ReportParser:
    p = ReportParser()
    p.feed(text)
    return p


def svgs(text: str) -> dict[str, ET.Element]:
    """Every inline chart, parsed as XML (a chart that is not well-formed fails here)."""
    found = {}
    for m in re.finditer(r"<svg\b.*?</svg>", text, re.S):
        root = ET.fromstring(m.group(0))  # noqa: S314 - our own output, under test
        found[root.get("id")] = root
    return found


@pytest.fixture
async def seeded(tmp_path):
    """Six requests with known outcomes (Monday 6 Jan 2025 10:00, one on 15 Jan)."""
    app, clock = await open_staff_app(tmp_path)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(app, JINJIANG, "成都市/锦江区", "王五")
    a, _ = await new_case(app, category="living")
    b, _ = await new_case(app, category="housing")
    c, _ = await new_case(app, category="safety", urgent=True)
    d, _ = await new_case(app, category="living", district="锦江区")
    e, _ = await new_case(app, category="jobs")

    async def resolve(case, when):
        clock.set(when)
        await write(app, WUHOU_A, case.id, "res", "已办好")

    clock.set(ts(2025, 1, 6, 11))
    await press(app, WUHOU_A, f"st:claim:{a.id}", group=CHAT_WUHOU)  # in time, after 1 h
    clock.set(ts(2025, 1, 6, 12))
    await press(app, WUHOU_A, f"st:claim:{c.id}")  # urgent, same day: in time, after 2 h
    await resolve(c, ts(2025, 1, 6, 15))  # on time
    clock.set(ts(2025, 1, 6, 15, 30))
    await press(app, RESIDENT, f"rv:r:{c.id}:u")  # 不满意: reopened, due end of Tuesday
    await resolve(a, ts(2025, 1, 7, 10))  # on time, after 24 h
    await press(app, RESIDENT, f"rv:r:{a.id}:s")
    await resolve(c, ts(2025, 1, 8, 10))  # again, after its new deadline: late, 48 h
    await press(app, RESIDENT, f"rv:r:{c.id}:s")  # now 满意: the FIRST rating still counts
    await app.store.cases.change_status(e.id, "withdrawn", "resident", RESIDENT)
    clock.set(ts(2025, 1, 9, 10))
    await press(app, WUHOU_A, f"st:claim:{b.id}")  # Thursday: claimed late, after 72 h
    await resolve(b, ts(2025, 1, 10, 10))  # due Friday 00:00: late, 96 h
    await press(app, RESIDENT, f"rv:r:{b.id}:b")
    clock.set(ts(2025, 1, 15, 10))
    f, _ = await new_case(app, category="medical", district="锦江区")
    svc = service(app)
    # Sent on by an admin to 武侯区: responsible there now, the resident lives in 锦江区.
    out = await svc.transfer(
        await svc.actor(ADMIN), f.id, Area("成都市", "武侯区"), "居民住在武侯区"
    )
    assert out.ok
    await app.close()
    return tmp_path, {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def args(**kw):
    base = {"html": None, "xlsx": None, "first": None, "last": None, "area": None}
    return SimpleNamespace(**{**base, **kw})


async def report_html(db_dir, tmp_path, **kw) -> tuple[int, str, str]:
    out = tmp_path / "r.html"
    status, message = await run_report(
        staff_config(str(db_dir / "staff.db")), args(html=str(out), **kw), now=NOW
    )
    return status, message, out.read_text(encoding="utf-8") if out.exists() else ""


async def test_kpis_on_a_constructed_history(seeded, tmp_path):
    db_dir, cases = seeded
    status, _, page = await report_html(db_dir, tmp_path)
    assert status == 0
    p = parse(page)
    assert p.by_id["total"] == "6"
    assert "内部资料" in p.by_id["internal"]
    # Claimed in time: a, c; late: b (claimed Thursday), d and f (still waiting past
    # their claim target). e withdrawn: not counted.
    assert p.by_id["claim-rate"] == "40.0%"
    # On time: a; late: b, c (second resolution after its new deadline), d (open past
    # its deadline). f is not yet due.
    assert p.by_id["resolve-rate"] == "25.0%"
    # First ratings: a 满意, b 基本满意, c 不满意 (its later 满意 does not count).
    assert p.by_id["satisfaction-rate"] == "66.7%"
    # Resolved at least once: a, b, c; never reopened: a, b.
    assert p.by_id["first-time-rate"] == "66.7%"
    assert p.by_id["reopens"] == "1"
    # Overdue: d open past its deadline; b and c resolved after theirs.
    assert p.by_id["overdue"] == "3"
    # Hours to the first claim: a 1, c 2, b 72 -> median 2 h; to resolve: a 24, c 48,
    # b 96 -> median 48 h = 2 days.
    assert p.by_id["median-claim"] == "2.0 小时"
    assert p.by_id["median-resolve"] == "2.0 天"
    ratings = {k: int(v[1]) for k, v in p.table("rating").items()}
    assert ratings == {"satisfied": 1, "basic": 1, "unsatisfied": 1}
    status_rows = {k: int(v[1]) for k, v in p.table("status").items()}
    assert status_rows["closed"] == 3 and status_rows["withdrawn"] == 1
    assert status_rows["new"] == 1 and status_rows["transferred"] == 1
    # Per area: the area now responsible (f counts for 武侯区, not 锦江区).
    area = p.table("area")
    assert set(area) == {"成都市/武侯区", "成都市/锦江区"}
    assert area["成都市/武侯区"][1] == "5" and area["成都市/锦江区"][1] == "1"
    assert area["成都市/锦江区"][4] == "0.0%"  # d: open past its deadline
    # Per worker: 张三 holds a, b, c.
    worker = p.table("worker")
    assert list(worker) == [str(WUHOU_A)]
    assert worker[str(WUHOU_A)][0] == "张三" and worker[str(WUHOU_A)][1] == "3"
    assert worker[str(WUHOU_A)][5] == "66.7%"  # 满意率 on first ratings
    open_rows = p.table("ref")
    assert set(open_rows) == {cases["d"].ref, cases["f"].ref}
    assert all(MASKED in row for row in open_rows.values())
    assert PHONE not in page and "断了粮" not in page


async def test_the_charts_are_svg_with_the_expected_bars_and_points(seeded, tmp_path):
    db_dir, _ = seeded
    status, _, page = await report_html(db_dir, tmp_path)
    assert status == 0
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    charts = svgs(page)
    assert set(charts) == {"chart-rates", "chart-trend", "chart-areas"}
    weeks = parse(page).table("week")
    # Weeks from 6 Jan to the week of "now" (20 Jan): filed 5, 1, 0; resolved (a, b, c) 3, 0, 0.
    assert {k: v[1:] for k, v in weeks.items()} == {
        "2025-01-06": ["5", "3"],
        "2025-01-13": ["1", "0"],
        "2025-01-20": ["0", "0"],
    }
    trend = charts["chart-trend"]
    bars = trend.findall(f"{SVG}rect[@class='bar']")
    points = trend.findall(f"{SVG}circle[@class='point']")
    assert [b.get("data-value") for b in bars] == ["5", "1", "0"]
    assert [p.get("data-value") for p in points] == ["3", "0", "0"]
    heights = [float(b.get("height")) for b in bars]
    assert heights[0] > heights[1] > heights[2] == 0
    ys = [float(p.get("cy")) for p in points]
    assert ys[0] < ys[1] == ys[2]  # higher on the page = more resolved
    assert trend.find(f"{SVG}polyline").get("points").count(",") == 3
    areas = charts["chart-areas"].findall(f"{SVG}rect[@class='bar']")
    assert [(b.get("data-label"), b.get("data-value")) for b in areas] == [
        ("成都市/武侯区", "5"),
        ("成都市/锦江区", "1"),
    ]
    rates = charts["chart-rates"].findall(f"{SVG}rect[@class='bar']")
    assert [round(float(b.get("data-value")), 1) for b in rates] == [40.0, 25.0, 66.7, 66.7]


async def test_date_range_and_area(seeded, tmp_path):
    db_dir, _ = seeded
    _, _, page = await report_html(db_dir, tmp_path, first="2025-01-10", last="2025-01-31")
    p = parse(page)
    assert (
        p.by_id["total"] == "1"
        and "2025年1月10日（周五） 至 2025年1月31日（周五）" in p.by_id["period"]
    )
    _, _, page = await report_html(db_dir, tmp_path, last="2025/1/6")
    assert parse(page).by_id["total"] == "5"
    _, _, page = await report_html(db_dir, tmp_path, first="20250106", last="2025年1月6日")
    assert parse(page).by_id["total"] == "5"
    # By the area now responsible: 锦江区 has d; f was sent on to 武侯区.
    _, _, page = await report_html(db_dir, tmp_path, area="成都/锦江")
    p = parse(page)
    assert p.by_id["total"] == "1" and p.by_id["area"] == "成都市/锦江区"
    _, _, page = await report_html(db_dir, tmp_path, area="成都市", first="2025-01-15")
    assert parse(page).by_id["total"] == "1"


@pytest.mark.parametrize(
    ("kw", "words"),
    [
        ({"first": "2025-02-30"}, "不存在"),
        ({"first": "昨天"}, "看不懂日期"),
        ({"first": "2025-01-10", "last": "2025-01-01"}, "先后反了"),
        ({"last": "1999-12-31"}, "太早"),
        ({"area": "成都市/不存在区"}, "找不到地区"),
    ],
)
async def test_bad_dates_and_areas_exit_2_in_chinese(seeded, tmp_path, kw, words):
    db_dir, _ = seeded
    status, message, page = await report_html(db_dir, tmp_path, **kw)
    assert status == 2 and words in message and page == ""


def test_report_command_writes_the_files(seeded, tmp_path, capsys):
    db_dir, cases = seeded
    out = tmp_path / "out" / "report.html"
    book = tmp_path / "out" / "cases.xlsx"
    out.parent.mkdir()
    db = str(db_dir / "staff.db")
    assert main(["report", "--html", str(out), "--xlsx", str(book), "--db", db]) == 0
    assert parse(out.read_text(encoding="utf-8")).by_id["total"] == "6"
    assert "6 request(s)" in capsys.readouterr().err
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["说明", "明细"]
    assert wb["说明"]["A1"].value == "内部资料"
    assert wb.properties.subject == "内部资料"
    rows = list(wb["明细"].iter_rows(values_only=True))
    renderer = Renderer(staff_config(db).templates_dir)
    assert list(rows[0]) == [renderer.label(f"reports.col.{c}") for c in XLSX_COLUMNS]
    by_ref = {r[0]: dict(zip(XLSX_COLUMNS, r, strict=True)) for r in rows[1:]}
    assert len(by_ref) == 6
    c, f = by_ref[cases["c"].ref], by_ref[cases["f"].ref]
    assert (c["first_rating"], c["rating"], c["reopen_count"]) == ("不满意", "满意", 1)
    assert c["assignee"] == "张三" and c["status"] == "已结案"
    assert c["created"].strftime("%Y-%m-%d %H:%M") == "2025-01-06 10:00"
    assert c["resolved"].strftime("%Y-%m-%d %H:%M") == "2025-01-08 10:00"
    assert (f["area"], f["region"]) == ("成都市/武侯区", "成都市/锦江区")
    assert f["assignee"] is None and f["first_rating"] is None
    assert all(r["phone"] == MASKED for r in by_ref.values())
    assert b"13812345678" not in book.read_bytes()
    # Both files are in the audit table (no personal data in it).
    assert main(["report", "--xlsx", str(book), "--from", "2025-01-15", "--db", db]) == 0
    assert "1 request(s)" in capsys.readouterr().err


async def test_exports_are_audited(seeded, tmp_path):
    db_dir, _ = seeded
    book = tmp_path / "x.xlsx"
    status, _ = await run_report(
        staff_config(str(db_dir / "staff.db")),
        args(xlsx=str(book), first="2025-01-15", area="成都市"),
        now=NOW,
    )
    assert status == 0
    app, _ = await open_staff_app(db_dir)
    try:
        (entry,) = await app.store.staff.audit_entries(action="export")
    finally:
        await app.close()
    assert entry.actor_role == "operator"
    assert entry.detail == "xlsx from=20250115 to=- area=成都市 rows=1"


def test_xlsx_text_is_never_a_formula(tmp_path):
    """A staff name typed as a formula stays text in the workbook."""
    from bot.domain.cases import Case

    renderer = Renderer(staff_config(":memory:").templates_dir)
    fields = {name: None for name in Case.__dataclass_fields__}
    fields.update(
        id=1, ref="SC-2501-AAAA", draft_id="x", status="claimed", category="living",
        region_city="成都市", region_district="武侯区", urgent=False,
        urgent_by_resident=False, urgent_words=(), attachments=(), target_days=3,
        created_at=ts(2025, 1, 6), updated_at=ts(2025, 1, 6), reopen_count=0,
        assignee_id=7, phone=PHONE,
    )  # fmt: skip
    data = render_xlsx(
        [Case(**fields)], Meta(Scope(), ts(2025, 1, 6)), renderer, {7: "=HYPERLINK(1)"}
    )
    ws = openpyxl.load_workbook(io.BytesIO(data))["明细"]
    cell = ws.cell(row=2, column=XLSX_COLUMNS.index("assignee") + 1)
    assert cell.value == "=HYPERLINK(1)" and cell.data_type == "s"


def test_report_without_a_database(tmp_path, capsys):
    assert (
        main(["report", "--html", str(tmp_path / "r.html"), "--db", str(tmp_path / "no.db")]) == 1
    )
    assert not (tmp_path / "r.html").exists()
    assert not (tmp_path / "no.db").exists()


async def test_empty_report_has_no_rates(tmp_path):
    app, _ = await open_staff_app(tmp_path)
    await app.close()
    status, _, page = await report_html(tmp_path, tmp_path)
    p = parse(page)
    assert status == 0 and p.by_id["total"] == "0"
    assert p.by_id["claim-rate"] == "—" and p.by_id["satisfaction-rate"] == "—"
    assert p.by_id["median-claim"] == "—"
    assert svgs(page).keys() == {"chart-rates"}


def test_cases_export_has_the_responsible_area_and_first_rating(seeded, tmp_path):
    db_dir, cases = seeded
    out = tmp_path / "cases.csv"
    assert main(["cases", "export", "--csv", str(out), "--db", str(db_dir / "staff.db")]) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = {r["ref"]: r for r in csv.DictReader(fh)}
    a, c, d, f = (rows[cases[k].ref] for k in "acdf")
    assert a["assignee"] == "张三" and a["rating"] == "satisfied"
    assert a["claimed_at"] == "2025-01-06T11:00:00+08:00"
    assert a["resolved_at"] == "2025-01-07T10:00:00+08:00"
    assert (c["first_rating"], c["rating"], c["reopen_count"]) == ("unsatisfied", "satisfied", "1")
    assert d["assignee"] == "" and d["claimed_at"] == "" and d["resolved_at"] == ""
    assert (f["area"], f["district"]) == ("成都市/武侯区", "锦江区")
