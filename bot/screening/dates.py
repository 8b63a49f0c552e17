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


def figure_lines(
    standards: Standards | None,
    measures: list[str],
    on: dt.date,
    region: str | None = None,
    area: str | None = None,
) -> list[str]:
    """The figures a topic cites, in force on ``on``, one plain line each (the sentences
    are ``texts`` of standards.yml): the resident's 市州 when known (城市 and 农村 unless
    the area is known), else the provincial floor with a word that local figures are not
    lower. Caveats (推算, 待核实, the floor used for a 市州 without its own, districts
    lower, the age) stay with the figure, in one bracket."""
    if standards is None:
        return []
    out: list[str] = []

    def age(start: dt.date) -> str:
        if not is_stale(start, on):
            return ""
        return standards.text("figure_age", since=f"{start.year} 年 {start.month} 月")

    for mid in measures:
        m = standards.measures.get(mid)
        if m is None:
            continue
        if not m.regional or region in REGIONS:
            areas = ("urban",) if not m.regional else (area,) if area in AREAS else AREAS
            found = [
                s
                for a in areas
                if (s := standards.lookup(mid, region if m.regional else None, a, on))
            ]
            if len(found) == 2 and found[0].value == found[1].value:
                found = found[:1]
            for s in found:
                low = standards.text("figure_low", low=_yuan(s.low)) if s.low < s.value else ""
                caveats = _paren(low, s.note, age(s.start))
                out.append(standards.text("figure", title=s.title, value=_yuan(s.value),
                                          caveats=caveats))  # fmt: skip
            continue
        e = _in_force(m.province, on)
        if e is None or e.admin_set:
            continue
        caveats = _paren(standards.text("inferred") if e.inferred else "", age(e.start))
        title = f"四川省 {e.start.year} 年{m.floor_name}"
        out.append(
            standards.text(
                "figure_floor",
                title=title,
                urban=_yuan(e.values["urban"]),
                rural=_yuan(e.values["rural"]),
                caveats=caveats,
            )
        )
    return out


def _paren(*parts: str) -> str:
    """Caveats in one pair of brackets: （推算的数，待核实；2024 年 7 月起执行 …）."""
    kept = [p.strip().strip("（）").strip() for p in parts]
    kept = [p for p in kept if p]
    return f"（{'；'.join(kept)}）" if kept else ""


def _yuan(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"
