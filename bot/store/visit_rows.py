"""Rows of the home-visit tables as dataclasses, and the column lists the visit
repositories share (bot/store/visits.py, bot/store/visit_records.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
    birth_year: int | None = None  # 出生年份 from the roster, when given

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
    " h.phone, h.categories, h.size, h.note, h.plan, h.source, h.user_id, h.updated_at,"
    " h.birth_year"
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
    "birth_year",
)


ELDERLY_AGE = 80  # living alone at this age or older: a risk flag (#17 point 5)


def elderly_born_by(this_year: int) -> int:
    """The latest 出生年份 of someone 80 or older in ``this_year`` (by the year)."""
    return this_year - ELDERLY_AGE


def alone_elderly(h: HouseholdRow, this_year: int) -> bool:
    """One person, 80 or older: flagged before anyone has visited."""
    return h.size == 1 and h.birth_year is not None and h.birth_year <= elderly_born_by(this_year)


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
        birth_year=row["birth_year"],
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
