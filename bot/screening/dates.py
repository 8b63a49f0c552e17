"""Honest dates for answers: the figures a policy topic cites (its ``figures`` front
matter, measure ids of ``policy_texts/standards.yml``) are looked up on the day
asked; any that is more than 12 months old gets a plain-words warning.

With the resident's 市州 known (from their screening) the local figure is used,
otherwise the newest provincial figure.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from bot.content import Report
from bot.screening.facts import AREAS, REGIONS
from bot.screening.standards import Standards, _in_force, is_stale


def topic_figures(topic: Any) -> list[str]:
    raw = (getattr(topic, "meta", None) or {}).get("figures") or []
    return [str(m) for m in raw] if isinstance(raw, list) else []


def figure_notes(
    standards: Standards | None,
    measures: list[str],
    on: dt.date,
    region: str | None = None,
    area: str | None = None,
) -> list[str]:
    """Warnings for the stale figures among ``measures`` on ``on``, de-duplicated."""
    if standards is None:
        return []
    out: list[str] = []

    def add(note: str) -> None:
        if note and note not in out:
            out.append(note)

    for mid in measures:
        m = standards.measures.get(mid)
        if m is None:
            continue
        if not m.regional:
            s = standards.lookup(mid, None, "urban", on)
            if s is not None and s.stale:
                add(s.stale_note)
        elif region in REGIONS:
            for a in (area,) if area in AREAS else AREAS:
                s = standards.lookup(mid, region, a, on)
                if s is not None and s.stale:
                    add(s.stale_note)
        else:
            e = _in_force(m.province, on)
            if e is not None and not e.admin_set and is_stale(e.start, on):
                since = f"{e.start.year} 年 {e.start.month} 月"
                title = f"四川省 {e.start.year} 年{m.floor_name}"
                add(standards.text("stale", title=title, year=e.start.year, since=since))
    return out


def check_topic_figures(
    root: Path, report: Report, topics: Any, standards: Standards | None
) -> None:
    """``figures`` in a topic must name measures of standards.yml."""
    if topics is None or standards is None:
        return
    for topic in topics.topics.values():
        raw = (getattr(topic, "meta", None) or {}).get("figures")
        if raw is None:
            continue
        line = topic.line_of("figures") if hasattr(topic, "line_of") else topic.line
        if not isinstance(raw, list):
            report.error(topic.path, line, "figures: expected a list of measure ids")
            continue
        for mid in raw:
            if str(mid) not in standards.measures:
                report.error(
                    topic.path, line, f"figures: unknown measure {mid!r} (see standards.yml)"
                )
