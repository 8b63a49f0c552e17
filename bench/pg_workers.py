"""Turns per second and p99 latency: 1, 2 and 4 worker processes on one PostgreSQL
database against one process on SQLite.

Each worker is a separate Python process with its own app (store, matcher, templates)
that drives its share of simulated residents straight into the engine (the turns of
bench/telegram_load.py: commands, button presses, policy questions), every turn with
an update id, so each one reads the state and writes state, update id and replies.
All workers start together (a barrier file); turns/s is all turns over the wall time
from the common start to the last worker's end; p50/p99 over every turn of every
worker. PostgreSQL: a throwaway cluster (as the tests use), or ``--pg URL``.

    .venv/bin/python bench/pg_workers.py [--users 400] [--messages 10] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.telegram_load import make_updates  # noqa: E402


def event_of(data: dict):
    from bot.dialog.events import Event

    if "message" in data:
        m = data["message"]
        return Event(m["from"]["id"], m["chat"]["id"], text=m["text"], update_id=data["update_id"])
    q = data["callback_query"]
    return Event(q["from"]["id"], q["from"]["id"], payload=q["data"], update_id=data["update_id"])


async def child(db: str, first_user: int, users: int, messages: int, conc: int) -> dict:
    from bot.app import open_app
    from bot.config import PROJECT_ROOT, Config

    app = await open_app(Config(db_path=db, content_dir=PROJECT_ROOT))
    try:
        per_user = make_updates(users, messages, first_user=first_user)
        # Warm up (templates compiled, statements prepared) on users of our own.
        for data in make_updates(4, 10, first_user=first_user + 500_000)[0]:
            await app.engine.handle(event_of(data))
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)  # "go": every worker starts at once
        gate = asyncio.Semaphore(conc)
        latencies: list[float] = []

        async def resident(seq: list[dict]) -> None:
            for data in seq:
                ev = event_of(data)
                async with gate:
                    t0 = time.perf_counter()
                    replies = await app.engine.handle(ev)
                    latencies.append(time.perf_counter() - t0)
                    if not replies:
                        raise RuntimeError("a turn without a reply")

        start = time.time()
        await asyncio.gather(*(resident(seq) for seq in per_user))
        return {"start": start, "end": time.time(), "latencies": latencies}
    finally:
        await app.close()


def run(db: str, workers: int, users: int, messages: int, conc: int) -> dict:
    share = users // workers
    procs = []
    for w in range(workers):
        args = [sys.executable, __file__, "--child", db, str(200_000 + w * share * 10)]
        args += [str(share), str(messages), str(conc)]
        procs.append(
            subprocess.Popen(  # noqa: S603 - this script
                args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT
            )
        )
    for p in procs:
        assert p.stdout is not None
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("a worker did not start")
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=900)
        if p.returncode != 0:
            raise RuntimeError(f"a worker failed ({p.returncode})")
        results.append(json.loads(out.strip().splitlines()[-1]))
    lat = sorted(x for r in results for x in r["latencies"])
    wall = max(r["end"] for r in results) - min(r["start"] for r in results)
    n = len(lat)
    return {
        "turns": n,
        "wall": wall,
        "rate": n / wall,
        "p50": lat[n // 2] * 1000,
        "p99": lat[min(n - 1, int(n * 0.99))] * 1000,
    }


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        db, first, users, messages, conc = sys.argv[2:7]
        out = asyncio.run(child(db, int(first), int(users), int(messages), int(conc)))
        print(json.dumps(out))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=16, help="turns in flight per worker")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--pg", help="a PostgreSQL URL (default: a throwaway cluster)")
    args = parser.parse_args()
    cluster = None
    if args.pg is None:
        from pg_support import Cluster

        cluster = Cluster()
    base = args.pg or cluster.url  # type: ignore[union-attr]
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="sanliang-bench-") as tmp:
            work = Path(tmp)
            sqlite = str(work / "bench.db")
            r = run(sqlite, 1, args.users, args.messages, args.concurrency)
            rows.append(("SQLite", 1, r))
            for i, workers in enumerate(int(w) for w in args.workers.split(",")):
                url = f"{base}?search_path=bench{os.getpid()}_{i}"
                r = run(url, workers, args.users, args.messages, args.concurrency)
                rows.append(("PostgreSQL", workers, r))
    finally:
        if cluster is not None:
            cluster.stop()
    print(
        f"{args.users} residents x {args.messages} turns, {args.concurrency} in flight per"
        f" worker, {os.cpu_count()} CPU cores"
    )
    print(f"{'backend':<11} {'workers':>7} {'turns':>6} {'turns/s':>8} {'p50 ms':>7} {'p99 ms':>7}")
    for name, workers, r in rows:
        print(
            f"{name:<11} {workers:>7} {r['turns']:>6} {r['rate']:>8.0f}"
            f" {r['p50']:>7.1f} {r['p99']:>7.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
