"""Scoring the emergency triage against a labelled set (tests/data/emergency/*.yml).

Shared by bench/emergency.py and tests/test_emergency.py, so the figures in the
bench table and the floor in the tests are the same computation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.safety.triage import Verdict

# Which number each emergency label must bring (the reply may show more).
EXPECTED = {
    "fire": "119",
    "collapse": "119",
    "medical": "120",
    "police": "110",
    "crisis": "12356",
}
NOT_EMERGENCY = ("urgent", "none")
LABELS = (*EXPECTED, *NOT_EMERGENCY)


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    batch: int = 1  # a key like ``fire_2`` is batch 2 of label ``fire``


def load_set(path: Path) -> list[Example]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    out: list[Example] = []
    for key, texts in data.items():
        label, _, batch = str(key).partition("_")
        if label not in LABELS or not (batch == "" or batch.isdigit()):
            raise ValueError(f"{path}: unknown label {key!r}")
        out.extend(Example(str(t), label, int(batch or 1)) for t in texts or [])
    return out


@dataclass
class Score:
    emergencies: int = 0
    detected: int = 0  # got an emergency number
    right_number: int = 0  # got the number its label needs
    near_misses: int = 0
    false_alarms: int = 0  # a near-miss that got an emergency number
    urgent: int = 0
    urgent_flagged: int = 0  # an urgent (non-emergency) message offered the urgent request
    missed: list[Example] = field(default_factory=list)
    wrong_number: list[tuple[Example, Verdict]] = field(default_factory=list)
    alarms: list[tuple[Example, Verdict]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.detected / self.emergencies if self.emergencies else 1.0

    @property
    def number_accuracy(self) -> float:
        return self.right_number / self.emergencies if self.emergencies else 1.0

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.near_misses if self.near_misses else 0.0

    @property
    def urgent_recall(self) -> float:
        return self.urgent_flagged / self.urgent if self.urgent else 1.0


def score(examples: list[Example], classify: Callable[[str], Verdict]) -> Score:
    s = Score()
    for ex in examples:
        v = classify(ex.text)
        if ex.label in EXPECTED:
            s.emergencies += 1
            if v.emergency:
                s.detected += 1
                if EXPECTED[ex.label] in v.numbers:
                    s.right_number += 1
                else:
                    s.wrong_number.append((ex, v))
            else:
                s.missed.append(ex)
        else:
            s.near_misses += 1
            if v.emergency:
                s.false_alarms += 1
                s.alarms.append((ex, v))
            if ex.label == "urgent":
                s.urgent += 1
                s.urgent_flagged += bool(v.urgent)
    return s
