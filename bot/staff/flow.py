"""Staff-chat buttons (认领 / 查看 / 转办) and the actions on a case card; the actions
that need a text are declared steps (``TEXT_STEPS``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.calendar import add_working_days, fmt_when, local_date
from bot.dialog.events import Button, Reply
from bot.dialog.flow import StaleButton, Turn, grid
from bot.domain.cases import Case
from bot.staff.cards import cmd_list, show_card
from bot.staff.common import parse_id, private, service_of
from bot.staff.pending import CONFIRM, TO_RESIDENT, cancel_pending, keeps, pending
from bot.staff.permissions import Actor, Outcome
from bot.staff.service import StaffService
from bot.staff.supervision import mark_invalid_or_ask, request_extension
from bot.staff.transfer_flow import REASON, CaseSteps
from bot.staff.transitions import MAX_COMMENT_CHARS, MAX_TEXT_CHARS

_DAY = re.compile(r"^\d{8}$")
EXPECTED_CHOICES = 6


@dataclass(frozen=True)
class TextStep:
    """A case action that asks for a text: ``parse`` turns the typed text into the
    action's value (None: ask again with ``retry``), ``run`` applies it."""

    run: Callable[..., Awaitable[Outcome]]
    parse: Callable[[StaffService, str], Any] | None = None
    retry: str = ""
    with_data: bool = False  # ``run`` also gets the step's state data (e.g. the days)


TEXT_STEPS: dict[str, TextStep] = {
    "note": TextStep(StaffService.note),
    "reply": TextStep(StaffService.reply),
    "res": TextStep(StaffService.resolve),
    "inv": TextStep(mark_invalid_or_ask),  # with [staff] invalid_needs_check: a second person
    "exp": TextStep(StaffService.set_expected, parse=StaffService.parse_expected, retry="date"),
    # 申请延期: entered from the supervision flow (bot.staff.supervision) with the days.
    "ext": TextStep(request_extension, with_data=True),
    "ret": TextStep(StaffService.send_back),
}


