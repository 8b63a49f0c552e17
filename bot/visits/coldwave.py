"""Risk where it matters (#17 point 5): the households with a risk flag — living
alone at 80 or older (from the roster's 出生年份), no heating, a hazard found, nobody
met at the visit — listed for a worker's re-visit (``/visits 复访``), and a cold-wave
announcement (/announce, 寒潮预警) that reaches their areas first, carries the
residents' 冬季自查, and hands every worker of those areas their list at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.calendar import local_date
from bot.dialog.events import Button, Reply
from bot.store.outbox import Outgoing

if TYPE_CHECKING:
    from bot.render import Renderer
    from bot.visits.service import VisitService

MAX_BUTTONS = 20


async def flagged_list(
    svc: VisitService, r: Renderer, worker_id: int, city: str | None = None
) -> tuple[list[dict[str, Any]], list[list[Button]]]:
    """A worker's flagged households (full names: only ever sent to them privately)
    and a button for each of the first ones."""
    this_year = local_date(svc.now()).year
    items: list[dict[str, Any]] = []
    rows: list[list[Button]] = []
    for task_id, _, flags in await svc.repo.flagged_of(worker_id, this_year, city):
        task = await svc.repo.task(task_id)
        if task is None:
            continue
        h = task.household
        words = [r.label(f"visits.risk.{f}") for f in flags.split(",") if f]
        items.append({"head": h.head_name, "village": f"{h.township}{h.village}", "flags": words})
        if len(rows) < MAX_BUTTONS:
            rows.append([Button(h.head_name, f"vs:h:{task.id}")])
    return items, rows


async def first_regions(svc: VisitService) -> list[str]:
    """市州 with flagged households, the most first: a cold wave reaches them first."""
    counts = await svc.repo.flagged_by_city(local_date(svc.now()).year)
    return sorted(counts, key=lambda city: (-counts[city], city))


async def revisit_lists(svc: VisitService, region: str | None, token: str) -> list[Outgoing]:
    """For a cold-wave announcement to ``region`` (None: everywhere): each worker's
    flagged households there, privately, queued with the announcement (once per
    announcement and worker)."""
    this_year = local_date(svc.now()).year
    workers = sorted(
        {a for _, a, _ in await svc.repo.flagged_of(None, this_year, region) if a is not None}
    )
    out = []
    for worker in workers:
        items, rows = await flagged_list(svc, svc.r, worker, region)
        if not items:
            continue
        text = svc.r.render("visits/flagged", items=items, coldwave=True)
        out.append(
            Outgoing(
                Reply(text, rows, chat_id=worker),
                "visit_revisit",
                recipient=worker,
                dedup=f"coldwave:{token}:{worker}",
            )
        )
    return out
