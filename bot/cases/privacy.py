"""/privacy: what the assistant keeps about a resident, why, who sees it, how long and
how to delete it, in the consent's own words (templates/zh-CN/cases/_data_use.j2).
Public information: it is answered in groups too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cases.common import retention_days

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.dialog.flow import Turn


def install(engine: Engine) -> None:
    async def privacy(turn: Turn, arg: str) -> None:
        turn.say("cases/privacy", [turn.nav_row(back=False)], days=retention_days(engine))

    engine.add_command("privacy", privacy)
