"""The store: migrations, pragmas, conversation state, transactions."""

from __future__ import annotations

import pytest

from bot.store import Store, _migrations


async def test_migrations_apply_once_and_are_numbered(db_path):
    store = await Store.open(db_path)
    try:
        assert await store.schema_version() == len(_migrations())
        row = await store.fetchone("PRAGMA journal_mode")
        assert row[0] == "wal"
        row = await store.fetchone("PRAGMA foreign_keys")
        assert row[0] == 1
    finally:
        await store.close()
    again = await Store.open(db_path)  # re-opening applies nothing twice
    try:
        rows = await again.fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [r[0] for r in rows] == list(range(1, len(_migrations()) + 1))
    finally:
        await again.close()


async def test_state_round_trip_and_update_ids(db_path):
    store = await Store.open(db_path)
    try:
        assert await store.load_state(1) is None
        await store.save_turn(1, {"flow": "x", "data": {"a": "低保"}}, update_id=10)
        assert await store.load_state(1) == {"flow": "x", "data": {"a": "低保"}}
        assert await store.update_seen(10)
        assert not await store.update_seen(11)
        await store.save_turn(1, None)
        assert await store.load_state(1) is None
    finally:
        await store.close()


async def test_a_failed_transaction_leaves_nothing(db_path):
    store = await Store.open(db_path)
    try:
        with pytest.raises(RuntimeError):
            async with store.tx() as db:
                await db.execute(
                    "INSERT INTO conversations (user_id, state, updated_at) VALUES (1, '{}', 0)"
                )
                raise RuntimeError("abort")
        assert await store.load_state(1) is None
        # The connection is usable afterwards.
        await store.save_turn(1, {"flow": None})
        assert await store.load_state(1) == {"flow": None}
    finally:
        await store.close()


async def test_corrupt_state_reads_as_a_fresh_start(db_path):
    store = await Store.open(db_path)
    try:
        await store.execute(
            "INSERT INTO conversations (user_id, state, updated_at) VALUES (2, 'not json', 0)"
        )
        assert await store.load_state(2) is None
    finally:
        await store.close()
