"""Several worker processes on one PostgreSQL database. Each ``Store`` here is what
one process opens (its own pool, its own name in ``pg_stat_activity``); closing it is
what the process's death does to its sessions."""

from __future__ import annotations

import asyncio

from bot.dialog.events import Reply
from bot.store import Store
from bot.store.outbox import Outgoing


async def two(url: str) -> tuple[Store, Store]:
    return await Store.open(url, pool_size=3), await Store.open(url, pool_size=3)


async def test_one_residents_turns_wait_for_each_other_across_processes(pg_url):
    a, b = await two(pg_url)
    try:
        order: list[str] = []

        async def turn(store: Store, user: int, name: str, hold: float) -> None:
            async with store.turn_lock(user):
                order.append(f"{name}+")
                await asyncio.sleep(hold)
                order.append(f"{name}-")

        first = asyncio.ensure_future(turn(a, 7_000_000_001, "a", 0.3))
        await asyncio.sleep(0.1)
        # The same resident on the other worker waits; another resident does not.
        await asyncio.gather(turn(b, 7_000_000_001, "b", 0), turn(b, 7_000_000_002, "c", 0), first)
        assert order.index("c-") < order.index("a-") < order.index("b+")
    finally:
        await a.close()
        await b.close()


async def test_one_leader_and_a_takeover_when_it_dies(pg_url):
    a, b = await two(pg_url)
    try:
        assert await a.leader()
        assert await a.leader()  # still
        assert not await b.leader()
        await a.close()  # the leader's process dies
        assert await b.leader()
    finally:
        await b.close()


async def test_a_notice_reaches_the_other_processes_only(pg_url):
    a, b = await two(pg_url)
    try:
        got_a: list[str] = []
        got_b: list[str] = []
        await a.listen("reload", got_a.append)
        await b.listen("reload", got_b.append)
        await a.notify("reload", "policy_texts/dibao.yml")
        for _ in range(50):
            if got_b:
                break
            await asyncio.sleep(0.05)
        assert got_b == ["policy_texts/dibao.yml"]
        assert got_a == []
    finally:
        await a.close()
        await b.close()


async def test_a_live_workers_rows_are_not_recovered_a_dead_ones_are(pg_url):
    a, b = await two(pg_url)
    try:
        await a.outbox.enqueue([Outgoing(Reply("卡片"), "case_post", recipient=-100)])
        (row,) = await a.outbox.messages()
        assert await a.outbox.claim(row.id)
        assert not await b.outbox.claim(row.id)  # claimed once
        await a.inbox.receive([(501, '{"update_id": 501}')])
        # b starts while a still runs: a's sending row and a's update stay a's.
        assert await b.outbox.interrupted() == []
        assert await b.inbox.pending() == []
        await a.close()  # a dies
        (lost,) = await b.outbox.interrupted()
        assert (lost.id, lost.error) == (row.id, "interrupted")
        assert (await b.outbox.get(row.id)).status == "unknown"
        (stored,) = await b.inbox.pending()
        assert stored.update_id == 501
    finally:
        await b.close()


async def test_two_workers_share_the_outbox_without_sending_twice(pg_url):
    a, b = await two(pg_url)
    try:
        await a.outbox.enqueue(
            [Outgoing(Reply(f"通知{i}"), "resident", recipient=1000 + i) for i in range(60)]
        )
        claimed: dict[str, list[int]] = {"a": [], "b": []}

        async def work(store: Store, name: str) -> None:
            while True:
                due = await store.outbox.due(now=4e9, limit=8)
                if not due:
                    return
                for msg in due:
                    if await store.outbox.claim(msg.id):
                        claimed[name].append(msg.id)
                        await store.outbox.mark_sent(msg.id, 1)

        await asyncio.gather(work(a, "a"), work(b, "b"))
        every = claimed["a"] + claimed["b"]
        assert len(every) == len(set(every)) == 60
        assert claimed["a"] and claimed["b"]  # both did some of it
    finally:
        await a.close()
        await b.close()
