"""Visit records, photos, actions, links to help requests, the report's queries, the
台账 and the retention purge: the second half of ``store.visits`` (migration 0009)."""

from __future__ import annotations

import builtins
import json
from typing import Any

from bot.store import Repo
from bot.store.visit_rows import (
    _A_COLUMNS,
    _H_COLUMNS,
    Action,
    Visit,
    _action,
    _visit,
    elderly_born_by,
)


class VisitRecords(Repo):
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

    async def set_flags(self, visit_id: int, flags: str) -> None:
        await self.store.execute("UPDATE visits SET flags = ? WHERE id = ?", (flags, visit_id))

    async def flagged_of(
        self, assignee_id: int | None, this_year: int, city: str | None = None
    ) -> builtins.list[tuple[int, int | None, str]]:
        """(task id, assignee, flags) of the households with a risk flag in the open
        campaigns: a visit's flags, and ``alone_80`` (one person, 80 or older), which
        needs no visit. One worker's (``assignee_id``), or every worker's in ``city``."""
        sql = (
            "SELECT t.id, t.assignee_id, v.flags, h.size, h.birth_year FROM visit_tasks t"
            " JOIN households h ON h.id = t.household_id"
            " JOIN visit_campaigns c ON c.id = t.campaign_id"
            " LEFT JOIN visits v ON v.task_id = t.id"
            " WHERE c.closed_at IS NULL"
            " AND ((t.status = 'done' AND v.flags != '') OR (h.size = 1 AND h.birth_year <= ?))"
        )
        params: list[Any] = [elderly_born_by(this_year)]
        if assignee_id is not None:
            sql += " AND t.assignee_id = ?"
            params.append(assignee_id)
        if city is not None:
            sql += " AND h.city = ?"
            params.append(city)
        rows = await self.store.fetchall(sql + " ORDER BY c.deadline, t.id", params)
        out = []
        for r in rows:
            flags = [f for f in str(r["flags"] or "").split(",") if f]
            born = r["birth_year"]
            if r["size"] == 1 and born is not None and born <= elderly_born_by(this_year):
                flags.insert(0, "alone_80")
            out.append((int(r["id"]), r["assignee_id"], ",".join(flags)))
        return out

    async def flagged_by_city(self, this_year: int) -> dict[str, int]:
        """Households with a risk flag per 市州 (open campaigns): where a cold-wave
        announcement goes first."""
        rows = await self.store.fetchall(
            "SELECT h.city, COUNT(DISTINCT h.id) AS n FROM visit_tasks t"
            " JOIN households h ON h.id = t.household_id"
            " JOIN visit_campaigns c ON c.id = t.campaign_id"
            " LEFT JOIN visits v ON v.task_id = t.id"
            " WHERE c.closed_at IS NULL"
            " AND ((t.status = 'done' AND v.flags != '') OR (h.size = 1 AND h.birth_year <= ?))"
            " GROUP BY h.city",
            (elderly_born_by(this_year),),
        )
        return {str(r["city"]): int(r["n"]) for r in rows}

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

    async def report_rows(
        self, campaign_id: int | None, city: str = "", district: str = "", this_year: int = 0
    ) -> builtins.list[Any]:
        """Per area and worker: households, visited, not met, flagged (one row per
        group), in the open campaigns (or one campaign), in one area if given."""
        sql = (
            "SELECT h.city, h.district, t.assignee_id, COUNT(*) AS households,"
            " SUM(CASE WHEN t.status = 'done' THEN 1 ELSE 0 END) AS visited,"
            " SUM(CASE WHEN t.status = 'done' AND v.met = 'nobody' THEN 1 ELSE 0 END)"
            " AS not_met,"
            " SUM(CASE WHEN (t.status = 'done' AND v.flags != '')"
            " OR (h.size = 1 AND h.birth_year <= ?) THEN 1 ELSE 0 END) AS flagged,"
            " SUM(CASE WHEN h.size = 1 AND h.birth_year <= ? THEN 1 ELSE 0 END) AS alone_80"
            " FROM visit_tasks t JOIN households h ON h.id = t.household_id"
            " JOIN visit_campaigns c ON c.id = t.campaign_id"
            " LEFT JOIN visits v ON v.task_id = t.id"
        )
        campaign, params = _campaign_scope(campaign_id)
        area, more = _area_scope(city, district)
        where = " WHERE " + " AND ".join([campaign, *area])
        return await self.store.fetchall(
            sql + where + " GROUP BY h.city, h.district, t.assignee_id ORDER BY h.city, h.district",
            [elderly_born_by(this_year)] * 2 + params + more,
        )

    async def action_rows(
        self, campaign_id: int | None, city: str = "", district: str = ""
    ) -> builtins.list[Any]:
        """Per area: the actions of the same households (by kind, status, due date)."""
        campaign, params = _campaign_scope(campaign_id)
        area, more = _area_scope(city, district)
        return await self.store.fetchall(
            "SELECT h.city, h.district, a.kind, a.status, a.due_date, COUNT(*) AS n"
            " FROM visit_actions a JOIN households h ON h.id = a.household_id"
            " WHERE a.household_id IN (SELECT t.household_id FROM visit_tasks t"
            " JOIN visit_campaigns c ON c.id = t.campaign_id WHERE "
            + campaign
            + ")"
            + "".join(f" AND {w}" for w in area)
            + " GROUP BY h.city, h.district, a.kind, a.status, a.due_date",
            params + more,
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


def _campaign_scope(campaign_id: int | None) -> tuple[str, list[Any]]:
    if campaign_id is None:
        return "c.closed_at IS NULL", []
    return "t.campaign_id = ?", [campaign_id]


def _area_scope(city: str, district: str) -> tuple[list[str], list[Any]]:
    where, params = [], []
    if city:
        where.append("h.city = ?")
        params.append(city)
        if district:
            where.append("h.district = ?")
            params.append(district)
    return where, params
