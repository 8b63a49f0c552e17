"""Home visits (走访): the household roster, campaigns and tasks (migration 0009).
Visit records, actions and the report's queries are in bot/store/visit_records.py;
``store.visits`` has both."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from typing import Any

from bot.store.visit_records import VisitRecords
from bot.store.visit_rows import (  # noqa: F401 - the rows are part of this module's interface
    _H_COLUMNS,
    _IMPORT_FIELDS,
    _T_COLUMNS,
    _T_FROM,
    Action,
    Campaign,
    HouseholdRow,
    ImportCounts,
    Task,
    Visit,
    _household,
    _task,
)


class VisitRepo(VisitRecords):
    # -- the roster ------------------------------------------------------------------

    async def import_households(self, rows: Sequence[Any], now: float) -> ImportCounts:
        """Insert new households, update changed ones (by their stable key), in one
        transaction: all rows or none."""
        added = updated = unchanged = 0
        async with self.store.tx() as db:
            cur = await db.execute(
                "SELECT hkey, " + ", ".join(_IMPORT_FIELDS) + " FROM households"  # noqa: S608 - constants
            )
            existing = {
                r["hkey"]: tuple(r[f] for f in _IMPORT_FIELDS) for r in await cur.fetchall()
            }
            inserts, updates = [], []
            for row in rows:
                values = tuple(getattr(row, f) for f in _IMPORT_FIELDS)
                old = existing.get(row.key)
                if old is None:
                    inserts.append((row.key, *values, now, now))
                elif old != values:
                    updates.append((*values, now, now, row.key))
                else:
                    unchanged += 1
            if inserts:
                await db.executemany(
                    "INSERT INTO households (hkey, "
                    + ", ".join(_IMPORT_FIELDS)
                    + ", imported_at, updated_at) VALUES ("
                    + ", ".join(["?"] * (len(_IMPORT_FIELDS) + 3))
                    + ")",
                    inserts,
                )
            if updates:
                await db.executemany(
                    "UPDATE households SET "  # noqa: S608 - column names are constants
                    + ", ".join(f"{f} = ?" for f in _IMPORT_FIELDS)
                    + ", imported_at = ?, updated_at = ? WHERE hkey = ?",
                    updates,
                )
            added, updated = len(inserts), len(updates)
        return ImportCounts(added, updated, unchanged)

    async def add_requested(
        self,
        user_id: int,
        place: tuple[str, str, str, str],
        head: str,
        phone: str,
        now: float,
    ) -> int:
        """A household a resident put forward for a home visit (no roster row): one
        per resident, its place updated when they ask again."""
        city, district, township, village = place
        row = await self.store.fetchone(
            "INSERT INTO households (hkey, head_name, id_tail, city, district, township,"
            " village, phone, categories, size, source, user_id, imported_at, updated_at)"
            " VALUES (?, ?, '', ?, ?, ?, ?, ?, '其他', 1, 'resident', ?, ?, ?)"
            " ON CONFLICT (hkey) DO UPDATE SET updated_at = excluded.updated_at,"
            " head_name = excluded.head_name, phone = excluded.phone,"
            " city = excluded.city, district = excluded.district,"
            " township = excluded.township, village = excluded.village"
            " RETURNING id",
            (f"user|{user_id}", head, city, district, township, village, phone, user_id, now, now),
        )
        assert row is not None
        return int(row["id"])

    async def household(self, household_id: int) -> HouseholdRow | None:
        row = await self.store.fetchone(
            f"SELECT {_H_COLUMNS} FROM households h WHERE h.id = ?",  # noqa: S608
            (household_id,),
        )
        return _household(row) if row else None

    async def households_in(self, city: str, district: str) -> builtins.list[HouseholdRow]:
        sql = f"SELECT {_H_COLUMNS} FROM households h WHERE h.city = ?"  # noqa: S608
        params: list[Any] = [city]
        if district:
            sql += " AND h.district = ?"
            params.append(district)
        rows = await self.store.fetchall(sql + " ORDER BY h.id", params)
        return [_household(r) for r in rows]

    async def count_households(self) -> int:
        return int(await self.store.fetchval("SELECT COUNT(*) FROM households"))

    async def set_plan(self, household_id: int, now: float) -> None:
        await self.store.execute(
            "UPDATE households SET plan = 1, updated_at = ? WHERE id = ?", (now, household_id)
        )

    # -- campaigns and tasks ------------------------------------------------------------

    async def create_campaign(
        self,
        name: str,
        start: str,
        deadline: str,
        areas: Iterable[tuple[str, str]],
        by: int | None,
        now: float,
    ) -> int | None:
        """A new campaign; None when the name is taken."""
        async with self.store.tx() as db:
            cur = await db.execute(
                "INSERT INTO visit_campaigns (name, start_date, deadline, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id",
                (name, start, deadline, by, now),
            )
            row = await cur.fetchone()
            if row is None:
                return None
            campaign_id = int(row[0])
            for city, district in dict.fromkeys(areas):
                await db.execute(
                    "INSERT INTO visit_campaign_areas (campaign_id, city, district)"
                    " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (campaign_id, city, district),
                )
            return campaign_id

    async def campaigns(self, open_only: bool = False) -> builtins.list[Campaign]:
        rows = await self.store.fetchall(
            "SELECT id, name, start_date, deadline, closed_at FROM visit_campaigns"
            + (" WHERE closed_at IS NULL" if open_only else "")
            + " ORDER BY deadline, id"
        )
        areas = await self.store.fetchall(
            "SELECT campaign_id, city, district FROM visit_campaign_areas"
            " ORDER BY campaign_id, city, district"
        )
        by: dict[int, list[tuple[str, str]]] = {}
        for a in areas:
            by.setdefault(a["campaign_id"], []).append((a["city"], a["district"]))
        return [
            Campaign(
                r["id"],
                r["name"],
                r["start_date"],
                r["deadline"],
                tuple(by.get(r["id"], ())),
                r["closed_at"],
            )
            for r in rows
        ]

    async def campaign(self, name: str) -> Campaign | None:
        for c in await self.campaigns():
            if c.name == name:
                return c
        return None

    async def untasked(self, campaign: Campaign) -> builtins.list[HouseholdRow]:
        """Households in the campaign's areas without a task in it yet."""
        out: list[HouseholdRow] = []
        for city, district in campaign.areas:
            sql = (
                f"SELECT {_H_COLUMNS} FROM households h WHERE h.city = ?"  # noqa: S608
                " AND NOT EXISTS (SELECT 1 FROM visit_tasks t WHERE t.household_id = h.id"
                " AND t.campaign_id = ?)"
            )
            params: list[Any] = [city, campaign.id]
            if district:
                sql += " AND h.district = ?"
                params.append(district)
            out += [
                _household(r) for r in await self.store.fetchall(sql + " ORDER BY h.id", params)
            ]
        return out

    async def add_tasks(
        self, campaign_id: int, assigned: Iterable[tuple[int, int | None]], now: float
    ) -> int:
        rows = [(campaign_id, h, a, now) for h, a in assigned]
        if not rows:
            return 0
        async with self.store.tx() as db:
            await db.executemany(
                "INSERT INTO visit_tasks (campaign_id, household_id, assignee_id, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (campaign_id, household_id) DO NOTHING",
                rows,
            )
        return len(rows)

    async def unassigned(self, campaign_id: int | None = None) -> builtins.list[Task]:
        sql = f"SELECT {_T_COLUMNS}, {_H_COLUMNS}{_T_FROM} WHERE t.assignee_id IS NULL"
        params: list[Any] = []
        if campaign_id is not None:
            sql += " AND t.campaign_id = ?"
            params.append(campaign_id)
        return [_task(r) for r in await self.store.fetchall(sql + " ORDER BY t.id", params)]

    async def assign(self, task_id: int, assignee_id: int | None) -> bool:
        return (
            await self.store.execute(
                "UPDATE visit_tasks SET assignee_id = ? WHERE id = ?", (assignee_id, task_id)
            )
            == 1
        )

    async def assign_many(self, pairs: Iterable[tuple[int, int]]) -> None:
        rows = [(a, t) for t, a in pairs]
        if rows:
            async with self.store.tx() as db:
                await db.executemany("UPDATE visit_tasks SET assignee_id = ? WHERE id = ?", rows)

    async def load_counts(self) -> dict[int, int]:
        """Open tasks per assignee (to spread new ones evenly)."""
        rows = await self.store.fetchall(
            "SELECT assignee_id, COUNT(*) AS n FROM visit_tasks"
            " WHERE assignee_id IS NOT NULL AND status != 'done' GROUP BY assignee_id"
        )
        return {int(r["assignee_id"]): int(r["n"]) for r in rows}

    async def task(self, task_id: int) -> Task | None:
        row = await self.store.fetchone(
            f"SELECT {_T_COLUMNS}, {_H_COLUMNS}{_T_FROM} WHERE t.id = ?",  # noqa: S608
            (task_id,),
        )
        return _task(row) if row else None

    async def tasks_of(self, assignee_id: int) -> builtins.list[Task]:
        """A worker's tasks in open campaigns: nearest deadline first, then by village."""
        rows = await self.store.fetchall(
            f"SELECT {_T_COLUMNS}, {_H_COLUMNS}{_T_FROM}"  # noqa: S608
            " WHERE t.assignee_id = ? AND c.closed_at IS NULL"
            " ORDER BY c.deadline, h.township, h.village, t.status = 'done', h.id",
            (assignee_id,),
        )
        return [_task(r) for r in rows]

    async def tasks_of_household(self, household_id: int) -> builtins.list[Task]:
        rows = await self.store.fetchall(
            f"SELECT {_T_COLUMNS}, {_H_COLUMNS}{_T_FROM}"  # noqa: S608
            " WHERE t.household_id = ? ORDER BY c.deadline DESC, t.id DESC",
            (household_id,),
        )
        return [_task(r) for r in rows]

    async def set_task_status(self, task_id: int, status: str, now: float | None) -> None:
        await self.store.execute(
            "UPDATE visit_tasks SET status = ?, done_at = ? WHERE id = ?",
            (status, now if status == "done" else None, task_id),
        )
