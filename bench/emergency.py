"""Benchmark the emergency triage (bot/safety) on the labelled set.

Usage: .venv/bin/python bench/emergency.py [--show-misses]

Prints one table per split (train: what intents/emergency.yml was tuned on; test: the
held-out split, never tuned on): recall (an emergency got an emergency number), the
right number for its kind, false alarms among near-misses (idioms, other senses,
policy questions about such events, past events, negations, urgent needs without an
emergency number), urgent needs offered the urgent request, and latency per message,
for

- sanliang: the triage (intents/emergency.yml);
- keywords: the words that flagged a help request as urgent before the triage
  (intents/urgent_words.yml), any hit counted as an emergency, as a baseline.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.safety.evaluate import load_set, score  # noqa: E402
from bot.safety.triage import NOTHING, Verdict, normalize  # noqa: E402

DATA = ROOT / "tests" / "data" / "emergency"


def keyword_baseline(words: tuple[str, ...]):
    def classify(text: str) -> Verdict:
        t = normalize(text)
        hits = tuple(w for w in words if w in t)
        return Verdict(("keywords",), ("?",), hits=hits) if hits else NOTHING

    return classify


def latency_us(classify, texts: list[str], rounds: int = 20) -> tuple[float, float]:
    times = []
    for _ in range(rounds):
        for t in texts:
            start = time.perf_counter()
            classify(t)
            times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show-misses", action="store_true", help="list misses and alarms")
    args = parser.parse_args()
    content, report = load_content(ROOT)
    if report.errors:
        print("\n".join(map(str, report.errors)))
        return 1
    triage = content.safety
    systems = {
        "sanliang": triage.classify,
        "keywords": keyword_baseline(tuple(normalize(w) for w in content.channels.urgent_words)),
    }
    for split in ("train", "test"):
        examples = load_set(DATA / f"{split}.yml")
        n_em = sum(e.label not in ("urgent", "none") for e in examples)
        print(f"\n## {split}: {n_em} emergencies, {len(examples) - n_em} near-misses")
        print(
            "| system | recall | right number | false alarms | urgent offered | p50 µs | p99 µs |"
        )
        print("|---|---|---|---|---|---|---|")
        for name, classify in systems.items():
            s = score(examples, classify)
            p50, p99 = latency_us(classify, [e.text for e in examples])
            right = f"{s.number_accuracy:.3f}" if name == "sanliang" else "–"
            print(
                f"| {name} | {s.recall:.3f} ({s.detected}/{s.emergencies}) | {right} "
                f"| {s.false_alarm_rate:.1%} ({s.false_alarms}/{s.near_misses}) "
                f"| {s.urgent_flagged}/{s.urgent} | {p50:.0f} | {p99:.0f} |"
            )
            if args.show_misses and name == "sanliang":
                for ex in s.missed:
                    print(f"  missed [{ex.label}] {ex.text}")
                for ex, v in s.wrong_number:
                    print(f"  number [{ex.label}] {ex.text} -> {v.numbers} {v.hits}")
                for ex, v in s.alarms:
                    print(f"  alarm  [{ex.label}] {ex.text} -> {v.numbers} {v.hits}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
