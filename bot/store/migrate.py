"""Migrations: ``bot/store/migrations/<backend>/NNNN_name.sql``, applied at start-up.

SQLite: each in one BEGIN IMMEDIATE script. PostgreSQL: each in its own transaction,
all under a session advisory lock, so workers starting together migrate once."""

from __future__ import annotations

import re
import time
from importlib import resources
from typing import TYPE_CHECKING

from bot.store.backends import LOCK_MIGRATE
from bot.store.postgres import PostgresDB
from bot.store.sqlite import SqliteDB

if TYPE_CHECKING:
    from bot.store import Store

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _migrations(backend: str = "sqlite") -> list[tuple[int, str, str]]:
    """The migrations of one backend: ``bot/store/migrations/<backend>/NNNN_name.sql``.
    Both backends have the same numbers and names (docs/HACKING.md)."""
    root = resources.files("bot.store.migrations")
    stray = sorted(e.name for e in root.iterdir() if e.name.endswith(".sql"))
    if stray:
        raise _error(
            f"migrations {stray} are in bot/store/migrations/: each belongs in sqlite/ and"
            " postgresql/ under the same number (docs/HACKING.md)"
        )
    found = []
    for entry in root.joinpath(backend).iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise _error(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


def check_version(store: Store, current: int, known: list[tuple[int, str, str]]) -> None:
    newest = known[-1][0] if known else 0
    if current > newest:
        raise _error(
            f"the database {store.path} has schema version {current}, newer than this"
            f" sanliang knows ({newest}); run the newer version, or restore a backup",
            7,  # EXIT_STORE_TOO_NEW
        )


async def migrate_sqlite(store: Store) -> None:
    assert isinstance(store.db, SqliteDB)
    conn = store.db.conn
    async with store.db.lock:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
        )
        cur = await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        row = await cur.fetchone()
        current = row[0] if row is not None else 0
        known = _migrations("sqlite")
        check_version(store, current, known)
        for number, name, sql in known:
            if number <= current:
                continue
            script = (
                "BEGIN IMMEDIATE;\n"
                + sql
                + f"\n;INSERT INTO schema_version VALUES ({number}, '{name}', {time.time()});\nCOMMIT;"
            )
            try:
                await conn.executescript(script)
            except Exception:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                raise


async def migrate_postgres(store: Store) -> None:
    """Each migration in its own transaction, all under a session advisory lock:
    workers starting together migrate once, the others wait and find it done."""
    assert isinstance(store.db, PostgresDB)
    known = _migrations("postgresql")
    key = int(store.db.schema_key)
    async with store.db.connection() as conn:
        await conn.execute(
            f"SELECT pg_advisory_lock({LOCK_MIGRATE}, {key});"
            " CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
        )
        try:
            current = await conn.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            check_version(store, current, known)
            # All pending migrations in one trip, each in its own transaction: one that
            # fails stops there, and those before it stay applied.
            script = "".join(
                f"BEGIN;\n{sql}\n;INSERT INTO schema_version VALUES"
                f" ({number}, '{name}', {time.time()});\nCOMMIT;\n"
                for number, name, sql in known
                if number > current
            )
            if script:
                try:
                    await conn.execute(script)
                except BaseException:
                    if conn.is_in_transaction():
                        await conn.execute("ROLLBACK")
                    raise
        finally:
            await conn.execute(f"SELECT pg_advisory_unlock({LOCK_MIGRATE}, {key})")


def _error(message: str, exit_code: int | None = None) -> Exception:
    from bot.store import EXIT_STORE_UNAVAILABLE, StoreError

    return StoreError(message, EXIT_STORE_UNAVAILABLE if exit_code is None else exit_code)
