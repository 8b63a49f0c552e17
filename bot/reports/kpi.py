"""The report's figures, as pure functions over cases (tested without a database).

For any group of requests (all of them, one area, one worker):

- 及时签收率: claimed within the claim target, among those claimed or still waiting
  past it;
- 按时办结率: resolved by the deadline, among those resolved or still open past it;
- 满意率: 满意 + 基本满意 among requests with a rating, counting each request's
  FIRST rating (不满意 → reopened → 满意 is not satisfied);
- 一次办结率: resolved and never reopened, among requests resolved at least once;
- reopen count, overdue (open past the deadline now; resolved after it), and the
  median hours from filing to the first claim and to the resolution.

Withdrawn and invalid requests count in the totals, not in the rates that do not
apply to them. The weekly trend counts requests filed and resolved per week
(Monday to Sunday, China time).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.calendar import Deadlines, local_date, start_of_day
from bot.domain.cases import OPEN_STATUSES, RATINGS, STATUSES, UNCLAIMED, Case

DONE = ("resolved", "closed")
MAX_TREND_WEEKS = 104


@dataclass(frozen=True)
class Rate:
    hits: int
    total: int

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    @property
    def percent(self) -> str:
        v = self.value
        return "—" if v is None else f"{v * 100:.1f}%"


@dataclass
class Figures:
    """The figures of one group of requests."""

    total: int = 0
    open: int = 0
    done: int = 0
    claim_rate: Rate = Rate(0, 0)
    resolve_rate: Rate = Rate(0, 0)
    satisfaction: Rate = Rate(0, 0)
    first_time: Rate = Rate(0, 0)
    reopened_cases: int = 0
    reopens: int = 0
    overdue_open: int = 0
    overdue_done: int = 0
    median_claim_hours: float | None = None
    median_resolve_hours: float | None = None
    first_ratings: dict[str, int] = field(default_factory=dict)

    @property
    def overdue(self) -> int:
        return self.overdue_open + self.overdue_done


def _median_hours(values: list[float]) -> float | None:
    return statistics.median(values) / 3600 if values else None


class ClaimTargets:
    """The claim target of each request, computed once per (China day, urgent): a
    deadline is the end of the N-th working day after the day a request was filed
    (``bot.calendar.due_at``), so requests of one day share it."""

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines
        self._by_day: dict[tuple[dt.date, bool], float] = {}

    def __call__(self, c: Case) -> float:
        key = (local_date(c.created_at), c.urgent)
        found = self._by_day.get(key)
        if found is None:
            found = self._by_day[key] = self.deadlines.claim_due_at(c.created_at, c.urgent)
        return found


def figures(
    cases: Iterable[Case],
    deadlines: Deadlines,
    now: float,
    targets: ClaimTargets | None = None,
) -> Figures:
    f = Figures()
    claim_due = targets or ClaimTargets(deadlines)
    claim_hits = claim_total = done_hits = done_total = 0
    first_hits = first_total = 0
    claim_waits: list[float] = []
    resolve_waits: list[float] = []
    ratings: Counter[str] = Counter()
    for c in cases:
        f.total += 1
        is_open = c.status in OPEN_STATUSES
        f.open += is_open
        done = c.status in DONE and c.resolved_at is not None
        f.done += done
        # 及时签收率
        target = claim_due(c)
        if c.first_claimed_at is not None:
            claim_total += 1
            claim_hits += c.first_claimed_at <= target
            claim_waits.append(max(c.first_claimed_at - c.created_at, 0.0))
        elif c.status in UNCLAIMED and target <= now:
            claim_total += 1  # still waiting after its claim target: late
        # 按时办结率 and overdue
        if done:
            assert c.resolved_at is not None
            done_total += 1
            late = c.due_at is not None and c.resolved_at > c.due_at
            done_hits += not late
            f.overdue_done += late
            resolve_waits.append(max(c.resolved_at - c.created_at, 0.0))
        elif is_open and c.due_at is not None and c.due_at <= now:
            done_total += 1  # open past its deadline: not on time
            f.overdue_open += 1
        # 一次办结率: resolved at least once (a reopen means it was), never reopened
        if done or c.reopen_count > 0:
            first_total += 1
            first_hits += done and c.reopen_count == 0
        f.reopens += c.reopen_count
        f.reopened_cases += c.reopen_count > 0
        if c.first_rating in RATINGS:
            ratings[c.first_rating] += 1
    f.claim_rate = Rate(claim_hits, claim_total)
    f.resolve_rate = Rate(done_hits, done_total)
    f.first_time = Rate(first_hits, first_total)
    f.first_ratings = {r: ratings.get(r, 0) for r in RATINGS}
    f.satisfaction = Rate(ratings["satisfied"] + ratings["basic"], sum(f.first_ratings.values()))
    f.median_claim_hours = _median_hours(claim_waits)
    f.median_resolve_hours = _median_hours(resolve_waits)
    return f


@dataclass(frozen=True)
class Week:
    monday: dt.date
    filed: int
    resolved: int


def week_of(ts: float) -> dt.date:
    day = local_date(ts)
    return day - dt.timedelta(days=day.weekday())


def weekly(
    cases: list[Case], first: dt.date | None, last: dt.date | None, now: float
) -> list[Week]:
    """Requests filed and resolved per week, from the period's first week (or the
    first request's) to its last (or this week), the last ``MAX_TREND_WEEKS`` at most."""
    filed: Counter[dt.date] = Counter()
    resolved: Counter[dt.date] = Counter()
    for c in cases:
        filed[week_of(c.created_at)] += 1
        if c.status in DONE and c.resolved_at is not None:
            resolved[week_of(c.resolved_at)] += 1
    if not filed and first is None:
        return []
    start = week_of(start_of_day(first)) if first else min(filed)
    end = week_of(start_of_day(last)) if last else max([week_of(now), *filed])
    weeks = []
    day = max(start, end - dt.timedelta(weeks=MAX_TREND_WEEKS - 1))
    while day <= end:
        weeks.append(Week(day, filed.get(day, 0), resolved.get(day, 0)))
        day += dt.timedelta(weeks=1)
    return weeks


