"""Home visits (走访): the household roster, campaigns, tasks, visit records, actions
and the links to help requests (migration 0009)."""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.store import Repo

ACTION_STATUSES = ("open", "done", "cancelled")
TASK_STATUSES = ("todo", "started", "done")


@dataclass(frozen=True)
class HouseholdRow:
    id: int
    head_name: str
    id_tail: str
    city: str
    district: str
    township: str
    village: str
    address: str
    phone: str
    categories: str
    size: int
    note: str
    plan: bool
    source: str
    user_id: int | None
    updated_at: float

    @property
    def area(self) -> str:
        return f"{self.city}/{self.district}"


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    start_date: str
    deadline: str
    areas: tuple[tuple[str, str], ...]  # (市州, 区县 or '')
    closed_at: float | None = None

    def covers(self, city: str, district: str) -> bool:
        return any(c == city and d in ("", district) for c, d in self.areas)


@dataclass(frozen=True)
class Task:
    id: int
    campaign_id: int
    campaign: str
    deadline: str
    household: HouseholdRow
    assignee_id: int | None
    status: str
    done_at: float | None
    visit_id: int | None


@dataclass(frozen=True)
class Visit:
    id: int
    task_id: int
    author_id: int
    answers: dict[str, Any]
    met: str | None
    latitude: float | None
    longitude: float | None
    started_at: float
    updated_at: float
    finished_at: float | None
    photos: int = 0


@dataclass(frozen=True)
class Action:
    id: int
    household_id: int
    visit_id: int | None
    kind: str
    need: str
    measure: str
    owner_id: int | None
    due_date: str
    status: str
    created_at: float
    done_at: float | None


_H_COLUMNS = (
    "h.id, h.head_name, h.id_tail, h.city, h.district, h.township, h.village, h.address,"
    " h.phone, h.categories, h.size, h.note, h.plan, h.source, h.user_id, h.updated_at"
)
_T_COLUMNS = (
    "t.id AS task_id, t.campaign_id, c.name AS campaign, c.deadline, t.assignee_id, t.status,"
    " t.done_at, v.id AS visit_id"
)
_T_FROM = (
    " FROM visit_tasks t JOIN households h ON h.id = t.household_id"
    " JOIN visit_campaigns c ON c.id = t.campaign_id"
    " LEFT JOIN visits v ON v.task_id = t.id"
)
_A_COLUMNS = (
    "id, household_id, visit_id, kind, need, measure, owner_id, due_date, status,"
    " created_at, done_at"
)
_IMPORT_FIELDS = (
    "head_name",
    "id_tail",
    "city",
    "district",
    "township",
    "village",
    "address",
    "phone",
    "categories",
    "size",
    "note",
)


def _household(row: Any) -> HouseholdRow:
    return HouseholdRow(
        id=row["id"],
        head_name=row["head_name"],
        id_tail=row["id_tail"],
        city=row["city"],
        district=row["district"],
        township=row["township"],
        village=row["village"],
        address=row["address"],
        phone=row["phone"],
        categories=row["categories"],
        size=row["size"],
        note=row["note"],
        plan=bool(row["plan"]),
        source=row["source"],
        user_id=row["user_id"],
        updated_at=row["updated_at"],
    )


def _task(row: Any) -> Task:
    return Task(
        id=row["task_id"],
        campaign_id=row["campaign_id"],
        campaign=row["campaign"],
        deadline=row["deadline"],
        household=_household(row),
        assignee_id=row["assignee_id"],
        status=row["status"],
        done_at=row["done_at"],
        visit_id=row["visit_id"],
    )


