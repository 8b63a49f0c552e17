"""``sanliang ask [--json] [QUESTION]``: run questions through the matcher.

With no QUESTION, one question per line is read from stdin. ``--json`` prints one
object per line: {"question", "decision", "matches": [{"id", "title", "score"}, ...]},
best first, at least 3 matches whenever the knowledge base has 3 topics.

decision is "answer", "clarify", "fallback", or "multi": the message names several
needs; then "needs" lists their topic ids (2 or 3, best first, all among the matches) and
the chat offers them with the self-screening; "compare": true when the message asks how
those programs differ (低保和特困有什么区别) rather than naming several needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.content import ContentError, load_content


def add_parser(subparsers, common) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "ask",
        help="ask the policy matcher a question (or one per line from stdin)",
        description="Match questions against the policy topics and print the decision "
        "(answer, clarify or fallback) and the best matches.",
    )
    common(parser)
    parser.add_argument("question", nargs="?", metavar="QUESTION", help="the question")
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per line (for other tools)"
    )
    parser.add_argument(
        "--content", metavar="DIR", help="content root (default: the bundled content)"
    )
    parser.add_argument(
        "-k", type=int, default=3, metavar="N", help="how many matches to print (default 3)"
    )
    parser.set_defaults(func=cmd_ask)
    from bot.knowledge.scope_train import add_parser as add_train_scope

    add_train_scope(subparsers, common)
    return parser


def result_json(result) -> dict:
    out = {
        "question": result.question,
        "decision": result.decision,
        "matches": [{"id": m.id, "title": m.title, "score": m.score} for m in result.matches],
    }
    if result.decision == "multi":
        out["needs"] = list(result.listed)
        if result.compare:
            out["compare"] = True
    return out


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.config import config_from

    root = Path(args.content) if args.content else config_from(args).content_dir
    content, report = load_content(root)
    if report.errors:
        raise ContentError(report)
    matcher = content.knowledge.matcher
    k = max(3, min(int(args.k), 50))
    questions = [args.question] if args.question is not None else sys.stdin
    for line in questions:
        question = line.rstrip("\r\n")
        if not question.strip():
            continue
        result = matcher.match(question, k=k)
        if args.json:
            print(json.dumps(result_json(result), ensure_ascii=False), flush=True)
        else:
            needs = f" ({', '.join(result.listed)})" if result.listed else ""
            print(f"{question}\n  -> {result.decision}{needs}")
            for m in result.matches[:k]:
                print(f"     {m.score:.3f}  {m.id}  {m.title}")
    return 0
