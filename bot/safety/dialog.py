"""The emergency triage in the conversation.

Every text a resident types goes through ``guard`` before any flow sees it (a
question, a step of any form, a help-request description, a message to a worker).
When the triage finds an emergency, the reply starts with the number to call, in
bold, and offers two buttons: 我要紧急求助 (a help request, urgent, with what they
wrote as its description) and 返回 (back to where they were; what they wrote is
dropped). Staff and admin flows are not triaged: a worker's note about a resident's
fall is not the worker's emergency.

Payloads (prefix ``sf``): ``sf:help`` start the urgent request, ``sf:back`` go back.
What the resident wrote waits in ``memory["triage"]`` until one of them is pressed
(/forget erases it with the rest of the memory).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.dialog.flow import Flow, StaleButton, Turn

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.safety.triage import Triage, Verdict

MEMORY_KEY = "triage"
MAX_KEPT_CHARS = 500  # the help request's description limit
# Flows whose typed texts are never triaged (staff notes, admin announcements).
UNTRIAGED_FLOWS = ("staff", "admin")
# The help form's own urgent words flag a description there; only emergencies interrupt it.
HELP_FLOW = "help"


def triage_of(turn: Turn) -> Triage | None:
    return getattr(turn.content, "safety", None)


def pending(turn: Turn) -> dict[str, Any] | None:
    value = turn.state.memory.get(MEMORY_KEY)
    return value if isinstance(value, dict) else None


def alert(turn: Turn, verdict: Verdict, text: str) -> None:
    """Say the emergency reply and keep what they wrote for 我要紧急求助."""
    turn.state.memory[MEMORY_KEY] = {
        "text": text.strip()[:MAX_KEPT_CHARS],
        "category": verdict.category,
        "kinds": list(verdict.kinds),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    rows = [
        [turn.button("safety.help", "sf:help")],
        [turn.button("safety.back", "sf:back")],
    ]
    turn.say(
        "safety/alert",
        rows,
        numbers=list(verdict.numbers),
        kinds=list(verdict.kinds),
        immediate=verdict.immediate,
    )


class SafetyFlow(Flow):
    """Owns the two buttons of the emergency reply; it has no steps of its own."""

    name = "safety"
    prefix = "sf"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await self.engine.show_menu(turn)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group or rest not in ("help", "back"):
            raise StaleButton(rest)
        if pending(turn) is None:
            raise StaleButton(rest)  # pressed twice, or never offered: nothing kept
        if rest == "help":
            await self.urgent_request(turn)
        elif rest == "back":
            turn.state.memory.pop(MEMORY_KEY, None)
            flow = self.engine.flows.get(turn.state.flow or "")
            if flow is None or flow is self:
                turn.state.leave()
                await self.engine.show_menu(turn)
            else:
                await flow.prompt(turn, turn.state.step or "")

    async def urgent_request(self, turn: Turn) -> None:
        """A help request marked urgent, its description taken from what they wrote."""
        kept = pending(turn) or {}
        turn.state.memory.pop(MEMORY_KEY, None)
        help_flow = self.engine.menu_targets.get("help")
        if help_flow is None:
            raise StaleButton("no help form")
        text = str(kept.get("text") or "")
        if turn.state.flow == help_flow.name and turn.state.step == "description" and text:
            # They wrote it as the description of the request they are filling in.
            await help_flow.on_text(turn, text)
            return
        start_urgent = getattr(help_flow, "start_urgent", None)
        if start_urgent is None:
            turn.state.leave()
            await help_flow.start(turn)
            return
        await start_urgent(turn, description=text, category=kept.get("category"))


async def guard(turn: Turn, text: str, flow: Flow | None) -> bool:
    """The engine's text guard: True when the text was an emergency (or, outside the
    help form, an urgent need) and the reply has been said."""
    if turn.event.is_group or (flow is not None and flow.name in UNTRIAGED_FLOWS):
        return False
    triage = triage_of(turn)
    if triage is None:
        return False
    verdict = triage.classify(text)
    if not verdict.urgent:
        return False
    if not verdict.emergency and flow is not None and flow.name == HELP_FLOW:
        return False
    alert(turn, verdict, text)
    return True


def install(engine: Engine) -> None:
    engine.add_flow(SafetyFlow(engine))
    engine.hooks.text_guards.append(guard)
