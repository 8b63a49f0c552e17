"""Coverage of the visits: households, visited, 完成率 by area and by worker, needs
found and resolved, overdue actions, days to the deadline. One computation for the
JSON and HTML files (``sanliang visits report``) and ``/visits report`` in the chat.

The JSON contract: ``{"households": N, "visited": M, "by_area": [{"area":
"成都市/武侯区", "households": n, "visited": m}], "open_actions": K}`` plus the keys
below. No personal data: counts, area names and workers' 称呼 only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from bot.calendar import local_date

if TYPE_CHECKING:
    from bot.store import Store


def rate(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def _in_area(area: str, city: str, district: str) -> bool:
    if not area:
        return True
    want_city, _, want_district = area.partition("/")
    return city == want_city and (not want_district or district == want_district)


async def compute(
    store: Store, now: float, campaign: str | None = None, area: str = ""
) -> dict[str, Any] | None:
    """The figures; None when ``campaign`` names no campaign."""
    repo = store.visits
    campaigns = await repo.campaigns(open_only=campaign is None)
    chosen = None
    if campaign is not None:
        chosen = next((c for c in campaigns if c.name == campaign), None)
        if chosen is None:
            return None
        campaigns = [chosen]
    today = local_date(now)
    areas: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    workers: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    city, _, district = area.partition("/")
    rows = await repo.report_rows(chosen.id if chosen else None, city, district, today.year)
    for row in rows:
        if not _in_area(area, row["city"], row["district"]):
            continue
        key = f"{row['city']}/{row['district']}"
        for field in ("households", "visited", "not_met", "flagged", "alone_80"):
            value = int(row[field] or 0)
            areas[key][field] += value
            workers[row["assignee_id"]][field] += value
    today_iso = today.isoformat()
    for row in await repo.action_rows(chosen.id if chosen else None, city, district):
        if not _in_area(area, row["city"], row["district"]):
            continue
        key = f"{row['city']}/{row['district']}"
        n = int(row["n"])
        status = row["status"]
        if status == "cancelled":
            continue
        if row["kind"] != "plan":
            areas[key]["needs_found"] += n
            if status == "done":
                areas[key]["needs_resolved"] += n
        if status == "open":
            areas[key]["open_actions"] += n
            if row["due_date"] < today_iso:
                areas[key]["overdue_actions"] += n
    members = {m.user_id: m.label for m in await store.staff.members(include_revoked=True)}
    by_area = [
        {
            "area": key,
            "households": v["households"],
            "visited": v["visited"],
            "rate": rate(v["visited"], v["households"]),
            "not_met": v["not_met"],
            "flagged": v["flagged"],
            "alone_80": v["alone_80"],
            "needs_found": v["needs_found"],
            "needs_resolved": v["needs_resolved"],
            "open_actions": v["open_actions"],
            "overdue_actions": v["overdue_actions"],
        }
        for key, v in sorted(areas.items())
    ]
    by_worker = [
        {
            "worker": members.get(uid, f"#{uid}") if uid is not None else "",
            "assigned": uid is not None,
            "households": v["households"],
            "visited": v["visited"],
            "rate": rate(v["visited"], v["households"]),
        }
        for uid, v in sorted(workers.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
    ]
    total = sum(v["households"] for v in areas.values())
    visited = sum(v["visited"] for v in areas.values())
    deadlines = [dt.date.fromisoformat(c.deadline) for c in campaigns]
    return {
        "campaign": chosen.name if chosen else None,
        "campaigns": [
            {"name": c.name, "start": c.start_date, "deadline": c.deadline} for c in campaigns
        ],
        "area": area or None,
        "date": today_iso,
        "households": total,
        "visited": visited,
        "rate": rate(visited, total),
        "not_met": sum(v["not_met"] for v in areas.values()),
        "flagged": sum(v["flagged"] for v in areas.values()),
        "alone_80": sum(v["alone_80"] for v in areas.values()),
        "by_area": by_area,
        "by_worker": by_worker,
        "needs_found": sum(v["needs_found"] for v in areas.values()),
        "needs_resolved": sum(v["needs_resolved"] for v in areas.values()),
        "open_actions": sum(v["open_actions"] for v in areas.values()),
        "overdue_actions": sum(v["overdue_actions"] for v in areas.values()),
        "days_to_deadline": min(((d - today).days for d in deadlines), default=None),
    }
