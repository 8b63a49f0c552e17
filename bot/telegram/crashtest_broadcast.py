"""The announcement crash run (see bot.telegram.crashtest): one announcement to many
subscribers through ``sanliang run``, SIGKILLed while it sends and SIGTERMed once,
restarted each time; then who got it exactly once, never, or twice."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

from bot.telegram.crashtest import (
    ADMIN,
    TOKEN,
    Bot,
    Figures,
    Resident,
    _free_port,
    _settle,
    _wait_started,
)
from bot.telegram.standin import StandIn


def run_broadcast(
    work: Path,
    subscribers: int = 400,
    kill_every: tuple[float, float] = (2.0, 5.0),
    kills: int = 3,
    seed: int = 1,
) -> Figures:
    """An announcement to ``subscribers`` residents; the process is SIGKILLed
    ``kills`` times while it sends (and once SIGTERMed), restarted each time."""
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    figures = Figures("broadcast")
    db = work / "crash.db"
    _subscribe(db, subscribers)
    with StandIn(TOKEN) as api:
        bot = Bot(work, api, "polling", _free_port())
        bot.start()
        _wait_started(bot, api)
        admin = Resident(api, ADMIN, [0], threading.Lock(), random.Random(seed))  # noqa: S311
        for kind, value, expect in (
            ("say", "/announce", "发给哪些订阅的居民"),
            ("tap", "发给全部订阅的人", "通知的内容"),
            ("say", "寒潮预警：明天降温，请注意保暖。", "确认发给"),
            ("tap", "确认发送", "开始发送"),
        ):
            if admin.act(kind, value, expect) is None:
                figures.problems.append(f"the admin got no reply to {value!r}")
                break
        rng = random.Random(seed)  # noqa: S311 - timing, not security
        for i in range(kills + 1):
            time.sleep(rng.uniform(*kill_every))
            if i == kills:
                bot.stop()  # SIGTERM: the sender checkpoints before the store closes
            else:
                bot.kill()
            bot.start()
        _settle(api, db, timeout=120)
        # Done means the run is marked done and its final report is queued in the same
        # transaction; the report is sent a moment later (or by the next start).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (_broadcast_done(db) and _admin_told(api)):
            time.sleep(0.5)
        bot.stop()
        figures.kills, figures.starts = bot.kills, bot.starts
        got = Counter(
            str(c.params.get("chat_id"))
            for c in api.stub.sent()
            if c.method == "sendMessage" and "寒潮预警" in c.params.get("text", "")
        )
        figures.subscribers = subscribers
        for uid in range(1, subscribers + 1):
            n = got.get(str(700_000 + uid), 0)
            if n == 1:
                figures.announced_once += 1
            elif n == 0:
                figures.announced_missing += 1
            else:
                figures.announced_twice += 1
        with sqlite3.connect(db) as conn:
            figures.unknown_rows = conn.execute(
                "SELECT COUNT(*) FROM outbox WHERE status = 'unknown'"
            ).fetchone()[0]
        if not _admin_told(api):
            figures.problems.append("the admin was not told the final counts")
    figures.seconds = time.monotonic() - started
    return figures


def _subscribe(db: Path, n: int) -> None:
    import asyncio

    from bot.store import Store

    async def fill() -> None:
        store = await Store.open(db)
        try:
            for uid in range(1, n + 1):
                await store.admin.subscribe(700_000 + uid, 700_000 + uid, None)
        finally:
            await store.close()

    asyncio.run(fill())


def _admin_told(api: StandIn) -> bool:
    """The admin got the final counts."""
    return any(
        "通知发完了" in c.params.get("text", "")
        for c in api.stub.sent()
        if c.method == "sendMessage" and str(c.params.get("chat_id")) == str(ADMIN)
    )


def _broadcast_done(db: Path) -> bool:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT status FROM broadcasts ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == "done"
