"""Announcements: pacing under a fake clock, residents who blocked the assistant (403)
skipped without stopping the run, progress and final counts."""

from __future__ import annotations

import warnings

import pytest
from telegram.error import Forbidden, RetryAfter

from bot.admin.broadcast import MAX_PER_SECOND, Pacer, is_blocked, run_broadcast
from bot.dialog.events import Reply


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeNotifier:
    """Records (time, chat, reply); chats in ``blocked`` raise telegram's 403."""

    def __init__(self, clock: FakeClock, blocked=(), broken=(), flaky=()) -> None:
        self.clock = clock
        self.blocked = set(blocked)
        self.broken = set(broken)
        self.flaky = set(flaky)
        self.sent: list[tuple[float, int, Reply]] = []

    async def send(self, chat_id: int, reply: Reply) -> None:
        if chat_id in self.blocked:
            raise Forbidden("Forbidden: bot was blocked by the user")
        if chat_id in self.broken:
            raise RuntimeError("network down")
        if chat_id in self.flaky:
            self.flaky.discard(chat_id)
            with warnings.catch_warnings():  # PTB 22: "will become a timedelta"
                warnings.simplefilter("ignore")
                error = RetryAfter(3)
            raise error
        self.sent.append((self.clock(), chat_id, reply))


ADMIN_CHAT = 999


async def _subscribers(app, n: int) -> list[tuple[int, int]]:
    for uid in range(1, n + 1):
        await app.store.admin.subscribe(uid, uid, None)
    return await app.store.admin.recipients(None)


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
    # Idle time is not saved up as a burst.
    clock.now += 60
    start = clock()
    for _ in range(26):
        await pacer.wait()
    assert clock() - start == pytest.approx(25 / MAX_PER_SECOND)


async def test_blocked_residents_are_skipped_and_the_run_goes_on(app) -> None:
    recipients = await _subscribers(app, 60)
    clock = FakeClock()
    notifier = FakeNotifier(clock, blocked={3, 10, 59}, broken={20}, flaky={30})
    token = "tok-blocked-test"
    bid = await app.store.admin.create_broadcast(token, 1, None, "寒潮预警", len(recipients))
    counts = await run_broadcast(
        app.engine,
        notifier,
        bid,
        ADMIN_CHAT,
        recipients,
        "寒潮预警：明天降温，请注意保暖。",
        None,
        pacer=Pacer(clock=clock, sleep=clock.sleep),
        progress_every=25,
    )
    assert (counts.sent, counts.blocked, counts.failed) == (56, 3, 1)
    to_residents = [(t, c, r) for t, c, r in notifier.sent if c != ADMIN_CHAT]
    assert sorted(c for _, c, _ in to_residents) == [
        u for u in range(1, 61) if u not in (3, 10, 20, 59)
    ]
    # Every announcement carries the one-button 退订, and the text is escaped HTML.
    for _, _, reply in to_residents:
        assert reply.payloads() == ["sub:off"]
        assert "寒潮预警" in reply.text
    # Paced: never more than 25 messages (progress included) in any second.
    times = [t for t, _, _ in notifier.sent]
    for i in range(len(times) - 25):
        assert times[i + 25] - times[i] >= 1.0 - 1e-9
    assert 3 in clock.sleeps  # the 429 was waited out, then the message went
    # Progress every 25 and the final count went to the admin.
    admin = [r.text for _, c, r in notifier.sent if c == ADMIN_CHAT]
    assert len(admin) == 3
    assert "25/60" in admin[0] and "50/60" in admin[1]
    assert "送达 56" in admin[-1] and "已屏蔽 3" in admin[-1] and "失败 1" in admin[-1]
    # Blocked subscribers are marked and left out of the next announcement.
    left = {u for u, _ in await app.store.admin.recipients(None)}
    assert left == set(range(1, 61)) - {3, 10, 59}
    row = await app.store.admin.broadcast(bid)
    assert (row.status, row.sent, row.blocked, row.failed) == ("done", 56, 3, 1)


async def test_a_notifier_returning_false_counts_as_blocked(app) -> None:
    recipients = await _subscribers(app, 3)

    class Refusing:
        def __init__(self) -> None:
            self.admin: list[str] = []

        async def send(self, chat_id: int, reply: Reply):
            if chat_id == ADMIN_CHAT:
                self.admin.append(reply.text)
                return True
            return chat_id != 2

    clock = FakeClock()
    bid = await app.store.admin.create_broadcast("tok-false", 1, None, "x", 3)
    notifier = Refusing()
    counts = await run_broadcast(
        app.engine, notifier, bid, ADMIN_CHAT, recipients, "x", None,
        pacer=Pacer(clock=clock, sleep=clock.sleep),
    )  # fmt: skip
    assert (counts.sent, counts.blocked, counts.failed) == (2, 1, 0)
    assert (await app.store.admin.subscription(2)).blocked
    assert len(notifier.admin) == 1


def test_blocked_detection() -> None:
    assert is_blocked(Forbidden("Forbidden: bot was blocked by the user"))
    assert not is_blocked(RuntimeError("x"))
