"""China time: the one time zone, working days and deadlines, and the date formats
residents and workers see.

Working days: the State Council's official holidays and 调休 make-up working days from
the ``chinesecalendar`` package (each year as it is announced), with holidays and working
days from the configuration over them. For a year not announced yet (or not in the
installed package), the statutory holidays of the 《全国年节及纪念日放假办法》 from the
``holidays`` package: the fixed days, 春节 (除夕 to 初三), 清明, 端午 and 中秋 from the lunar
calendar, and a holiday on a weekend made up on the next working days, as the 办法
requires; the 调休 swaps themselves are only known once announced (``check --warnings``
says so). Pure functions over a ``WorkCalendar``. A target of N working days counts from the first
working day *after* the day the request arrived, as 12345 practice does: a request
logged on Friday with a target of 3 working days is due at the end of Wednesday.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import chinese_calendar

CHINA_TZ = dt.timezone(dt.timedelta(hours=8))
MAX_TARGET_DAYS = 60
DEFAULT_TARGET_DAYS = 3
DEFAULT_URGENT_DAYS = 1
DEFAULT_CLAIM_DAYS = 1
# Urgent requests are counted in hours on every day of the week (weekends and holidays
# included): hunger, no heating in a cold wave, no shelter tonight cannot wait for Monday.
DEFAULT_URGENT_HOURS = 24
MAX_TARGET_HOURS = 240


class CalendarError(ValueError):
    """A deadline setting or date in the configuration that cannot be used."""


def official_working_day(day: dt.date) -> bool | None:
    """Whether ``day`` is a working day by the official calendar (holidays and 调休
    make-up days); None for a year the installed chinesecalendar has no data for."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@functools.lru_cache(maxsize=16)
def _statutory(year: int) -> frozenset[dt.date]:
    # Imported here: ~0.25 s, needed only for a year chinesecalendar has no data for.
    import holidays

    return frozenset(holidays.country_holidays("CN", years=year))


def statutory_holiday(day: dt.date) -> bool:
    """A day off by the 放假办法 itself (holidays and their make-up days for a weekend),
    without the 调休 swaps the State Council announces each year."""
    return day in _statutory(day.year)


def calendar_warnings(today: dt.date) -> list[str]:
    """For ``check --warnings``: the current or next year missing from the official
    calendar, so that deadlines there count the statutory holidays only, not 调休."""
    return [
        f"calendar: chinesecalendar {chinese_calendar.__version__} has no official holidays "
        f"for {year}: deadlines in {year} skip weekends and the statutory holidays "
        f"(春节 {_spring_festival(year)}), not yet the 调休 make-up working days. Upgrade it "
        f"once the State Council has announced {year}'s holidays (make lock), or list them "
        "under [deadlines] holidays and workdays."
        for year in (today.year, today.year + 1)
        if official_working_day(dt.date(year, 7, 1)) is None
    ]


def _spring_festival(year: int) -> str:
    days = sorted(d for d in _statutory(year) if d.month <= 2 and d != dt.date(year, 1, 1))
    return f"{days[0]:%m-%d}–{days[-1]:%m-%d}" if days else "?"


@dataclass(frozen=True)
class WorkCalendar:
    """``holidays`` and ``workdays`` (weekend days that are working days, 调休) are the
    configured days; they win over the official calendar, used when ``official``."""

    holidays: frozenset[dt.date] = frozenset()
    workdays: frozenset[dt.date] = frozenset()
    official: bool = False

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        if self.official:
            known = official_working_day(day)
            if known is not None:
                return known
            return day.weekday() < 5 and not statutory_holiday(day)
        return day.weekday() < 5


def parse_dates(values: Any, where: str) -> frozenset[dt.date]:
    """ISO dates (``2025-10-01``) from a config list; CalendarError names the bad one."""
    if values is None:
        return frozenset()
    if not isinstance(values, list | tuple):
        raise CalendarError(f"{where}: expected a list of dates like 2025-10-01")
    out = set()
    for value in values:
        if isinstance(value, dt.datetime):
            out.add(value.date())
        elif isinstance(value, dt.date):
            out.add(value)
        else:
            try:
                out.add(dt.date.fromisoformat(str(value).strip()))
            except ValueError:
                raise CalendarError(f"{where}: not a date: {value!r}") from None
    return frozenset(out)


