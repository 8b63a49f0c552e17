"""Crash runs: ``sanliang run`` against the local Bot API stand-in, SIGKILLed every few
seconds while residents file help requests, then checked against what the residents
and the stand-in saw. Used by bench/crash.py (long runs, ``--mode polling|webhook|broadcast``;
the announcement run is in crashtest_broadcast.py) and by tests/test_crash_runs.py
(short ones).

What is checked, once the residents are done and the last process has stopped:
- every reference a resident was shown exists, and no request was stored twice;
- every request's staff card went to each of its targets exactly once (the area's
  group; for an area without one, the default group and each admin);
- no resident action was left without a reply;
- broadcast: every subscriber got the announcement exactly once.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config import bundled_content
from bot.telegram.crashtest_db import rows
from bot.telegram.offline import Updates
from bot.telegram.standin import StandIn

TOKEN = "4242:CRASH-TEST-TOKEN"  # noqa: S105 - the local stand-in's
ADMIN = 90001
AREA_CHAT = -1001001  # 成都市/武侯区
CITY_CHAT = -1001002  # 成都市 (锦江区 has no group of its own)
DEFAULT_CHAT = -1001009  # everything else (绵阳市)
REF = re.compile(r"SC-\d{4}-[2-9A-HJ-NP-Z]{4}")
REPLY_WAIT = 90.0
THINK = (
    0.5,
    0.9,
)  # seconds between a reply and the next action  # a reply may wait for a restart or two
SHARED_UPDATES = Updates(start=1000)
QUEUE_LOCK = threading.RLock()
PLACES = [("成都市", "武侯区"), ("成都市", "锦江区"), ("绵阳市", "涪城区")]


def targets_for(city: str, district: str) -> list[int]:
    if (city, district) == ("成都市", "武侯区"):
        return [AREA_CHAT]
    if city == "成都市":
        return [CITY_CHAT]
    return [DEFAULT_CHAT, ADMIN]  # no group of its own: the default group and the admins


CONFIG = f"""
admin_ids = [{ADMIN}]

