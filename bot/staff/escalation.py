"""督办: the ladder a late request climbs, from the configuration.

```toml
[escalation]
working_hours = "08:30-18:00"     # China time: reminders and escalations only then
remind_before_hours = 4           # working hours before the deadline: the assignee
steps = [                         # after the deadline (working hours; urgent: all hours)
  {to = "assignee", after_hours = 0},
  {to = "group", after_hours = 4},
  {to = "admins", after_hours = 8},
]
```

Each step whose hours have passed is sent once on every working day (every day for an
urgent request) while the request stays overdue, inside the working hours. Ordinary
requests count working hours only (the window of each working day, official holidays
and 调休 from ``bot.calendar``); urgent ones count every hour of every day.
``bot.staff.jobs.run_reminders`` applies it; everything goes through the outbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.calendar import CalendarError, WorkCalendar, WorkingHours, working_seconds
from bot.domain.cases import Case

TARGETS = ("assignee", "group", "admins")
MAX_HOURS = 24 * 60


@dataclass(frozen=True)
class Step:
    to: str  # assignee | group | admins (admins: the admins and the area's leads)
    after_hours: float


DEFAULT_STEPS = (Step("assignee", 0), Step("group", 4), Step("admins", 8))


@dataclass(frozen=True)
class Escalation:
    hours: WorkingHours = WorkingHours()
    remind_before_hours: float = 4.0
    steps: tuple[Step, ...] = DEFAULT_STEPS

    def late_hours(self, cal: WorkCalendar, case: Case, now: float) -> float:
        """How long ``case`` has been overdue: working hours, or every hour when urgent."""
        assert case.due_at is not None
        if case.urgent:
            return (now - case.due_at) / 3600
        return working_seconds(cal, self.hours, case.due_at, now) / 3600

    def hours_left(self, cal: WorkCalendar, case: Case, now: float) -> float:
        assert case.due_at is not None
        if case.urgent:
            return (case.due_at - now) / 3600
        return working_seconds(cal, self.hours, now, case.due_at) / 3600

    def reached(self, late_hours: float) -> list[Step]:
        return [s for s in self.steps if late_hours >= s.after_hours]

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> Escalation:
        """``[escalation]``; CalendarError names what is wrong."""
        hours = WorkingHours.parse(section.get("working_hours", "08:30-18:00"))
        before = _hours(section.get("remind_before_hours", 4), "remind_before_hours")
        raw = section.get("steps")
        if raw is None:
            return cls(hours, before)
        if not isinstance(raw, list) or not raw:
            raise CalendarError(
                '[escalation] steps: expected [{to = "assignee", after_hours = 0}, …]'
            )
        steps = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict) or set(item) - {"to", "after_hours"}:
                raise CalendarError(
                    f"[escalation] steps[{i}]: expected {{to = …, after_hours = …}}"
                )
            to = item.get("to")
            if to not in TARGETS:
                raise CalendarError(f"[escalation] steps[{i}].to: one of {', '.join(TARGETS)}")
            steps.append(
                Step(str(to), _hours(item.get("after_hours", 0), f"steps[{i}].after_hours"))
            )
        return cls(hours, before, tuple(sorted(steps, key=lambda s: s.after_hours)))


def _hours(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_HOURS:
        raise CalendarError(f"[escalation] {key}: expected hours from 0 to {MAX_HOURS}")
    return float(value)
