"""The staff columns of ``sanliang cases export --csv``: the area now responsible (a
transfer moves it away from the resident's district), the assignee, the workflow
dates, the reopen count and the first and last ratings. The report itself (figures,
HTML, .xlsx) is ``bot.reports``."""

from __future__ import annotations

from typing import Any

from bot.calendar import iso_time

STAFF_CSV_COLUMNS = [
    "area",
    "assignee",
    "claimed_at",
    "expected_date",
    "resolved_at",
    "reopen_count",
    "first_rating",
    "rating",
]


def _iso(ts: float | None) -> str:
    if ts is None:
        return ""
    return iso_time(ts)


async def staff_csv_columns(store: Any) -> dict[int, dict[str, str]]:
    """Staff columns per case id, for ``sanliang cases export --csv``."""
    members = await store.staff.members(include_revoked=True)
    holders = {m.user_id: m.label for m in members}
    out = {}
    for case in await store.workflow.all_cases():
        out[case.id] = {
            "area": case.area,
            "assignee": holders.get(case.assignee_id, f"#{case.assignee_id}")
            if case.assignee_id
            else "",
            "claimed_at": _iso(case.first_claimed_at),
            "expected_date": case.expected_date or "",
            "resolved_at": _iso(case.resolved_at),
            "reopen_count": str(case.reopen_count),
            "first_rating": case.first_rating or "",
            "rating": case.rating or "",
        }
    return out
