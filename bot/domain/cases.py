"""What a help request is, in the words residents, workers and the store share:
statuses, categories, contact times, the reference number, and ``Case``, one row of
the cases table as both the resident side and the staff workflow read it.

No storage and no chat here: ``bot.store.cases`` and ``bot.store.workflow`` persist
these, ``bot.cases`` and ``bot.staff`` talk about them.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.calendar import CHINA_TZ
from bot.domain.regions import Area

STATUSES = (
    "new",
    "claimed",
    "in_progress",
    "resolved",
    "closed",
    "transferred",
    "withdrawn",
    "invalid",
)
OPEN_STATUSES = ("new", "claimed", "in_progress", "transferred")
FINAL_STATUSES = ("resolved", "closed", "withdrawn", "invalid")
UNCLAIMED = ("new", "transferred")  # waiting for a worker to claim
WORKING = ("claimed", "in_progress")  # a worker has it
RATINGS = ("satisfied", "basic", "unsatisfied")
ACTOR_KINDS = ("resident", "staff", "system")
CATEGORIES = ("living", "housing", "jobs", "medical", "school", "winter", "safety", "other")
CONTACT_TIMES = ("am", "pm", "evening", "any")

# One name per status, everywhere (chat for staff and residents, CLI, report, export):
# the label ``status.<code>`` of templates/<locale>/labels/status.yml. Ask for it with
# ``status_name(labels, code)``; never spell a status's name anywhere else.
STATUS_LABEL_PREFIX = "status"


def status_label(status: str) -> str:
    """The label key of a status's one name, e.g. ``status.claimed``."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    return f"{STATUS_LABEL_PREFIX}.{status}"


def status_name(labels: Any, status: str) -> str:
    """The one name of ``status``: ``labels`` is a ``Renderer`` (``label``/``has_label``)
    or a mapping of label keys (``Renderer.labels()``). An unknown code is returned as
    it is, so a row from a newer version still shows."""
    if status not in STATUSES:
        return status
    key = status_label(status)
    if hasattr(labels, "has_label"):
        return str(labels.label(key)) if labels.has_label(key) else status
    return str(labels.get(key, status))


REF_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O/1/I
REF_RANDOM_CHARS = 4


def new_ref(now: float | None = None) -> str:
    """SC-YYMM-XXXX in China time, XXXX drawn with ``secrets``."""
    stamp = dt.datetime.fromtimestamp(time.time() if now is None else now, CHINA_TZ)
    tail = "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_RANDOM_CHARS))
    return f"SC-{stamp:%y%m}-{tail}"


def new_draft_id() -> str:
    return secrets.token_urlsafe(9)  # 12 characters, fits a button payload


@dataclass
class NewCase:
    """What the resident confirmed; ``draft_id`` makes creation idempotent."""

    draft_id: str
    user_id: int
    category: str
    region_city: str
    region_district: str
    description: str
    phone: str
    contact_time: str
    target_days: int
    chat_id: int | None = None
    region_township: str | None = None
    region_village: str | None = None
    urgent_by_resident: bool = False
    urgent_words: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    due_at: float | None = None


@dataclass(frozen=True)
class Case:
    """A row of the cases table: what the resident asked for and, from ``assignee_id``
    on, how staff work on it."""

    id: int
    ref: str
    draft_id: str
    user_id: int | None  # NULL after /forget
    chat_id: int | None
    status: str
    category: str
    region_city: str
    region_district: str
    region_township: str | None
    region_village: str | None
    description: str | None
    phone: str | None
    contact_time: str | None
    urgent: bool
    urgent_by_resident: bool
    urgent_words: tuple[str, ...]
    attachments: tuple[dict[str, Any], ...] = field(hash=False)
    target_days: int
    due_at: float | None
    assignee_id: int | None
    area_city: str | None
    area_district: str | None
    created_at: float
    updated_at: float
    closed_at: float | None
    erased_at: float | None
    first_claimed_at: float | None
    claimed_at: float | None
    resolved_at: float | None
    expected_date: str | None
    rating: str | None
    rating_comment: str | None
    rated_at: float | None
    reopen_count: int
    # The resident's first rating (a reopened request may be rated again): 满意率.
    first_rating: str | None = None
    first_rated_at: float | None = None
    area_township: str | None = None
    from_city: str | None = None
    from_district: str | None = None
    from_township: str | None = None
    transferred_by: int | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def region(self) -> str:
        return f"{self.region_city}/{self.region_district}"

    @property
    def responsible(self) -> Area:
        """The area now responsible, exactly (a transfer to a whole 市州 leaves no
        district): the ``area_*`` columns, set when the case is stored. The same
        definition as ``bot.store.cases.AREA_*``."""
        if self.area_city is None:  # a row from before the area columns were filled
            return Area(self.region_city, self.region_district)
        return Area(self.area_city, self.area_district, self.area_township)

    @property
    def area(self) -> str:
        """The area now responsible as staff chats, lists and reports show it: 巴中市,
        成都市/武侯区, 成都市/武侯区/玉林街道 — but a 乡镇/街道 the resident typed stays
        out (it is their free text; a transfer's is staff's choice)."""
        area = self.responsible
        if area.township and self.from_city is None:
            area = Area(area.city, area.district)
        return str(area)

    @property
    def responsible_city(self) -> str:
        return self.responsible.city or self.region_city

    @property
    def responsible_district(self) -> str | None:
        return self.responsible.district

    @property
    def responsible_township(self) -> str | None:
        return self.responsible.township

    @property
    def transferred_from(self) -> Area | None:
        """Where the last transfer came from (退回 sends it back there)."""
        if self.from_city is None:
            return None
        return Area(self.from_city, self.from_district, self.from_township)

    @classmethod
    def from_row(cls, row: Any) -> Case:
        """A case from a row selected with ``CASE_COLUMNS``."""
        if isinstance(row, Mapping):
            d = dict(row)
        else:  # sqlite3.Row and records: values in column order (4x faster than dict(row))
            d = dict(zip(row.keys(), row, strict=True))
        d["urgent"] = bool(d["urgent"])
        d["urgent_by_resident"] = bool(d["urgent_by_resident"])
        d["urgent_words"] = tuple(_json_list(d["urgent_words"]))
        d["attachments"] = tuple(a for a in _json_list(d["attachments"]) if isinstance(a, dict))
        return cls(**d)


@dataclass(frozen=True)
class StatusChange:
    id: int
    case_id: int
    at: float
    actor_kind: str
    actor_id: int | None
    from_status: str | None
    to_status: str
    note: str | None


@dataclass(frozen=True)
class Message:
    id: int
    case_id: int
    at: float
    author_kind: str
    author_id: int | None
    body: str | None
    private: bool


def _json_list(raw: Any) -> list[Any]:
    if not raw or raw == "[]":
        return []
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []
