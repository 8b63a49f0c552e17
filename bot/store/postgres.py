"""The PostgreSQL backend: an asyncpg pool, plus what several worker processes on one
database need (turn locks, the leader lock, LISTEN/NOTIFY, who is still running)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from bot.store.backends import (
    LOCK_LEADER,
    LOCK_TURN,
    LOCK_WRITE,
    IntegrityError,
    Result,
    _returns_rows,
    fold_int32,
    to_postgres,
)

log = logging.getLogger(__name__)
_background: set[asyncio.Task[Any]] = set()


def _pg_integrity(exc: Exception) -> IntegrityError:
    return IntegrityError(
        str(exc), getattr(exc, "constraint_name", None), getattr(exc, "detail", None) or ""
    )


def _count(status: str) -> int:
    """The row count of a command tag: 'UPDATE 3' → 3, 'INSERT 0 2' → 2."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


def _numeric(text: str) -> int | float:
    """NUMERIC (SUM over BIGINT, AVG) as SQLite returns it: an int when whole."""
    if "." in text or "e" in text.lower() or text in ("NaN", "Infinity", "-Infinity"):
        return float(text)
    return int(text)


class PostgresTx:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Result:
        import asyncpg

        try:
            rows, count = await _run(self._conn, sql, tuple(params))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _pg_integrity(exc) from exc
        return Result(rows, count)

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Result:
        """One statement for each parameter row (asyncpg sends them in one pipeline;
        it reports no count)."""
        import asyncpg

        try:
            await self._conn.executemany(to_postgres(sql), [tuple(r) for r in rows])
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _pg_integrity(exc) from exc
        return Result([], -1)


