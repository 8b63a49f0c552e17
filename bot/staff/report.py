"""Statistics for the staff report: counts by status, category and area; 及时签收率
(claimed within the claim target), 按时办结率 (resolved by the deadline) and 满意率
(满意 + 基本满意 among rated); the open requests with masked phones.

Pure functions over the cases, so the figures are tested without a database.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from bot.calendar import Deadlines, fmt_when, iso_time
from bot.domain.cases import OPEN_STATUSES, STATUSES, UNCLAIMED, Case, status_name
from bot.render import mask_phone


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
class Stats:
    generated_at: float
    total: int = 0
    by_status: list[tuple[str, int]] = field(default_factory=list)
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_area: list[tuple[str, int]] = field(default_factory=list)
    claim_rate: Rate = Rate(0, 0)
    resolve_rate: Rate = Rate(0, 0)
    satisfaction: Rate = Rate(0, 0)
    ratings: dict[str, int] = field(default_factory=dict)
    open_cases: list[Case] = field(default_factory=list)


def compute(cases: list[Case], deadlines: Deadlines, now: float) -> Stats:
    stats = Stats(generated_at=now, total=len(cases))
    status_counts = Counter(c.status for c in cases)
    stats.by_status = [(s, status_counts.get(s, 0)) for s in STATUSES]
    stats.by_category = sorted(Counter(c.category for c in cases).items(), key=lambda kv: -kv[1])
    stats.by_area = sorted(Counter(c.area for c in cases).items(), key=lambda kv: (-kv[1], kv[0]))

    claim_hits = claim_total = 0
    for c in cases:
        target = deadlines.claim_due_at(c.created_at, c.urgent)
        if c.first_claimed_at is not None:
            claim_total += 1
            claim_hits += c.first_claimed_at <= target
        elif c.status in UNCLAIMED and target <= now:
            claim_total += 1  # still waiting after its claim target: late
    stats.claim_rate = Rate(claim_hits, claim_total)

    done_hits = done_total = 0
    for c in cases:
        if c.resolved_at is not None and c.status in ("resolved", "closed"):
            done_total += 1
            done_hits += c.due_at is None or c.resolved_at <= c.due_at
        elif c.status in OPEN_STATUSES and c.due_at is not None and c.due_at <= now:
            done_total += 1  # open past its deadline: not on time
    stats.resolve_rate = Rate(done_hits, done_total)

    ratings = Counter(c.rating for c in cases if c.rating)
    stats.ratings = {r: ratings.get(r, 0) for r in ("satisfied", "basic", "unsatisfied")}
    rated = sum(stats.ratings.values())
    stats.satisfaction = Rate(stats.ratings["satisfied"] + stats.ratings["basic"], rated)
    stats.open_cases = sorted(
        (c for c in cases if c.is_open), key=lambda c: (c.due_at or float("inf"), c.id)
    )
    return stats


_fmt = fmt_when


def render_html(
    stats: Stats,
    templates_dir: Path,
    labels: dict[str, str],
    holders: dict[int, str],
    locale: str = "zh-CN",
) -> str:
    """The report as one self-contained HTML page (autoescaped)."""
    search = [str(templates_dir / locale), str(templates_dir / "zh-CN")]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def label(prefix: str, key: str) -> str:
        return labels.get(f"{prefix}.{key}", key)

    def category(key: str) -> str:
        return labels.get(f"cases.cat.{key}") or labels.get(f"staff.cat.{key}") or key

    now = stats.generated_at
    open_rows = [
        {
            "ref": c.ref,
            "category": category(c.category),
            "area": c.area,
            "status": status_name(labels, c.status),
            "urgent": c.urgent,
            "created": _fmt(c.created_at),
            "due": fmt_when(c.due_at, deadline=True),
            "overdue": c.due_at is not None and c.due_at <= now,
            "phone": mask_phone(c.phone) if c.phone else "",
            "holder": holders.get(c.assignee_id, "") if c.assignee_id else "",
        }
        for c in stats.open_cases
    ]
    return env.get_template("staff/report.html.j2").render(
        generated=_fmt(now),
        total=stats.total,
        by_status=[{"code": s, "name": status_name(labels, s), "n": n} for s, n in stats.by_status],
        by_category=[{"code": k, "name": category(k), "n": n} for k, n in stats.by_category],
        by_area=[{"name": k, "n": n} for k, n in stats.by_area],
        claim_rate=stats.claim_rate,
        resolve_rate=stats.resolve_rate,
        satisfaction=stats.satisfaction,
        ratings=[
            {"code": k, "name": label("staff.rate", k), "n": n} for k, n in stats.ratings.items()
        ],
        open_cases=open_rows,
    )


STAFF_CSV_COLUMNS = ["assignee", "claimed_at", "expected_date", "resolved_at", "rating"]


def _iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return iso_time(ts)


async def staff_csv_columns(store: Any) -> dict[int, dict[str, str]]:
    """Assignee and workflow dates per case id, for ``sanliang cases export --csv``."""
    members = await store.staff.members(include_revoked=True)
    holders = {m.user_id: m.label for m in members}
    out = {}
    for case in await store.workflow.all_cases():
        out[case.id] = {
            "assignee": holders.get(case.assignee_id, f"#{case.assignee_id}")
            if case.assignee_id
            else "",
            "claimed_at": _iso(case.first_claimed_at),
            "expected_date": case.expected_date or "",
            "resolved_at": _iso(case.resolved_at),
            "rating": case.rating or "",
        }
    return out
