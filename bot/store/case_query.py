"""Reading cases: their columns and the one definition of "a case's area" in SQL.

``CaseQuery`` builds one SELECT over the cases table from filters (status, area,
what a worker covers); the repositories of ``bot/store/cases.py`` and
``bot/store/workflow.py`` read through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.domain.cases import Case

# Every column of a cases row, as ``Case`` carries them (the resident side and the
# staff workflow read the same rows).
CASE_COLUMNS = (
    "id, ref, draft_id, user_id, chat_id, status, category, region_city, region_district,"
    " region_township, region_village, description, phone, contact_time, urgent,"
    " urgent_by_resident, urgent_words, attachments, target_days, due_at, assignee_id,"
    " area_city, area_district, created_at, updated_at, closed_at, erased_at,"
    " first_claimed_at, claimed_at, resolved_at, expected_date, rating, rating_comment,"
    " rated_at, reopen_count, first_rating, first_rated_at, area_township, from_city,"
    " from_district, from_township, transferred_by"
)


# The area responsible for a case: exactly its area columns (set to the resident's
# 市州/区县 when it is stored, moved by transfers; a NULL lower part is the whole area
# above it). Every query "by area" uses this one definition (Case.responsible too;
# rows from before migration 0009 fall back to the region).
AREA_CITY = "COALESCE(area_city, region_city)"
AREA_DISTRICT = "(CASE WHEN area_city IS NULL THEN region_district ELSE area_district END)"
AREA_TOWNSHIP = "(CASE WHEN area_city IS NULL THEN NULL ELSE area_township END)"


class CaseQuery:
    """One SELECT over the cases table, built from filters; ``Case`` rows out."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> CaseQuery:
        self.where.append(clause)
        self.params.extend(params)
        return self

    def statuses(self, statuses: str | Iterable[str] | None) -> CaseQuery:
        if statuses is not None:
            values = [statuses] if isinstance(statuses, str) else list(statuses)
            self.add(f"status IN ({', '.join('?' * len(values))})", *values)
        return self

    def area(
        self, city: str | None, district: str | None = None, township: str | None = None
    ) -> CaseQuery:
        """Cases of this area and below it (a report by area, a list by area)."""
        if city is not None:
            self.add(f"{AREA_CITY} = ?", city)
            if district is not None:
                self.add(f"{AREA_DISTRICT} = ?", district)
                if township is not None:
                    self.add(f"{AREA_TOWNSHIP} = ?", township)
        return self

    def covered_by(
        self, city: str | None, district: str | None = None, township: str | None = None
    ) -> CaseQuery:
        """Cases a worker of this area covers (``Area.covers``): the area and below
        it, and cases filed above it on its own line (a district case without a
        street is also its street workers')."""
        if city is None:
            return self
        self.add(f"{AREA_CITY} = ?", city)
        if district is None:
            return self
        if township is None:
            return self.add(f"({AREA_DISTRICT} IS NULL OR {AREA_DISTRICT} = ?)", district)
        return self.add(
            f"({AREA_DISTRICT} IS NULL OR ({AREA_DISTRICT} = ?"
            f" AND ({AREA_TOWNSHIP} IS NULL OR {AREA_TOWNSHIP} = ?)))",
            district,
            township,
        )

    def sql(self, order: str, limit: int | None = None) -> tuple[str, list[Any]]:
        sql = f"SELECT {CASE_COLUMNS} FROM cases"
        if self.where:
            sql += " WHERE " + " AND ".join(self.where)
        sql += f" ORDER BY {order}"
        params = list(self.params)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return sql, params

    async def fetch(self, store: Any, order: str, limit: int | None = None) -> list[Case]:
        sql, params = self.sql(order, limit)
        return [Case.from_row(r) for r in await store.fetchall(sql, params)]
