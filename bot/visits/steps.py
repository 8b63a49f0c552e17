"""The visit record as data: one short screen per question, buttons first.

Each ``Step`` names its choices (labels ``visits.ans.<step>.<value>``), whether several
may be picked (``multi``), whether a typed text answers it (``text``), and what comes
next. Payloads: ``vs:a:<visit>:<step code>:<value>`` for an answer,
``vs:ok:<visit>:<step code>`` for 选好了 on a multi step. What each answer means for
the household (a need, an action, a risk flag) is decided here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

ENOUGH = ("enough", "short")


@dataclass(frozen=True)
class Step:
    key: str
    code: str  # short, for payloads
    choices: tuple[str, ...] = ()
    multi: bool = False
    text: bool = False  # a typed text answers it (besides the buttons)
    # The next step after this one, given the answers so far.
    next: Callable[[dict[str, Any]], str] | None = None
    per_row: int = 2


def _after_met(answers: dict[str, Any]) -> str:
    return "extras" if answers.get("met") == "nobody" else "clothes"


def _fixed(name: str) -> Callable[[dict[str, Any]], str]:
    return lambda _answers: name


STEPS: dict[str, Step] = {
    s.key: s
    for s in (
        Step("met", "m", ("self", "family", "nobody"), next=_after_met, per_row=1),
        Step("clothes", "c", ENOUGH, next=_fixed("heating")),
        Step("heating", "h", ENOUGH, next=_fixed("heating_kind")),
        Step(
            "heating_kind",
            "k",
            ("electric", "coal", "wood", "gas", "none"),
            next=_fixed("food"),
            per_row=3,
        ),
        Step("food", "f", ENOUGH, next=_fixed("hazard")),
        Step("hazard", "z", ("none", "elec", "gas", "fire"), multi=True, next=_fixed("health")),
        Step("health", "b", ("ok", "ill", "care"), next=_fixed("other"), per_row=1),
        Step("other", "o", ("none",), text=True, next=_fixed("policies"), per_row=1),
        # Choices are the policy topics of the content snapshot (bot.visits.flow).
        Step("policies", "p", (), multi=True, next=_fixed("extras")),
        Step("extras", "x", (), next=_fixed("summary")),
    )
}
ORDER = tuple(STEPS)
BY_CODE = {s.code: s.key for s in STEPS.values()}
MAX_OTHER_CHARS = 300
# Steps a worker can re-answer from the summary (the same day).
EDITABLE = tuple(k for k in ORDER if k != "extras")
HAZARDS = ("elec", "gas", "fire")

# Needs a visit finds, and the action each becomes (labels visits.action.<kind>).
NEED_KINDS = ("clothes", "heating", "food", "hazard_elec", "hazard_gas", "hazard_fire")
URGENT_KINDS = ("hazard_elec", "hazard_gas", "hazard_fire")


def first_unanswered(answers: dict[str, Any]) -> str:
    """Where a visit left off: the first step on its path without an answer."""
    step = "met"
    seen = 0
    while step != "summary" and seen < len(ORDER) + 1:
        seen += 1
        if step not in answers:
            return step
        s = STEPS[step]
        step = s.next(answers) if s.next else "summary"
    return "summary"


def path(answers: dict[str, Any]) -> list[str]:
    """The steps this visit asks, in order (a household nobody was home at skips the
    questions about its supplies)."""
    out: list[str] = []
    step = "met"
    while step != "summary" and len(out) <= len(ORDER):
        out.append(step)
        s = STEPS[step]
        step = s.next(answers) if s.next else "summary"
    return out


def needs(answers: dict[str, Any]) -> list[str]:
    """The needs these answers found: each 不够 and each 隐患."""
    if answers.get("met") == "nobody":
        return []
    found = []
    if answers.get("clothes") == "short":
        found.append("clothes")
    if answers.get("heating") == "short" or answers.get("heating_kind") == "none":
        found.append("heating")
    if answers.get("food") == "short":
        found.append("food")
    hazards = answers.get("hazard")
    if isinstance(hazards, list):
        found += [f"hazard_{h}" for h in HAZARDS if h in hazards]
    return found


def risks(answers: dict[str, Any], finished: bool) -> list[str]:
    """Risk flags of a visit (labels visits.risk.<flag>): not met, no heating, a hazard."""
    flags = []
    if finished and answers.get("met") == "nobody":
        flags.append("not_met")
    if answers.get("heating_kind") == "none":
        flags.append("no_heating")
    hazards = answers.get("hazard")
    if isinstance(hazards, list) and any(h in HAZARDS for h in hazards):
        flags.append("hazard")
    return flags