@dataclass
class Stats:
    """Everything a report shows."""

    generated_at: float
    overall: Figures
    by_status: list[tuple[str, int]]
    by_category: list[tuple[str, int]]
    by_area: list[tuple[str, Figures]]
    by_worker: list[tuple[int, Figures]]
    weeks: list[Week]
    open_cases: list[Case]

    @property
    def total(self) -> int:
        return self.overall.total


def compute(
    cases: list[Case],
    deadlines: Deadlines,
    now: float,
    first: dt.date | None = None,
    last: dt.date | None = None,
) -> Stats:
    """The figures of ``cases`` (already limited to the report's period and area)."""
    statuses = Counter(c.status for c in cases)
    areas: dict[str, list[Case]] = defaultdict(list)
    workers: dict[int, list[Case]] = defaultdict(list)
    for c in cases:
        areas[c.area].append(c)
        if c.assignee_id is not None:
            workers[c.assignee_id].append(c)
    targets = ClaimTargets(deadlines)
    by_area = sorted(
        ((name, figures(group, deadlines, now, targets)) for name, group in areas.items()),
        key=lambda kv: (-kv[1].total, kv[0]),
    )
    by_worker = sorted(
        ((uid, figures(group, deadlines, now, targets)) for uid, group in workers.items()),
        key=lambda kv: (-kv[1].total, kv[0]),
    )
    return Stats(
        generated_at=now,
        overall=figures(cases, deadlines, now, targets),
        by_status=[(s, statuses.get(s, 0)) for s in STATUSES],
        by_category=sorted(Counter(c.category for c in cases).items(), key=lambda kv: -kv[1]),
        by_area=by_area,
        by_worker=by_worker,
        weeks=weekly(cases, first, last, now),
        open_cases=sorted(
            (c for c in cases if c.is_open), key=lambda c: (c.due_at or float("inf"), c.id)
        ),
    )
