"""The resident's own words in the conversation: 我的求助办得咋样了 and a typed
reference number open their progress (another user's reference is only "not found"),
before the question matcher would call them policy questions or gaps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.answers.answers import find_reference
from bot.dialog.flow import Flow, Turn

if TYPE_CHECKING:
    from bot.dialog.engine import Engine

# Where a typed progress question is taken: outside any flow, or at the question prompt.
PROGRESS_FROM = (None, "knowledge")


async def progress_guard(turn: Turn, text: str, flow: Flow | None) -> bool:
    if turn.event.is_group or (flow.name if flow is not None else None) not in PROGRESS_FROM:
        return False
    progress = turn.engine.menu_targets.get("progress")
    show_case = getattr(progress, "show_case", None)
    if progress is None or show_case is None:
        return False
    ref = find_reference(text)
    if ref is not None:
        case = await turn.store.cases.get_by_ref(ref)
        turn.state.leave()
        if case is None or case.user_id != turn.user_id:
            rows = [
                [turn.button("menu.progress", "menu:progress")],
                [turn.button("nav.menu", "nav:menu")],
            ]
            turn.say("cases/ref_not_found", rows, ref=ref)
        else:
            await show_case(turn, case)
        return True
    if turn.content.answers.asks_progress(text):
        turn.state.leave()
        cases = await turn.store.cases.for_user(turn.user_id, limit=2)
        if len(cases) == 1:
            await show_case(turn, cases[0])
        else:
            await progress.start(turn)
        return True
    return False


def install(engine: Engine) -> None:
    engine.hooks.text_guards.append(progress_guard)
