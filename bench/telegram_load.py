"""Load on the Telegram channel: simulated residents through ``process_update``.

1,000 residents send 20 updates each (commands, button presses, questions) to the
assistant's Application, with an offline Bot API (no network) and a temporary SQLite
database; the same updates then go to a bare python-telegram-bot echo bot in the same
process. Prints updates per second, latency percentiles and our cost per update as a
multiple of the echo bot's. Target: at most 3x.

Both bots get the very same updates and the same offline request object. The Bot API
calls each bot made are counted and printed; a run in which the assistant logged an
error or sent fewer replies than it received updates is reported as invalid (exit 2),
so a turn that fails fast can never pass for a fast turn.

    .venv/bin/python bench/telegram_load.py [--users 1000] [--messages 20] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.app import open_app  # noqa: E402
from bot.config import PROJECT_ROOT, Config  # noqa: E402
from bot.dialog.events import Event  # noqa: E402
from bot.telegram.adapter import build_application  # noqa: E402
from bot.telegram.inbox import TelegramInbox  # noqa: E402
from bot.telegram.offline import BotAPIStub, OfflineRequest, Updates  # noqa: E402

TOKEN = "123456:BENCH"
TARGET = 3.0
ECHO, OURS, ENGINE = "echo bot (bare PTB)", "sanliang (via inbox)", "  engine alone"

# One resident's visit: (kind, value). Repeated to the requested length.
VISIT = [
    ("text", "/start"),
    ("press", "menu:channels"),
    ("press", "nav:menu"),
    ("text", "低保咋个申请"),
    ("text", "特困人员是啥子"),
    ("press", "menu:list"),
    ("press", "nav:menu"),
    ("text", "谢谢"),
    ("text", "/help"),
    ("text", "我屋头没得收入了咋个办"),
]


def make_updates(users: int, messages: int, first_user: int = 100_000) -> list[list[dict]]:
    factory = Updates(start=first_user * 100)
    per_user = []
    for u in range(users):
        user_id = first_user + u
        seq = []
        for i in range(messages):
            kind, value = VISIT[i % len(VISIT)]
            if kind == "text":
                seq.append(factory.message(value, user_id))
            else:
                seq.append(factory.callback(value, user_id))
        per_user.append(seq)
    return per_user


async def drive(
    application: Application, per_user: list[list[dict]], concurrency: int, inbox=None
) -> dict:
    """Each resident sends their updates in order; up to ``concurrency`` in flight.
    With ``inbox`` each update is stored in the inbox first and removed when handled,
    as ``sanliang run`` does (one update per call: the webhook's case, the costliest)."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    bot = application.bot

    async def resident(seq: list[dict]) -> None:
        for data in seq:
            async with gate:
                t0 = time.perf_counter()
                if inbox is not None:
                    await inbox.receive_and_handle(data)
                else:
                    await application.process_update(Update.de_json(data, bot))
                latencies.append(time.perf_counter() - t0)

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(resident(seq) for seq in per_user))
    return _summary(latencies, time.perf_counter() - t0, time.process_time() - cpu0)


async def drive_engine(engine, per_user: list[list[dict]], concurrency: int) -> dict:
    """The same turns straight into the engine (no python-telegram-bot): the split
    between the engine (store, matcher, templates) and the Telegram side."""
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    def event(data: dict) -> Event:
        if "message" in data:
            m = data["message"]
            return Event(
                m["from"]["id"], m["chat"]["id"], text=m["text"], update_id=data["update_id"]
            )
        q = data["callback_query"]
        return Event(
            q["from"]["id"], q["from"]["id"], payload=q["data"], update_id=data["update_id"]
        )

    async def resident(seq: list[dict]) -> None:
        for data in seq:
            ev = event(data)
            async with gate:
                t0 = time.perf_counter()
                await engine.handle(ev)
                latencies.append(time.perf_counter() - t0)

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(resident(seq) for seq in per_user))
    return _summary(latencies, time.perf_counter() - t0, time.process_time() - cpu0)


