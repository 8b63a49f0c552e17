"""How long the staff report takes on a large history.

Builds a database of N requests (default 50,000) through the store's own calls
(create, claim, resolve, rate, reopen: the same rows the chat writes), spread over a
year and over every 区县 of three 市州, then times ``sanliang report``'s parts: loading
the requests, the figures, the HTML page, the .xlsx workbook; for everything and for
one 区县 (what a worker's /report builds). Prints a table.

    .venv/bin/python bench/report.py [--cases 50000] [--keep DB]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.calendar import Deadlines  # noqa: E402
from bot.config import PROJECT_ROOT  # noqa: E402
from bot.domain.cases import NewCase  # noqa: E402
from bot.render import Renderer  # noqa: E402
from bot.reports.build import holders_of, load_cases  # noqa: E402
from bot.reports.kpi import compute  # noqa: E402
from bot.reports.output import Meta, render_html, render_xlsx  # noqa: E402
from bot.reports.scope import Period, Scope, regions_for  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.staff import Area  # noqa: E402

START = 1735660800.0  # 2025-01-01 00:00 China time
DAY = 86400.0
CITIES = ("成都市", "绵阳市", "巴中市")
CATEGORIES = ("living", "housing", "jobs", "medical", "school", "winter", "safety", "other")


async def seed(store: Store, n: int, rng: random.Random) -> float:
    regions = regions_for(PROJECT_ROOT)
    deadlines = Deadlines.from_config({})
    places = [(c, d) for c in CITIES for d in regions[c]]
    workers = {}
    uid = 10_000
    for city, district in places:
        for _ in range(2):
            uid += 1
            invite = await store.staff.create_invite(
                "worker", Area(city, district), 1, 86400, now=START
            )
            await store.staff.redeem(invite.code, uid, f"工作人员{uid}", now=START)
            workers.setdefault((city, district), []).append(uid)
    last = START
    for i in range(n):
        created = START + rng.random() * 360 * DAY
        city, district = rng.choice(places)
        urgent = rng.random() < 0.08
        category = rng.choice(CATEGORIES)
        days, due = deadlines.for_new_case(category, urgent, created, 1 if urgent else 3)
        case, _ = await store.cases.create(
            NewCase(
                draft_id=secrets.token_urlsafe(9),
                user_id=100_000 + i,
                chat_id=100_000 + i,
                category=category,
                region_city=city,
                region_district=district,
                description="（测试数据）",
                phone=f"139{i:08d}",
                contact_time="any",
                target_days=days,
                due_at=due,
                urgent_by_resident=urgent,
            ),
            now=created,
        )
        last = max(last, created)
        if rng.random() > 0.9:
            continue  # never claimed
        t = created + rng.expovariate(1 / (20 * 3600))
        worker = rng.choice(workers[city, district])
        await store.workflow.claim(case.id, worker, now=t)
        if rng.random() > 0.85:
            continue  # still being worked on
        t += rng.expovariate(1 / (2 * DAY))
        for round_ in range(3):
            fields = {"resolved_at": t, "rating": None, "rated_at": None}
            await store.workflow.transition(
                case.id, "resolved", "staff", worker,
                expect_from=("claimed", "in_progress"), set_fields=fields, now=t,
            )  # fmt: skip
            if rng.random() > 0.6:
                break  # not rated
            t += rng.random() * 3 * DAY
            rating = rng.choices(("satisfied", "basic", "unsatisfied"), (70, 20, 10))[0]
            first = {"first_rating": rating, "first_rated_at": t} if round_ == 0 else {}
            if rating != "unsatisfied" or round_ == 2:
                await store.workflow.transition(
                    case.id, "closed", "resident", 100_000 + i, expect_from=("resolved",),
                    set_fields={"rating": rating, "rated_at": t, **first}, now=t,
                )  # fmt: skip
                break
            await store.workflow.transition(
                case.id, "in_progress", "resident", 100_000 + i, expect_from=("resolved",),
                set_fields={"rating": rating, "rated_at": t, "resolved_at": None, **first,
                            "due_at": deadlines.due_at(t, days)},
                reopen=True, now=t,
            )  # fmt: skip
            t += rng.expovariate(1 / DAY)
        last = max(last, t)
    return last


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


async def atimed(coro):
    t0 = time.perf_counter()
    out = await coro
    return out, time.perf_counter() - t0


async def measure(store: Store, scope: Scope, now: float, renderer: Renderer) -> list[str]:
    deadlines = Deadlines.from_config({})
    cases, t_load = await atimed(load_cases(store, scope))
    holders = await holders_of(store)
    stats, t_kpi = timed(compute, cases, deadlines, now, scope.period.first, scope.period.last)
    meta = Meta(scope, now, "bench")
    page, t_html = timed(render_html, stats, meta, renderer, holders)
    book, t_xlsx = timed(render_xlsx, cases, meta, renderer, holders)
    name = scope.area_name or "全部地区"
    return [
        f"| {name} | {len(cases):>6} | {t_load:6.2f} | {t_kpi:6.2f} | {t_html:6.2f} | "
        f"{len(page.encode()) / 1024:7.0f} | {t_xlsx:6.2f} | {len(book) / 1024:7.0f} | "
        f"{t_load + t_kpi + t_html + t_xlsx:6.2f} |"
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--keep", metavar="DB", help="keep the database here (reused if present)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep) if args.keep else Path(tmp) / "bench.db"
        fresh = not path.exists()
        store = await Store.open(path)
        try:
            t0 = time.perf_counter()
            if fresh:
                now = await seed(store, args.cases, random.Random(args.seed)) + DAY
            else:
                now = START + 370 * DAY
            t_seed = time.perf_counter() - t0
            renderer = Renderer(PROJECT_ROOT / "templates")
            rows = [
                "| scope | cases | load s | KPIs s | HTML s | HTML KB | xlsx s | xlsx KB | total s |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            ]
            rows += await measure(store, Scope(), now, renderer)
            rows += await measure(store, Scope(area=Area("成都市", "武侯区")), now, renderer)
            q = Period.parse("2025-10-01", "2025-12-31", now)
            rows += await measure(store, Scope(period=q, area=Area("成都市")), now, renderer)
        finally:
            await store.close()
    print(f"seeded {args.cases} requests in {t_seed:.0f} s" if fresh else "reused database")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
