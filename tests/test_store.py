"""The store: migrations, pragmas, conversation state, transactions."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest

from bot.store import Store, _migrations

pytestmark = pytest.mark.both_backends


async def refuse_update(store: Store, update_id: int) -> None:
    """Make recording this update id fail (a constraint-like error) on either backend."""
    if store.backend == "sqlite":
        await store.execute(
            f"CREATE TEMP TRIGGER refuse_{update_id} BEFORE INSERT ON processed_updates"
            f" WHEN NEW.update_id = {update_id} BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        return
    await store.execute(
        f"CREATE FUNCTION refuse_{update_id}() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN IF NEW.update_id = {update_id} THEN"
        " RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF;"
        f" RETURN NEW; END $$; CREATE TRIGGER refuse_{update_id} BEFORE INSERT"
        f" ON processed_updates FOR EACH ROW EXECUTE FUNCTION refuse_{update_id}()"
    )


async def test_migrations_apply_once_and_are_numbered(db_path):
    store = await Store.open(db_path)
    try:
        assert await store.schema_version() == len(_migrations(store.backend))
        if store.backend == "sqlite":
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


# -- one-statement turns, shared by concurrent turns (issue 6) ------------------


async def test_begin_turn_reads_state_and_update_id_together(db_path):
    store = await Store.open(db_path)
    try:
        assert await store.begin_turn(1, 10) == (False, None)
        assert await store.begin_turn(1, None) == (False, None)
        await store.save_turn_json(1, '{"flow": "x"}', 10)
        assert await store.begin_turn(1, 10) == (True, '{"flow": "x"}')
        assert await store.begin_turn(1, 11) == (False, '{"flow": "x"}')
        # mark_update records the id and leaves the state as it was.
        await store.mark_update(11)
        assert await store.begin_turn(1, 11) == (True, '{"flow": "x"}')
        # A fresh start deletes the row, and still records the update.
        await store.save_turn_json(1, None, 12)
        assert await store.begin_turn(1, 12) == (True, None)
        assert await store.load_state(1) is None
    finally:
        await store.close()


async def test_a_turn_save_writes_state_and_update_id_or_neither(db_path):
    store = await Store.open(db_path)
    try:
        await store.save_turn(1, {"flow": "before"}, update_id=1)
        # Make recording update 2 fail inside the save statement.
        await refuse_update(store, 2)
        with pytest.raises(sqlite3.IntegrityError):
            await store.save_turn(1, {"flow": "after"}, update_id=2)
        assert await store.load_state(1) == {"flow": "before"}
        assert not await store.update_seen(2)
    finally:
        await store.close()


async def test_concurrent_turns_share_statements_and_keep_their_own_results(db_path):
    store = await Store.open(db_path)
    trips = 0

    def counted(real):
        async def counting(*args, **kwargs):
            nonlocal trips
            trips += 1
            return await real(*args, **kwargs)

        return counting

    try:
        users = range(1, 101)
        await asyncio.gather(
            *(store.save_turn(u, {"flow": f"f{u}"}, update_id=1000 + u) for u in users)
        )
        for name in ("execute", "fetchall", "fetchone"):  # every statement of the store
            setattr(store.db, name, counted(getattr(store.db, name)))
        got = await asyncio.gather(
            *(store.begin_turn(u, 1000 + u if u % 2 == 0 else 50_000 + u) for u in users)
        )
        for u, (seen, raw) in zip(users, got, strict=True):
            assert seen == (u % 2 == 0)
            assert json.loads(raw) == {"flow": f"f{u}"}
        await asyncio.gather(
            *(store.save_turn(u, None if u % 3 == 0 else {"n": u}, 5000 + u) for u in users),
            *(store.mark_update(9000 + u) for u in users),
        )
        assert trips < 20  # 300 requests, a handful of statements
        for u in users:
            assert await store.load_state(u) == (None if u % 3 == 0 else {"n": u})
            assert await store.update_seen(5000 + u) and await store.update_seen(9000 + u)
    finally:
        await store.close()


async def test_one_bad_save_in_a_shared_statement_fails_only_itself(db_path):
    store = await Store.open(db_path)
    try:
        await refuse_update(store, 13)
        results = await asyncio.gather(
            *(store.save_turn(u, {"u": u}, update_id=u) for u in range(1, 30)),
            return_exceptions=True,
        )
        for u, result in zip(range(1, 30), results, strict=True):
            if u == 13:
                assert isinstance(result, sqlite3.IntegrityError)
                assert await store.load_state(u) is None
            else:
                assert result is None
                assert await store.load_state(u) == {"u": u}
                assert await store.update_seen(u)
    finally:
        await store.close()


async def test_store_execute_is_one_atomic_statement(db_path):
    store = await Store.open(db_path)
    try:
        n = await store.execute(
            "INSERT INTO conversations (user_id, state, updated_at) VALUES (1, '{}', 0), (2, '{}', 0)"
        )
        assert n == 2
        with pytest.raises(sqlite3.IntegrityError):  # row 3 is new, row 1 is a duplicate
            await store.execute(
                "INSERT INTO conversations (user_id, state, updated_at)"
                " VALUES (3, '{}', 0), (1, '{}', 0)"
            )
        assert await store.load_state(3) is None
        if store.backend == "sqlite":
            assert not store._conn.in_transaction
    finally:
        await store.close()


def test_a_database_that_cannot_be_opened_fails_fast(tmp_path):
    """Not a hang: the connection's thread is closed when opening fails."""
    import subprocess
    import sys

    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not an SQLite file" * 100)
    code = (
        f"import asyncio, sys\nfrom bot.store import Store\nasyncio.run(Store.open({str(bad)!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "StoreError" in proc.stderr and "damaged" in proc.stderr
