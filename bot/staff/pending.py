"""A staff text step in progress (reply, note, result, refusal reason, expected date):
bound to one case, and cancelled (the worker is told) by any command, by a button
of another case or another action, or by a card of another case. A text the
resident receives waits in a preview (``CONFIRM``) until the worker presses 发送."""

from __future__ import annotations

from dataclasses import dataclass

from bot.dialog.events import Reply
from bot.dialog.flow import Turn
from bot.staff.common import private

FLOW = "staff"
CONFIRM = "confirm"
# Step -> the button label it came from (staff.btn.*), for the cancel notice.
STEP_LABELS = {
    "note": "note",
    "reply": "reply",
    "res": "resolve",
    "inv": "invalid",
    "exp": "expected",
    "ext": "extend",
    "xr": "transfer",
    "ret": "return",
}
# Texts the resident receives: shown as a preview first, sent only on 发送.
TO_RESIDENT = ("reply", "res", "inv")
# Buttons of the pending case that keep the step: its card, its own date choices,
# the same action again.
KEEPS = ("view", "expd")


@dataclass(frozen=True)
class Pending:
    action: str  # a key of STEP_LABELS
    case_id: int
    confirming: bool  # the preview is shown, waiting for 发送 / 取消


def pending(turn: Turn) -> Pending | None:
    state = turn.state
    case_id = state.data.get("case")
    if state.flow != FLOW or not isinstance(case_id, int):
        return None
    if state.step == CONFIRM:
        action = state.data.get("action")
        text = state.data.get("text")
        if action in TO_RESIDENT and isinstance(text, str):
            return Pending(action, case_id, True)
        return None
    if state.step in STEP_LABELS:
        return Pending(state.step, case_id, False)
    return None


def keeps(p: Pending, action: str, case_id: int) -> bool:
    """Does pressing ``st:<action>:<case_id>`` leave the pending step as it is?"""
    return case_id == p.case_id and (action in KEEPS or action == p.action)


async def cancel_pending(turn: Turn) -> bool:
    """Drop the pending step, if any, and tell the worker what was not done."""
    p = pending(turn)
    if p is None:
        return False
    turn.state.leave()
    case = await turn.store.workflow.get(p.case_id)
    text = turn.text(
        "staff/cancelled",
        ref=case.ref if case is not None else "",
        action=turn.r.label(f"staff.btn.{STEP_LABELS[p.action]}"),
        resident=p.action in TO_RESIDENT,
    )
    private(turn, Reply(text))
    return True


async def on_command(turn: Turn, name: str) -> None:
    """Engine hook: any command cancels a pending step first."""
    await cancel_pending(turn)
