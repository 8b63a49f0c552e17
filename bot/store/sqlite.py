"""The SQLite backend: one aiosqlite connection under one asyncio lock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite

from bot.store.backends import IntegrityError, Result, to_sqlite


class SqliteTx:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> Result:
        try:
            return await _run(self._conn, sql, tuple(params))
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> Result:
        """One statement for each parameter row; the rows changed in all."""
        try:
            cur = await self._conn.executemany(to_sqlite(sql), [tuple(r) for r in rows])
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        return Result([], cur.rowcount)


class SqliteDB:
    """One aiosqlite connection; every statement under one asyncio lock, so that a
    transaction opened by one coroutine never interleaves with another's statements."""

    name = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        self.lock = asyncio.Lock()

    async def close(self) -> None:
        async with self.lock:
            await self.conn.close()

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[SqliteTx]:
        async with self.lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTx(self.conn)
            except BaseException:
                await self.conn.execute("ROLLBACK")
                raise
            else:
                await self.conn.execute("COMMIT")

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        async with self.lock:
            try:
                return list(await self.conn.execute_fetchall(to_sqlite(sql), tuple(params)))
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(str(exc)) from exc

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> Any:
        async with self.lock:
            try:
                cur = await self.conn.execute(to_sqlite(sql), tuple(params))
                return await cur.fetchone()
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(str(exc)) from exc

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        async with self.lock:
            try:
                return (await _run(self.conn, sql, tuple(params))).rowcount
            except sqlite3.IntegrityError as exc:
                raise IntegrityError(str(exc)) from exc


async def _run(conn: aiosqlite.Connection, sql: str, params: tuple) -> Result:
    """One statement: its rows (all fetched: a RETURNING statement runs to its end) and
    the rows it changed, or returned. Python's sqlite3 counts no ``WITH ... UPDATE``:
    ``changes()`` does."""
    cur = await conn.execute(to_sqlite(sql), params)
    if cur.description:
        rows = list(await cur.fetchall())
        return Result(rows, len(rows) if "RETURNING" in sql.upper() else cur.rowcount)
    if cur.rowcount < 0 and sql.lstrip()[:4].upper() == "WITH":
        cur = await conn.execute("SELECT changes()")
        row = await cur.fetchone()
        return Result([], int(row[0]) if row else -1)
    return Result([], cur.rowcount)
