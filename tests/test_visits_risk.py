"""Risk where it matters (#17 point 5): the roster's optional 出生年份, one person aged
80+ flagged before any visit, the flagged list and the report counting it, and a
cold-wave announcement that reaches the flagged areas first, carries the 冬季自查 and
hands the workers their lists in the same transaction."""

from __future__ import annotations

import json

import pytest

from bot.outbox import Sender
from bot.visits.report import compute
from bot.visits.roster import BIRTH_YEAR, HEADER, read_roster
from tests.staff_support import ADMIN, JINJIANG, WUHOU_A, delivered, payloads, press, send
from tests.visits_support import ROSTER, visits_app

REGIONS = {"成都市": ["武侯区", "锦江区"]}
# The new queries (the flag by 出生年份, a cold wave's order of 市州) on both backends.
pytestmark = pytest.mark.both_backends


def write(tmp_path, header, rows, name="roster.csv"):
    path = tmp_path / name
    lines = [",".join(header)] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def row(name="张大爷", tail="123X", size="1", born=None):
    cells = [name, tail, "成都市", "武侯区", "玉林街道", "玉林社区", "", "", "低保", size, ""]
    return cells if born is None else [*cells, born]


def test_the_birth_year_column_is_optional_and_checked(tmp_path):
    # Without the column: as before.
    plain = read_roster(write(tmp_path, HEADER, [row()]), REGIONS, this_year=2026)
    assert not plain.problems and plain.rows[0].birth_year is None
    # With it: a year, 1942年, or empty; a row may also stop before the empty cell.
    header = (*HEADER, BIRTH_YEAR)
    rows = [row("甲", "0001", born="1942"), row("乙", "0002", born="1950年"), row("丙", "0003")]
    rows.append(row("丁", "0004", born=""))
    ok = read_roster(write(tmp_path, header, rows), REGIONS, this_year=2026)
    assert not ok.problems, ok.problems
    assert [r.birth_year for r in ok.rows] == [1942, 1950, None, None]
    # A year in the future, too old, or not a year: FILE:LINE problems, nothing imported.
    bad = [
        row("甲", "0001", born="2030"),
        row("乙", "0002", born="1850"),
        row("丙", "0003", born="八十"),
    ]
    refused = read_roster(write(tmp_path, header, bad), REGIONS, this_year=2026)
    assert [(p.line, p.code) for p in refused.problems] == [(n, "birth_year") for n in (2, 3, 4)]
    assert refused.rows == []
    # Another 12th column is not the optional one.
    wrong = read_roster(write(tmp_path, (*HEADER, "年龄"), [row(born="85")]), REGIONS, 2026)
    assert [p.code for p in wrong.problems] == ["header"]


async def reimport_with_birth_years(app, tmp_path, years: dict[str, str]) -> None:
    rows = [[*r, years.get(r[0], "")] for r in ROSTER]
    path = write(tmp_path, (*HEADER, BIRTH_YEAR), rows, "roster2.csv")
    regions = app.content.current.channels.regions
    roster = read_roster(path, regions, this_year=2025)
    assert not roster.problems, roster.problems
    counts = await app.store.visits.import_households(roster.rows, app.engine.services.now())
    assert counts.updated == len(years)


@pytest.fixture
async def vapp(tmp_path, db_path):
    app, clock = await visits_app(tmp_path, db=db_path)
    try:
        yield app, clock
    finally:
        await app.close()