[staff]
area_chats = {{"成都市/武侯区" = {AREA_CHAT}, "成都市" = {CITY_CHAT}}}
default_chat = {DEFAULT_CHAT}
"""


@dataclass
class Figures:
    mode: str
    kills: int = 0
    starts: int = 0
    actions: int = 0
    no_reply: int = 0
    duplicate_replies: int = 0
    requests: int = 0
    refs_shown: int = 0
    refs_lost: int = 0
    cases_stored: int = 0
    cases_duplicated: int = 0
    cards_expected: int = 0
    cards_once: int = 0
    cards_missing: int = 0
    cards_twice: int = 0
    subscribers: int = 0
    announced_once: int = 0
    announced_missing: int = 0
    announced_twice: int = 0
    unknown_rows: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.no_reply == 0
            and self.refs_lost == 0
            and self.cases_duplicated == 0
            and self.cards_missing == 0
            and self.cards_twice == 0
            and self.announced_missing == 0
            and self.announced_twice == 0
        )

    def table(self) -> str:
        rows = [
            ("mode", self.mode),
            ("seconds", f"{self.seconds:.0f}"),
            ("SIGKILLs", self.kills),
            ("process starts", self.starts),
            ("resident actions", self.actions),
            ("actions without a reply", self.no_reply),
            ("actions answered twice", self.duplicate_replies),
            ("requests filed", self.requests),
            ("references shown", self.refs_shown),
            ("references lost", self.refs_lost),
            ("requests stored", self.cases_stored),
            ("requests stored twice", self.cases_duplicated),
            ("staff cards expected", self.cards_expected),
            ("  delivered exactly once", self.cards_once),
            ("  never delivered", self.cards_missing),
            ("  delivered twice", self.cards_twice),
            ("subscribers", self.subscribers),
            ("  announcement exactly once", self.announced_once),
            ("  never got it", self.announced_missing),
            ("  got it twice", self.announced_twice),
            ("outbox rows 'unknown' (cut off)", self.unknown_rows),
            ("verdict", "OK" if self.ok else "FAILED"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


class Bot:
    """``sanliang run`` as a child process, restarted after every kill."""

    def __init__(self, work: Path, api: StandIn, mode: str, port: int) -> None:
        self.work = work
        self.api = api
        self.mode = mode
        self.port = port
        # Several workers (bench/pg_crash.py): a PostgreSQL URL, a balancer's address.
        self.db, self.webhook_url = str(work / "crash.db"), f"http://127.0.0.1:{port}/tg"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0
        (work / "sanliang.toml").write_text(CONFIG, encoding="utf-8")

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            NO_PROXY="127.0.0.1,localhost",
            SANLIANG_CONTENT_DIR=str(bundled_content()),
        )
        env["SANLIANG_LOG_LEVEL"] = "DEBUG" if os.environ.get("CRASH_DEBUG") else "WARNING"
        env.pop("SANLIANG_CONFIG", None)
        args = [sys.executable, "-m", "bot", "run", "--db", self.db]
        args += ["--config", str(self.work / "sanliang.toml"), "--api-url", self.api.api_url]
        if self.mode == "webhook":
            args += [
                "--webhook-url",
                self.webhook_url,
                "--listen",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--secret-token",
                "crash-secret",
            ]
        log = open(self.work / "bot.log", "a", encoding="utf-8")  # noqa: SIM115 - child's
        self.proc = subprocess.Popen(  # noqa: S603 - our own command line
            args, cwd=self.work, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        log.close()
        self.starts += 1

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.kills += 1

    def stop(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9


class Killer(threading.Thread):
    """SIGKILL ``low``..``high`` seconds after each start has begun receiving
    updates (the first getUpdates or setWebhook), restart at once."""

    def __init__(self, bot: Bot, low: float, high: float, seed: int) -> None:
        super().__init__(daemon=True)
        self.bot = bot
        self.low, self.high = low, high
        self.rng = random.Random(seed)  # noqa: S311 - timing, not security
        self.done = threading.Event()

    def run(self) -> None:
        since = 0
        while not self.done.is_set():
            _wait_started(self.bot, self.bot.api, since=since)
            if self.done.wait(self.rng.uniform(self.low, self.high)):
                return
            since = self._mark()
            self.bot.kill()
            self.bot.start()

    def _mark(self) -> int:
        counts = self.bot.api.counts
        return counts.get("getUpdates", 0) + counts.get("setWebhook", 0)


class Resident(threading.Thread):
    """Files help requests through the stand-in, one step after the other."""

    def __init__(self, api: StandIn, user_id: int, quota: list[int], lock, rng) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.stub = api.stub
        self.user_id = user_id
        self.quota = quota
        self.lock = lock
        self.rng = rng
        self.updates = SHARED_UPDATES  # update ids grow across all users, as on Telegram
        self.last: list[Any] = []
        self.actions = 0
        self.no_reply = 0
        self.twice = 0
        self.refs: list[str] = []
        self.places: dict[str, tuple[str, str]] = {}
        self.error: str | None = None
        self.missed: list[tuple[int, str]] = []

    def run(self) -> None:
        try:
            while True:
                with self.lock:
                    if self.quota[0] <= 0:
                        return
                    self.quota[0] -= 1
                self.file_one()
        except Exception as exc:  # noqa: BLE001 - reported in the figures
            self.error = f"{type(exc).__name__}: {exc}"

    def file_one(self) -> None:
        city, district = self.rng.choice(PLACES)
        n = len(self.refs)
        steps: list[tuple[str, str, str]] = [
            ("say", "/start", "我要求助"),
            ("tap", "我要求助", "为谁求助"),
            ("tap", "为自己求助", "您同意吗"),
            ("tap", "同意，开始填写", "哪方面的困难"),
            ("tap", "住房", "哪个县（区）"),
            ("say", city, "哪个区、县"),  # typed: 市州 are picked by 片区
            ("tap", district, "遇到了什么困难"),
            ("say", f"天元街道{self.user_id}，房子漏雨第{n}次，冬天冷", "哪个电话"),
            ("say", "13912345678", "请核对"),
            ("tap", "确认提交", "保存好了"),
        ]
        for kind, value, expect in steps:
            got = self.act(kind, value, expect)
            if got is None:
                return  # no reply: start the next request afresh
        refs = REF.findall(" ".join(c.params.get("text", "") for c in self.last))
        if refs:
            self.refs.append(refs[0])
            self.places[refs[0]] = (city, district)

    def _mine(self, mark: int) -> list[Any]:
        return [
            c
            for c in self.stub.sent()[mark:]
            if c.method in ("sendMessage", "editMessageText")
            and str(c.params.get("chat_id")) == str(self.user_id)
        ]

    def act(self, kind: str, value: str, expect: str) -> list[Any] | None:
        mark = len(self.stub.sent())
        press: tuple[str, Any] | None = None
        if kind == "tap":
            for call in reversed(self.last):
                markup = call.params.get("reply_markup") or "{}"
                markup = json.loads(markup) if isinstance(markup, str) else markup
                for row in markup.get("inline_keyboard", []):
                    for b in row:
                        if b["text"] == value and press is None:
                            press = (b["callback_data"], call.result)
            if press is None:
                # The button is not on the last replies (a reply came twice, or late):
                # start this request again from the menu.
                return None
        # A person's pace (the adapter's flood guard drops a 21st message within 10 s).
        time.sleep(self.rng.uniform(*THINK))
        self.actions += 1
        with QUEUE_LOCK:  # ids allocated and queued in one step: in order, as on Telegram
            if press is None:
                update = self.updates.message(value, self.user_id)
            else:
                update = self.updates.callback(press[0], self.user_id, message=press[1])
            self.api.queue_update(update)
        deadline = time.monotonic() + REPLY_WAIT
        while time.monotonic() < deadline:
            new = self._mine(mark)
            if any(expect in c.params.get("text", "") for c in new):
                time.sleep(0.05)  # the rest of this turn's replies
                new = self._mine(mark)
                hits = [c for c in new if expect in c.params.get("text", "")]
                if len(hits) > 1:
                    self.twice += 1
                self.last = new
                return new
            time.sleep(0.02)
        self.no_reply += 1
        self.missed.append((update["update_id"], value))
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_started(bot: Bot, api: StandIn, timeout: float = 60.0, since: int = 0) -> None:
    """Until the bot receives updates: a getUpdates or setWebhook call after ``since``
    such calls."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api.counts.get("getUpdates", 0) + api.counts.get("setWebhook", 0) > since:
            return
        if bot.proc is not None and bot.proc.poll() is not None:
            raise RuntimeError(f"the bot exited: see {bot.work / 'bot.log'}")
        time.sleep(0.05)
    raise RuntimeError("the bot did not start")


