"""Announcements through the outbox: pacing, residents who blocked the assistant
skipped without stopping the run, progress and final counts, a run that resumes
exactly where it stopped after a restart, and the admin's stop command."""

from __future__ import annotations

import asyncio
import time
import warnings

import pytest
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.admin.broadcast import announcement_reply
from bot.dialog.events import Event, Reply
from bot.outbox import MAX_PER_SECOND, Pacer, Sender
from tests import test_admin as _admin_tests

pytestmark = pytest.mark.both_backends

# An app with admins on a copy of the content (the admin tests' fixtures).
ADMIN = _admin_tests.ADMIN
app = _admin_tests.app
root = _admin_tests.root

ADMIN_CHAT = ADMIN


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Channel:
    """Records (time, chat, reply); chats in ``blocked`` raise telegram's 403."""

    def __init__(self, clock, blocked=(), rejected=(), flaky=(), limit=None) -> None:
        self.clock = clock
        self.blocked, self.rejected, self.flaky = set(blocked), set(rejected), set(flaky)
        self.limit = limit  # stop taking messages after this many (a dying process)
        self.sent: list[tuple[float, int, Reply]] = []

    async def deliver(self, chat_id: int, reply: Reply) -> int:
        if chat_id in self.blocked:
            raise Forbidden("Forbidden: bot was blocked by the user")
        if chat_id in self.rejected:
            raise BadRequest("Bad Request: chat not found")
        if chat_id in self.flaky:
            self.flaky.discard(chat_id)
            with warnings.catch_warnings():  # PTB 22: "will become a timedelta"
                warnings.simplefilter("ignore")
                error = RetryAfter(3)
            raise error
        self.sent.append((self.clock(), chat_id, reply))
        if self.limit is not None and len(self.sent) == self.limit[0]:
            self.limit[1].set()  # e.g. SIGTERM arrives now
        return len(self.sent)

    def residents(self) -> list[int]:
        return [c for _, c, _ in self.sent if c != ADMIN_CHAT]

    def admin(self) -> list[str]:
        return [r.text for _, c, r in self.sent if c == ADMIN_CHAT]


def make_sender(app, clock, channel, **kw) -> Sender:
    kw.setdefault("pacer", Pacer(clock=clock, sleep=clock.sleep))
    sender = Sender(app.store, app.renderer, clock=clock, **kw)
    sender.add_channel("telegram", channel.deliver)
    app.engine.services.outbox = sender
    return sender


async def start(app, n: int, draft: str = "draft-test-run", first: int = 1) -> int:
    for uid in range(first, first + n):
        await app.store.admin.subscribe(uid, uid, None, now=1.0)
    recipients = await app.store.admin.recipients(None)
    reply = announcement_reply(app.engine, "寒潮预警：明天降温，请注意保暖。", None)
    bid = await app.store.admin.start_broadcast(
        draft, ADMIN, ADMIN_CHAT, None, "寒潮预警", recipients, reply, now=1.0
    )
    assert bid is not None
    return bid


