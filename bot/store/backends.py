"""The two database backends behind ``Store``: SQLite (aiosqlite, the embedded default)
and PostgreSQL (asyncpg and its connection pool, for ``postgresql://`` URLs).

Repositories write one SQL text for both: ``?`` placeholders (turned into ``$1, $2 ...``
for PostgreSQL), ``INSERT ... ON CONFLICT DO NOTHING``, ``RETURNING id`` instead of a
last row id, ``FOR UPDATE [SKIP LOCKED]`` where a row lock is meant (dropped for
SQLite, whose write transactions are exclusive anyway). A write transaction is
``store.tx()``: SQLite's BEGIN IMMEDIATE, PostgreSQL's BEGIN plus a transaction-scoped
advisory lock, so that write transactions are serialised across every process just as
SQLite serialises them. A broken unique or foreign key constraint raises
``IntegrityError`` on both.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

POSTGRES_SCHEMES = ("postgresql", "postgres")

# Advisory lock classes (the first key of pg_advisory_lock(int, int)); the second key
# is a hash of the schema, so that deployments sharing a database never block each other.
LOCK_MIGRATE = 1_534_001
LOCK_WRITE = 1_534_002
LOCK_LEADER = 1_534_003
LOCK_TURN = 1_534_004  # two-key form with the user id: see ``Store.turn_lock``


class IntegrityError(sqlite3.IntegrityError):
    """A unique, foreign key or check constraint refused a write (either backend).

    A subclass of ``sqlite3.IntegrityError``, so code that catches that keeps working;
    ``about(table, column)`` tells which unique column collided on both backends."""

    def __init__(self, message: str, constraint: str | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.constraint = constraint
        self.detail = detail

    def about(self, table: str, column: str) -> bool:
        text = str(self)
        if f"{table}.{column}" in text:  # SQLite: UNIQUE constraint failed: cases.ref
            return True
        if self.constraint == f"{table}_{column}_key":  # PostgreSQL's default name
            return True
        return f"Key ({column})=" in self.detail


def is_url(target: str) -> bool:
    return urlsplit(target).scheme in POSTGRES_SCHEMES


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\$\$.*?\$\$|\?", re.S)
_FOR_UPDATE = re.compile(r"\s+FOR\s+UPDATE(?:\s+SKIP\s+LOCKED|\s+NOWAIT)?", re.I)


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """``?`` placeholders → ``$1, $2 ...`` (not inside quotes or comments)."""
    count = 0

    def number(m: re.Match[str]) -> str:
        nonlocal count
        if m.group(0) != "?":
            return m.group(0)
        count += 1
        return f"${count}"

    return _TOKENS.sub(number, sql)


@lru_cache(maxsize=2048)
def to_sqlite(sql: str) -> str:
    """Row-lock clauses go: an SQLite write transaction holds the whole database."""
    if "UPDATE" not in sql.upper():
        return sql
    return _FOR_UPDATE.sub("", sql)


def _returns_rows(sql: str) -> bool:
    head = sql.lstrip()[:6].upper()
    return head.startswith(("SELECT", "WITH", "VALUES")) or "RETURNING" in sql.upper()


class Result:
    """What ``execute`` inside a transaction returns: the rows (if the statement
    returns any) and the number of rows changed. There is no last row id: write
    ``INSERT ... RETURNING id`` and read the row."""

    def __init__(self, rows: Iterable[Any], rowcount: int) -> None:
        self._rows = list(rows)
        self.rowcount = rowcount

    async def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Any]:
        return list(self._rows)


def fold_int32(value: int) -> int:
    """A user id folded into the 32-bit second key of an advisory lock (a collision
    only makes two residents wait for each other, never run at once)."""
    value = int(value)
    return ((value ^ (value >> 32)) & 0xFFFFFFFF) - (1 << 31)
