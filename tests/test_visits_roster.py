"""The household roster: `sanliang households import FILE` (.csv UTF-8 and .xlsx),
every row checked, any bad row refuses the whole file with FILE:LINE, re-import
updates in place and never duplicates."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.cli import main
from bot.visits.roster import HEADER
from tests.visits_support import ROSTER

ROWS = ROSTER  # three households of two districts (tests/visits_support.py)


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    lines = [",".join(HEADER)] + [",".join(r) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def count(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM households").fetchone()[0]


def test_import_good_then_again_then_changed(tmp_path, capsys):
    db = tmp_path / "v.db"
    roster = write_csv(tmp_path / "roster.csv", ROWS)
    code, out, err = run(capsys, "households", "import", str(roster), "--db", str(db))
    assert code == 0, err
    assert "共 3 户" in out and "新增 3 户" in out
    assert count(db) == 3
    # The same file again: nothing new, nothing changed.
    code, out, _ = run(capsys, "households", "import", str(roster), "--db", str(db))
    assert code == 0 and "新增 0 户" in out and "没有变化 3 户" in out
    assert count(db) == 3
    # A corrected phone and village: updated in place (the key is area + name + ID tail).
    changed = [list(r) for r in ROWS]
    changed[1][7] = "13900001111"
    changed[1][5] = "玉林社区"
    code, out, _ = run(
        capsys,
        "households",
        "import",
        str(write_csv(tmp_path / "r2.csv", changed)),
        "--db",
        str(db),
    )
    assert code == 0 and "更新 1 户" in out and "新增 0 户" in out
    assert count(db) == 3
    with sqlite3.connect(db) as conn:
        phone, village = conn.execute(
            "SELECT phone, village FROM households WHERE head_name = '李孃孃'"
        ).fetchone()
    assert (phone, village) == ("13900001111", "玉林社区")


def test_bad_rows_refuse_the_whole_file(tmp_path, capsys):
    db = tmp_path / "v.db"
    bad = [list(r) for r in ROWS]
    bad[0][2] = "成都"  # not a 市州 of regions.yml
    bad[1][0] = ""  # empty name
    bad[2][7] = "138123456789"  # 12 digits
    path = write_csv(tmp_path / "bad.csv", bad)
    code, out, err = run(capsys, "households", "import", str(path), "--db", str(db))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert f"{path}:2: " in lines[0] and "成都" in lines[0]
    assert f"{path}:3: " in lines[1] and "户主姓名" in lines[1]
    assert f"{path}:4: " in lines[2] and "12 位" in lines[2]
    assert "一户也没有导入" in lines[-1]
    assert not db.exists() or count(db) == 0


@pytest.mark.parametrize(
    ("column", "value", "needle"),
    [
        (3, "高新区", "区县"),
        (1, "12", "身份证后四位"),
        (8, "贫困户", "类别"),
        (9, "0", "人数"),
        (9, "三", "人数"),
        (4, "", "乡镇街道"),
    ],
)
def test_each_rule_names_its_line(tmp_path, capsys, column, value, needle):
    rows = [list(r) for r in ROWS]
    rows[2][column] = value
    path = write_csv(tmp_path / "one.csv", rows)
    code, _, err = run(capsys, "households", "import", str(path), "--db", str(tmp_path / "v.db"))
    assert code == 2
    assert err.startswith(f"{path}:4: ") and needle in err.splitlines()[0]


def test_non_utf8_and_header_and_duplicates(tmp_path, capsys):
    db = str(tmp_path / "v.db")
    gbk = write_csv(tmp_path / "gbk.csv", ROWS, encoding="gbk")
    code, _, err = run(capsys, "households", "import", str(gbk), "--db", db)
    assert code == 2 and f"{gbk}:1: " in err and "UTF-8" in err
    # Only a later line is not UTF-8: that line is named.
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        write_csv(tmp_path / "ok.csv", ROWS[:2]).read_bytes() + "王五".encode("gbk") + b",1\n"
    )
    code, _, err = run(capsys, "households", "import", str(mixed), "--db", db)
    assert code == 2 and f"{mixed}:4: " in err
    wrong = tmp_path / "header.csv"
    wrong.write_text("姓名,电话\n张三,13812345678\n", encoding="utf-8")
    code, _, err = run(capsys, "households", "import", str(wrong), "--db", db)
    assert code == 2 and f"{wrong}:1: " in err and "户主姓名" in err
    twice = write_csv(tmp_path / "twice.csv", [ROWS[0], ROWS[1], ROWS[0]])
    code, _, err = run(capsys, "households", "import", str(twice), "--db", db)
    assert code == 2 and f"{twice}:4: " in err and "第 2 行" in err
    assert not Path(db).exists()  # nothing imported: the database was not even opened


def test_xlsx_roster(tmp_path, capsys):
    book = Workbook()
    sheet = book.active
    sheet.append(list(HEADER))
    for r in ROWS:
        sheet.append([int(c) if i == 9 else c for i, c in enumerate(r)])
    path = tmp_path / "roster.xlsx"
    book.save(path)
    db = tmp_path / "v.db"
    code, out, err = run(capsys, "households", "import", str(path), "--db", str(db))
    assert code == 0, err
    assert "新增 3 户" in out and count(db) == 3
    sheet["C3"] = "重庆市"
    book.save(path)
    code, _, err = run(capsys, "households", "import", str(path), "--db", str(db))
    assert code == 2 and f"{path}:3: " in err and "重庆市" in err
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    code, _, err = run(capsys, "households", "import", str(broken), "--db", str(db))
    assert code == 2 and f"{broken}:1: " in err


def test_roster_module_runs_without_the_chat(tmp_path):
    # The import reads no chat content: it works on a database nobody opened before.
    from bot.config import Config
    from bot.visits.cli import import_file

    path = write_csv(tmp_path / "r.csv", ROWS)
    code, problems, summary = asyncio.run(import_file(Config(db_path=str(tmp_path / "x.db")), path))
    assert code == 0 and not problems and "共 3 户" in summary


def test_campaign_report_and_ledger_from_the_command_line(tmp_path, capsys):
    import json

    from openpyxl import load_workbook

    db = str(tmp_path / "v.db")
    roster = write_csv(tmp_path / "roster.csv", ROWS)
    assert run(capsys, "households", "import", str(roster), "--db", db)[0] == 0
    code, out, err = run(
        capsys,
        "visits", "open", "--name", "春节前走访", "--start", "2026-12-01",
        "--deadline", "2027-02-05", "--area", "成都市", "--db", db,
    )  # fmt: skip
    assert code == 0 and "还有 3 户" in out  # no worker covers them yet
    code, _, err = run(
        capsys,
        "visits", "open", "--name", "春节前走访", "--start", "2026-12-01",
        "--deadline", "2027-02-05", "--area", "成都市", "--db", db,
    )  # fmt: skip
    assert code == 2 and "name_taken" in err
    code, _, err = run(
        capsys,
        "visits", "open", "--name", "另一个", "--start", "2027-02-05",
        "--deadline", "2026-12-01", "--area", "成都市", "--db", db,
    )  # fmt: skip
    assert code == 2 and "dates" in err
    assert run(capsys, "visits", "assign", "--campaign", "春节前走访", "--db", db)[0] == 0
    code, out, _ = run(capsys, "visits", "report", "--json", "--db", db)
    figures = json.loads(out)
    assert code == 0 and figures["households"] == 3 and figures["visited"] == 0
    assert {a["area"]: a["households"] for a in figures["by_area"]} == {
        "成都市/武侯区": 2,
        "成都市/锦江区": 1,
    }
    assert "open_actions" in figures and figures["days_to_deadline"] is not None
    ledger = tmp_path / "台账.xlsx"
    code, _, err = run(
        capsys, "visits", "export", "--xlsx", str(ledger), "--area", "成都市/武侯区", "--db", db
    )
    assert code == 0, err
    sheet = load_workbook(ledger).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "户主姓名" and len(rows) == 3
    assert {r[0] for r in rows[1:]} == {"张大爷", "李孃孃"}
    assert all(r[11] == "未走访" for r in rows[1:])
    code, _, err = run(
        capsys, "visits", "export", "--xlsx", str(ledger), "--area", "北京市", "--db", db
    )
    assert code == 2
