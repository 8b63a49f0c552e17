"""One screening result, shared by the chat and ``sanliang screen``: the JSON
contract, and the context the result template shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.screening.facts import FACTS


def screen(screening: Any, answers: dict[str, Any], on: dt.date) -> dict[str, Any]:
    """The JSON contract: one result per program, plus the facts that would change one."""
    ev = screening.evaluate(answers, on)
    results = screening.results(ev)
    unknown: set[str] = set()
    for r in results:
        if r.verdict == "possible":
            unknown |= r.missing
    return {
        "results": [
            {
                "program": r.program,
                "verdict": r.verdict,
                "reasons": list(r.reasons),
                "documents": screening.documents(ev, r.program),
            }
            for r in results
        ],
        "unknown": [f for f in FACTS if f in unknown],
        "standards": [
            _standard(s) for mid, s in ev.standards_used.items() if mid in ev.measures_read
        ],
        "warnings": list(
            dict.fromkeys(
                s.stale_note
                for mid, s in ev.standards_used.items()
                if mid in ev.measures_read and s.stale and s.stale_note
            )
        ),
    }


def _standard(s: Any) -> dict[str, Any]:
    """One figure the rules used: what it is, from when, how sure, whether it is old."""
    return {
        "measure": s.measure,
        "title": s.title,
        "value": s.value,
        "from": s.start.isoformat(),
        "year": s.year,
        "source": s.source,
        "confidence": s.confidence,
        "inferred": s.inferred,
        "fallback": s.fallback,
        "derived": s.derived,
        "admin_set": s.admin_set,
        "checked": s.checked.isoformat() if s.checked else None,
        "stale": s.stale,
    }


def result_context(screening: Any, out: dict[str, Any], on: dt.date) -> dict[str, Any]:
    """Verdicts grouped, one de-duplicated document list for the likely programs, and
    where to apply, grouped by office: what ``screening/result`` renders."""
    groups: dict[str, list[dict[str, Any]]] = {"likely": [], "possible": [], "unlikely": []}
    for r in out["results"]:
        groups[r["verdict"]].append(
            {"id": r["program"], "title": screening.title(r["program"]), "reasons": r["reasons"]}
        )
    documents: list[str] = []
    for r in out["results"]:
        if r["verdict"] == "likely":
            documents += [d for d in r["documents"] if d not in documents]
    apply: list[dict[str, Any]] = []
    for r in groups["likely"] + groups["possible"]:
        topic = screening.topic(r["id"])
        if topic is None:
            continue
        for a in apply:
            if a["where"] == topic.apply_at:
                a["titles"].append(r["title"])
                break
        else:
            apply.append({"where": topic.apply_at, "titles": [r["title"]]})
    return {
        "date": on.isoformat(),
        "warnings": out.get("warnings", []),
        "likely": groups["likely"],
        "possible": groups["possible"],
        "unlikely": groups["unlikely"],
        "documents": documents,
        "apply": apply,
    }