def _summary(latencies: list[float], wall: float, cpu: float) -> dict:
    latencies.sort()
    n = len(latencies)
    return {
        "n": n,
        "wall": wall,
        "rate": n / wall,
        "p50": latencies[n // 2] * 1000,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000,
        "cpu_per_update": cpu / n * 1000,
    }


class CountingRequest(OfflineRequest):
    """The offline Bot API, counting the calls each bot makes (a bot that failed its
    turns, or skipped its replies, must not look fast)."""

    def __init__(self, stub: BotAPIStub) -> None:
        super().__init__(stub)
        self.calls: Counter[str] = Counter()

    async def do_request(self, url: str, method: str, request_data=None, **kwargs):
        self.calls[url.rsplit("/", 1)[-1]] += 1
        return await super().do_request(url, method, request_data, **kwargs)


class ErrorCount(logging.Handler):
    """Errors logged by the assistant (failed turns, failed updates)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def echo_application(request: OfflineRequest) -> Application:
    application = (
        Application.builder()
        .token(TOKEN)
        .request(request)
        .get_updates_request(request)
        .concurrent_updates(64)
        .build()
    )

    async def echo(update: Update, context) -> None:
        msg = update.message
        if msg is not None and msg.text:
            await context.bot.send_message(msg.chat_id, msg.text)

    async def pressed(update: Update, context) -> None:
        query = update.callback_query
        await query.answer()
        await context.bot.send_message(query.message.chat.id, query.data or "…")

    application.add_handler(CallbackQueryHandler(pressed))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, echo))
    return application


async def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--direct",
        action="store_true",
        help="hand updates straight to the Application, without storing them in the inbox",
    )
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        app = await open_app(Config(db_path=str(Path(tmp) / "bench.db"), content_dir=PROJECT_ROOT))
        try:
            ours_request = CountingRequest(BotAPIStub(record=False, strict=False))
            ours = build_application(app, TOKEN, request=ours_request, rate_limiter=None)
            echo_request = CountingRequest(BotAPIStub(record=False, strict=False))
            echo = echo_application(echo_request)
            errors = ErrorCount()
            logging.getLogger("bot").addHandler(errors)
            await ours.initialize()
            await echo.initialize()
            inbox = None if args.direct else TelegramInbox(ours, app.store)
            ours_key = "sanliang (direct, no inbox)" if args.direct else OURS
            # Warm up both (template compilation, matcher caches, first SQL statements).
            await drive(ours, make_updates(20, 10), args.concurrency, inbox)
            await drive(echo, make_updates(20, 10), args.concurrency)

            # Rounds alternate between the bots (fresh residents each time) so that a
            # noisy neighbour on the machine hits both; each row is the median round.
            runs: dict[str, list[dict]] = {ECHO: [], ours_key: [], ENGINE: []}
            ours_request.calls.clear()
            echo_request.calls.clear()
            errors.count = 0
            for r in range(args.rounds):
                first = 1_000_000 * (r + 1)
                load = make_updates(args.users, args.messages, first)
                runs[ECHO].append(await drive(echo, load, args.concurrency))
                runs[ours_key].append(await drive(ours, load, args.concurrency, inbox))
                load = make_updates(args.users, args.messages, first + 500_000)
                runs[ENGINE].append(await drive_engine(app.engine, load, args.concurrency))
            results = {
                name: sorted(rs, key=lambda x: x["rate"])[len(rs) // 2] for name, rs in runs.items()
            }
            await ours.shutdown()
            await echo.shutdown()
        finally:
            await app.close()

    print(
        f"\n{args.users} residents x {args.messages} updates, {args.concurrency} in flight, "
        f"offline Bot API, SQLite on a temporary file; median of {args.rounds} rounds\n"
    )
    head = f"{'':22} {'updates':>8} {'upd/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/upd':>11}"
    print(head)
    print("-" * len(head))
    for name, r in results.items():
        print(
            f"{name:22} {r['n']:8d} {r['rate']:8.0f} {r['p50']:8.2f} {r['p99']:8.2f} "
            f"{r['cpu_per_update']:11.3f}"
        )
    sent = ("sendMessage", "editMessageText")
    print("\nBot API calls per update (all rounds):")
    for name, calls in ((ECHO, echo_request.calls), (ours_key, ours_request.calls)):
        n = args.rounds * args.users * args.messages
        per = ", ".join(f"{m} {c / n:.2f}" for m, c in sorted(calls.items()))
        print(f"  {name.strip():20} {per}")
    replies = sum(ours_request.calls[m] for m in sent)
    honest = errors.count == 0 and replies >= args.rounds * args.users * args.messages
    if not honest:
        print(f"\nINVALID RUN: {errors.count} error(s) logged, {replies} replies sent")
        return 2
    echo_r, ours_r = results[ECHO], results[ours_key]
    ratio = echo_r["rate"] / ours_r["rate"]
    cpu_ratio = ours_r["cpu_per_update"] / echo_r["cpu_per_update"]
    verdict = "OK" if ratio <= TARGET else "OVER TARGET"
    print(
        f"\nper-update cost vs echo bot: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU "
        f"(target <= {TARGET:.0f}x): {verdict}"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
