"""A real conversation on the case: after a worker writes to a resident, what the
resident types next (outside any form, while the request is open) goes to the case —
the resident sees 已转给工作人员 and can take it back — and reaches the worker through
the ``case_message`` hook, as 补充说明 does. It is not a policy question and never a gap.

Runs as a text guard after the emergency triage and the progress words (its feature
comes after theirs in ``bot/features.py``). Taking a message back (``pg:u:<id>``, in the
progress flow) erases its text from the case, answers it as a question instead, and
stops forwarding until the worker writes again (``memory["case_talk"]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.cases.common import MAX_MESSAGE_CHARS, meaningful
from bot.dialog.flow import Flow, Turn
from bot.dialog.services import call_listeners

if TYPE_CHECKING:
    from bot.dialog.engine import Engine

MEMORY_KEY = "case_talk"
# Where typed text may go to the case: outside any flow, or at the question prompt.
TALK_FROM = (None, "knowledge")


def talk_state(turn: Turn) -> dict[str, Any]:
    value = turn.state.memory.get(MEMORY_KEY)
    return value if isinstance(value, dict) else {}


async def case_talk_guard(turn: Turn, text: str, flow: Flow | None) -> bool:
    if turn.event.is_group or (flow.name if flow is not None else None) not in TALK_FROM:
        return False
    body = text.strip()
    if not meaningful(body) or len(body) > MAX_MESSAGE_CHARS:
        return False
    found = await turn.store.cases.last_staff_reply(turn.user_id)
    if found is None:
        return False
    case, staff_message = found
    if talk_state(turn).get("off") == staff_message:
        return False  # taken back since this worker message: answer as usual
    engine = turn.engine
    msg = await turn.store.cases.add_message(
        case.id, "resident", turn.user_id, body, now=engine.services.now()
    )
    if msg is None:
        return False
    turn.state.leave()
    turn.state.memory[MEMORY_KEY] = {"msg": msg.id, "case": case.id, "text": body}
    rows = [
        [turn.button("cases.talk.undo", f"pg:u:{msg.id}")],
        [turn.button("cases.progress.back", f"pg:v:{case.id}")],
        [turn.button("nav.menu", "nav:menu")],
    ]
    turn.say("cases/forwarded", rows, ref=case.ref)
    await call_listeners("case_message", engine.hooks.case_message, turn, case, msg)
    return True


async def take_back(turn: Turn, raw_id: str) -> bool:
    """``pg:u:<message id>``: False when there is nothing of this resident's to take back."""
    kept = talk_state(turn)
    if not raw_id.isdigit() or kept.get("msg") != int(raw_id):
        return False
    case_id, text = kept.get("case"), kept.get("text")
    if not isinstance(case_id, int) or not isinstance(text, str):
        return False
    if not await turn.store.cases.retract_message(int(raw_id), case_id, turn.user_id):
        return False
    found = await turn.store.cases.last_staff_reply(turn.user_id)
    turn.state.memory[MEMORY_KEY] = {"off": found[1] if found else None}
    turn.say("cases/taken_back")
    await turn.engine.free_text(turn, text)
    return True


def install(engine: Engine) -> None:
    engine.hooks.text_guards.append(case_talk_guard)