def local_date(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, CHINA_TZ).date()


def china_today() -> dt.date:
    """Today in China (the server may run on UTC: from 16:00 UTC it is already the next
    day there). Use it, not the server's own date, for any date a person means."""
    return local_date(time.time())


def local_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, CHINA_TZ)


# -- the one date format people see ---------------------------------------------------

WEEKDAYS = "一二三四五六日"


def fmt_when(
    value: float | dt.date | str | None,
    *,
    deadline: bool = False,
    now: float | None = None,
    year: bool = False,
) -> str:
    """The one way a date or time is shown to anybody (residents, workers, admins):
    a time as 12月3日（周四）17:00, a date (or an ISO date string) as 12月3日（周四）,
    with 2027年 in front when ``year`` or when ``now`` is given and the year differs. ``deadline``
    appends 前; a deadline at midnight (the end of a day) is shown as that day's
    24:00前, the way official notices write it. Empty for None."""
    if value is None or value == "":
        return ""
    clock: str | None = None
    if isinstance(value, int | float):
        moment = local_datetime(float(value))
        day = moment.date()
        clock = f"{moment:%H:%M}"
        if deadline and clock == "00:00":
            day, clock = day - dt.timedelta(days=1), "24:00"
    elif isinstance(value, dt.datetime):
        return fmt_when(value.timestamp(), deadline=deadline, now=now, year=year)
    elif isinstance(value, dt.date):
        day = value
    else:
        day = dt.date.fromisoformat(str(value))
    text = f"{day.month}月{day.day}日（周{WEEKDAYS[day.weekday()]}）"
    if year or (now is not None and local_date(now).year != day.year):
        text = f"{day.year}年{text}"
    if clock is not None:
        text += clock
    return text + ("前" if deadline else "")


def iso_time(ts: float) -> str:
    """2025-01-06T10:00:00+08:00, for exports."""
    return local_datetime(ts).isoformat(timespec="seconds")


def start_of_day(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ).timestamp()


