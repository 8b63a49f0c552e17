"""Load on the web channel beside the Telegram channel, on the same engine.

200 residents (each its own cookie jar, so its own identity) open the page and
talk: the same visit as bench/telegram_load.py (commands, button presses,
questions). Three ways in:

- web over HTTP: ``sanliang web`` as a separate process on 127.0.0.1 (uvicorn),
  driven by httpx clients in this process;
- web in-process: the same ASGI app through httpx's ASGI transport (no sockets);
- Telegram in-process: the same turns as Telegram updates through
  python-telegram-bot's ``process_update`` with the offline Bot API.

Prints turns per second and latency percentiles per way, and the page weight (what
a phone downloads on the first visit, raw and gzipped). A run in which any request
failed is reported as invalid (exit 2).

    .venv/bin/python bench/web_load.py [--users 200] [--messages 10] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from telegram_load import VISIT, _summary, drive, make_updates  # noqa: E402

from bot.app import open_app  # noqa: E402
from bot.config import PROJECT_ROOT, Config  # noqa: E402
from bot.telegram.adapter import build_application  # noqa: E402
from bot.telegram.offline import BotAPIStub, OfflineRequest  # noqa: E402
from bot.web.server import WebSettings, build_asgi  # noqa: E402

TOKEN = "123456:BENCH"
UNLIMITED = 10**9


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Failed(Exception):
    pass


async def resident(client: httpx.AsyncClient, messages: int, gate, latencies: list[float]):
    page = await client.get("/")
    if page.status_code != 200:
        raise Failed(f"GET / {page.status_code}")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    headers = {"x-csrf-token": token}
    for i in range(messages):
        kind, value = VISIT[i % len(VISIT)]
        body = {"text": value} if kind == "text" else {"payload": value, "label": value}
        body["cid"] = f"m{i}"
        async with gate:
            t0 = time.perf_counter()
            r = await client.post("/api/send", json=body, headers=headers)
            latencies.append(time.perf_counter() - t0)
        if r.status_code != 200 or not r.json()["messages"]:
            raise Failed(f"POST /api/send {r.status_code}")


async def drive_web(make_client, users: int, messages: int, concurrency: int) -> dict:
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    clients = [make_client() for _ in range(users)]
    cpu0, t0 = time.process_time(), time.perf_counter()
    try:
        await asyncio.gather(*(resident(c, messages, gate, latencies) for c in clients))
    finally:
        for c in clients:
            await c.aclose()
    return _summary(latencies, time.perf_counter() - t0, time.process_time() - cpu0)


def start_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    (tmp / "sanliang.toml").write_text(
        f"[web]\nuser_limit = {UNLIMITED}\nip_limit = {UNLIMITED}\n", encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.pop("SANLIANG_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--db", str(tmp / "web.db"), "--port", str(port)],
        cwd=tmp,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("sanliang web did not start")


async def page_weight(client: httpx.AsyncClient) -> list[tuple[str, int, int]]:
    page = await client.get("/")
    rows = [("page (HTML)", len(page.content), len(gzip.compress(page.content)))]
    for asset in re.findall(r'(?:href|src)="(/static/[^"?]+)', page.text):
        body = (await client.get(asset)).content
        rows.append((asset, len(body), len(gzip.compress(body))))
    return rows


async def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--messages", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args(argv)
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        proc, base = start_server(tmp)
        try:
            limits = httpx.Limits(max_connections=1)

            def over_http() -> httpx.AsyncClient:
                return httpx.AsyncClient(base_url=base, limits=limits, timeout=60)

            await drive_web(over_http, 20, 5, args.concurrency)  # warm up
            results["web over HTTP (uvicorn)"] = await drive_web(
                over_http, args.users, args.messages, args.concurrency
            )
            async with httpx.AsyncClient(base_url=base) as c:
                weight = await page_weight(c)
        finally:
            proc.terminate()
            proc.wait(timeout=20)

        app = await open_app(Config(db_path=str(tmp / "inproc.db"), content_dir=PROJECT_ROOT))
        try:
            asgi = build_asgi(app, WebSettings(user_limit=UNLIMITED, ip_limit=UNLIMITED))
            await asgi.state.web.start()
            transport = httpx.ASGITransport(asgi)

            def in_process() -> httpx.AsyncClient:
                return httpx.AsyncClient(transport=transport, base_url="http://bench")

            await drive_web(in_process, 20, 5, args.concurrency)
            results["web in-process (ASGI)"] = await drive_web(
                in_process, args.users, args.messages, args.concurrency
            )
            telegram = build_application(
                app,
                TOKEN,
                request=OfflineRequest(BotAPIStub(record=False, strict=False)),
                rate_limiter=None,
            )
            await telegram.initialize()
            await drive(telegram, make_updates(20, 5, 900_000), args.concurrency)
            results["Telegram in-process"] = await drive(
                telegram, make_updates(args.users, args.messages, 100_000), args.concurrency
            )
            await telegram.shutdown()
            asgi.state.web.metrics.close()
        finally:
            await app.close()

    print(
        f"\n{args.users} residents x {args.messages} turns, {args.concurrency} in flight, "
        "SQLite on a temporary file, one engine per way\n"
    )
    head = f"{'':26} {'turns':>6} {'turns/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        print(f"{name:26} {r['n']:6d} {r['rate']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f}")
    print("\nPage weight, first visit (fonts are the phone's own):")
    print(f"  {'':20} {'bytes':>8} {'gzipped':>8}")
    for name, raw, packed in weight:
        print(f"  {name:20} {raw:8d} {packed:8d}")
    total, total_gz = sum(w[1] for w in weight), sum(w[2] for w in weight)
    print(f"  {'total':20} {total:8d} {total_gz:8d}   (limit 102400)")
    # At 3G "slow" (400 kbit/s, 400 ms round trip): the gzipped page in about this long.
    print(f"  slow 3G estimate: {0.4 * 3 + total_gz * 8 / 400_000:.1f} s to a usable page")
    return 0 if total <= 102_400 else 1


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except Failed as exc:
        print(f"INVALID RUN: {exc}")
        sys.exit(2)
