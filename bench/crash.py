"""Crash runs: `sanliang run` against the local Bot API stand-in, SIGKILLed while it works,
restarted each time; prints a table per run. Exit 1 when anything was lost or done twice.

- ``--mode polling`` / ``--mode webhook``: residents file help requests while the process
  is killed 2–5 s after each start (references lost or duplicated, staff cards delivered
  exactly once, actions left without a reply);
- ``--mode broadcast``: one announcement to many subscribers, killed with SIGKILL
  ``--kills`` times 2–5 s apart and stopped with SIGTERM once (who got it exactly once,
  never, or twice).

    .venv/bin/python bench/crash.py --mode polling [--residents 8] [--requests 200] [--runs 1]
    .venv/bin/python bench/crash.py --mode broadcast [--subscribers 400] [--kills 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.telegram.crashtest import run_requests  # noqa: E402
from bot.telegram.crashtest_broadcast import run_broadcast  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["polling", "webhook", "broadcast"], required=True)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--residents", type=int, default=8, help="polling/webhook")
    parser.add_argument("--requests", type=int, default=200, help="polling/webhook")
    parser.add_argument("--subscribers", type=int, default=400, help="broadcast")
    parser.add_argument("--kills", type=int, default=3, help="broadcast: SIGKILLs")
    args = parser.parse_args()
    ok = True
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="sanliang-crash-") as tmp:
            if args.mode == "broadcast":
                figures = run_broadcast(
                    Path(tmp), subscribers=args.subscribers, kills=args.kills, seed=args.seed + run
                )
            else:
                figures = run_requests(
                    Path(tmp),
                    mode=args.mode,
                    residents=args.residents,
                    requests=args.requests,
                    seed=args.seed + run,
                )
        print(f"{args.mode}: run {run + 1} of {args.runs}")
        print(figures.table())
        for problem in figures.problems:
            print("  problem:", problem)
        ok = ok and figures.ok and not figures.problems
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
