"""All persistent state, behind one narrow async API.

SQL lives in this package and nowhere else. Two backends share that API
(``bot/store/backends.py``): SQLite, the embedded default (one aiosqlite connection
per process, every statement under one asyncio lock), and PostgreSQL for a
``postgresql://`` URL (an asyncpg pool, shared by several worker processes).
Feature data sits in repositories (``store.knowledge``, ``store.cases`` ...),
each in its own module here, sharing the store's primitives.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.store import catalog
from bot.store.backends import IntegrityError, is_url, redact
from bot.store.coalesce import Coalescer, _padded
from bot.store.postgres import PostgresDB
from bot.store.sqlite import SqliteDB

__all__ = ["Coalescer", "IntegrityError", "Repo", "Store", "StoreError", "_padded", "is_url"]

BACKENDS = ("sqlite", "postgresql")


# Exit codes of the ``sanliang`` command for a store that cannot be used.
EXIT_STORE_UNAVAILABLE = 5  # missing or read-only folder or file
EXIT_STORE_DAMAGED = 6  # PRAGMA quick_check failed, or not a database at all
EXIT_STORE_TOO_NEW = 7  # written by a newer sanliang (more migrations than this code knows)


class StoreError(Exception):
    """The store cannot be used. ``str(exc)`` is one line for the operator."""

    def __init__(self, message: str, exit_code: int = EXIT_STORE_UNAVAILABLE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


from bot.store.migrate import _migrations, migrate_postgres, migrate_sqlite  # noqa: E402

__all__ += ["_migrations"]


class Store:
    """The process's store. Create with ``await Store.open(path_or_url)``."""

    def __init__(self, db: SqliteDB | PostgresDB, path: str) -> None:
        self.db = db
        self.backend: str = db.name  # "sqlite" | "postgresql"
        self._worker = secrets.token_hex(6)
        self.path = path  # the file, or the URL without its password
        if isinstance(db, SqliteDB):
            # The SQLite connection and its lock (tests and tools that read the file).
            self._conn = db.conn
            self._lock = db.lock
        # Turns of different users that start or end at the same time share one
        # statement (and one trip to the database thread).
        self._turn_reads = Coalescer(self._read_turns)
        self._turn_saves = Coalescer(self._save_turns)
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
        from bot.store.outbox import OutboxRepo

        self.outbox = OutboxRepo(self)
        from bot.store.inbox import InboxRepo

        self.inbox = InboxRepo(self)
        from bot.store.identities import IdentityRepo
        from bot.store.web import WebRepo

        self.identities = IdentityRepo(self)
        self.web = WebRepo(self)
        from bot.store.supervision import SupervisionRepo

        self.supervision = SupervisionRepo(self)
        from bot.store.visits import VisitRepo

        self.visits = VisitRepo(self)

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    @property
    def worker(self) -> str:
        """This process's name in rows it claims (outbox 'sending', inbox)."""
        if isinstance(self.db, PostgresDB):
            return self.db.token
        return self._worker

    def gone(self, column: str) -> str:
        """An SQL condition: the worker named in ``column`` is no longer running, so
        its claimed rows may be recovered. SQLite: always (one process, which recovers
        at start what the previous one left)."""
        if isinstance(self.db, PostgresDB):
            return self.db.gone(column)
        return "1 = 1"

    @classmethod
    async def open(cls, path: str | Path, pool_size: int = 10) -> Store:
        """Open (and migrate) the database: a SQLite file, or a ``postgresql://`` URL.
        Raises StoreError, with one line to show and an exit code, when it cannot be
        used: a folder that cannot be created or written, a damaged file, a server
        that cannot be reached, a schema newer than this code."""
        path = str(path)
        if is_url(path):
            return await cls._open_postgres(path, pool_size)
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the database folder {Path(path).parent}: "
                    f"{exc.strerror or type(exc).__name__}"
                ) from None
        try:
            # Opened once without aiosqlite first: a failed aiosqlite.connect leaves its
            # thread to report to a loop that may be closed by then.
            sqlite3.connect(path).close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the database {path}: {exc}") from None
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA busy_timeout = 5000")
            await _check_integrity(conn, path)
            if path != ":memory:":
                await conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a committed transaction survives a crash of the
            # process (SIGKILL); only a power cut can lose the newest commits.
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            # Deleted and overwritten content is zeroed in the file, not left in free
            # space: what /forget and the retention purge erase is gone from the disk
            # once the WAL is checkpointed (``scrub``).
            await conn.execute("PRAGMA secure_delete = ON")
            store = cls(SqliteDB(conn), path)
            await migrate_sqlite(store)
        except sqlite3.OperationalError as exc:
            await conn.close()  # else aiosqlite's thread keeps the process alive
            raise StoreError(
                f"cannot use the database {path}: {exc} (is the file and its folder writable?)"
            ) from None
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(
                f"the database {path} is damaged ({exc}); restore it from a backup",
                EXIT_STORE_DAMAGED,
            ) from None
        except BaseException:
            await conn.close()
            raise
        return store

    @classmethod
    async def _open_postgres(cls, url: str, pool_size: int) -> Store:
        shown = redact(url)
        try:
            db = await PostgresDB.connect(url, max_size=max(2, pool_size))
        except (TimeoutError, OSError) as exc:
            raise StoreError(
                f"cannot reach the PostgreSQL server of {shown}: {str(exc) or type(exc).__name__}"
            ) from None
        except Exception as exc:  # asyncpg's errors: authentication, no such database ...
            raise StoreError(f"cannot use the PostgreSQL database {shown}: {exc}") from None
        store = cls(db, shown)
        try:
            await migrate_postgres(store)
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self.db.close()

    async def scrub(self) -> None:
        """Copy the WAL into the database file and truncate it: after an erasure
        (/forget, a retention purge) the old page images in the WAL are gone too.
        (``secure_delete`` has already zeroed the erased bytes in the new pages.)
        PostgreSQL: nothing to do here (its own VACUUM reclaims the dead rows)."""
        if self.path == ":memory:" or not isinstance(self.db, SqliteDB):
            return
        async with self.db.lock:
            await self.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def purge_idle_conversations(self, idle_before: float) -> int:
        """Delete the conversation state (half-filled forms, last question, screening
        answers) of everyone whose last turn was before ``idle_before``: an
        unfinished form simply starts over."""
        return await self.execute("DELETE FROM conversations WHERE updated_at < ?", (idle_before,))

    async def tables(self) -> list[str]:
        """The names of the store's tables (views aside), sorted."""
        return await catalog.tables(self)

    async def columns(self, table: str) -> dict[str, str]:
        """The columns of a table (in order) with their declared type, lower case."""
        return await catalog.columns(self, table)

    async def foreign_keys(self) -> dict[str, set[str]]:
        """For each table, the tables its foreign keys reference."""
        return await catalog.foreign_keys(self)

    async def continue_ids(self, table: str) -> None:
        """After rows were copied in with their ids: new rows are numbered after them."""
        await catalog.continue_ids(self, table)

    async def schema_version(self) -> int:
        return int(await self.fetchval("SELECT COALESCE(MAX(version), 0) FROM schema_version"))

    # -- primitives for the repositories in this package ---------------------

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[Any]:
        """One write transaction, serialised against every other one: SQLite's
        BEGIN IMMEDIATE; PostgreSQL's BEGIN with a transaction-scoped advisory lock
        (across every worker process). ``await db.execute(sql, params)`` inside it
        returns a result with ``fetchone()``, ``fetchall()`` and ``rowcount``."""
        async with self.db.tx() as db:
            yield db

    @asynccontextmanager
    async def turn_lock(self, user_id: int) -> AsyncIterator[None]:
        """Held around one resident's turn. SQLite: nothing (one process, whose
        engine serialises the resident's turns itself). PostgreSQL: a session
        advisory lock on the user id, so that two worker processes never run the
        same resident's turns at once."""
        if not isinstance(self.db, PostgresDB):
            yield
            return
        async with self.db.turn_lock(user_id):
            yield

    async def leader(self) -> bool:
        """Whether this process runs the scheduled jobs. SQLite: always (one process).
        PostgreSQL: the one process holding the leader lock; when it dies, the next
        one that asks takes over (``pg_try_advisory_lock``)."""
        if not isinstance(self.db, PostgresDB):
            return True
        return await self.db.leader()

    async def notify(self, name: str, payload: str = "") -> None:
        """Tell the other processes on this database (PostgreSQL's NOTIFY; SQLite: there
        are none)."""
        if isinstance(self.db, PostgresDB):
            await self.db.notify(name, payload)

    async def listen(self, name: str, callback: Callable[[str], Any]) -> None:
        """``callback(payload)`` for each ``notify(name, payload)`` of another process."""
        if isinstance(self.db, PostgresDB):
            await self.db.listen(name, callback)

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return await self.db.fetchone(sql, params)

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        """The first column of the first row (a COUNT, a MAX); StoreError when no row."""
        row = await self.fetchone(sql, params)
        if row is None:
            raise StoreError("the query returned no row")
        return row[0]

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return await self.db.fetchall(sql, params)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """One statement in its own transaction; returns the number of rows changed
        (for a statement with RETURNING: the number of rows it returned).

        SQLite's connection is in autocommit mode, so a lone statement outside ``tx()``
        is its own transaction (a write takes the write lock when it starts, as BEGIN
        IMMEDIATE would): atomic, and one round trip to the database thread."""
        return await self.db.execute(sql, params)

    # -- conversation state ---------------------------------------------------

    async def load_state(self, user_id: int) -> dict[str, Any] | None:
        row = await self.fetchone("SELECT state FROM conversations WHERE user_id = ?", (user_id,))
        return _state_value(row["state"] if row is not None else None)

    async def update_seen(self, update_id: int) -> bool:
        row = await self.fetchone(
            "SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,)
        )
        return row is not None

    async def begin_turn(self, user_id: int, update_id: int | None) -> tuple[bool, str | None]:
        """(whether ``update_id`` was handled already, the user's state as stored JSON
        or None). One statement; turns of other users starting meanwhile share it."""
        return await self._turn_reads.submit((user_id, update_id))

    async def save_turn(
        self, user_id: int, state: dict[str, Any] | None, update_id: int | None = None
    ) -> None:
        """Persist the user's state after a turn, and mark the update as done, atomically."""
        await self.save_turn_json(
            user_id, None if state is None else json.dumps(state, ensure_ascii=False), update_id
        )

    async def save_turn_json(
        self,
        user_id: int,
        state: str | None,
        update_id: int | None = None,
        replies: str | None = None,
        outbox: str | None = None,
    ) -> None:
        """``save_turn`` with the state already serialised (None: start afresh).
        ``replies`` (JSON) are kept with the update id until they were delivered
        (``store.inbox.done``), so a crash after the commit loses no reply;
        ``outbox`` (JSON ``[[recipient, reply], ...]``) is queued for other chats."""
        await self._turn_saves.submit((user_id, state, update_id, 0, replies, outbox))

    async def mark_update(
        self,
        update_id: int | None,
        replies: str | None = None,
        outbox: str | None = None,
        user_id: int | None = None,
    ) -> None:
        """Record a handled update whose turn left the state as it was."""
        await self._turn_saves.submit((user_id, None, update_id, 1, replies, outbox))

    async def _read_turns(
        self, items: list[tuple[int, int | None]]
    ) -> list[tuple[bool, str | None]]:
        rows = _padded(items, (None, None))
        sql = (
            "WITH q (k, user_id, update_id) AS (VALUES "
            + ", ".join(["(CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS BIGINT))"] * len(rows))
            + ") SELECT q.k AS k,"
            " (SELECT state FROM conversations c WHERE c.user_id = q.user_id) AS state,"
            " EXISTS (SELECT 1 FROM processed_updates p WHERE p.update_id = q.update_id) AS seen"
            " FROM q"
        )
        params = [v for k, (user_id, update_id) in enumerate(rows) for v in (k, user_id, update_id)]
        found = await self.fetchall(sql, params)
        out: list[tuple[bool, str | None]] = [(False, None)] * len(items)
        for row in found:
            if row["k"] < len(items):
                out[row["k"]] = (bool(row["seen"]), row["state"])
        return out

    async def _save_turns(
        self, items: list[tuple[int | None, str | None, int | None, int, str | None, str | None]]
    ) -> list[None]:
        """One INSERT into ``turn_saves`` for all the turns: each turn's state,
        update id, replies and outbox messages are written together (and all of these
        turns' at once)."""
        now = time.time()
        rows = _padded(items, (None, None, None, 1, None, None))  # padding changes nothing
        sql = (
            "INSERT INTO turn_saves (user_id, state, update_id, saved_at, keep, replies, outbox)"
            " VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(rows))
        )
        params = [
            v
            for user_id, state, update_id, keep, replies, outbox in rows
            for v in (user_id, state, update_id, now, keep, replies, outbox)
        ]
        await self.execute(sql, params)
        return [None] * len(items)

    async def prune_updates(self, older_than_seconds: float = 7 * 86400) -> int:
        return await self.execute(
            "DELETE FROM processed_updates WHERE seen_at < ?", (time.time() - older_than_seconds,)
        )

    async def forget_user_state(self, user_id: int) -> None:
        async with self.tx() as db:
            await db.execute("DELETE FROM conversations WHERE user_id = ?", (user_id,))


async def _check_integrity(conn: aiosqlite.Connection, path: str) -> None:
    """PRAGMA quick_check: a damaged page is found at start-up, not in every turn."""
    cur = await conn.execute("PRAGMA quick_check(5)")
    found = [row[0] for row in await cur.fetchall()]
    if found != ["ok"]:
        detail = "; ".join(str(f) for f in found)[:300]
        raise StoreError(
            f"the database {path} is damaged (quick_check: {detail}); restore it from a backup",
            EXIT_STORE_DAMAGED,
        )


def _state_value(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class Repo:
    """Base for a feature's repository: shares the store's connection and lock."""

    def __init__(self, store: Store) -> None:
        self.store = store