def _visit(row: Any) -> Visit:
    try:
        answers = json.loads(row["answers"] or "{}")
    except ValueError:
        answers = {}
    return Visit(
        id=row["id"],
        task_id=row["task_id"],
        author_id=row["author_id"],
        answers=answers if isinstance(answers, dict) else {},
        met=row["met"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        started_at=row["started_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        photos=row["photos"],
    )


def _action(row: Any) -> Action:
    return Action(**{k: row[k] for k in _A_COLUMNS.replace(" ", "").split(",")})


@dataclass(frozen=True)
class ImportCounts:
    added: int
    updated: int
    unchanged: int


class VisitRepo(Repo):
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
        city: str,
        district: str,
        township: str,
        village: str,
        categories: str,
        now: float,
    ) -> int:
        """A household a resident put forward for a home visit (no roster row)."""
        row = await self.store.fetchone(
            "INSERT INTO households (hkey, head_name, id_tail, city, district, township,"
            " village, categories, size, source, user_id, imported_at, updated_at)"
            " VALUES (?, '', '', ?, ?, ?, ?, ?, 1, 'resident', ?, ?, ?)"
            " ON CONFLICT (hkey) DO UPDATE SET updated_at = excluded.updated_at,"
            " city = excluded.city, district = excluded.district,"
            " township = excluded.township, village = excluded.village"
            " RETURNING id",
            (f"user|{user_id}", city, district, township, village, categories, user_id, now, now),
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

    # -- visits -------------------------------------------------------------------------

    _V_SQL = (
        "SELECT v.id, v.task_id, v.author_id, v.answers, v.met, v.latitude, v.longitude,"
        " v.started_at, v.updated_at, v.finished_at,"
        " (SELECT COUNT(*) FROM visit_photos p WHERE p.visit_id = v.id) AS photos"
        " FROM visits v"
    )

    async def visit(self, visit_id: int) -> Visit | None:
        row = await self.store.fetchone(self._V_SQL + " WHERE v.id = ?", (visit_id,))
        return _visit(row) if row else None

    async def visit_of_task(self, task_id: int) -> Visit | None:
        row = await self.store.fetchone(self._V_SQL + " WHERE v.task_id = ?", (task_id,))
        return _visit(row) if row else None

    async def start_visit(self, task_id: int, author_id: int, now: float) -> Visit:
        """The task's visit record (made on the first call; the same one after)."""
        async with self.store.tx() as db:
            await db.execute(
                "INSERT INTO visits (task_id, author_id, started_at, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (task_id) DO NOTHING",
                (task_id, author_id, now, now),
            )
            await db.execute(
                "UPDATE visit_tasks SET status = 'started' WHERE id = ? AND status = 'todo'",
                (task_id,),
            )
        visit = await self.visit_of_task(task_id)
        assert visit is not None
        return visit

    async def save_answer(self, visit_id: int, key: str, value: Any, now: float) -> None:
        """One answer, stored at once (read, merged and written in one transaction)."""
        async with self.store.tx() as db:
            cur = await db.execute("SELECT answers FROM visits WHERE id = ?", (visit_id,))
            row = await cur.fetchone()
            if row is None:
                return
            try:
                answers = json.loads(row["answers"] or "{}")
            except ValueError:
                answers = {}
            answers[key] = value
            met = answers.get("met") if isinstance(answers.get("met"), str) else None
            await db.execute(
                "UPDATE visits SET answers = ?, met = ?, updated_at = ? WHERE id = ?",
                (json.dumps(answers, ensure_ascii=False), met, now, visit_id),
            )

    async def set_location(self, visit_id: int, lat: float, lon: float, now: float) -> None:
        await self.store.execute(
            "UPDATE visits SET latitude = ?, longitude = ?, updated_at = ? WHERE id = ?",
            (lat, lon, now, visit_id),
        )

    async def add_photo(self, visit_id: int, file_id: str, size: int | None, now: float) -> None:
        await self.store.execute(
            "INSERT INTO visit_photos (visit_id, file_id, size, added_at) VALUES (?, ?, ?, ?)",
            (visit_id, file_id, size, now),
        )

    async def finish_visit(self, visit_id: int, task_id: int, now: float) -> None:
        async with self.store.tx() as db:
            await db.execute(
                "UPDATE visits SET finished_at = COALESCE(finished_at, ?), updated_at = ?"
                " WHERE id = ?",
                (now, now, visit_id),
            )
            await db.execute(
                "UPDATE visit_tasks SET status = 'done', done_at = COALESCE(done_at, ?)"
                " WHERE id = ?",
                (now, task_id),
            )

    # -- actions ------------------------------------------------------------------------

    async def add_action(
        self,
        household_id: int,
        visit_id: int | None,
        kind: str,
        owner_id: int | None,
        due_date: str,
        by: int | None,
        now: float,
        need: str = "",
        measure: str = "",
    ) -> int:
        row = await self.store.fetchone(
            "INSERT INTO visit_actions (household_id, visit_id, kind, need, measure, owner_id,"
            " due_date, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (household_id, visit_id, kind, need, measure, owner_id, due_date, by, now),
        )
        assert row is not None
        return int(row["id"])

    async def action(self, action_id: int) -> Action | None:
        row = await self.store.fetchone(
            f"SELECT {_A_COLUMNS} FROM visit_actions WHERE id = ?",  # noqa: S608
            (action_id,),
        )
        return _action(row) if row else None

    async def actions_of(self, household_id: int) -> builtins.list[Action]:
        rows = await self.store.fetchall(
            f"SELECT {_A_COLUMNS} FROM visit_actions"  # noqa: S608
            " WHERE household_id = ? AND status != 'cancelled' ORDER BY status, due_date, id",
            (household_id,),
        )
        return [_action(r) for r in rows]

    async def actions_of_visit(self, visit_id: int) -> builtins.list[Action]:
        rows = await self.store.fetchall(
            f"SELECT {_A_COLUMNS} FROM visit_actions WHERE visit_id = ? ORDER BY id",  # noqa: S608
            (visit_id,),
        )
        return [_action(r) for r in rows]

    async def open_actions(self) -> builtins.list[Action]:
        rows = await self.store.fetchall(
            f"SELECT {_A_COLUMNS} FROM visit_actions"  # noqa: S608
            " WHERE status = 'open' ORDER BY due_date, id"
        )
        return [_action(r) for r in rows]

    async def set_action_status(
        self, action_id: int, status: str, by: int | None, now: float, expect: str = "open"
    ) -> bool:
        return (
            await self.store.execute(
                "UPDATE visit_actions SET status = ?, done_at = ?, done_by = ?"
                " WHERE id = ? AND status = ?",
                (status, now, by, action_id, expect),
            )
            == 1
        )

    # -- help requests ------------------------------------------------------------------

    async def link_case(self, household_id: int, case_id: int, by: int | None, now: float) -> bool:
        return (
            await self.store.execute(
                "INSERT INTO household_cases (household_id, case_id, linked_by, linked_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (household_id, case_id, by, now),
            )
            == 1
        )

    async def linked_cases(self, household_id: int) -> builtins.list[int]:
        rows = await self.store.fetchall(
            "SELECT case_id FROM household_cases WHERE household_id = ? ORDER BY linked_at",
            (household_id,),
        )
        return [int(r["case_id"]) for r in rows]

    # -- the report ----------------------------------------------------------------------

    async def report_rows(self, campaign_id: int | None) -> builtins.list[Any]:
        """Per area and worker: households, visited, not met (one row per group)."""
        sql = (
            "SELECT h.city, h.district, t.assignee_id, COUNT(*) AS households,"
            " SUM(CASE WHEN t.status = 'done' THEN 1 ELSE 0 END) AS visited,"
            " SUM(CASE WHEN t.status = 'done' AND v.met = 'nobody' THEN 1 ELSE 0 END)"
            " AS not_met"
            " FROM visit_tasks t JOIN households h ON h.id = t.household_id"
            " JOIN visit_campaigns c ON c.id = t.campaign_id"
            " LEFT JOIN visits v ON v.task_id = t.id"
            " WHERE c.closed_at IS NULL"
        )
        params: list[Any] = []
        if campaign_id is not None:
            sql += " AND t.campaign_id = ?"
            params.append(campaign_id)
        return await self.store.fetchall(
            sql + " GROUP BY h.city, h.district, t.assignee_id ORDER BY h.city, h.district",
            params,
        )

    async def action_rows(self, campaign_id: int | None) -> builtins.list[Any]:
        """Per area: needs found (by kind and status), with their due dates."""
        sql = (
            "SELECT h.city, h.district, a.kind, a.status, a.due_date, COUNT(*) AS n"
            " FROM visit_actions a JOIN households h ON h.id = a.household_id"
        )
        params: list[Any] = []
        if campaign_id is not None:
            sql += (
                " WHERE a.household_id IN"
                " (SELECT household_id FROM visit_tasks WHERE campaign_id = ?)"
            )
            params.append(campaign_id)
        return await self.store.fetchall(
            sql + " GROUP BY h.city, h.district, a.kind, a.status, a.due_date", params
        )

    async def ledger(self, city: str, district: str) -> builtins.list[Any]:
        """One row per household of the area with its latest task and visit (台账)."""
        sql = (
            f"SELECT {_H_COLUMNS}, t.id AS task_id, t.status, c.name AS campaign,"  # noqa: S608
            " v.answers, v.met, v.finished_at"
            " FROM households h"
            " LEFT JOIN visit_tasks t ON t.id = (SELECT MAX(t2.id) FROM visit_tasks t2"
            " WHERE t2.household_id = h.id)"
            " LEFT JOIN visit_campaigns c ON c.id = t.campaign_id"
            " LEFT JOIN visits v ON v.task_id = t.id"
            " WHERE h.city = ?"
        )
        params: list[Any] = [city]
        if district:
            sql += " AND h.district = ?"
            params.append(district)
        return await self.store.fetchall(sql + " ORDER BY h.township, h.village, h.id", params)

    # -- retention ------------------------------------------------------------------------

    async def purge_before(self, before: float) -> int:
        """Erase households not touched (imported, visited, acted on) since ``before``,
        with everything recorded about them. Returns the households erased."""
        async with self.store.tx() as db:
            cur = await db.execute(
                "DELETE FROM households WHERE updated_at < ?"
                " AND NOT EXISTS (SELECT 1 FROM visit_tasks t LEFT JOIN visits v"
                "   ON v.task_id = t.id WHERE t.household_id = households.id"
                "   AND (t.created_at >= ? OR v.updated_at >= ?))"
                " AND NOT EXISTS (SELECT 1 FROM visit_actions a"
                "   WHERE a.household_id = households.id"
                "   AND (a.status = 'open' OR a.created_at >= ? OR a.done_at >= ?))",
                (before, before, before, before, before),
            )
            return max(cur.rowcount, 0)

    async def forget_user(self, user_id: int) -> int:
        """/forget: a household a resident put forward themselves is theirs to erase."""
        return await self.store.execute(
            "DELETE FROM households WHERE user_id = ? AND source = 'resident'", (user_id,)
        )
