"""``sanliang db copy --from SRC --to DST``: move a deployment between backends.

Both ends are opened as stores (so both are migrated to this version's schema), every
table of the source is copied into the empty target in the order its foreign keys
need, numbered ids keep their values (the target's identity sequences then continue
after them), and afterwards every table's row count is compared. The target must be
empty: the copy never mixes two deployments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.store import Store, StoreError

SKIPPED = ("schema_version",)  # each store keeps its own
MAX_PARAMS = 30_000  # bound parameters per INSERT (SQLite allows 32766, PostgreSQL 65535)


@dataclass
class Copied:
    tables: list[tuple[str, int, int]] = field(default_factory=list)  # name, source, target
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(a == b for _, a, b in self.tables)

    @property
    def rows(self) -> int:
        return sum(a for _, a, _ in self.tables)


def _order(tables: list[str], refs: dict[str, set[str]]) -> list[str]:
    """Referenced tables before the tables that reference them."""
    done: list[str] = []
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in seen or name in path:
            return
        for parent in sorted(refs.get(name, ())):
            if parent in tables:
                visit(parent, (*path, name))
        seen.add(name)
        done.append(name)

    for name in tables:
        visit(name, ())
    return done


def _coerce(kind: str) -> Callable[[Any], Any]:
    """SQLite keeps what it is given; PostgreSQL wants each column's own type."""
    if kind in ("bigint", "integer", "smallint"):
        return lambda v: int(v) if isinstance(v, float) and v.is_integer() else v
    if kind in ("double precision", "real", "numeric"):
        return lambda v: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
    if kind == "text":
        return lambda v: v if v is None or isinstance(v, str) else str(v)
    return lambda v: v


async def copy_database(
    source: str, target: str, say: Callable[[str], None] = lambda _line: None
) -> Copied:
    started = time.monotonic()
    src = await Store.open(source)
    try:
        dst = await Store.open(target)
        try:
            return await _copy(src, dst, say, started)
        finally:
            await dst.close()
    finally:
        await src.close()


async def _copy(src: Store, dst: Store, say: Callable[[str], None], started: float) -> Copied:
    if await src.schema_version() != await dst.schema_version():
        raise StoreError("the two databases have different schema versions")
    tables = [t for t in await src.tables() if t not in SKIPPED]
    there = set(await dst.tables())
    missing = [t for t in tables if t not in there]
    if missing:
        raise StoreError(f"the target has no table {', '.join(missing)}")
    for table in tables:
        if await dst.fetchval(f"SELECT COUNT(*) FROM {table}"):
            raise StoreError(f"the target is not empty (table {table} has rows); nothing copied")
    result = Copied()
    for table in _order(tables, await src.foreign_keys()):
        theirs = await dst.columns(table)
        columns = [c for c in await src.columns(table) if c in theirs]
        coerce = [_coerce(theirs[c]) for c in columns]
        names = ", ".join(columns)
        per_batch = max(1, MAX_PARAMS // len(columns))
        key = "id" if "id" in columns else columns[0]
        offset = 0
        while True:
            rows = await src.fetchall(
                f"SELECT {names} FROM {table} ORDER BY {key} LIMIT ? OFFSET ?",
                (per_batch, offset),
            )
            if not rows:
                break
            marks = "(" + ", ".join("?" * len(columns)) + ")"
            params = [f(row[i]) for row in rows for i, f in enumerate(coerce)]
            async with dst.tx() as db:
                await db.execute(
                    f"INSERT INTO {table} ({names}) VALUES " + ", ".join([marks] * len(rows)),
                    params,
                )
            offset += len(rows)
        await dst.continue_ids(table)
        counts = (
            int(await src.fetchval(f"SELECT COUNT(*) FROM {table}")),
            int(await dst.fetchval(f"SELECT COUNT(*) FROM {table}")),
        )
        result.tables.append((table, *counts))
        say(
            f"{table}: {counts[0]} → {counts[1]}" + ("" if counts[0] == counts[1] else "  MISMATCH")
        )
    result.seconds = time.monotonic() - started
    return result