class StaffFlow(CaseSteps):
    name = "staff"
    prefix = "st"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await cmd_list(turn, "queue", "")

    # -- buttons ---------------------------------------------------------------------

    async def on_payload(self, turn: Turn, rest: str) -> None:
        action, _, args = rest.partition(":")
        if action == "cancel" and not args:
            if not await cancel_pending(turn):
                turn.state.leave()
                private(turn, Reply(turn.text("staff/cancelled")))
            return
        parts = args.split(":")
        case_id = parse_id(parts[0])
        extra = parts[1:]
        known = {
            "send": 0,
            "claim": 0,
            "view": 0,
            "xfer": 0,
            "xc": 1,
            "xd": 2,
            "xt": 3,
            "ret": 0,
            "note": 0,
            "reply": 0,
            "res": 0,
            "inv": 0,
            "exp": 0,
            "expd": 1,
            "reopen": 0,
        }
        if action not in known or len(extra) != known[action]:
            raise StaleButton(rest)
        waiting = pending(turn)
        if action == "send":
            if waiting is None or not waiting.confirming or waiting.case_id != case_id:
                raise StaleButton(rest)  # an old preview: nothing is sent
        elif waiting is not None and not keeps(waiting, action, case_id):
            # Another case's button, or another action: the pending step is dropped.
            await cancel_pending(turn)
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        if not actor.is_staff:
            # A resident (or a revoked worker) pressing a staff button: refuse, log it.
            await svc.refuse(actor, action, case_id)
            turn.say("staff/forbidden")
            return
        if action == "send":
            await self.send(turn, svc, actor, case_id)
        elif action == "claim":
            await self.claim(turn, svc, actor, case_id)
        elif action == "view":
            await show_card(turn, svc, actor, case_id)
        elif action == "xfer":
            await self.transfer_cities(turn, svc, actor, case_id)
        elif action == "xc":
            await self.transfer_districts(turn, svc, actor, case_id, extra[0])
        elif action == "xd":
            await self.transfer_townships(turn, svc, actor, case_id, extra[0], extra[1])
        elif action == "xt":
            await self.transfer_pick(turn, svc, actor, case_id, *extra)
        elif action in TEXT_STEPS:
            await self.ask_text(turn, svc, actor, case_id, action)
        elif action == "expd":
            await self.expected_pick(turn, svc, actor, case_id, extra[0])
        elif action == "reopen":
            out = await svc.reopen(actor, case_id)
            await self.finish(turn, svc, actor, out, "reopen")

    async def claim(self, turn: Turn, svc: StaffService, actor: Actor, case_id: int) -> None:
        out = await svc.claim(actor, case_id)
        if out.reason == "missing":
            raise StaleButton(str(case_id))
        if out.reason == "forbidden":
            turn.say("staff/forbidden")
            return
        case = out.case
        assert case is not None
        view = [[Button(turn.r.label("staff.btn.view"), f"st:view:{case.id}")]]
        if turn.event.is_group:
            # Refresh the post for everyone: who has it now (or that it is no longer waiting).
            turn.say(
                "staff/claimed_post",
                view,
                edit=True,
                c=svc.summary(case),
                holder=out.holder or "",
            )
        if not out.ok:
            private(
                turn,
                Reply(
                    turn.text("staff/claim_lost", c=svc.summary(case), holder=out.holder or ""),
                    view,
                ),
            )
            return
        turn.replies.extend(out.notices)
        await show_card(turn, svc, actor, case.id, notice="claimed")

    # -- actions that need a text --------------------------------------------------------

    async def ask_text(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, action: str
    ) -> None:
        out = await svc.check(actor, case_id, action)
        if not await self.allowed(turn, svc, out) or out.case is None:
            return
        turn.state.enter(self.name, action, {"case": case_id})
        await self.prompt_text(turn, svc, out.case, action)

    async def prompt_text(
        self,
        turn: Turn,
        svc: StaffService,
        case: Case,
        action: str,
        retry: str = "",
        target: str = "",
    ) -> None:
        rows: list[list[Button]] = []
        if action == "exp":
            today = local_date(svc.now())
            cal = svc.settings.deadlines.calendar
            days = [add_working_days(cal, today, n) for n in range(EXPECTED_CHOICES)]
            buttons = [
                Button(fmt_when(d), f"st:expd:{case.id}:{d:%Y%m%d}") for d in dict.fromkeys(days)
            ]
            rows = grid(buttons, 3)
        rows.append([turn.button("staff.btn.cancel", "st:cancel")])
        text = turn.text(
            "staff/ask_text",
            kind=action,
            c=svc.summary(case),
            retry=retry,
            limit=MAX_COMMENT_CHARS if action in (REASON, "ret") else MAX_TEXT_CHARS,
            target=target,
            days=turn.state.data.get("days", 0),
        )
        private(turn, Reply(text, rows))

    async def on_text(self, turn: Turn, text: str) -> None:
        waiting = pending(turn)
        if waiting is None:
            # No step waits for a text: never a message to a resident.
            turn.state.leave()
            await super().on_text(turn, text)
            return
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        case_id, step = waiting.case_id, waiting.action
        if step == REASON:
            await self.transfer_reason(turn, svc, actor, case_id, text)
            return
        if step in TO_RESIDENT:
            # Typed again while the preview waits: the new text replaces the draft.
            await self.preview(turn, svc, actor, case_id, step, text)
            return
        declared = TEXT_STEPS[step]
        value: Any = text
        if declared.parse is not None:
            value = declared.parse(svc, text)
            if value is None:
                case = await svc.store.workflow.get(case_id)
                if case is None:
                    turn.state.leave()
                    turn.say("staff/missing")
                    return
                await self.prompt_text(turn, svc, case, step, retry=declared.retry)
                return
        if declared.with_data:
            out = await declared.run(svc, actor, case_id, value, dict(turn.state.data))
        else:
            out = await declared.run(svc, actor, case_id, value)
        if out.reason == "invalid" and out.case is not None:
            retry = "long" if len(text.strip()) > MAX_TEXT_CHARS else "blank"
            await self.prompt_text(turn, svc, out.case, step, retry=retry)
            return
        turn.state.leave()
        await self.finish(turn, svc, actor, out, step)

    async def preview(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, step: str, text: str
    ) -> None:
        """Show the worker what the resident of this case would receive; 发送 sends it."""
        out = await svc.check(actor, case_id, step)
        if out.reason == "missing":
            turn.state.leave()
            turn.say("staff/missing")
            return
        if not await self.allowed(turn, svc, out) or out.case is None:
            turn.state.leave()
            return
        body = svc.text_ok(text)
        if body is None:
            turn.state.enter(self.name, step, {"case": case_id})
            retry = "long" if len(text.strip()) > MAX_TEXT_CHARS else "blank"
            await self.prompt_text(turn, svc, out.case, step, retry=retry)
            return
        turn.state.enter(self.name, CONFIRM, {"case": case_id, "action": step, "text": body})
        rows = [
            [
                turn.button("staff.btn.send", f"st:send:{case_id}"),
                turn.button("staff.btn.cancel", "st:cancel"),
            ]
        ]
        reply = Reply(
            turn.text("staff/preview", kind=step, c=svc.summary(out.case), body=body), rows
        )
        private(turn, reply)

    async def send(self, turn: Turn, svc: StaffService, actor: Actor, case_id: int) -> None:
        """发送 on the preview: the draft goes to this case's resident, once."""
        step = turn.state.data["action"]
        body = turn.state.data["text"]
        turn.state.leave()
        out = await TEXT_STEPS[step].run(svc, actor, case_id, body)
        await self.finish(turn, svc, actor, out, step)

    async def expected_pick(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, raw: str
    ) -> None:
        if not _DAY.match(raw):
            raise StaleButton(raw)
        try:
            day = dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
        except ValueError:
            raise StaleButton(raw) from None
        if svc.parse_expected(day.isoformat()) is None:
            raise StaleButton(raw)  # in the past or too far ahead: not a button we made
        if turn.state.flow == self.name:
            turn.state.leave()
        out = await svc.set_expected(actor, case_id, day)
        await self.finish(turn, svc, actor, out, "exp")
