"""`sanliang report --html`: rendered, then parsed back for its figures."""

from __future__ import annotations

import html.parser

import pytest

from bot.cli import main
from bot.staff.cli import build_report
from tests.staff_support import (
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
    staff_config,
    ts,
    write,
)


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
        if "id" in attrs and tag in ("span", "td"):
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
        if tag in ("span", "td"):
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


def parse(text: str) -> ReportParser:
    p = ReportParser()
    p.feed(text)
    return p


@pytest.fixture
async def seeded(tmp_path):
    """Five requests (Monday 6 Jan 2025 10:00) with known outcomes."""
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
    await press(app, WUHOU_A, f"st:claim:{a.id}", group=CHAT_WUHOU)  # in time
    clock.set(ts(2025, 1, 6, 12))
    await press(app, WUHOU_A, f"st:claim:{c.id}")  # urgent, same day: in time
    await resolve(c, ts(2025, 1, 6, 15))  # on time
    clock.set(ts(2025, 1, 6, 15, 30))
    await press(app, RESIDENT, f"rv:r:{c.id}:u")  # reopened, due end of Tuesday
    await resolve(a, ts(2025, 1, 7, 10))  # on time
    await press(app, RESIDENT, f"rv:r:{a.id}:s")
    await app.store.cases.change_status(e.id, "withdrawn", "resident", RESIDENT)
    clock.set(ts(2025, 1, 9, 10))
    await press(app, WUHOU_A, f"st:claim:{b.id}")  # Thursday: claimed late
    await resolve(b, ts(2025, 1, 10, 10))  # due Friday 00:00: late
    await press(app, RESIDENT, f"rv:r:{b.id}:b")
    await app.close()
    return tmp_path, {"a": a, "b": b, "c": c, "d": d, "e": e}


async def test_report_figures(seeded):
    tmp_path, cases = seeded
    config = staff_config(str(tmp_path / "staff.db"))
    html, n = await build_report(config, now=ts(2025, 1, 13, 10))
    assert n == 5
    p = parse(html)
    assert p.by_id["total"] == "5"
    # Claimed in time: a, c (urgent, same day); late: b, and d still waiting. e excluded.
    assert p.by_id["claim-rate"] == "50.0%"
    # On time: a; late: b (resolved after its deadline), c (reopened, past its new
    # deadline), d (never claimed, past its deadline).
    assert p.by_id["resolve-rate"] == "25.0%"
    # 满意 + 基本满意 among rated: a (满意), b (基本满意), c (不满意).
    assert p.by_id["satisfaction-rate"] == "66.7%"
    status = {k[1]: int(v[1]) for k, v in p.rows.items() if k[0] == "status"}
    assert status["closed"] == 2 and status["in_progress"] == 1
    assert status["new"] == 1 and status["withdrawn"] == 1 and status["resolved"] == 0
    category = {k[1]: v for k, v in p.rows.items() if k[0] == "category"}
    assert category["living"] == ["生活困难", "2"] and category["safety"][1] == "1"
    area = {k[1]: int(v[1]) for k, v in p.rows.items() if k[0] == "area"}
    assert area == {"成都市/武侯区": 4, "成都市/锦江区": 1}
    ratings = {k[1]: int(v[1]) for k, v in p.rows.items() if k[0] == "rating"}
    assert ratings == {"satisfied": 1, "basic": 1, "unsatisfied": 1}
    open_rows = {k[1]: v for k, v in p.rows.items() if k[0] == "ref"}
    assert set(open_rows) == {cases["c"].ref, cases["d"].ref}
    assert open_rows[cases["c"].ref][4] == "张三"
    assert all(MASKED in row for row in open_rows.values())
    assert PHONE not in html and "断了粮" not in html


def test_report_command_writes_the_file(seeded, tmp_path, capsys):
    db_dir, cases = seeded
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    assert main(["report", "--html", str(out), "--db", str(db_dir / "staff.db")]) == 0
    p = parse(out.read_text(encoding="utf-8"))
    assert p.by_id["total"] == "5" and p.by_id["satisfaction-rate"] == "66.7%"
    assert "5 request(s)" in capsys.readouterr().err


def test_report_without_a_database(tmp_path, capsys):
    assert (
        main(["report", "--html", str(tmp_path / "r.html"), "--db", str(tmp_path / "no.db")]) == 1
    )
    assert not (tmp_path / "r.html").exists()
    assert not (tmp_path / "no.db").exists()


async def test_empty_report_has_no_rates(tmp_path):
    app, _ = await open_staff_app(tmp_path)
    await app.close()
    html, n = await build_report(staff_config(str(tmp_path / "staff.db")), now=ts(2025, 1, 6))
    p = parse(html)
    assert n == 0 and p.by_id["claim-rate"] == "—" and p.by_id["satisfaction-rate"] == "—"


def test_cases_export_gains_assignee_and_dates(seeded, tmp_path):
    import csv

    db_dir, cases = seeded
    out = tmp_path / "cases.csv"
    assert main(["cases", "export", "--csv", str(out), "--db", str(db_dir / "staff.db")]) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = {r["ref"]: r for r in csv.DictReader(fh)}
    a, d = rows[cases["a"].ref], rows[cases["d"].ref]
    assert a["assignee"] == "张三" and a["rating"] == "satisfied"
    assert a["claimed_at"] == "2025-01-06T11:00:00+08:00"
    assert a["resolved_at"] == "2025-01-07T10:00:00+08:00"
    assert d["assignee"] == "" and d["claimed_at"] == "" and d["resolved_at"] == ""
