"""The screening part of the content snapshot: standards, rules, questionnaire.

Loaded after "knowledge", so program ids are checked against the policy topics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.content import Content, Report
from bot.manifest import content_path
from bot.screening.dates import check_topic_figures, figure_lines, figure_notes, topic_figures
from bot.screening.expr import evaluate
from bot.screening.facts import FACTS, PROGRAMS, REGIONS
from bot.screening.questionnaire import Question, Questionnaire, load_questionnaire
from bot.screening.rules import Evaluation, Program, ProgramResult
from bot.screening.rules_load import load_programs
from bot.screening.standards import Standards
from bot.screening.standards_load import load_standards

# Households every rule is tried on at load time, to catch type mistakes in expressions.
_SAMPLES: list[dict[str, Any]] = [
    {
        "region": "成都市", "area": "urban", "household_size": 3, "monthly_income": 1500,
        "financial_assets": 2000, "members_able_to_work": 1, "applicant_age": 45,
        "has_supporter": False, "disability_grade": 2, "child_status": "none", "students": 1,
        "housing": "urban_no_housing", "sudden_hardship": True, "medical_burden": True,
        "zero_employment": False, "disaster_affected": False,
    },
    {
        "region": "凉山彝族自治州", "area": "rural", "household_size": 1, "monthly_income": 0,
        "members_able_to_work": 0, "applicant_age": 75, "has_supporter": True,
        "disability_grade": 0, "child_status": "orphan", "students": 0,
        "housing": "rural_dilapidated", "sudden_hardship": False, "medical_burden": False,
        "zero_employment": True, "disaster_affected": True,
    },
    {},
]  # fmt: skip


@dataclass
class Screening:
    standards: Standards
    programs: dict[str, Program]
    questionnaire: Questionnaire
    topics: Any  # bot.knowledge.topics.Topics or None

    def evaluate(self, answers: dict[str, Any], on: dt.date) -> Evaluation:
        return Evaluation(self.programs, self.standards, answers, on, self.questionnaire.labels())

    def title(self, pid: str) -> str:
        topic = self.topic(pid)
        return topic.title if topic is not None else pid

    def topic(self, pid: str):
        if self.topics is None:
            return None
        return self.topics.topics.get(pid)

    def documents(self, ev: Evaluation, pid: str) -> list[str]:
        topic = self.topic(pid)
        return ev.documents(pid, topic.documents if topic is not None else ())

    def effective_answers(self, answers: dict[str, Any], skipped: set[str]) -> dict[str, Any]:
        """The answers plus what the questionnaire safely assumes (e.g. a one-person
        household of a 70-year-old has no pupils), never overriding an answer."""
        out = dict(answers)
        changed = True
        while changed:
            changed = False
            for q in self.questionnaire.questions:
                if q.fact in out or q.fact in skipped or not q.assume:
                    continue
                env = _AnswersEnv(out)
                for a in q.assume:
                    if evaluate(a.when, env)[0] is True:
                        out[q.fact] = a.value
                        changed = True
                        break
        return out

    def needed(self, ev: Evaluation, focus: str | None = None) -> set[str]:
        out: set[str] = set()
        for r in ev.all():
            if r.verdict == "possible" and focus in (None, r.program):
                out |= r.missing
        return out

    def next_question(
        self, answers: dict[str, Any], skipped: set[str], on: dt.date, focus: str | None = None
    ) -> Question | None:
        """The first question, in questionnaire order, whose fact a still-undecided
        program needs (only ``focus`` when the resident asked about one program, 我能办吗);
        None when nothing more would change a verdict."""
        eff = self.effective_answers(answers, skipped)
        needed = self.needed(self.evaluate(eff, on), focus) - skipped
        for q in self.questionnaire.questions:
            if q.fact in eff or q.fact in skipped:
                continue
            if q.sets() & needed:
                return q
        return None

    def date_notes(
        self, topic: Any, on: dt.date, region: str | None = None, area: str | None = None
    ) -> list[str]:
        """Plain-words warnings for the old figures a topic cites (see bot.screening.dates)."""
        return figure_notes(self.standards, topic_figures(topic), on, region, area)

    def figure_lines(
        self, topic: Any, on: dt.date, region: str | None = None, area: str | None = None
    ) -> list[str]:
        """The topic's figures in force on ``on`` (see bot.screening.dates), one line each."""
        return figure_lines(self.standards, topic_figures(topic), on, region, area)

    def results(self, ev: Evaluation) -> list[ProgramResult]:
        return [ev.program(pid) for pid in PROGRAMS if pid in self.programs]


