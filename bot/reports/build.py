"""Build a report for a scope: the requests filed in its period and area, their
figures, the HTML page and/or the .xlsx workbook. The figures and rendering run in a
worker thread (a large history must not stall the chat), and every build is audited
by its caller (who, what scope, how many rows: no personal data)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.calendar import Deadlines
from bot.domain.cases import Case
from bot.reports.kpi import Stats, compute
from bot.reports.output import Meta, render_html, render_xlsx
from bot.reports.scope import Scope


@dataclass
class Built:
    cases: int
    stats: Stats | None = None
    html: str | None = None
    xlsx: bytes | None = None


async def load_cases(
    store: Any, scope: Scope, covers: Callable[[Case], bool] | None = None
) -> list[Case]:
    area = scope.area
    found = await store.workflow.created_between(
        scope.period.start, scope.period.end, area.city, area.district
    )
    return [c for c in found if scope.includes(c) and (covers is None or covers(c))]


async def holders_of(store: Any) -> dict[int, str]:
    return {m.user_id: m.label for m in await store.staff.members(include_revoked=True)}


async def build(
    store: Any,
    renderer: Any,
    deadlines: Deadlines,
    scope: Scope,
    now: float,
    *,
    by: str = "",
    html: bool = True,
    xlsx: bool = False,
    covers: Callable[[Case], bool] | None = None,
) -> Built:
    cases = await load_cases(store, scope, covers)
    holders = await holders_of(store)
    meta = Meta(scope, now, by)

    def work() -> Built:
        out = Built(len(cases))
        if html:
            out.stats = compute(cases, deadlines, now, scope.period.first, scope.period.last)
            out.html = str(render_html(out.stats, meta, renderer, holders))
        if xlsx:
            out.xlsx = render_xlsx(cases, meta, renderer, holders)
        return out

    return await asyncio.to_thread(work)


def audit_detail(scope: Scope, kind: str, n: int) -> str:
    """What an audit row says of an export: its kind, period, area and size."""
    p = scope.period
    return f"{kind} from={p.token(p.first)} to={p.token(p.last)} area={scope.area_name or '*'} rows={n}"
