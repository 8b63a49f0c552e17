"""The public contract of the screening: fact names, their types, the programs.

Outside tools (``sanliang screen --answers``) rely on these names exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.regions import CITIES

# Sichuan's 市州: the names of policy_texts/regions.yml (bot.domain.regions).
REGIONS: tuple[str, ...] = CITIES

AREAS: tuple[str, ...] = ("urban", "rural")

PROGRAMS: tuple[str, ...] = (
    "dibao", "tekun", "dibao-edge", "temporary-relief", "medical-assistance",
    "insurance-enrollment", "student-aid", "housing-assistance", "rural-housing-renovation",
    "disaster-relief", "employment-assistance", "price-subsidy", "orphan-support",
    "disability-subsidies",
)  # fmt: skip

VERDICTS: tuple[str, ...] = ("likely", "possible", "unlikely")


@dataclass(frozen=True)
class Fact:
    name: str
    kind: str  # "enum" | "int" | "number" | "bool"
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


# Hard limits: anything outside is a typing mistake, not a household.
FACTS: dict[str, Fact] = {
    f.name: f
    for f in (
        Fact("region", "enum", REGIONS),
        Fact("area", "enum", AREAS),
        Fact("household_size", "int", minimum=1, maximum=100),
        Fact("monthly_income", "number", minimum=0, maximum=10_000_000),
        Fact("financial_assets", "number", minimum=0, maximum=10_000_000_000),
        Fact("savings_per_person", "number", minimum=0, maximum=10_000_000_000),
        Fact("has_car", "bool"),
        Fact("has_property", "bool"),
        Fact("members_able_to_work", "int", minimum=0, maximum=100),
        Fact("applicant_age", "int", minimum=0, maximum=130),
        Fact("has_supporter", "bool"),
        Fact("disability_grade", "int", (0, 1, 2, 3, 4), minimum=0, maximum=4),
        Fact("child_status", "enum", ("none", "orphan", "unsupported")),
        Fact("students", "int", minimum=0, maximum=100),
        Fact(
            "housing",
            "enum",
            ("adequate", "rural_dilapidated", "urban_no_housing", "disaster_damaged"),
        ),
        Fact("sudden_hardship", "bool"),
        Fact("medical_burden", "bool"),
        Fact("zero_employment", "bool"),
        Fact("disaster_affected", "bool"),
    )
}


class InvalidAnswer(ValueError):
    def __init__(self, fact: str, message: str) -> None:
        self.fact = fact
        super().__init__(f"{fact}: {message}")


def check_value(name: str, value: Any) -> Any:
    """The value of one fact, normalised; raises InvalidAnswer naming the fact."""
    fact = FACTS.get(name)
    if fact is None:
        raise InvalidAnswer(name, "unknown fact name")
    if fact.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidAnswer(name, f"expected true or false, got {value!r}")
        return value
    if fact.kind == "enum":
        if not isinstance(value, str) or value not in fact.choices:
            allowed = ", ".join(str(c) for c in fact.choices)
            raise InvalidAnswer(name, f"{value!r} is not one of: {allowed}")
        return value
    # numbers; bool is an int in Python but never a number here
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidAnswer(name, f"expected a number, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidAnswer(name, "expected a finite number")
    if fact.kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise InvalidAnswer(name, f"expected a whole number, got {value!r}")
        value = int(value)
    if fact.minimum is not None and value < fact.minimum:
        if value < 0:
            raise InvalidAnswer(name, f"must not be negative (got {value})")
        raise InvalidAnswer(name, f"must be at least {fact.minimum:g} (got {value})")
    if fact.maximum is not None and value > fact.maximum:
        raise InvalidAnswer(name, f"must be at most {fact.maximum:g} (got {value})")
    if fact.choices and value not in fact.choices:
        raise InvalidAnswer(name, f"{value!r} is not one of {list(fact.choices)}")
    return value


def validate_answers(raw: Any) -> dict[str, Any]:
    """Check a whole answers mapping (absent or null = unknown); raises InvalidAnswer."""
    if not isinstance(raw, dict):
        raise InvalidAnswer("answers", "expected a mapping of fact names to values")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if not isinstance(name, str) or name not in FACTS:
            raise InvalidAnswer(str(name), "unknown fact name")
        if value is None:
            continue
        out[name] = check_value(name, value)
    size = out.get("household_size")
    if size is not None:
        for name in ("members_able_to_work", "students"):
            if name in out and out[name] > size:
                raise InvalidAnswer(name, f"more than the household size ({size})")
    return out
