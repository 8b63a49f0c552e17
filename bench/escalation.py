"""Benchmark 督办: how long one pass of the reminders job (bot/staff/jobs.py
``run_reminders``) takes over many open requests, on a temporary SQLite database.

Usage: .venv/bin/python bench/escalation.py [--cases 200 1000 3000]

For each size: the requests are spread over the 21 市州's first districts, one in
three claimed, all overdue by a day (so every step of the ladder fires), then the job
runs three times at working hours: the first pass queues the ladder's messages in the
outbox, the second and third find them sent already (the steady state every 15
minutes). Prints the time per pass and per request, and the messages queued.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import open_app  # noqa: E402
from bot.config import PROJECT_ROOT, Config  # noqa: E402
from bot.domain.cases import NewCase  # noqa: E402
from bot.staff.jobs import run_reminders  # noqa: E402
from tests.staff_support import Clock, ts  # noqa: E402


async def one_size(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Config(
            db_path=str(Path(tmp) / "bench.db"),
            content_dir=PROJECT_ROOT,
            admin_ids=[900],
            extra={"staff": {"default_chat": -100999}},
        )
        app = await open_app(cfg)
        clock = Clock(ts(2025, 1, 6, 10))
        app.engine.services.clock = clock
        svc = app.engine.services.staff
        regions = app.content.current.channels.regions
        places = [(c, ds[0]) for c, ds in regions.items() if ds]
        invite = await app.store.staff.create_invite("worker", _area(), 900, 86400)
        await app.store.staff.redeem(invite.code, 501, "张三")
        for i in range(n):
            city, district = places[i % len(places)]
            case, _ = await app.store.cases.create(
                NewCase(
                    draft_id=secrets.token_urlsafe(9),
                    user_id=10_000 + i,
                    chat_id=10_000 + i,
                    category="living",
                    region_city=city,
                    region_district=district,
                    description="测试",
                    phone="13800000000",
                    contact_time="am",
                    target_days=1,
                    due_at=ts(2025, 1, 7, 0),
                ),
                now=clock(),
            )
            if i % 3 == 0:
                await app.store.workflow.claim(case.id, 501, now=clock())
        clock.set(ts(2025, 1, 8, 17))  # a working day, late in the afternoon
        times, queued = [], []
        for _ in range(3):
            started = time.perf_counter()
            report = await run_reminders(svc, None, clock)
            times.append(time.perf_counter() - started)
            queued.append(report.sent)
        await app.close()
    return {"first": times[0], "steady": statistics.mean(times[1:]), "queued": queued[0]}


def _area():
    from bot.store.staff import Area

    return Area()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[200, 1000, 3000])
    args = parser.parse_args()
    print("| open requests | first pass (queues) | steady pass | per request | queued |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.cases:
        r = asyncio.run(one_size(n))
        print(
            f"| {n} | {r['first'] * 1000:.0f} ms | {r['steady'] * 1000:.0f} ms"
            f" | {r['steady'] / n * 1000:.2f} ms | {int(r['queued'])} |"
        )


if __name__ == "__main__":
    main()
