"""The store layer's two backends: the same SQL, the same results, the same errors."""

from __future__ import annotations

import asyncio
import re
from importlib import resources

import pytest

from bot.store import IntegrityError, Store, StoreError, _migrations
from bot.store.backends import redact, to_postgres, to_sqlite

pytestmark = pytest.mark.both_backends

TELEGRAM_ID = 7_123_456_789  # above 2^31, as Telegram user ids are


def test_migrations_exist_for_both_backends_in_step():
    """Every migration has a twin of the same number and name in the other folder."""
    sqlite = [(n, name) for n, name, _ in _migrations("sqlite")]
    postgres = [(n, name) for n, name, _ in _migrations("postgresql")]
    assert sqlite == postgres
    assert [n for n, _ in sqlite] == list(range(1, len(sqlite) + 1))
    root = resources.files("bot.store.migrations")
    assert not [e.name for e in root.iterdir() if e.name.endswith(".sql")]


def test_postgres_migrations_use_wide_ids_and_times():
    """No 32-bit INTEGER (Telegram ids overflow it) and no 4-byte REAL (times lose
    seconds) in the PostgreSQL set; numbered ids are identity columns."""
    for _, name, sql in _migrations("postgresql"):
        code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
        assert not re.search(r"\bINTEGER\b|\bREAL\b", code, re.I), name
        assert not re.search(r"\bid\s+BIGINT\s+PRIMARY KEY", code, re.I), name


def test_placeholders_are_translated_outside_quotes_and_comments():
    sql = "SELECT '?', \"a?\" FROM t WHERE a = ? AND b = ? -- c?\n AND c = ?"
    assert to_postgres(sql) == (
        "SELECT '?', \"a?\" FROM t WHERE a = $1 AND b = $2 -- c?\n AND c = $3"
    )
    assert to_postgres("SELECT 'it''s ?' , ?") == "SELECT 'it''s ?' , $1"
    assert to_sqlite("SELECT id FROM t WHERE a = ? FOR UPDATE SKIP LOCKED") == (
        "SELECT id FROM t WHERE a = ?"
    )


def test_passwords_are_not_shown():
    assert redact("postgresql://bot:secret@db:5432/x") == "postgresql://bot:***@db:5432/x"
    assert redact("postgresql://bot@db/x") == "postgresql://bot@db/x"


async def test_same_sql_same_results(db_path):
    store = await Store.open(db_path)
    try:
        async with store.tx() as db:
            cur = await db.execute(
                "INSERT INTO kb_questions (token, user_id, question, decision, candidates,"
                " asked_at) VALUES (?, ?, ?, 'answer', '[]', ?) RETURNING id",
                ("t1", TELEGRAM_ID, "低保怎么办？", 1.5),
            )
            first = (await cur.fetchone())["id"]
            cur = await db.execute(
                "INSERT INTO kb_questions (token, user_id, question, decision, candidates,"
                " asked_at) VALUES (?, ?, ?, 'answer', '[]', ?) RETURNING id",
                ("t2", TELEGRAM_ID, "?", 1781234567.25),
            )
            second = (await cur.fetchone())["id"]
            cur = await db.execute(
                "UPDATE kb_questions SET feedback = 1 WHERE user_id = ?", (TELEGRAM_ID,)
            )
            assert cur.rowcount == 2
        assert second == first + 1
        rows = await store.fetchall(
            "SELECT id, user_id, question, asked_at FROM kb_questions WHERE user_id = ?"
            " ORDER BY id FOR UPDATE",
            (TELEGRAM_ID,),
        )
        assert [dict(r) for r in rows] == [
            {"id": first, "user_id": TELEGRAM_ID, "question": "低保怎么办？", "asked_at": 1.5},
            {"id": second, "user_id": TELEGRAM_ID, "question": "?", "asked_at": 1781234567.25},
        ]
        total = await store.fetchval(
            "SELECT SUM(feedback) FROM kb_questions WHERE user_id = ?", (TELEGRAM_ID,)
        )
        assert total == 2 and isinstance(total, int)
        changed = await store.execute(
            "WITH t (token) AS (SELECT ?) UPDATE kb_questions SET feedback = 0"
            " WHERE token IN (SELECT token FROM t)",
            ("t2",),
        )
        assert changed == 1  # a WITH statement's count, on both
        assert await store.execute("DELETE FROM kb_questions WHERE token = ?", ("t1",)) == 1
        assert "kb_questions" in await store.tables()
    finally:
        await store.close()


async def test_one_integrity_error_for_both(db_path):
    store = await Store.open(db_path)
    try:
        sql = (
            "INSERT INTO cases (ref, draft_id, user_id, category, region_city, region_district,"
            " target_days, created_at, updated_at) VALUES (?, ?, 1, 'other', 'a', 'b', 5, 0, 0)"
        )
        await store.execute(sql, ("SC-0001-AAAA", "d1"))
        with pytest.raises(IntegrityError) as caught:
            await store.execute(sql, ("SC-0001-AAAA", "d2"))
        assert caught.value.about("cases", "ref")
        assert not caught.value.about("cases", "draft_id")
        with pytest.raises(IntegrityError):
            async with store.tx() as db:
                await db.execute(sql, ("SC-0001-BBBB", "d1"))
        # ON CONFLICT DO NOTHING reports no row changed, on both.
        assert await store.execute(sql + " ON CONFLICT DO NOTHING", ("SC-0001-AAAA", "d3")) == 0
        assert await store.cases.count() == 1
    finally:
        await store.close()


async def test_write_transactions_do_not_interleave(db_path):
    """Read-then-write inside tx(): two at once never both read the old value."""
    store = await Store.open(db_path)
    try:
        await store.execute("INSERT INTO web_settings (key, value) VALUES ('n', '0')")

        async def bump() -> None:
            async with store.tx() as db:
                row = await (
                    await db.execute("SELECT value FROM web_settings WHERE key = 'n'")
                ).fetchone()
                await asyncio.sleep(0.01)
                await db.execute(
                    "UPDATE web_settings SET value = ? WHERE key = 'n'",
                    (str(int(row["value"]) + 1),),
                )

        await asyncio.gather(*(bump() for _ in range(8)))
        assert await store.fetchval("SELECT value FROM web_settings WHERE key = 'n'") == "8"
    finally:
        await store.close()


async def test_workers_starting_together_migrate_once(pg_url):
    stores = await asyncio.gather(*(Store.open(pg_url, pool_size=2) for _ in range(3)))
    try:
        rows = await stores[0].fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, len(_migrations("postgresql")) + 1))
    finally:
        for store in stores:
            await store.close()


async def test_unreachable_server_is_one_line(tmp_path):
    with pytest.raises(StoreError) as caught:
        await Store.open("postgresql://nobody:pw@127.0.0.1:1/none")
    assert "pw" not in str(caught.value) and "\n" not in str(caught.value)
