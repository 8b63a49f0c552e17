"""The outbox sender: delivered once and marked only after the channel took it,
retries with back-off and RetryAfter, permanent failures recorded and told to whoever
caused them, rows left 'sending' by a dead process never sent twice, in order per
chat, and a clean stop that records what was in flight."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.dialog.events import Button, Reply
from bot.outbox import MAX_ATTEMPTS, Permanent, RetryLater, Sender, classify
from bot.store.outbox import Outgoing, reply_from_json, reply_to_json

pytestmark = pytest.mark.both_backends

ADMINS = (900, 901)


class Clock:
    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


class Channel:
    """A channel's deliver function that records what it took; ``plan`` makes the
    next calls to a recipient raise (a list of exceptions, used up in order)."""

    def __init__(self) -> None:
        self.got: list[tuple[int, str]] = []
        self.plan: dict[int, list[BaseException]] = {}
        self.next_id = 500

    async def deliver(self, recipient: int, reply: Reply) -> int:
        await asyncio.sleep(0)
        todo = self.plan.get(recipient)
        if todo:
            raise todo.pop(0)
        self.got.append((recipient, reply.text))
        self.next_id += 1
        return self.next_id

    def to(self, recipient: int) -> list[str]:
        return [t for r, t in self.got if r == recipient]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def channel() -> Channel:
    return Channel()


@pytest.fixture
def sender(app, clock, channel) -> Sender:
    s = Sender(app.store, app.renderer, admins=lambda: ADMINS, clock=clock, rate=0)
    s.add_channel("telegram", channel.deliver)
    return s


def msg(to: int, text: str, **kw) -> Outgoing:
    return Outgoing(Reply(text), kw.pop("kind", "staff"), recipient=to, **kw)


def test_reply_round_trip():
    reply = Reply("<b>新求助</b>", [[Button("认领", "st:claim:1"), Button("查看", "st:view:1")]])
    again = reply_from_json(reply_to_json(reply), 42)
    assert again.text == reply.text and again.buttons == reply.buttons and again.chat_id == 42


def test_classification_of_telegram_errors():
    assert classify(Forbidden("Forbidden: bot was blocked by the user"))[::2] == (
        "permanent",
        "blocked",
    )
    assert classify(BadRequest("Chat not found"))[::2] == ("permanent", "chat_not_found")
    assert classify(BadRequest("Message is too long"))[::2] == ("permanent", "rejected")
    assert classify(RetryAfter(7)) == ("retry", 7.0, "flood")
    assert classify(TimedOut())[0::2] == ("retry", "network")
    assert classify(NetworkError("boom"))[0::2] == ("retry", "network")
    assert classify(Permanent("blocked"))[::2] == ("permanent", "blocked")
    assert classify(RetryLater(3))[:2] == ("retry", 3)


async def test_delivered_once_and_marked_after_the_channel_took_it(app, sender, channel):
    seen_status = []

    async def watching(recipient: int, reply: Reply) -> int:
        (row,) = await app.store.outbox.messages(recipient=recipient)
        seen_status.append(row.status)  # claimed (committed) before the call
        return await channel.deliver(recipient, reply)

    sender.add_channel("telegram", watching)
    assert await sender.enqueue([msg(1, "一"), msg(2, "二", dedup="k")]) == 2
    assert await sender.enqueue([msg(2, "二again", dedup="k")]) == 0  # dedup
    assert await sender.drain() == 2
    assert seen_status == ["sending", "sending"]
    assert sorted(channel.got) == [(1, "一"), (2, "二")]  # two chats: sent side by side
    rows = await app.store.outbox.messages()
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1), ("sent", 1)]
    assert all(r.message_id is not None for r in rows)
    assert await sender.drain() == 0  # nothing is sent twice


async def test_network_errors_and_retry_after_are_retried_later(app, sender, channel, clock):
    channel.plan[1] = [NetworkError("reset"), RetryAfter(30)]
    await sender.enqueue([msg(1, "重要")])
    await sender.drain()
    (row,) = await app.store.outbox.messages()
    assert row.status == "pending" and row.error == "network" and row.next_at > clock.now
    assert channel.got == []
    clock.now = row.next_at
    await sender.drain()
    (row,) = await app.store.outbox.messages()
    assert row.error == "flood" and row.next_at == pytest.approx(clock.now + 30)
    clock.now += 29
    assert await sender.drain() == 0  # RetryAfter is respected
    clock.now += 1
    assert await sender.drain() == 1
    (row,) = await app.store.outbox.messages()
    assert (row.status, row.attempts) == ("sent", 3)
    assert channel.to(1) == ["重要"]


async def test_giving_up_after_many_attempts_tells_the_cause(app, sender, channel, clock):
    channel.plan[1] = [TimedOut()] * MAX_ATTEMPTS
    await sender.enqueue([msg(1, "回复居民", kind="resident", cause=77)])
    for _ in range(MAX_ATTEMPTS + 2):
        await sender.drain()
        clock.now += 4000
    row = (await app.store.outbox.messages(recipient=1))[0]
    assert (row.status, row.error, row.attempts) == ("failed", "gave_up", MAX_ATTEMPTS)
    (told,) = channel.to(77)
    assert "没有发出去" in told and "多次重试" in told and "电话联系居民" in told


async def test_permanent_failures_are_recorded_and_shown(app, sender, channel):
    channel.plan[1] = [Forbidden("Forbidden: bot was blocked by the user")]
    channel.plan[-100] = [BadRequest("Bad Request: chat not found")]
    await sender.enqueue(
        [
            msg(1, "您的求助有回复了", kind="resident", cause=55),
            msg(-100, "新求助", kind="case_post"),
        ]
    )
    await sender.drain()
    rows = {r.recipient: r for r in await app.store.outbox.messages(kind="resident")}
    assert (rows[1].status, rows[1].error) == ("failed", "blocked")
    (post,) = await app.store.outbox.messages(kind="case_post")
    assert (post.status, post.error, post.attempts) == ("failed", "chat_not_found", 1)
    assert "屏蔽" in channel.to(55)[0]  # the worker who replied
    for admin in ADMINS:  # a group that is gone: the admins
        (text,) = channel.to(admin)
        assert "找不到这个聊天" in text and "/queue" in text
    assert channel.to(1) == [] and channel.to(-100) == []


async def test_a_row_left_sending_by_a_dead_process_is_never_sent_again(app, channel, clock):
    await app.store.outbox.enqueue([msg(5, "卡片", kind="case_post"), msg(6, "其他")], clock())
    (first, _) = await app.store.outbox.messages()
    assert await app.store.outbox.claim(first.id)  # the process died during the call
    # ... it was another process (with several workers, a live one keeps its rows).
    await app.store.execute("UPDATE outbox SET claimed_by = 'gone' WHERE id = ?", (first.id,))
    restarted = Sender(app.store, app.renderer, admins=lambda: ADMINS, clock=clock, rate=0)
    restarted.add_channel("telegram", channel.deliver)
    assert await restarted.recover() == 1
    await restarted.drain()
    assert channel.to(5) == []  # at most once: not sent a second time
    assert channel.to(6) == ["其他"]
    row = await app.store.outbox.get(first.id)
    assert (row.status, row.error) == ("unknown", "interrupted")
    for admin in ADMINS:
        assert "不确定对方有没有收到" in channel.to(admin)[0]


async def test_messages_to_one_chat_keep_their_order(app, sender, channel):
    channel.plan[1] = []
    await sender.enqueue([msg(1, f"第{i}条") for i in range(6)] + [msg(2, "别人")])
    await sender.drain()
    assert channel.to(1) == [f"第{i}条" for i in range(6)]


async def test_urgent_messages_go_first(app, sender, channel):
    await sender.enqueue(
        [msg(1, "公告", kind="announcement", priority=2), msg(2, "紧急", priority=0)]
    )
    await sender.drain()
    assert [t for _, t in channel.got] == ["紧急", "公告"]


async def test_a_stop_finishes_and_records_the_calls_in_flight(app, clock):
    release, all_called = asyncio.Event(), asyncio.Event()
    calls = []

    async def slow(recipient: int, reply: Reply) -> int:
        calls.append(recipient)
        if len(calls) == 3:
            all_called.set()
        await release.wait()
        return 1

    sender = Sender(app.store, app.renderer, clock=clock, rate=0)
    sender.add_channel("telegram", slow)
    await app.store.outbox.enqueue([msg(i, "x") for i in range(1, 4)], clock())
    stop = asyncio.Event()
    task = asyncio.ensure_future(sender.run(stop))
    await asyncio.wait_for(all_called.wait(), 5)
    stop.set()
    await asyncio.sleep(0.05)
    assert not task.done()  # waits for the calls in flight
    release.set()
    await asyncio.wait_for(task, 5)
    assert [r.status for r in await app.store.outbox.messages()] == ["sent"] * 3


async def test_the_loop_wakes_up_for_new_messages(app, sender, channel):
    stop = asyncio.Event()
    task = asyncio.ensure_future(sender.run(stop))
    await asyncio.sleep(0.05)
    await sender.enqueue([msg(3, "新消息")])
    for _ in range(100):
        if channel.to(3):
            break
        await asyncio.sleep(0.01)
    assert channel.to(3) == ["新消息"]
    stop.set()
    await asyncio.wait_for(task, 5)