class PostgresDB:
    """An asyncpg pool. Statements outside a transaction run concurrently on the
    pool's connections; ``tx()`` holds one connection and the write lock."""

    name = "postgresql"

    def __init__(
        self, pool: Any, schema: str, url: str = "", max_size: int = 10, token: str = ""
    ) -> None:
        self.pool = pool
        self.schema = schema
        self.url = url
        self.max_size = max_size
        # Second key of the advisory locks: this deployment's schema.
        self.schema_key = _schema_key(schema)
        # This process: in notification payloads (its own notices are not acted on),
        # and as every connection's application_name, so others see whether it lives.
        self.token = token or secrets.token_hex(6)
        self._lock_pool: Any = None  # connections that hold turn locks (never statements)
        self._lock_pool_guard = asyncio.Lock()
        self._leader: Any = None  # the connection holding the leader lock, when we lead
        self._leader_guard = asyncio.Lock()
        self._listener: Any = None
        self._callbacks: dict[str, list[Callable[[str], Any]]] = {}

    @classmethod
    async def connect(cls, url: str, min_size: int = 1, max_size: int = 10) -> PostgresDB:
        import asyncpg

        async def setup(conn: Any) -> None:
            await conn.set_type_codec(
                "numeric", encoder=str, decoder=_numeric, schema="pg_catalog", format="text"
            )

        wanted = _search_path(url)
        token = secrets.token_hex(6)
        pool = await asyncpg.create_pool(
            url,
            min_size=min_size,
            max_size=max_size,
            init=setup,
            command_timeout=60,
            server_settings={"application_name": f"sanliang-{token}"},
        )
        try:
            if wanted:
                # A deployment (or a test) in its own schema: made on first start.
                try:
                    await pool.execute(f'CREATE SCHEMA IF NOT EXISTS "{wanted}"')
                except asyncpg.UniqueViolationError:
                    pass  # made by another worker at this moment
            schema = await pool.fetchval("SELECT current_schema()")
            if schema is None:
                raise RuntimeError("no schema on the search_path exists (create it first)")
        except BaseException:
            await pool.close()
            raise
        return cls(pool, schema, url, max_size, token)

    async def close(self) -> None:
        for conn in (self._leader, self._listener):
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close()
        self._leader = self._listener = None
        if self._lock_pool is not None:
            await self._lock_pool.close()
        await self.pool.close()

    # -- several processes on one database ------------------------------------------

    @asynccontextmanager
    async def turn_lock(self, user_id: int) -> AsyncIterator[None]:
        """A session advisory lock on (turn class ^ schema, the user id), held on a
        connection of a pool of its own: a turn waiting for the lock holds no
        connection the statements need, so waiting can never deadlock the pool."""
        import asyncpg

        if self._lock_pool is None:
            async with self._lock_pool_guard:
                if self._lock_pool is None:
                    self._lock_pool = await asyncpg.create_pool(
                        self.url, min_size=0, max_size=max(4, self.max_size * 2), **self._named
                    )
        key, user = self.schema_key ^ LOCK_TURN, fold_int32(user_id)
        async with self._lock_pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1, $2)", key, user)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1, $2)", key, user)

    async def leader(self) -> bool:
        """Whether this process leads (runs the scheduled jobs): the one holding the
        leader lock on a connection of its own. A process that dies loses its
        session, so the lock is free and the next process that asks takes over."""
        import asyncpg

        async with self._leader_guard:
            if self._leader is not None:
                try:
                    await self._leader.fetchval("SELECT 1")
                    return True
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                    with contextlib.suppress(Exception):
                        await self._leader.close()
                    self._leader = None
            conn = await asyncpg.connect(self.url, **self._named)
            try:
                got = await conn.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", LOCK_LEADER, self.schema_key
                )
            except BaseException:
                await conn.close()
                raise
            if got:
                self._leader = conn
                return True
            await conn.close()
            return False

    async def resign(self) -> None:
        """Give up leading (on stop), so another process takes over at once."""
        async with self._leader_guard:
            if self._leader is not None:
                with contextlib.suppress(Exception):
                    await self._leader.close()
                self._leader = None

    @property
    def _named(self) -> dict[str, Any]:
        return {"server_settings": {"application_name": f"sanliang-{self.token}"}}

    def gone(self, column: str) -> str:
        """SQL: the process named in ``column`` has no session any more (it died or
        stopped); NULL counts as gone."""
        return (
            "NOT EXISTS (SELECT 1 FROM pg_stat_activity a"
            f" WHERE a.application_name = 'sanliang-' || {column})"
        )

    def _channel(self, name: str) -> str:
        return f"sanliang_{self.schema}_{name}"

    async def notify(self, name: str, payload: str = "") -> None:
        """Tell every other process listening on ``name`` (LISTEN/NOTIFY)."""
        await self.pool.execute(
            "SELECT pg_notify($1, $2)", self._channel(name), f"{self.token}:{payload}"
        )

    async def listen(self, name: str, callback: Callable[[str], Any]) -> None:
        """Call ``callback(payload)`` for every notice on ``name`` from another process
        (a coroutine function's result is run as a task)."""
        import asyncpg

        if self._listener is None:
            self._listener = await asyncpg.connect(self.url, **self._named)
        first = name not in self._callbacks
        self._callbacks.setdefault(name, []).append(callback)
        if first:
            await self._listener.add_listener(self._channel(name), self._on_notice)

    def _on_notice(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        token, _, data = payload.partition(":")
        if token == self.token:
            return
        name = channel.removeprefix(f"sanliang_{self.schema}_")
        for callback in self._callbacks.get(name, []):
            try:
                result = callback(data)
                if asyncio.iscoroutine(result):
                    task = asyncio.ensure_future(result)
                    _background.add(task)
                    task.add_done_callback(_background.discard)
            except Exception as exc:  # noqa: BLE001 - one listener must not stop the others
                log.error("listener for %s failed: %s", name, type(exc).__name__)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        async with self.pool.acquire() as conn:
            yield conn

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[PostgresTx]:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCK_WRITE, self.schema_key)
            yield PostgresTx(conn)

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        import asyncpg

        try:
            return list(await self.pool.fetch(to_postgres(sql), *tuple(params)))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _pg_integrity(exc) from exc

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        import asyncpg

        try:
            return await self.pool.fetchrow(to_postgres(sql), *tuple(params))
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _pg_integrity(exc) from exc

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        import asyncpg

        try:
            async with self.pool.acquire() as conn:
                return (await _run(conn, sql, tuple(params)))[1]
        except asyncpg.IntegrityConstraintViolationError as exc:
            raise _pg_integrity(exc) from exc


async def _run(conn: Any, sql: str, args: tuple) -> tuple[list[Any], int]:
    """One statement: its rows and the number of rows it changed (or returned). A
    ``WITH`` statement may be a SELECT or a change: prepared, so that its command tag
    tells (one more round trip, for these only)."""
    text = to_postgres(sql)
    if sql.lstrip()[:4].upper() == "WITH" and "RETURNING" not in sql.upper():
        stmt = await conn.prepare(text)
        rows = await stmt.fetch(*args)
        return rows, len(rows) if rows else _count(stmt.get_statusmsg())
    if _returns_rows(sql):
        rows = await conn.fetch(text, *args)
        return rows, len(rows)
    return [], _count(await conn.execute(text, *args))


def _search_path(url: str) -> str | None:
    """The one schema named by ``?search_path=`` in the URL (None when not given)."""
    from urllib.parse import parse_qs

    values = parse_qs(urlsplit(url).query).get("search_path")
    if not values:
        return None
    name = values[0].strip()
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"search_path must be one plain schema name, not {name!r}")
    return name


def _schema_key(schema: str) -> int:
    """A stable 31-bit number for the schema name (the same in every process)."""
    import zlib

    return zlib.crc32(schema.encode("utf-8")) & 0x7FFFFFFF