class _AnswersEnv:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def value(self, name: str):
        v = self.answers.get(name)
        return (v, frozenset()) if v is not None else (None, frozenset({name}))

    def qualifies(self, program: str):
        return None, frozenset()


def load(root: Path, report: Report, content: Content) -> Screening | None:
    topics = content.parts.get("knowledge")
    topic_ids = set(topics.topics) if topics is not None else None
    standards = load_standards(root, report)
    if standards is None:  # reported; rule names cannot be checked without it
        return None
    programs = load_programs(root, report, standards, topic_ids)
    facts_only = set(FACTS)
    questionnaire = load_questionnaire(root, report, facts_only, set(PROGRAMS))
    if questionnaire is None:
        return None
    _check_questionnaire(root, report, questionnaire)
    _check_savings_bands(root, report, questionnaire, standards)
    check_topic_figures(root, report, topics, standards)
    _try_samples(report, standards, programs, questionnaire)
    return Screening(standards, programs, questionnaire, topics)


# Admin-set savings lines and the savings question's bands must agree: each band's
# value is its lower bound, so a line between two bounds would misjudge a band.
SAVINGS_LINES = ("savings_large", "savings_very_large")


def _check_savings_bands(
    root: Path, report: Report, q: Questionnaire, standards: Standards
) -> None:
    question = q.get("savings_per_person")
    if question is None or question.type != "choice":
        return
    bounds = {o.value for o in question.options}
    path = content_path(root, "standards")
    for mid in SAVINGS_LINES:
        m = standards.measures.get(mid)
        if m is None:
            continue
        for e in m.province:
            v = e.values.get("urban")
            if v not in bounds:
                report.error(
                    path,
                    e.line,
                    f"{mid} from {e.start}: {v:g} is not the lower bound of a savings band in "
                    "intents/questionnaire.yml (savings_per_person); change both together",
                )


def _check_questionnaire(root: Path, report: Report, q: Questionnaire) -> None:
    path = content_path(root, "questionnaire")
    region = q.get("region")
    if region is not None and region.type == "choice":
        values = {o.value for o in region.options}
        missing = [r for r in REGIONS if r not in values]
        if missing:
            report.error(path, region.line, f"region: options miss {', '.join(missing)}")


def _try_samples(
    report: Report, standards: Standards, programs: dict[str, Program], q: Questionnaire
) -> None:
    reported: set[str] = set()
    for sample in _SAMPLES:
        for on in (dt.date(2022, 3, 1), dt.date(2024, 1, 1)):
            ev = Evaluation(programs, standards, sample, on, q.labels())
            ev.all()
            for expr, message in ev.failures:
                if expr.source in reported:
                    continue
                reported.add(expr.source)
                path, line = _where(programs, expr)
                report.error(path, line, f"expression cannot be evaluated: {message}")


def _where(programs: dict[str, Program], expr) -> tuple[Path, int]:
    for p in programs.values():
        for _n, e, line in p.lets:
            if e is expr:
                return p.path, line
        for c in p.criteria:
            for case in c.cases:
                if case.cond is expr:
                    return p.path, case.line
        for n in p.notes:
            if n.cond is expr:
                return p.path, n.line
        for e in p.documents_if.values():
            if e is expr:
                return p.path, p.line
    return Path("policy_texts/eligibility"), 1
