"""Eligibility rules as data (``policy_texts/eligibility/<program>.yml``) and their evaluation.

A program has criteria that must all hold. A criterion is an ordered list of
cases ``if <expression>: status, reason``; the last case has no ``if``. The
first case whose condition holds gives the status (met / borderline / not_met).
Where an earlier condition is unknown the status is decided only if every way
the unknown could go leads to the same status; otherwise the criterion is
unknown and names the facts it waits for.

Verdict: any criterion not met → unlikely; all met → likely; otherwise
possible (a borderline value, or a needed fact unknown).
"""

from __future__ import annotations

import datetime as dt
import logging
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.screening.expr import EMPTY, EvalError, Expr, evaluate
from bot.screening.facts import FACTS

if TYPE_CHECKING:
    from bot.screening.standards import Standards

log = logging.getLogger(__name__)

STATUSES = ("met", "borderline", "not_met")
DERIVED = ("per_capita_income", "date", "area_label")
MEASURE_SUFFIXES = (
    "", "_low", "_title", "_note", "_low_note", "_year", "_stale", "_stale_note", "_fallback",
    "_derived", "_known_high", "_known_high_title",
)  # fmt: skip
UNKNOWN_TEXT = "不清楚"


@dataclass(frozen=True)
class Case:
    cond: Expr | None
    status: str
    reason: str
    line: int


@dataclass(frozen=True)
class Criterion:
    name: str
    cases: tuple[Case, ...]
    unknown: str
    line: int


@dataclass(frozen=True)
class Note:
    text: str
    cond: Expr | None
    line: int


@dataclass
class Program:
    id: str
    criteria: tuple[Criterion, ...]
    lets: tuple[tuple[str, Expr, int], ...] = ()
    notes: tuple[Note, ...] = ()
    documents_if: dict[str, Expr] = field(default_factory=dict)
    path: Path = Path()
    line: int = 1

    def depends_on(self) -> set[str]:
        out: set[str] = set()
        for _n, e, _l in self.lets:
            out |= e.programs
        for c in self.criteria:
            for case in c.cases:
                if case.cond is not None:
                    out |= case.cond.programs
        for n in self.notes:
            if n.cond is not None:
                out |= n.cond.programs
        return out


@dataclass(frozen=True)
class CriterionResult:
    name: str
    status: str | None  # None = unknown
    reason: str
    missing: frozenset[str]


@dataclass(frozen=True)
class ProgramResult:
    program: str
    verdict: str
    reasons: tuple[str, ...]
    missing: frozenset[str]  # facts that would settle a "possible" verdict
    criteria: tuple[CriterionResult, ...] = ()


def measure_names(standards: Standards | None) -> set[str]:
    names: set[str] = set()
    if standards is not None:
        for m in standards.measures:
            names |= {m + s for s in MEASURE_SUFFIXES}
    return names


def base_names(standards: Standards | None) -> set[str]:
    return set(FACTS) | set(DERIVED) | measure_names(standards)