async def test_pacer_never_exceeds_the_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(MAX_PER_SECOND, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(100):
        await pacer.wait()
        times.append(clock())
    for i in range(len(times) - 25):
        assert times[i + 25] - times[i] >= 1.0 - 1e-9  # no 26 sends within one second
    assert times[-1] - times[0] == pytest.approx(99 / MAX_PER_SECOND)
    clock.now += 60  # idle time is not saved up as a burst
    begin = clock()
    for _ in range(26):
        await pacer.wait()
    assert clock() - begin == pytest.approx(25 / MAX_PER_SECOND)


async def test_blocked_residents_are_skipped_and_the_run_goes_on(app) -> None:
    clock = FakeClock()
    channel = Channel(clock, blocked={3, 10, 59}, rejected={20}, flaky={30})
    sender = make_sender(app, clock, channel, progress_every=25, concurrency=1)
    bid = await start(app, 60)
    await sender.drain()
    clock.now += 5  # the 429 is waited out, then the message goes
    await sender.drain()
    assert sorted(channel.residents()) == [u for u in range(1, 61) if u not in (3, 10, 20, 59)]
    assert len(channel.residents()) == len(set(channel.residents()))  # nobody twice
    for _, chat, reply in channel.sent:
        if chat != ADMIN_CHAT:
            assert reply.payloads() == ["sub:off"] and "寒潮预警" in reply.text
    times = [t for t, _, _ in channel.sent]
    for i in range(len(times) - 25):
        assert times[i + 25] - times[i] >= 1.0 - 1e-9  # paced, reports included
    admin = channel.admin()
    assert len(admin) == 3, admin
    assert "25/60" in admin[0] and "50/60" in admin[1]
    assert "通知发完了" in admin[-1]
    assert "送达 56" in admin[-1] and "已屏蔽 4" in admin[-1] and "失败 0" in admin[-1]
    left = {u for u, _ in await app.store.admin.recipients(None)}
    assert left == set(range(1, 61)) - {3, 10, 20, 59}  # blocked ones are left out next time
    row = await app.store.admin.broadcast(bid)
    assert (row.status, row.sent, row.blocked, row.failed) == ("done", 56, 4, 0)


async def test_a_run_resumes_exactly_where_it_stopped(app) -> None:
    """Stopped (SIGTERM: the sender finishes and records what is in flight) after 40,
    killed with one message in flight later, restarted: everyone got it once, except
    the one whose delivery was cut off mid-call, which is reported, never resent."""
    clock = FakeClock()
    channel = Channel(clock)
    bid = await start(app, 120)
    first = make_sender(app, clock, channel, concurrency=1)
    sigterm = asyncio.Event()
    channel.limit = (40, sigterm)
    await asyncio.wait_for(first.run(sigterm), 10)  # returns once what was in flight is recorded
    assert len(channel.residents()) == 40
    counts = await app.store.outbox.broadcast_counts(bid)
    assert (counts["sent"], counts["pending"]) == (40, 80)
    # A kill during the 41st call: claimed (committed), never marked.
    (nxt,) = await app.store.outbox.due(clock(), limit=1)
    assert await app.store.outbox.claim(nxt.id)
    # ... by the process that was killed (with several workers, a live one keeps its rows).
    await app.store.execute("UPDATE outbox SET claimed_by = 'gone' WHERE id = ?", (nxt.id,))
    second = make_sender(app, clock, channel)
    await second.recover()
    await second.drain()
    got = channel.residents()
    assert len(got) == len(set(got)) == 119  # nobody twice, nobody skipped...
    assert set(range(1, 121)) - set(got) == {nxt.recipient}  # ...but the one cut off
    final = channel.admin()[-1]
    assert "通知发完了" in final and "送达 119" in final and "失败 1" in final
    assert (await app.store.admin.broadcast(bid)).status == "done"


async def test_a_kill_after_the_last_message_still_reports_the_final_counts(app) -> None:
    """The process dies after the last row was marked sent but before the run was
    finished: the next start finishes it and tells the admin, once."""
    clock = FakeClock()
    channel = Channel(clock)
    bid = await start(app, 5)
    for msg in await app.store.outbox.due(clock(), limit=10):  # the dead process's work
        assert await app.store.outbox.claim(msg.id)
        await app.store.outbox.mark_sent(msg.id, 1, now=clock())
    assert (await app.store.admin.broadcast(bid)).status == "running"
    second = make_sender(app, clock, channel)
    await second.recover()
    await second.drain()
    assert channel.residents() == []  # nobody gets it twice
    (final,) = channel.admin()
    assert "通知发完了" in final and "送达 5" in final
    assert (await app.store.admin.broadcast(bid)).status == "done"
    third = make_sender(app, clock, channel)  # another restart: no second report
    await third.recover()
    await third.drain()
    assert len(channel.admin()) == 1


async def test_the_admin_starts_and_stops_a_run_in_the_chat(app) -> None:
    repo = app.store.admin
    for uid in range(1, 31):
        await repo.subscribe(uid, uid, "成都市" if uid % 2 else None)
    clock = FakeClock()
    clock.now = time.time() + 3600  # the chat's turn queues with the real time
    channel = Channel(clock)
    sender = make_sender(app, clock, channel, concurrency=1)

    async def say(text: str | None = None, payload: str | None = None) -> str:
        replies = await app.engine.handle(
            Event(user_id=ADMIN, chat_id=ADMIN, text=text, payload=payload)
        )
        say.last = replies
        return "\n".join(r.text for r in replies)

    await say("/announce")
    await say(payload="adm:bcr:成都市")
    assert "30 人" in await say("明天有寒潮，请注意保暖。")
    confirm = [p for r in say.last for p in r.payloads() if p.startswith("adm:bcok:")][0]
    assert "开始发送，共 30 人" in await say(payload=confirm)
    stop = [p for r in say.last for p in r.payloads() if p.startswith("adm:bcstop:")][0]
    assert "过期" in await say(payload=confirm)  # pressed again: no second run
    enough = asyncio.Event()
    channel.limit = (10, enough)
    await asyncio.wait_for(sender.run(enough), 10)
    assert "停止发送了" in await say(payload=stop)
    await sender.drain()
    assert len(channel.residents()) == len(set(channel.residents())) <= 12
    final = channel.admin()[-1]
    assert "已经停止发送" in final and "停止后没有发的" in final
    assert "没有正在发送" in await say("/announce stop")
