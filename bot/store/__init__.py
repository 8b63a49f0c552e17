"""All persistent state, behind one narrow async API.

SQL lives in this package and nowhere else. One aiosqlite connection per
process; every statement runs under one asyncio lock so that a transaction
opened by one coroutine never interleaves with another's statements.
Feature data sits in repositories (``store.knowledge``, ``store.cases`` ...),
each in its own module here, sharing the connection and the lock.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StoreError(Exception):
    pass


def _migrations() -> list[tuple[int, str, str]]:
    found = []
    for entry in resources.files("bot.store.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise StoreError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


class Store:
    """The process's store. Create with ``await Store.open(path)``."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self.path = path
        from bot.store.cases import CaseRepo
        from bot.store.knowledge import KnowledgeRepo
        from bot.store.staff import StaffRepo

        self.knowledge = KnowledgeRepo(self)
        self.cases = CaseRepo(self)
        self.staff = StaffRepo(self)
        from bot.store.workflow import WorkflowRepo

        self.workflow = WorkflowRepo(self)
        from bot.store.admin import AdminRepo

        self.admin = AdminRepo(self)

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA busy_timeout = 5000")
        if path != ":memory:":
            await conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a committed transaction survives a crash of the
        # process (SIGKILL); only a power cut can lose the newest commits.
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        store = cls(conn, path)
        await store._migrate()
        return store

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    async def _migrate(self) -> None:
        async with self._lock:
            await self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            cur = await self._conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
            (current,) = await cur.fetchone()
            for number, name, sql in _migrations():
                if number <= current:
                    continue
                script = (
                    "BEGIN IMMEDIATE;\n"
                    + sql
                    + f"\n;INSERT INTO schema_version VALUES ({number}, '{name}', {time.time()});\nCOMMIT;"
                )
                try:
                    await self._conn.executescript(script)
                except Exception:
                    if self._conn.in_transaction:
                        await self._conn.execute("ROLLBACK")
                    raise

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
        return int(row["v"])

    # -- primitives for the repositories in this package ---------------------

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), exclusive in this process."""
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            else:
                await self._conn.execute("COMMIT")

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self._lock:
            cur = await self._conn.execute(sql, tuple(params))
            return await cur.fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self._lock:
            cur = await self._conn.execute(sql, tuple(params))
            return list(await cur.fetchall())

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in its own transaction; returns the number of rows changed."""
        async with self.tx() as db:
            cur = await db.execute(sql, tuple(params))
            return cur.rowcount

    # -- conversation state ---------------------------------------------------

    async def load_state(self, user_id: int) -> dict[str, Any] | None:
        row = await self.fetchone("SELECT state FROM conversations WHERE user_id = ?", (user_id,))
        if row is None:
            return None
        try:
            value = json.loads(row["state"])
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    async def update_seen(self, update_id: int) -> bool:
        row = await self.fetchone(
            "SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,)
        )
        return row is not None

    async def save_turn(
        self, user_id: int, state: dict[str, Any] | None, update_id: int | None = None
    ) -> None:
        """Persist the user's state after a turn, and mark the update as done, atomically."""
        now = time.time()
        async with self.tx() as db:
            if state is None:
                await db.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))
            else:
                await db.execute(
                    "INSERT INTO conversations (user_id, state, updated_at) VALUES (?, ?, ?)"
                    " ON CONFLICT(user_id) DO UPDATE SET state = excluded.state,"
                    " updated_at = excluded.updated_at",
                    (user_id, json.dumps(state, ensure_ascii=False), now),
                )
            if update_id is not None:
                await db.execute(
                    "INSERT OR IGNORE INTO processed_updates (update_id, seen_at) VALUES (?, ?)",
                    (update_id, now),
                )

    async def prune_updates(self, older_than_seconds: float = 7 * 86400) -> int:
        return await self.execute(
            "DELETE FROM processed_updates WHERE seen_at < ?", (time.time() - older_than_seconds,)
        )

    async def forget_user_state(self, user_id: int) -> None:
        async with self.tx() as db:
            await db.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))


class Repo:
    """Base for a feature's repository: shares the store's connection and lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