def add_working_days(cal: WorkCalendar, start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself never counts).
    ``days`` = 0 gives ``start`` when it is a working day, else the next one."""
    if days < 0 or days > MAX_TARGET_DAYS:
        raise CalendarError(f"working days must be between 0 and {MAX_TARGET_DAYS}")
    day = start
    if days == 0:
        while not cal.is_working_day(day):
            day += dt.timedelta(days=1)
        return day
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if cal.is_working_day(day):
            counted += 1
    return day


def due_at(cal: WorkCalendar, created_at: float, days: int) -> float:
    """The deadline as a timestamp: the end (midnight after) of the ``days``-th working
    day after the day of ``created_at`` in China time."""
    last = add_working_days(cal, local_date(created_at), days)
    return start_of_day(last + dt.timedelta(days=1))


def working_days_between(cal: WorkCalendar, start: dt.date, end: dt.date) -> int:
    """Working days in (start, end]; negative when end is before start."""
    if end < start:
        return -working_days_between(cal, end, start)
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        if cal.is_working_day(day):
            n += 1
    return n


@dataclass(frozen=True)
class Deadlines:
    """Targets in working days (config ``[deadlines]``). A target not configured
    falls back to the one the request was created with (what the resident was told),
    then to 3 working days. Urgent requests: ``urgent_hours`` on every day of the week
    (``[deadlines] urgent_hours``, else ``urgent`` days × 24, else the content's
    ``targets.urgent_hours``, else 24); ``urgent_claim_hours``, when set, the same way
    for claiming them."""

    calendar: WorkCalendar = field(default_factory=lambda: WorkCalendar(official=True))
    ordinary: int | None = None
    urgent: int | None = None
    claim: int = DEFAULT_CLAIM_DAYS  # a request should be claimed within this many
    urgent_claim: int = 0  # urgent: claimed the same working day
    per_category: dict[str, int] = field(default_factory=dict)
    due_soon_hours: float = 24.0
    urgent_hours: float | None = None
    urgent_claim_hours: float | None = None

    def target_days(self, category: str, urgent: bool, fallback: int | None = None) -> int:
        if urgent:
            days = self.urgent if self.urgent is not None else fallback or DEFAULT_URGENT_DAYS
            return min(days, self.per_category.get(category, days))
        if category in self.per_category:
            return self.per_category[category]
        if self.ordinary is not None:
            return self.ordinary
        return fallback or DEFAULT_TARGET_DAYS

    def due_at(self, created_at: float, days: int) -> float:
        return due_at(self.calendar, created_at, days)

    def target_hours(self, fallback: float | None = None) -> float:
        """Hours (every day of the week) within which an urgent request is followed up."""
        if self.urgent_hours is not None:
            return self.urgent_hours
        if self.urgent is not None:
            return float(self.urgent * 24)
        return float(fallback or DEFAULT_URGENT_HOURS)

    def for_new_case(
        self,
        category: str,
        urgent: bool,
        now: float,
        default_days: int | None = None,
        default_hours: float | None = None,
    ) -> tuple[int, float]:
        """(working days, due time) of a request stored at ``now``: the one place a
        deadline is set, when the request is stored. ``default_days`` is the content's
        target (policy_texts/channels.yml ``targets``), used where [deadlines] is silent.
        An urgent request is due ``target_hours`` later, weekends and holidays counted,
        and has 0 working days (``hours_of`` gives its hours back)."""
        if urgent:
            return 0, now + self.target_hours(default_hours) * 3600
        days = self.target_days(category, urgent, fallback=default_days)
        return days, self.due_at(now, days)

    def claim_due_at(self, created_at: float, urgent: bool) -> float:
        if urgent and self.urgent_claim_hours is not None:
            return created_at + self.urgent_claim_hours * 3600
        return due_at(self.calendar, created_at, self.urgent_claim if urgent else self.claim)

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> Deadlines:
        """``[deadlines]``: ordinary, urgent, claim, urgent_claim (working days),
        due_soon_hours, holidays and workdays (ISO dates, over the official calendar),
        official_calendar (default true), and per-category targets in a
        ``[deadlines.categories]`` table, e.g. ``safety = 1``."""

        def days(key: str, default: int | None) -> int | None:
            value = section.get(key, default)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int):
                raise CalendarError(f"[deadlines] {key}: expected a whole number of days")
            if not 0 <= value <= MAX_TARGET_DAYS:
                raise CalendarError(f"[deadlines] {key}: must be 0 to {MAX_TARGET_DAYS}")
            return value

        def positive(key: str) -> int | None:
            value = days(key, None)
            if value == 0:
                raise CalendarError(f"[deadlines] {key}: must be at least 1 working day")
            return value

        cats = section.get("categories", {}) or {}
        if not isinstance(cats, dict):
            raise CalendarError("[deadlines.categories]: expected category = days")
        per_category = {}
        for name, value in cats.items():
            if isinstance(value, bool) or not isinstance(value, int):
                raise CalendarError(f"[deadlines.categories] {name}: expected whole days")
            if not 1 <= value <= MAX_TARGET_DAYS:
                raise CalendarError(f"[deadlines.categories] {name}: must be 1 to 60")
            per_category[str(name)] = value
        soon = section.get("due_soon_hours", 24)
        if isinstance(soon, bool) or not isinstance(soon, int | float) or not 0 < soon <= 720:
            raise CalendarError("[deadlines] due_soon_hours: expected hours between 1 and 720")

        def hours(key: str) -> float | None:
            value = section.get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CalendarError(f"[deadlines] {key}: expected a number of hours")
            if not 1 <= value <= MAX_TARGET_HOURS:
                raise CalendarError(f"[deadlines] {key}: must be 1 to {MAX_TARGET_HOURS} hours")
            return float(value)

        official = section.get("official_calendar", True)
        if not isinstance(official, bool):
            raise CalendarError("[deadlines] official_calendar: expected true or false")
        return cls(
            calendar=WorkCalendar(
                holidays=parse_dates(section.get("holidays"), "[deadlines] holidays"),
                workdays=parse_dates(section.get("workdays"), "[deadlines] workdays"),
                official=official,
            ),
            ordinary=positive("ordinary"),
            urgent=positive("urgent"),
            claim=days("claim", DEFAULT_CLAIM_DAYS) or 0,
            urgent_claim=days("urgent_claim", 0) or 0,
            per_category=per_category,
            due_soon_hours=float(soon),
            urgent_hours=hours("urgent_hours"),
            urgent_claim_hours=hours("urgent_claim_hours"),
        )


def hours_of(target_days: int, created_at: float, due: float | None) -> int | None:
    """The hours of an urgent request's deadline (stored as 0 working days and a due
    time), rounded; None for a request counted in working days."""
    if target_days or due is None:
        return None
    return max(1, round((due - created_at) / 3600))


def dates(values: Iterable[str]) -> frozenset[dt.date]:
    """Convenience for tests and callers: ISO strings to a set of dates."""
    return parse_dates(list(values), "dates")


# -- working hours (督办: reminders and escalations only while people are at work) ----


@dataclass(frozen=True)
class WorkingHours:
    """The daily window (China time) in which reminders and escalations go out, and
    over which overdue time is counted: ``opens``–``closes`` on working days (holidays
    and 调休 by the ``WorkCalendar``), or on every day for urgent cases."""

    opens: dt.time = dt.time(8, 30)
    closes: dt.time = dt.time(18, 0)

    def window(self, day: dt.date) -> tuple[float, float]:
        start = dt.datetime.combine(day, self.opens, tzinfo=CHINA_TZ).timestamp()
        end = dt.datetime.combine(day, self.closes, tzinfo=CHINA_TZ).timestamp()
        return start, end

    @property
    def hours_per_day(self) -> float:
        start, end = self.window(dt.date(2025, 1, 6))
        return (end - start) / 3600

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        """``08:30-18:00``; CalendarError for anything else (or an empty window)."""
        parts = str(text).replace("–", "-").replace("—", "-").split("-")
        if len(parts) != 2:
            raise CalendarError("working hours: expected HH:MM-HH:MM, e.g. 08:30-18:00")
        try:
            opens, closes = (dt.time.fromisoformat(p.strip()) for p in parts)
        except ValueError:
            raise CalendarError("working hours: expected HH:MM-HH:MM, e.g. 08:30-18:00") from None
        if opens >= closes:
            raise CalendarError("working hours: the end must be after the start")
        return cls(opens, closes)


def counts_on(cal: WorkCalendar, day: dt.date, every_day: bool) -> bool:
    return every_day or cal.is_working_day(day)


def in_working_hours(
    cal: WorkCalendar, hours: WorkingHours, ts: float, every_day: bool = False
) -> bool:
    """Is ``ts`` inside the window of a day that counts (every day when ``every_day``)?"""
    day = local_date(ts)
    start, end = hours.window(day)
    return counts_on(cal, day, every_day) and start <= ts < end


def working_seconds(
    cal: WorkCalendar, hours: WorkingHours, start: float, end: float, every_day: bool = False
) -> float:
    """Seconds of working hours in [start, end): the window of each working day (of
    every day when ``every_day``), so that a deadline passed on Friday evening has
    counted nothing by Monday 08:30. Negative when ``end`` is before ``start``."""
    if end < start:
        return -working_seconds(cal, hours, end, start, every_day)
    total = 0.0
    day = local_date(start)
    last = local_date(end)
    while day <= last:
        if counts_on(cal, day, every_day):
            w_start, w_end = hours.window(day)
            total += max(0.0, min(end, w_end) - max(start, w_start))
        day += dt.timedelta(days=1)
    return total
