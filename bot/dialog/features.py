"""Which features the engine carries, in order. Each module has ``install(engine)``;
a later one may replace an earlier one's flow for a menu item."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.dialog.engine import Engine

FEATURES = [
    "bot.dialog.core",
    "bot.knowledge.dialog",
    "bot.screening.dialog",
    "bot.cases.dialog",
    "bot.staff.dialog",
    "bot.admin.dialog",
    "bot.safety.dialog",
    "bot.answers.dialog",
]


def install(engine: Engine) -> None:
    for name in FEATURES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # A feature not built yet; its menu item keeps the honest placeholder.
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                continue
            raise
        module.install(engine)
