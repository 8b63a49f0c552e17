"""``sanliang screen --answers FILE [--date YYYY-MM-DD] [--json]``.

FILE (``-`` for stdin) is a YAML or JSON mapping of fact names to values; an
absent fact is unknown. Invalid answers exit 2 with a message naming the fact
on stderr and nothing on stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bot.screening.facts import FACTS, InvalidAnswer, validate_answers


def add_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser(
        "screen",
        help="self-screening: which programs a household likely qualifies for",
        description="Evaluate the eligibility rules for one household. FILE ('-' = stdin) is a "
        "YAML or JSON mapping of facts (" + ", ".join(FACTS) + "); an absent fact is unknown. "
        "Exit 2 on invalid answers.",
    )
    common(p)
    p.add_argument("--answers", required=True, metavar="FILE", help="answers file, '-' = stdin")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="evaluate on this date (default today)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--content", metavar="DIR", help="content root (default: the bundled content)")
    p.set_defaults(func=cmd_screen)


def _fail(message: str) -> int:
    print(f"sanliang screen: {message}", file=sys.stderr)
    return 2


def read_answers(source: str) -> dict[str, Any]:
    """Parse and validate an answers file; raises InvalidAnswer."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidAnswer("answers", f"cannot read {source}: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidAnswer("answers", f"malformed YAML/JSON: {exc}") from None
    if raw is None:
        raw = {}
    return validate_answers(raw)


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
    }


def cmd_screen(args: argparse.Namespace) -> int:
    from bot.cli import config_from
    from bot.content import ContentHolder

    try:
        answers = read_answers(args.answers)
    except InvalidAnswer as exc:
        return _fail(f"invalid answer: {exc}")
    on = dt.date.today()
    if args.date:
        try:
            on = dt.date.fromisoformat(args.date)
        except ValueError:
            return _fail(f"--date: expected YYYY-MM-DD, got {args.date!r}")
    cfg = config_from(args)
    root = Path(args.content) if args.content else cfg.content_dir
    holder, _report = ContentHolder.load(root)  # ContentError → exit 1 in bot.cli
    screening = holder.current.screening
    out = screen(screening, answers, on)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    from bot.render import Renderer, html_to_plain

    renderer = Renderer(cfg.templates_dir if not args.content else root / "templates", cfg.locale)
    print(html_to_plain(render_text(renderer, screening, out, on)))
    return 0


def render_text(renderer: Any, screening: Any, out: dict[str, Any], on: dt.date) -> str:
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
    labels = screening.questionnaire.labels()
    return renderer.render(
        "screening/result",
        date=on.isoformat(),
        likely=groups["likely"],
        possible=groups["possible"],
        unlikely=groups["unlikely"],
        documents=documents,
        apply=apply,
        unknown=[labels.get(f, f) for f in out["unknown"]],
    )