async def test_eighty_and_alone_is_flagged_before_any_visit(vapp, tmp_path):
    app, clock = vapp  # the clock is in January 2025
    # 张大爷 lives alone (1 person), born 1940: 85. 王小明 lives alone, born 2012.
    # 李孃孃 is 84 but lives with someone (2 people): not this flag.
    await reimport_with_birth_years(
        app, tmp_path, {"张大爷": "1940", "王小明": "2012", "李孃孃": "1941"}
    )
    r = await send(app, WUHOU_A, "/visits 复访")
    assert r[0].template == "visits/flagged"
    assert "张大爷" in r[0].text and "80岁以上独居" in r[0].text and "李孃孃" not in r[0].text
    assert any(p.startswith("vs:h:") for p in payloads(r))
    audit = await app.store.staff.audit_entries(action="visits_flagged")
    assert [e.actor_id for e in audit] == [WUHOU_A]
    # 王五 (锦江区) has nobody flagged.
    assert "现在没有" in (await send(app, JINJIANG, "/visits 复访"))[0].text
    figures = await compute(app.store, clock())
    assert figures["alone_80"] == 1 and figures["flagged"] == 1
    wuhou = next(a for a in figures["by_area"] if a["area"] == "成都市/武侯区")
    assert wuhou["alone_80"] == 1
    # A year later 李孃孃's household is still two people: still only one.
    assert (await compute(app.store, clock() + 366 * 86400))["alone_80"] == 1


async def test_a_cold_wave_reaches_flagged_areas_first_with_the_self_check(vapp, tmp_path):
    app, clock = vapp
    await reimport_with_birth_years(app, tmp_path, {"张大爷": "1940"})
    repo = app.store.admin
    # Subscribers: 绵阳 first by id, then 成都 (where the flagged household is), and
    # some who want every notice.
    for uid in range(1, 7):
        await repo.subscribe(uid, uid, "绵阳市")
    for uid in range(7, 10):
        await repo.subscribe(uid, uid, "成都市")
    await repo.subscribe(10, 10, None)
    app.engine.services.outbox = Sender(app.store, app.renderer)  # queued, not sent here

    await send(app, ADMIN, "/announce")
    await press(app, ADMIN, "adm:bcr:*")
    preview = await send(app, ADMIN, "今晚起寒潮降温，最低零下5度，请注意保暖。")
    cold = [p for p in payloads(preview) if p.startswith("adm:bccw:")]
    assert len(cold) == 1 and "作为寒潮预警发送" in "".join(
        b.label for r in preview for row in r.buttons for b in row
    )
    replies = await press(app, ADMIN, cold[0])  # the turn's replies, then the outbox
    started = [r for r in replies if r.template == "admin/broadcast_started"]
    assert len(started) == 1 and "1 位工作人员" in started[0].text, started
    out = replies[replies.index(started[0]) + 1 :]
    # The worker's list first (normal priority), privately, with the full name.
    revisit = [r for r in out if r.chat_id == WUHOU_A]
    assert len(revisit) == 1 and "张大爷" in revisit[0].text and "寒潮" in revisit[0].text
    # Residents: 成都市 before the rest; each notice offers the 冬季自查.
    order = [r.chat_id for r in out if r.chat_id in range(1, 11)]
    assert order[:3] == [7, 8, 9] and sorted(order) == list(range(1, 11))
    notice = next(r for r in out if r.chat_id == 7)
    assert "menu:winter" in [b.payload for row in notice.buttons for b in row]
    # The same confirm again (a double press) sends nothing more.
    again = await press(app, ADMIN, cold[0])
    assert [r.template for r in again] == ["core/expired"] and await delivered(app) == []
    audit = await app.store.staff.audit_entries(action="visits_flagged")
    assert audit and audit[0].actor_id == ADMIN


async def test_a_plain_announcement_is_unchanged(vapp):
    app, _ = vapp
    await app.store.admin.subscribe(7, 7, "成都市")
    app.engine.services.outbox = Sender(app.store, app.renderer)
    await send(app, ADMIN, "/announce")
    await press(app, ADMIN, "adm:bcr:*")
    preview = await send(app, ADMIN, "社区明天上午发放棉被。")
    plain = [p for p in payloads(preview) if p.startswith("adm:bcok:")]
    replies = await press(app, ADMIN, plain[0])
    out = [r for r in replies if r.chat_id not in (None, ADMIN)]
    assert [r.chat_id for r in out] == [7]
    assert "menu:winter" not in json.dumps([[b.payload for b in row] for row in out[0].buttons])
