"""One date format and one name per status, wherever people see them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bot.calendar import fmt_when
from bot.config import PROJECT_ROOT
from bot.domain.cases import STATUSES, status_label, status_name
from bot.render import Renderer
from tests.staff_support import ts


def test_times_dates_and_deadlines():
    assert fmt_when(ts(2026, 12, 3, 17)) == "12月3日（周四）17:00"
    assert fmt_when(ts(2026, 12, 3, 17), deadline=True) == "12月3日（周四）17:00前"
    # A deadline at midnight is the end of the day before, as official notices write it.
    assert fmt_when(ts(2026, 12, 4, 0), deadline=True) == "12月3日（周四）24:00前"
    assert fmt_when(ts(2026, 12, 4, 0)) == "12月4日（周五）00:00"
    assert fmt_when(dt.date(2026, 12, 6)) == "12月6日（周日）"
    assert fmt_when("2027-01-04") == "1月4日（周一）"
    assert fmt_when("2027-01-04", now=ts(2026, 12, 30, 9)) == "2027年1月4日（周一）"
    assert fmt_when("2026-01-05", year=True) == "2026年1月5日（周一）"
    assert fmt_when(None) == "" and fmt_when("") == ""


def test_every_status_has_one_name_and_the_code_asks_only_for_it():
    renderer = Renderer(PROJECT_ROOT / "templates")
    names = {s: status_name(renderer, s) for s in STATUSES}
    assert all(names[s] != s for s in STATUSES)  # each status is named
    assert len(set(names.values())) == len(STATUSES)  # and no two share a name
    assert status_name(renderer.labels(), "claimed") == names["claimed"]
    assert status_name(renderer, "from-a-newer-version") == "from-a-newer-version"
    with pytest.raises(ValueError):
        status_label("nonsense")
    # No other label family names statuses (the old staff.status / cases.status).
    assert not [k for k in renderer.labels() if re.match(r"(staff|cases)\.status\.", k)]
    # No code spells a date format of its own.
    for path in Path(PROJECT_ROOT / "bot").rglob("*.py"):
        if path.name == "calendar.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "%Y-%m-%d %H" not in text, path
        assert not re.search(r"fmt_(time|date|due_day|cn_date|month_day)\b", text), path
