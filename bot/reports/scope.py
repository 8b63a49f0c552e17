"""What a report covers: a period of China-time dates (both ends included, by the day
a request was filed) and an area (市州, 区县, 乡镇/街道; empty: everywhere).

Dates are typed by people (``2026-11-01``, ``2026/11/1``, ``20261101``,
``2026年11月1日``); a date that is not one is a ``ScopeError`` whose ``code`` names
the template sentence that explains it (``reports/bad_date``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from bot.calendar import local_date, start_of_day
from bot.domain.cases import Case
from bot.store.staff import Area

EARLIEST = dt.date(2000, 1, 1)
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


class ScopeError(ValueError):
    """``code``: not_a_date | impossible | too_early | in_future | reversed."""

    def __init__(self, code: str, value: str = "") -> None:
        super().__init__(f"{code}: {value!r}")
        self.code = code
        self.value = value


def parse_day(text: str, today: dt.date) -> dt.date:
    raw = text.strip()[:40]
    m = _DATE.match(raw) or _COMPACT.match(raw)
    if m is None:
        raise ScopeError("not_a_date", raw)
    try:
        day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise ScopeError("impossible", raw) from None
    if day < EARLIEST:
        raise ScopeError("too_early", raw)
    if day > today + dt.timedelta(days=366):
        raise ScopeError("in_future", raw)
    return day


def looks_like_date(text: str) -> bool:
    return bool(re.match(r"^\d", text.strip()))


@dataclass(frozen=True)
class Period:
    """From the start of ``first`` to the end of ``last`` (China time); None: open."""

    first: dt.date | None = None
    last: dt.date | None = None

    @classmethod
    def parse(cls, first: str | None, last: str | None, now: float) -> Period:
        today = local_date(now)
        a = parse_day(first, today) if first else None
        b = parse_day(last, today) if last else None
        if a is not None and b is not None and b < a:
            raise ScopeError("reversed", f"{first} {last}")
        return cls(a, b)

    @property
    def start(self) -> float | None:
        return None if self.first is None else start_of_day(self.first)

    @property
    def end(self) -> float | None:
        """The first moment after the period."""
        return None if self.last is None else start_of_day(self.last + dt.timedelta(days=1))

    def contains(self, ts: float) -> bool:
        start, end = self.start, self.end
        return (start is None or ts >= start) and (end is None or ts < end)

    def token(self, day: dt.date | None) -> str:
        return "-" if day is None else f"{day:%Y%m%d}"

    @property
    def tokens(self) -> str:
        """``20261101:20261130`` (``-`` for an open end), for a button's payload."""
        return f"{self.token(self.first)}:{self.token(self.last)}"

    @classmethod
    def from_tokens(cls, a: str, b: str) -> Period:
        """The inverse of ``tokens``; ScopeError for anything else."""

        def one(t: str) -> dt.date | None:
            if t == "-":
                return None
            m = _COMPACT.match(t)
            if m is None:
                raise ScopeError("not_a_date", t)
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                raise ScopeError("impossible", t) from None

        period = cls(one(a), one(b))
        if period.first and period.last and period.last < period.first:
            raise ScopeError("reversed", f"{a} {b}")
        return period


@dataclass(frozen=True)
class Scope:
    period: Period = Period()
    area: Area = Area()

    def includes(self, case: Case) -> bool:
        if not self.period.contains(case.created_at):
            return False
        # The area and below it (CaseQuery.area), by the case's responsible area.
        return self.area.contains(case.responsible)

    @property
    def area_name(self) -> str:
        return str(self.area)


def _match_name(typed: str, names: list[str]) -> str | None:
    """成都 for 成都市, 武侯 for 武侯区; an exact name always wins."""
    if typed in names:
        return typed
    found = [n for n in names if len(typed) >= 2 and n.startswith(typed)]
    return found[0] if len(found) == 1 else None


def parse_area(text: str, regions: dict[str, list[str]]) -> Area | None:
    """``成都市``, ``成都市/武侯区`` (short forms too: ``成都/武侯``) against the regions
    list; None for anything else."""
    parts = [p.strip() for p in text.replace("／", "/").split("/") if p.strip()]
    if not 1 <= len(parts) <= 2 or any(len(p) > 30 for p in parts):
        return None
    city = _match_name(parts[0], list(regions))
    if city is None:
        return None
    if len(parts) == 1:
        return Area(city)
    district = _match_name(parts[1], regions[city])
    return None if district is None else Area(city, district)


def regions_for(content_dir: Path) -> dict[str, list[str]]:
    """市州 -> 区县 from the content's regions.yml (empty when it cannot be read)."""
    from bot.cases.channels import load_regions
    from bot.content import Report
    from bot.manifest import content_path

    return load_regions(content_path(content_dir, "regions"), Report(content_dir))
