"""Helpers for the visits tests: a staff app with a roster imported and a campaign."""

from __future__ import annotations

from pathlib import Path

from bot.app import App
from bot.visits.roster import HEADER, read_roster
from tests.staff_support import ADMIN, JINJIANG, WUHOU_A, add_worker, open_staff_app, send

ROSTER = [
    [
        "张大爷",
        "123X",
        "成都市",
        "武侯区",
        "玉林街道",
        "玉林社区",
        "玉林北路1号",
        "13812345678",
        "低保、留守老人",
        "1",
        "独居",
    ],
    ["李孃孃", "4567", "成都市", "武侯区", "玉林街道", "黉门街社区", "", "", "特困", "2", ""],
    [
        "王小明",
        "0001",
        "成都市",
        "锦江区",
        "春熙路街道",
        "和平社区",
        "",
        "028-86001234",
        "孤儿",
        "1",
        "",
    ],
]


async def import_rows(app: App, tmp_path: Path, rows: list[list[str]] = ROSTER) -> None:
    path = tmp_path / "roster.csv"
    path.write_text(
        "\n".join([",".join(HEADER)] + [",".join(r) for r in rows]) + "\n", encoding="utf-8"
    )
    regions = app.content.current.channels.regions
    roster = read_roster(path, regions)
    assert not roster.problems, roster.problems
    await app.store.visits.import_households(roster.rows, app.engine.services.now())


async def visits_app(tmp_path: Path, db: str | None = None, **extra):
    """The staff app with the roster and a campaign; on ``db`` when given (the
    ``db_path`` fixture: PostgreSQL too in a module marked both_backends)."""
    app, clock = await open_staff_app(tmp_path, db=db, **extra)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(app, JINJIANG, "成都市/锦江区", "王五")
    await import_rows(app, tmp_path)
    replies = await send(
        app, ADMIN, "/campaign 春节前走访 2025-01-06 2025-01-24 成都市/武侯区 成都市/锦江区"
    )
    assert replies[0].template == "visits/campaign_opened", replies[0].text
    return app, clock
