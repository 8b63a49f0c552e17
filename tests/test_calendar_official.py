"""Working days from the official calendar (chinesecalendar): holidays and 调休 make-up
days, the configuration over them, and the warning for years without data."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.calendar import (
    CHINA_TZ,
    CalendarError,
    Deadlines,
    add_working_days,
    calendar_warnings,
    due_at,
    official_working_day,
)
from bot.cli import main
from tests.staff_support import ts

D = dt.date


def test_spring_festival_2026_as_in_the_readme():
    cal = Deadlines.from_config({}).calendar
    # Filed Friday 2026-02-13 with 3 working days: Saturday 02-14 is a make-up working
    # day (1), 02-15..02-23 the Spring Festival holiday, then 02-24 (2) and 02-25 (3).
    assert cal.is_working_day(D(2026, 2, 14))
    assert not any(cal.is_working_day(D(2026, 2, d)) for d in range(15, 24))
    assert add_working_days(cal, D(2026, 2, 13), 3) == D(2026, 2, 25)
    assert due_at(cal, ts(2026, 2, 13, 16), 3) == ts(2026, 2, 26, 0, 0)
    # National Day 2026: 10-01..10-07 off, Saturday 10-10 worked.
    assert add_working_days(cal, D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert cal.is_working_day(D(2026, 10, 10))


def test_configured_days_win_over_the_official_calendar():
    dl = Deadlines.from_config(
        {
            # A local holiday, and the make-up Saturday declared a rest day after all.
            "holidays": ["2026-03-03", "2026-02-14"],
            # A holiday the office works anyway.
            "workdays": ["2026-02-23"],
        }
    )
    cal = dl.calendar
    assert not cal.is_working_day(D(2026, 3, 3))
    assert not cal.is_working_day(D(2026, 2, 14))
    assert cal.is_working_day(D(2026, 2, 23))
    assert add_working_days(cal, D(2026, 2, 13), 3) == D(2026, 2, 25)  # 23, 24, 25


def test_official_calendar_can_be_switched_off():
    cal = Deadlines.from_config({"official_calendar": False}).calendar
    assert add_working_days(cal, D(2026, 2, 13), 3) == D(2026, 2, 18)  # weekends only
    with pytest.raises(CalendarError):
        Deadlines.from_config({"official_calendar": "yes"})


def test_a_year_without_data_counts_weekends_statutory_and_configured_days():
    assert official_working_day(D(2026, 2, 16)) is False
    assert official_working_day(D(2099, 1, 1)) is None
    cal = Deadlines.from_config({"holidays": ["2099-01-05"]}).calendar
    # 2099-01-01 (元旦) is a Thursday, 02 a Friday: Monday 05 configured off, so Tuesday 06.
    assert add_working_days(cal, D(2098, 12, 31), 1) == D(2099, 1, 2)
    assert add_working_days(cal, D(2099, 1, 2), 1) == D(2099, 1, 6)


def test_a_year_not_announced_keeps_the_statutory_holidays():
    """2027 (not in chinesecalendar 1.11): 春节 is 除夕 to 初三 by the 放假办法, 02-05 to
    02-08, and its Saturday and Sunday are made up on 02-09 and 02-10."""
    if official_working_day(D(2027, 7, 1)) is not None:
        pytest.skip("chinesecalendar knows 2027 now: the announced days are used")
    cal = Deadlines.from_config({}).calendar
    off = [d for d in range(1, 16) if not cal.is_working_day(D(2027, 2, d))]
    assert off == [5, 6, 7, 8, 9, 10, 13, 14]
    assert not cal.is_working_day(D(2027, 1, 1))  # 元旦
    assert not cal.is_working_day(D(2027, 10, 4))  # 国庆 Saturday, made up on Monday
    assert cal.is_working_day(D(2027, 10, 6))
    # A request on Thursday 02-04 with 3 working days: 02-11, 02-12, then Monday 02-15.
    assert add_working_days(cal, D(2027, 2, 4), 3) == D(2027, 2, 15)
    # Without the official calendar: weekends and configured days only, as configured.
    plain = Deadlines.from_config({"official_calendar": False}).calendar
    assert plain.is_working_day(D(2027, 2, 5))


def test_warning_for_the_current_or_next_year_without_data():
    assert calendar_warnings(D(2025, 6, 1)) == []  # 2025 and 2026 are covered
    (only,) = calendar_warnings(D(2026, 12, 1))
    assert "2027" in only and "statutory holidays (春节 02-05–02-10)" in only and "调休" in only
    assert len(calendar_warnings(D(2099, 1, 1))) == 2


def test_check_warnings_lists_the_calendar(capsys):
    expected = calendar_warnings(dt.datetime.now(CHINA_TZ).date())
    assert main(["check", "--warnings"]) == 0
    out = capsys.readouterr().out
    for line in expected:
        assert line in out
    assert main(["check"]) == 0
    assert "calendar:" not in capsys.readouterr().out
