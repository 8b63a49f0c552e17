"""What a store holds, read from either backend's catalog (``sanliang db copy``,
tests that look at every table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store import Store


async def tables(store: Store) -> list[str]:
    """The names of the store's tables (views aside), sorted."""
    if store.is_postgres:
        sql = (
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return sorted(str(r["name"]) for r in await store.fetchall(sql))


async def columns(store: Store, table: str) -> dict[str, str]:
    """The columns of a table (in order) with their declared type, lower case."""
    if store.is_postgres:
        rows = await store.fetchall(
            "SELECT column_name AS name, data_type AS type FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ?"
            " ORDER BY ordinal_position",
            (table,),
        )
    else:
        if table not in await store.tables():
            return {}
        rows = await store.fetchall(f"PRAGMA table_info({table})")
    return {str(r["name"]): str(r["type"]).lower() for r in rows}


async def foreign_keys(store: Store) -> dict[str, set[str]]:
    """For each table, the tables its foreign keys reference."""
    out: dict[str, set[str]] = {}
    if store.is_postgres:
        rows = await store.fetchall(
            "SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE c.contype = 'f' AND n.nspname = current_schema()"
        )
        for r in rows:
            out.setdefault(str(r["child"]), set()).add(str(r["parent"]))
        return out
    for table in await store.tables():
        for r in await store.fetchall(f"PRAGMA foreign_key_list({table})"):
            out.setdefault(table, set()).add(str(r["table"]))
    return out


async def continue_ids(store: Store, table: str) -> None:
    """After rows were copied in with their ids: new rows are numbered after them.
    (SQLite does this by itself; PostgreSQL's identity sequence is moved on, never
    below where it starts.)"""
    if not store.is_postgres:
        return
    row = (
        await store.fetchone("SELECT pg_get_serial_sequence(?, 'id') AS seq", (table,))
        if "id" in await store.columns(table)
        else None
    )
    if row is None or row["seq"] is None:
        return
    seq = str(row["seq"])
    start = await store.fetchval(
        "SELECT start_value FROM pg_sequences"
        " WHERE schemaname = current_schema() AND sequencename = ?",
        (seq.rsplit(".", 1)[-1].strip('"'),),
    )
    top = await store.fetchval(f"SELECT MAX(id) FROM {table}")
    if top is not None and top >= start:
        await store.fetchone("SELECT setval(CAST(? AS regclass), ?)", (seq, int(top)))
