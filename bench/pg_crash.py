"""Crash run on PostgreSQL with two workers: two `sanliang run` processes (webhook mode)
on one database, behind a round-robin balancer that skips a worker that is down (as
nginx's upstream does), each SIGKILLed at random 2–5 s after each of its starts and
restarted, while residents file help requests through the local Bot API stand-in.

Prints the table of the crash runs (bench/crash.py --mode webhook): references lost or
duplicated, staff cards delivered exactly once, actions left without a reply. Exit 1
when a reference is lost, a request or card doubled, an action left without a reply,
or a card is missing that was not cut off mid-call (at most once: a card whose send a
SIGKILL interrupted is marked 'unknown' and reported to the admins, never resent, as
with one process). PostgreSQL: a throwaway cluster, or ``--pg URL``.

    .venv/bin/python bench/pg_crash.py [--residents 8] [--requests 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import http.server
import os
import random
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bot.telegram.crashtest import (  # noqa: E402
    TOKEN,
    Bot,
    Figures,
    Killer,
    Resident,
    _check_requests,
    _free_port,
    _settle,
)
from bot.telegram.standin import StandIn  # noqa: E402

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Balancer(threading.Thread):
    """POSTs to the next worker in turn; one that refuses or fails is skipped. 502 when
    none answered 200 (the stand-in then posts the update again, as Telegram does)."""

    def __init__(self, ports: list[int]) -> None:
        super().__init__(daemon=True)
        self.ports = ports
        self.next = 0
        self.lock = threading.Lock()
        balancer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = balancer.forward(self.path, body, dict(self.headers))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tg"

    def run(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def forward(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        with self.lock:
            start = self.next
            self.next = (self.next + 1) % len(self.ports)
        for i in range(len(self.ports)):
            port = self.ports[(start + i) % len(self.ports)]
            request = urllib.request.Request(  # noqa: S310 - a worker on 127.0.0.1
                f"http://127.0.0.1:{port}{path}", data=body, method="POST"
            )
            for key in ("Content-Type", "X-Telegram-Bot-Api-Secret-Token"):
                if key in headers:
                    request.add_header(key, headers[key])
            try:
                with _DIRECT.open(request, timeout=10) as answer:
                    if answer.status == 200:
                        return 200
            except (urllib.error.URLError, OSError, TimeoutError):
                continue
        return 502

    def stop(self) -> None:
        self.server.shutdown()


class WorkerKiller(Killer):
    """``Killer`` for one of several workers: a start counts once this worker says it is
    running (its own log), not when any worker calls setWebhook."""

    def run(self) -> None:
        seen = 0
        while not self.done.is_set():
            seen = _wait_running(self.bot, seen)
            if self.done.wait(self.rng.uniform(self.low, self.high)):
                return
            self.bot.kill()
            self.bot.start()


def _wait_running(bot: Bot, seen: int, timeout: float = 120.0) -> int:
    """Until the worker's log has more "running" lines than ``seen``; their count."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            n = (bot.work / "bot.log").read_text(encoding="utf-8").count(" running (")
        except FileNotFoundError:
            n = 0
        if n > seen:
            return n
        time.sleep(0.05)
    raise RuntimeError(f"the worker did not start: see {bot.work / 'bot.log'}")


def run(url: str, work: Path, workers: int, residents: int, requests: int, seed: int) -> Figures:
    started = time.monotonic()
    figures = Figures(f"webhook, {workers} workers on PostgreSQL")
    with StandIn(TOKEN) as api:
        ports = [_free_port() for _ in range(workers)]
        balancer = Balancer(ports)
        balancer.start()
        bots = []
        for i, port in enumerate(ports):
            (work / f"w{i}").mkdir()
            bot = Bot(work / f"w{i}", api, "webhook", port)
            bot.db, bot.webhook_url = url, balancer.url
            bots.append(bot)
        for bot in bots:
            bot.start()
            _wait_running(bot, 0)
        killers = [WorkerKiller(bot, 2.0, 5.0, seed=seed * 10 + i) for i, bot in enumerate(bots)]
        lock, quota = threading.Lock(), [requests]
        people = [
            Resident(api, 60_000 + i, quota, lock, random.Random(seed * 100 + i))
            for i in range(residents)
        ]
        for k in killers:
            k.start()
        for p in people:
            p.start()
        for p in people:
            p.join()
        for k in killers:
            k.done.set()
        for k in killers:
            k.join()
        for bot in bots:
            if bot.proc is None or bot.proc.poll() is not None:
                bot.start()
        _settle(api, url, timeout=90)
        for bot in bots:
            bot.stop()
        balancer.stop()
        figures.kills = sum(b.kills for b in bots)
        figures.starts = sum(b.starts for b in bots)
        figures.problems += [p.error for p in people if p.error]
        figures.problems += [f"no reply to update {u} ({v!r})" for p in people for u, v in p.missed]
        figures.actions = sum(p.actions for p in people)
        figures.no_reply = sum(p.no_reply for p in people)
        figures.duplicate_replies = sum(p.twice for p in people)
        figures.requests = requests
        _check_requests(figures, people, api, url)
    figures.seconds = time.monotonic() - started
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=8)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pg", help="a PostgreSQL URL (default: a throwaway cluster)")
    args = parser.parse_args()
    cluster = None
    if args.pg is None:
        from pg_support import Cluster

        cluster = Cluster()
    base = args.pg or cluster.url  # type: ignore[union-attr]
    try:
        with tempfile.TemporaryDirectory(prefix="sanliang-pgcrash-") as tmp:
            url = f"{base}?search_path=crash{os.getpid()}"
            figures = run(url, Path(tmp), args.workers, args.residents, args.requests, args.seed)
            if not figures.ok:  # the workers' logs, to see why
                import shutil

                kept = Path(tempfile.gettempdir()) / "sanliang-pgcrash-last"
                shutil.rmtree(kept, ignore_errors=True)
                shutil.copytree(tmp, kept)
                figures.problems.append(f"the workers' logs are in {kept}")
    finally:
        if cluster is not None:
            cluster.stop()
    print(figures.table())
    for problem in figures.problems:
        print("  problem:", problem)
    at_most_once = (
        figures.no_reply == 0
        and figures.refs_lost == 0
        and figures.cases_duplicated == 0
        and figures.cards_twice == 0
        and figures.cards_missing <= figures.unknown_rows
    )
    print("at most once, nothing acknowledged lost:", "OK" if at_most_once else "FAILED")
    return 0 if at_most_once else 1


if __name__ == "__main__":
    sys.exit(main())
