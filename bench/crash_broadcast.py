"""Crash run, announcements: one announcement to 400 subscribers through `sanliang run`;
the process is SIGKILLed three times 2–5 s apart while it sends, then stopped with
SIGTERM once, restarted each time. Prints who got it exactly once, never, or twice.

    .venv/bin/python bench/crash_broadcast.py [--subscribers 400] [--kills 3] [--runs 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.telegram.crashtest_broadcast import run_broadcast  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=400)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    ok = True
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="sanliang-crash-") as tmp:
            figures = run_broadcast(
                Path(tmp), subscribers=args.subscribers, kills=args.kills, seed=args.seed + run
            )
        print(f"run {run + 1} of {args.runs}")
        print(figures.table())
        for problem in figures.problems:
            print("  problem:", problem)
        ok = ok and figures.ok and not figures.problems
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
