"""Crash run, webhook mode: `sanliang run` against the local Bot API stand-in, SIGKILLed
2–5 s after each start while residents file help requests; restarted each time.

Prints a table: references lost or duplicated, staff cards delivered exactly once,
actions left without a reply. Exit 1 when any of those is not zero.

    .venv/bin/python bench/crash_webhook.py [--residents 8] [--requests 200] [--runs 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.telegram.crashtest import run_requests  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=8)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    ok = True
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="sanliang-crash-") as tmp:
            figures = run_requests(
                Path(tmp),
                mode="webhook",
                residents=args.residents,
                requests=args.requests,
                seed=args.seed + run,
            )
        print(f"run {run + 1} of {args.runs}")
        print(figures.table())
        for problem in figures.problems:
            print("  problem:", problem)
        ok = ok and figures.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
