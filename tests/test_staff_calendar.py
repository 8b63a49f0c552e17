"""Working-day arithmetic: weekends, holidays and make-up working days skipped."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.calendar import (
    CalendarError,
    Deadlines,
    WorkCalendar,
    add_working_days,
    dates,
    due_at,
    working_days_between,
)
from tests.staff_support import ts

D = dt.date
PLAIN = WorkCalendar()
# 2025-01-01 (Wednesday) is New Year's Day.
NEW_YEAR = WorkCalendar(holidays=dates(["2025-01-01"]))


def test_weekend_is_skipped():
    # Friday 2025-01-03 + 1 working day = Monday 2025-01-06.
    assert add_working_days(PLAIN, D(2025, 1, 3), 1) == D(2025, 1, 6)
    # Friday + 3 = Wednesday.
    assert add_working_days(PLAIN, D(2025, 1, 3), 3) == D(2025, 1, 8)
    # Logged on Saturday: Monday is the first working day after it.
    assert add_working_days(PLAIN, D(2025, 1, 4), 1) == D(2025, 1, 6)
    assert add_working_days(PLAIN, D(2025, 1, 5), 3) == D(2025, 1, 8)


def test_holiday_and_weekend_together():
    # Tuesday 2024-12-31 + 3: Wed 1 Jan is a holiday, Sat/Sun skipped -> Mon 6 Jan.
    assert add_working_days(NEW_YEAR, D(2024, 12, 31), 3) == D(2025, 1, 6)
    assert add_working_days(PLAIN, D(2024, 12, 31), 3) == D(2025, 1, 3)
    # A whole holiday week (National Day) in the middle of a target.
    golden = WorkCalendar(
        holidays=dates([f"2025-10-0{d}" for d in range(1, 9)]),
        workdays=dates(["2025-09-28", "2025-10-11"]),
    )
    # Friday 26 Sep + 1 = Sunday 28 Sep, a make-up working day (调休).
    assert add_working_days(golden, D(2025, 9, 26), 1) == D(2025, 9, 28)
    # Tuesday 30 Sep + 2: 1-8 Oct off, Thu 9, Fri 10 -> Friday 10 Oct.
    assert add_working_days(golden, D(2025, 9, 30), 2) == D(2025, 10, 10)
    # ... + 3: Saturday 11 Oct is a make-up working day.
    assert add_working_days(golden, D(2025, 9, 30), 3) == D(2025, 10, 11)


def test_zero_days_is_today_or_the_next_working_day():
    assert add_working_days(PLAIN, D(2025, 1, 6), 0) == D(2025, 1, 6)
    assert add_working_days(NEW_YEAR, D(2025, 1, 1), 0) == D(2025, 1, 2)
    assert add_working_days(PLAIN, D(2025, 1, 4), 0) == D(2025, 1, 6)


def test_due_at_is_midnight_after_the_last_day_in_china_time():
    # Logged Friday 3 Jan 23:30 China time (15:30 UTC): due end of Wednesday 8 Jan.
    start = ts(2025, 1, 3, 23, 30)
    assert due_at(PLAIN, start, 3) == ts(2025, 1, 9, 0, 0)
    # With 1 Jan a holiday, a request of 31 Dec due in 1 day: end of 2 Jan.
    assert due_at(NEW_YEAR, ts(2024, 12, 31, 9), 1) == ts(2025, 1, 3, 0, 0)


def test_working_days_between():
    assert working_days_between(NEW_YEAR, D(2024, 12, 31), D(2025, 1, 6)) == 3
    assert working_days_between(NEW_YEAR, D(2025, 1, 6), D(2024, 12, 31)) == -3
    assert working_days_between(PLAIN, D(2025, 1, 6), D(2025, 1, 6)) == 0


@given(
    st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31)),
    st.integers(min_value=1, max_value=30),
    st.sets(st.dates(min_value=D(2020, 1, 1), max_value=D(2031, 3, 31)), max_size=30),
)
def test_properties(start, days, holidays):
    cal = WorkCalendar(holidays=frozenset(holidays))
    end = add_working_days(cal, start, days)
    assert end > start
    assert cal.is_working_day(end)
    assert working_days_between(cal, start, end) == days
    # The day before the result still has one working day to go.
    assert working_days_between(cal, start, end - dt.timedelta(days=1)) == days - 1


def test_deadlines_from_config_and_targets():
    dl = Deadlines.from_config(
        {
            "ordinary": 5,
            "urgent": 1,
            "holidays": ["2025-01-01"],
            "categories": {"safety": 2},
        }
    )
    assert dl.target_days("living", False) == 5
    assert dl.target_days("safety", False) == 2
    assert dl.target_days("living", True) == 1
    assert dl.calendar.is_working_day(D(2025, 1, 1)) is False
    # Not configured: what the request was created with, else 3 / 1.
    plain = Deadlines.from_config({})
    assert plain.target_days("living", False, fallback=4) == 4
    assert plain.target_days("living", False) == 3
    assert plain.target_days("living", True) == 1


@pytest.mark.parametrize(
    "section",
    [
        {"ordinary": "three"},
        {"ordinary": 0},
        {"urgent": 99},
        {"ordinary": True},
        {"holidays": ["2025-13-01"]},
        {"holidays": "2025-01-01"},
        {"categories": {"living": 0}},
        {"categories": ["living"]},
        {"due_soon_hours": -1},
    ],
)
def test_bad_deadline_config_is_refused(section):
    with pytest.raises(CalendarError):
        Deadlines.from_config(section)


def test_huge_target_is_refused():
    with pytest.raises(CalendarError):
        add_working_days(PLAIN, D(2025, 1, 1), 10**9)
