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

from bot.calendar import china_today
from bot.content import read_yaml
from bot.screening.facts import FACTS, InvalidAnswer, validate_answers
from bot.screening.result import result_context, screen


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
        raw = read_yaml(text)  # as content files: no anchors, aliases or merges
    except yaml.YAMLError as exc:
        raise InvalidAnswer("answers", f"malformed YAML/JSON: {exc}") from None
    if raw is None:
        raw = {}
    return validate_answers(raw)


def cmd_screen(args: argparse.Namespace) -> int:
    from bot.config import config_from
    from bot.content import ContentHolder

    try:
        answers = read_answers(args.answers)
    except InvalidAnswer as exc:
        return _fail(f"invalid answer: {exc}")
    on = china_today()
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
    labels = screening.questionnaire.labels()
    return renderer.render(
        "screening/result",
        unknown=[labels.get(f, f) for f in out["unknown"]],
        **result_context(screening, out, on),
    )