def format_number(v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        v = round(v, 2)
        if v.is_integer():
            return str(int(v))
        return f"{v:.2f}".rstrip("0").rstrip(".")
    return str(v)


def template_fields(text: str) -> list[str]:
    """Placeholders in a reason template; raises ValueError on bad braces."""
    out = []
    for _lit, name, spec, conv in string.Formatter().parse(text):
        if name is None:
            continue
        if spec or conv or not name.isidentifier():
            raise ValueError(f"placeholder {{{name}}}: use plain names like {{monthly_income}}")
        out.append(name)
    return out


# -- evaluation ------------------------------------------------------------------


class Evaluation:
    """All programs for one set of answers on one date (results are cached)."""

    def __init__(
        self,
        programs: dict[str, Program],
        standards: Standards | None,
        answers: dict[str, Any],
        on: dt.date,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.programs = programs
        self.answers = answers
        self.on = on
        self.labels = labels or {}
        self.base: dict[str, tuple[Any, frozenset[str]]] = {}
        for name in FACTS:
            v = answers.get(name)
            self.base[name] = (v, EMPTY) if v is not None else (None, frozenset({name}))
        inc, size = answers.get("monthly_income"), answers.get("household_size")
        if inc is not None and size:
            self.base["per_capita_income"] = (inc / size, EMPTY)
        else:
            miss = {n for n in ("monthly_income", "household_size") if answers.get(n) is None}
            self.base["per_capita_income"] = (None, frozenset(miss))
        self.base["date"] = (on.isoformat(), EMPTY)
        # savings per person: asked directly, or the household total over its size
        if answers.get("savings_per_person") is None:
            total = answers.get("financial_assets")
            if total is not None and size:
                self.base["savings_per_person"] = (total / size, EMPTY)
            elif total is not None:
                self.base["savings_per_person"] = (None, frozenset({"household_size"}))
        self.standards_used: dict[str, Any] = {}  # measure -> Standard in force
        self.measures_read: set[str] = set()  # measures a shown program's rules read
        area = answers.get("area")
        self.base["area_label"] = (
            ({"urban": "城市", "rural": "农村"}.get(area), EMPTY)
            if area
            else (None, frozenset({"area"}))
        )
        if standards is not None:
            region = answers.get("region")
            for mid, m in standards.measures.items():
                std = standards.lookup(mid, region, area, on)
                if std is None:
                    miss = set()
                    if m.regional and region is None:
                        miss.add("region")
                    if m.regional and area is None:
                        miss.add("area")
                    for s in MEASURE_SUFFIXES:
                        self.base[mid + s] = (None, frozenset(miss))
                else:
                    self.standards_used[mid] = std
                    self.base[mid] = (std.value, EMPTY)
                    self.base[mid + "_low"] = (std.low, EMPTY)
                    self.base[mid + "_title"] = (std.title, EMPTY)
                    self.base[mid + "_note"] = (std.note, EMPTY)
                    self.base[mid + "_low_note"] = (std.low_note, EMPTY)
                    self.base[mid + "_year"] = (std.year, EMPTY)
                    self.base[mid + "_stale"] = (std.stale, EMPTY)
                    self.base[mid + "_stale_note"] = (std.stale_note, EMPTY)
                    self.base[mid + "_fallback"] = (std.fallback, EMPTY)
                    self.base[mid + "_derived"] = (std.derived, EMPTY)
                    high = standards.known_high(mid, area, on) if area else None
                    if high is None or high.value < std.value:
                        self.base[mid + "_known_high"] = (std.value, EMPTY)
                        self.base[mid + "_known_high_title"] = (std.title, EMPTY)
                    else:
                        self.base[mid + "_known_high"] = (high.value, EMPTY)
                        self.base[mid + "_known_high_title"] = (high.title, EMPTY)
        self._results: dict[str, ProgramResult] = {}
        self._active: list[str] = []
        self.failures: list[tuple[Expr, str]] = []  # expressions that failed on these values

    def all(self) -> list[ProgramResult]:
        return [self.program(pid) for pid in self.programs]

    def program(self, pid: str) -> ProgramResult:
        if pid in self._results:
            return self._results[pid]
        if pid in self._active:  # check() rejects cycles; be safe anyway
            return ProgramResult(pid, "possible", (), EMPTY)
        self._active.append(pid)
        try:
            result = self._program(self.programs[pid])
        finally:
            self._active.pop()
        self._results[pid] = result
        return result

    def _program(self, prog: Program) -> ProgramResult:
        env = _ProgramEnv(self)
        for name, expr, _line in prog.lets:
            env.lets[name] = self._eval(expr, env)
        crit = tuple(self._criterion(c, env) for c in prog.criteria)
        if any(c.status == "not_met" for c in crit):
            verdict = "unlikely"
            reasons = [c.reason for c in crit if c.status == "not_met"]
            missing: frozenset[str] = EMPTY
        elif all(c.status == "met" for c in crit):
            verdict, reasons, missing = "likely", [c.reason for c in crit], EMPTY
        else:
            verdict = "possible"
            reasons = [c.reason for c in crit]
            missing = frozenset().union(*(c.missing for c in crit if c.status is None))
        if verdict != "unlikely":
            for note in prog.notes:
                if note.cond is not None and self._eval(note.cond, env)[0] is not True:
                    continue
                text = self._format(note.text, env, skip_unknown=True)
                if text:
                    reasons.append(text)
        reasons = [r for r in dict.fromkeys(reasons) if r]
        return ProgramResult(prog.id, verdict, tuple(reasons), missing, crit)

    def documents(self, pid: str, listed: tuple[str, ...] | list[str]) -> list[str]:
        """The topic's documents, less those a rule says this household does not need."""
        prog = self.programs.get(pid)
        if prog is None or not prog.documents_if:
            return list(listed)
        env = _ProgramEnv(self)
        for name, expr, _line in prog.lets:
            env.lets[name] = self._eval(expr, env)
        out = []
        for doc in listed:
            cond = prog.documents_if.get(doc)
            if cond is not None and self._eval(cond, env)[0] is False:
                continue
            out.append(doc)
        return out

    def _eval(self, expr: Expr, env: _ProgramEnv) -> tuple[Any, frozenset[str]]:
        try:
            return evaluate(expr, env)
        except EvalError as exc:
            log.warning("rule expression failed: %s", type(exc).__name__)
            self.failures.append((expr, str(exc)))
            return None, EMPTY

    def _criterion(self, c: Criterion, env: _ProgramEnv) -> CriterionResult:
        statuses: set[str] = set()
        missing: set[str] = set()
        chosen: Case | None = None
        for case in c.cases:
            if case.cond is None:
                chosen = case
                statuses.add(case.status)
                break
            v, m = self._eval(case.cond, env)
            if v is None:
                statuses.add(case.status)
                missing |= m
            elif v:
                chosen = case
                statuses.add(case.status)
                break
        if chosen is not None and len(statuses) == 1:
            return CriterionResult(c.name, chosen.status, self._format(chosen.reason, env), EMPTY)
        text = self._format(c.unknown, env)
        if missing:
            wanted = "、".join(self.labels.get(f, f) for f in _in_fact_order(missing))
            text = f"{text}（还需要知道：{wanted}）"
        return CriterionResult(c.name, None, text, frozenset(missing))

    def _format(self, template: str, env: _ProgramEnv, skip_unknown: bool = False) -> str:
        out = []
        for lit, name, _spec, _conv in string.Formatter().parse(template):
            out.append(lit)
            if name is None:
                continue
            v, _m = env.value(name)
            if v is None:
                if skip_unknown:
                    return ""
                out.append(UNKNOWN_TEXT)
            else:
                out.append(format_number(v))
        return "".join(out).strip()


def _in_fact_order(names: set[str]) -> list[str]:
    order = list(FACTS)
    return sorted(names, key=lambda n: order.index(n) if n in order else len(order))


class _ProgramEnv:
    def __init__(self, ev: Evaluation) -> None:
        self.ev = ev
        self.lets: dict[str, tuple[Any, frozenset[str]]] = {}

    def value(self, name: str) -> tuple[Any, frozenset[str]]:
        if name in self.lets:
            return self.lets[name]
        for mid in self.ev.standards_used:
            if name == mid or (name.startswith(mid + "_") and name[len(mid) :] in MEASURE_SUFFIXES):
                self.ev.measures_read.add(mid)
                break
        return self.ev.base.get(name, (None, EMPTY))

    def qualifies(self, program: str) -> tuple[bool | None, frozenset[str]]:
        if program not in self.ev.programs:
            return None, EMPTY
        r = self.ev.program(program)
        if r.verdict == "likely":
            return True, EMPTY
        if r.verdict == "unlikely":
            return False, EMPTY
        return None, r.missing