def _settle(api: StandIn, db: str | Path, timeout: float = 60.0) -> None:
    """After the last kill: until Telegram has nothing unconfirmed and the outbox and
    the inbox are empty."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if api.unconfirmed():
            continue
        try:
            ((pending,),) = rows(
                db, "SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')"
            )
            ((inbox,),) = rows(db, "SELECT COUNT(*) FROM inbox")
        except Exception:  # noqa: BLE001, S112 - busy or restarting: look again
            continue
        if not pending and not inbox:
            return


def run_requests(
    work: Path,
    mode: str = "polling",
    residents: int = 8,
    requests: int = 200,
    kill_every: tuple[float, float] = (2.0, 5.0),
    seed: int = 1,
) -> Figures:
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    figures = Figures(mode)
    with StandIn(TOKEN) as api:
        bot = Bot(work, api, mode, _free_port())
        bot.start()
        _wait_started(bot, api)
        killer = Killer(bot, *kill_every, seed=seed)
        lock, quota = threading.Lock(), [requests]
        people = [
            Resident(api, 60_000 + i, quota, lock, random.Random(seed * 100 + i))  # noqa: S311
            for i in range(residents)
        ]
        killer.start()
        for p in people:
            p.start()
        for p in people:
            p.join()
        killer.done.set()
        killer.join()
        if bot.proc is None or bot.proc.poll() is not None:
            bot.start()
        _settle(api, work / "crash.db")
        bot.stop()
        figures.kills, figures.starts = bot.kills, bot.starts
        figures.problems += [p.error for p in people if p.error]
        figures.problems += [f"no reply to update {u} ({v!r})" for p in people for u, v in p.missed]
        figures.actions = sum(p.actions for p in people)
        figures.no_reply = sum(p.no_reply for p in people)
        figures.duplicate_replies = sum(p.twice for p in people)
        figures.requests = requests
        _check_requests(figures, people, api, work / "crash.db")
    figures.seconds = time.monotonic() - started
    return figures


def _check_requests(figures: Figures, people: list[Resident], api: StandIn, db: str | Path) -> None:
    shown = {ref: place for p in people for ref, place in p.places.items()}
    figures.refs_shown = len(shown)
    cases = rows(db, "SELECT ref, user_id, region_city, region_district FROM cases")
    ((figures.unknown_rows,),) = rows(db, "SELECT COUNT(*) FROM outbox WHERE status = 'unknown'")
    stored = {ref: (city, district) for ref, _u, city, district in cases}
    figures.cases_stored = len(cases)
    figures.refs_lost = sum(1 for ref in shown if ref not in stored)
    # Stored twice: more requests stored for a resident than references shown.
    per_user = Counter(u for _r, u, _c, _d in cases)
    for p in people:
        extra = per_user.get(p.user_id, 0) - len(p.refs)
        if extra > 0:
            figures.cases_duplicated += extra
    texts = [
        (str(c.params.get("chat_id")), c.params.get("text", ""))
        for c in api.stub.sent()
        if c.method == "sendMessage"
    ]
    by_chat_ref: Counter[tuple[str, str]] = Counter()
    for chat, text in texts:
        if "新求助" in text:
            for ref in set(REF.findall(text)):
                by_chat_ref[(chat, ref)] += 1
    for ref, (city, district) in stored.items():
        for target in targets_for(city, district):
            figures.cards_expected += 1
            n = by_chat_ref.get((str(target), ref), 0)
            if n == 1:
                figures.cards_once += 1
            elif n == 0:
                figures.cards_missing += 1
            else:
                figures.cards_twice += 1
