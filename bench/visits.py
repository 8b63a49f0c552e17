"""Home visits at county scale: import a roster of 50,000 households, open a campaign
(assignment to the area's workers), record visits and needs on part of them, then time
the coverage report. Prints a table.

    .venv/bin/python bench/visits.py [--households 50000]

Targets (issue #17): import ≤ 30 s, report ≤ 1 s on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Config  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.staff import Area  # noqa: E402
from bot.visits.cli import import_file, load_regions  # noqa: E402
from bot.visits.report import compute  # noqa: E402
from bot.visits.roster import CATEGORIES, HEADER  # noqa: E402

IMPORT_TARGET = 30.0
REPORT_TARGET = 1.0


def write_roster(path: Path, n: int, regions: dict[str, list[str]], seed: int = 7) -> None:
    rnd = random.Random(seed)
    cities = list(regions)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    lines = [",".join(HEADER)]
    for i in range(n):
        city = cities[i % len(cities)]
        district = regions[city][(i // len(cities)) % len(regions[city])]
        name = rnd.choice(surnames) + rnd.choice("大小老") + rnd.choice("明华芳强军秀英")
        tail = f"{i % 10000:04d}"  # with the 街道 below: unique per household
        phone = f"13{rnd.randint(0, 9)}{rnd.randint(10_000_000, 99_999_999)}" if i % 3 else ""
        cats = "、".join(rnd.sample(CATEGORIES[:10], rnd.randint(1, 2)))
        township = f"第{i // 5000 + 1}街道"
        village = f"第{i % 300 + 1}社区"
        lines.append(
            f"{name},{tail},{city},{district},{township},{village},{i}号,{phone},{cats},"
            f"{rnd.randint(1, 6)},"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def bench(n: int) -> list[tuple[str, float, str]]:
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(db_path=str(Path(tmp) / "bench.db"))
        regions = load_regions(config)
        roster = Path(tmp) / "roster.csv"
        write_roster(roster, n, regions)

        t0 = time.perf_counter()
        code, problems, summary = await import_file(config, roster)
        t_import = time.perf_counter() - t0
        assert code == 0, problems[:3]
        rows.append((f"import {n} households (.csv)", t_import, f"≤ {IMPORT_TARGET:.0f} s"))

        t0 = time.perf_counter()
        code, _, _ = await import_file(config, roster)
        rows.append((f"re-import the same {n} (no change)", time.perf_counter() - t0, ""))

        store = await Store.open(config.db_path)
        try:
            # One worker per 区县.
            uid = 10_000
            for city, districts in regions.items():
                for district in districts:
                    uid += 1
                    invite = await store.staff.create_invite(
                        "worker", Area(city, district), 1, 86400
                    )
                    await store.staff.redeem(invite.code, uid, f"W{uid}")
            from bot.render import Renderer
            from bot.staff.service import StaffService
            from bot.staff.settings import StaffSettings
            from bot.visits.service import VisitService, VisitSettings

            r = Renderer(config.templates_dir, config.locale)
            staff = StaffService(store, r, StaffSettings(), clock=time.time)
            svc = VisitService(store, r, staff, VisitSettings(), clock=time.time)
            t0 = time.perf_counter()
            opened = await svc.open_campaign(
                "春节前走访", "2026-12-01", "2027-02-05", list(regions), regions, None
            )
            rows.append(
                (f"open a campaign, assign {opened.assigned}", time.perf_counter() - t0, "")
            )
            # Record visits on 40 % of the tasks, with a need on every tenth.
            now = time.time()
            tasks = await store.fetchall("SELECT id, household_id, assignee_id FROM visit_tasks")
            done = tasks[: int(len(tasks) * 0.4)]
            async with store.tx() as db:
                await db.executemany(
                    "INSERT INTO visits (task_id, author_id, answers, met, started_at,"
                    " updated_at, finished_at) VALUES (?, ?, '{}', 'self', ?, ?, ?)",
                    [(t["id"], t["assignee_id"] or 1, now, now, now) for t in done],
                )
                await db.executemany(
                    "UPDATE visit_tasks SET status = 'done', done_at = ? WHERE id = ?",
                    [(now, t["id"]) for t in done],
                )
                await db.executemany(
                    "INSERT INTO visit_actions (household_id, kind, owner_id, due_date,"
                    " created_at) VALUES (?, 'heating', ?, '2026-12-10', ?)",
                    [(t["household_id"], t["assignee_id"], now) for t in done[::10]],
                )
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                figures = await compute(store, now)
                times.append(time.perf_counter() - t0)
            assert figures is not None and figures["households"] == n
            rows.append(
                (
                    f"report ({figures['visited']} visited, {figures['open_actions']} actions)",
                    sorted(times)[len(times) // 2],
                    f"≤ {REPORT_TARGET:.0f} s",
                )
            )
            t0 = time.perf_counter()
            area = await compute(store, now, None, "成都市/武侯区")
            assert area is not None
            rows.append(("report for one 区县", time.perf_counter() - t0, ""))
        finally:
            await store.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=50_000)
    args = parser.parse_args()
    rows = asyncio.run(bench(args.households))
    width = max(len(r[0]) for r in rows)
    print(f"{'step':<{width}}  {'seconds':>8}  target")
    for name, seconds, target in rows:
        print(f"{name:<{width}}  {seconds:8.2f}  {target}")
    slow = [r for r in rows if r[2] and r[1] > float(r[2].split()[1])]
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
