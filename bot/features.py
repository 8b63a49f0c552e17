"""Every feature the assistant carries, in one explicit list, and what each contributes.

``bot.app`` installs them in this order (``install(engine)``: flows, commands, the
services and hooks it provides), collects their scheduled jobs, and ``bot.cli``
adds their subcommands. Adding a feature is adding a line here (docs/HACKING.md).
A module that fails to import fails loudly: nothing is skipped.

The flows are imported when a feature is installed (the functions below), not when
this module is: ``sanliang --help`` and the other subcommands start without loading
every flow. Each is a plain import statement, checked by the linter and the tests.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.admin import cli as admin_cli
from bot.cases import cli as cases_cli
from bot.knowledge import cli as knowledge_cli
from bot.reports import cli as reports_cli
from bot.screening import cli as screening_cli
from bot.store import cli as store_cli
from bot.telegram import cli as telegram_cli
from bot.visits import cli as visits_cli
from bot.web import cli as web_cli

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.dialog.services import ScheduledJob

Common = Callable[[argparse.ArgumentParser], None]
AddParser = Callable[[Any, Common], Any]


@dataclass(frozen=True)
class Feature:
    name: str
    # Flows, commands, services and hooks, put on the engine at start-up.
    install: Callable[[Engine], None] | None = None
    # The content parts (bot.content) this feature reads from the snapshot; their files
    # are declared in bot.manifest.MANIFEST (a test keeps the two in step). Every
    # feature also reads the part ``wording`` (templates and labels).
    content_parts: tuple[str, ...] = ()
    # ``sanliang <subcommand>``: add_parser(subparsers, common) -> parser.
    cli: AddParser | None = None
    # Jobs outside any turn, built from the installed engine.
    jobs: Callable[[Engine], list[ScheduledJob]] | None = None


# -- what each feature installs and schedules (imported when called) ----------------


def _menu(engine: Engine) -> None:
    from bot.menu import install

    install(engine)


def _knowledge(engine: Engine) -> None:
    from bot.knowledge.dialog import install

    install(engine)


def _screening(engine: Engine) -> None:
    from bot.screening.dialog import install

    install(engine)


def _cases(engine: Engine) -> None:
    from bot.cases.dialog import install

    install(engine)


def _staff(engine: Engine) -> None:
    from bot.staff.dialog import install

    install(engine)


def _staff_jobs(engine: Engine) -> list[ScheduledJob]:
    from bot.staff import coverage
    from bot.staff.jobs import scheduled

    return scheduled(engine) + coverage.scheduled(engine)


def _reports(engine: Engine) -> None:
    from bot.reports.dialog import install

    install(engine)


def _admin(engine: Engine) -> None:
    from bot.admin.dialog import install

    install(engine)


def _safety(engine: Engine) -> None:
    from bot.safety.dialog import install

    install(engine)


def _case_talk(engine: Engine) -> None:
    from bot.cases.talk import install

    install(engine)


def _answers(engine: Engine) -> None:
    from bot.answers.dialog import install

    install(engine)


def _visits(engine: Engine) -> None:
    from bot.visits.dialog import install

    install(engine)


def _visits_jobs(engine: Engine) -> list[ScheduledJob]:
    from bot.visits.jobs import scheduled

    return scheduled(engine)


def _web(engine: Engine) -> None:
    from bot.web.feature import install

    install(engine)


FEATURES: tuple[Feature, ...] = (
    Feature("menu", install=_menu),
    Feature(
        "knowledge",
        install=_knowledge,
        content_parts=("knowledge",),
        cli=knowledge_cli.add_parser,
    ),
    Feature(
        "screening",
        install=_screening,
        content_parts=("screening", "words"),
        cli=screening_cli.add_parser,
    ),
    Feature(
        "cases",
        install=_cases,
        content_parts=("channels",),
        cli=cases_cli.add_parser,
    ),
    Feature(
        "staff",
        install=_staff,
        content_parts=("words",),
        jobs=_staff_jobs,
    ),
    # The staff report: /report in the chat, sanliang report (bot.reports).
    Feature("reports", install=_reports, cli=reports_cli.add_parser),
    Feature("admin", install=_admin, cli=admin_cli.add_parser),
    # Home visits (走访): roster, campaigns, visit records, actions (bot.visits).
    Feature(
        "visits",
        install=_visits,
        content_parts=("knowledge", "channels"),
        cli=visits_cli.add_parser,
        jobs=_visits_jobs,
    ),
    # Emergency triage on every typed text (bot.safety): its text guard runs first.
    Feature("safety", install=_safety, content_parts=("safety",)),
    # Progress in plain words and typed references; typed answers (bot.answers).
    Feature("answers", install=_answers, content_parts=("answers",)),
    # After a worker wrote: the resident's next texts go to the case (bot.cases.talk).
    Feature("case_talk", install=_case_talk),
    Feature("telegram", cli=telegram_cli.add_parser),
    Feature("web", install=_web, cli=web_cli.add_parser),
    # Operator commands: backup, restore, copy-content.
    Feature("operations", cli=store_cli.add_parser),
)


def install(engine: Engine, features: tuple[Feature, ...] = FEATURES) -> list[ScheduledJob]:
    """Install every feature on ``engine``; returns their scheduled jobs."""
    for feature in features:
        if feature.install is not None:
            feature.install(engine)
    jobs: list[ScheduledJob] = []
    for feature in features:
        if feature.jobs is not None:
            jobs.extend(feature.jobs(engine))
    return jobs


def add_subcommands(subparsers: Any, common: Common) -> None:
    for feature in FEATURES:
        if feature.cli is not None:
            feature.cli(subparsers, common)
