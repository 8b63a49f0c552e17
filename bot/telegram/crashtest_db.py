"""The crash runs' look at the database: a SQLite file, or a PostgreSQL URL (several
workers, bench/pg_crash.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def rows(db: str | Path, sql: str) -> list[tuple]:
    """A query on the crash run's database: a SQLite file or a PostgreSQL URL."""
    if not str(db).startswith(("postgresql:", "postgres:")):
        with sqlite3.connect(db, timeout=5) as conn:
            return list(conn.execute(sql).fetchall())
    import asyncio

    import asyncpg

    async def fetch() -> list[tuple]:
        conn = await asyncpg.connect(str(db))
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(fetch())
