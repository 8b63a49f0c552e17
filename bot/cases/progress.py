"""我的求助进度 (payload prefix ``pg``): the resident's own requests, their history,
补充说明 and 撤回. Case ids in payloads are checked against the resident's own cases
in the store, never trusted."""

from __future__ import annotations

from typing import Any

from bot.calendar import fmt_when, hours_of
from bot.cases.common import CASE_ID, MAX_CASES_SHOWN, MAX_MESSAGE_CHARS, meaningful
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.dialog.services import call_listeners
from bot.domain.cases import OPEN_STATUSES, Case, status_name


class ProgressFlow(Flow):
    """The resident's own requests: status, history, add a message, withdraw.
    Only the 补充说明 step keeps state (the case id, checked again on use)."""

    name = "progress"
    prefix = "pg"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        if turn.event.is_group:
            turn.say("cases/private_only", [[turn.button("nav.menu", "nav:menu")]])
            return
        cases = await turn.store.cases.for_user(turn.user_id, limit=MAX_CASES_SHOWN)
        rows = [
            [
                turn.button(
                    "cases.progress.item",
                    f"pg:v:{c.id}",
                    ref=c.ref,
                    category=turn.r.label(f"cases.cat.{c.category}"),
                )
            ]
            for c in cases
        ]
        if not cases:
            rows.append([turn.button("menu.help", "menu:help")])
        rows.append([turn.button("nav.menu", "nav:menu")])
        turn.say("cases/progress_list", rows, cases=[self.brief(turn, c) for c in cases])

    def brief(self, turn: Turn, case: Case) -> dict[str, Any]:
        return {
            "ref": case.ref,
            "category": turn.r.label(f"cases.cat.{case.category}"),
            "status": status_name(turn.r, case.status),
            "created": fmt_when(case.created_at),
            "urgent": case.urgent,
            "open": case.is_open,
        }

    async def own_case(self, turn: Turn, raw_id: str) -> Case:
        """The case named by a payload, only if it is this resident's; else StaleButton."""
        if not CASE_ID.match(raw_id):
            raise StaleButton(raw_id)
        case = await turn.store.cases.get_for_user(int(raw_id), turn.user_id)
        if case is None:
            raise StaleButton(raw_id)
        return case

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)
        kind, _, value = rest.partition(":")
        if kind == "list" and not value:
            turn.state.leave()
            await self.start(turn)
            return
        if kind == "u":  # take back a message that went to the case (bot.cases.talk)
            from bot.cases.talk import take_back

            if not await take_back(turn, value):
                raise StaleButton(rest)
            return
        if kind not in ("v", "m", "w", "wy"):
            raise StaleButton(rest)
        case = await self.own_case(turn, value)
        if kind == "v":
            turn.state.leave()
            await self.show_case(turn, case)
        elif kind == "m":
            if not case.is_open:
                await self.show_case(turn, case, notice="closed")
                return
            turn.state.enter(self.name, "message", {"case": case.id})
            rows = [[turn.button("cases.progress.back", f"pg:v:{case.id}")]]
            turn.say("cases/ask_message", rows, ref=case.ref, limit=MAX_MESSAGE_CHARS)
        elif kind == "w":
            if not case.is_open:
                await self.show_case(turn, case, notice="closed")
                return
            rows = [
                [turn.button("cases.withdraw.yes", f"pg:wy:{case.id}")],
                [turn.button("cases.withdraw.no", f"pg:v:{case.id}")],
            ]
            turn.say("cases/withdraw_confirm", rows, ref=case.ref)
        else:  # wy
            turn.state.leave()
            done = await turn.store.cases.change_status(
                case.id,
                "withdrawn",
                "resident",
                turn.user_id,
                expect_from=OPEN_STATUSES,
                now=self.engine.services.now(),
            )
            if done is None:
                fresh = await self.own_case(turn, value)
                await self.show_case(turn, fresh, notice="closed")
                return
            rows = [
                [turn.button("cases.progress.list", "pg:list")],
                [turn.button("nav.menu", "nav:menu")],
            ]
            turn.say("cases/withdrawn", rows, ref=done.ref)
            await call_listeners("case_changed", self.engine.hooks.case_changed, turn, done)

    async def show_case(self, turn: Turn, case: Case, notice: str | None = None) -> None:
        history = await turn.store.cases.history(case.id)
        messages = await turn.store.cases.messages(case.id, include_private=False)
        steps = [
            {
                "at": fmt_when(h.at),
                "status": status_name(turn.r, h.to_status),
                "by_resident": h.actor_kind == "resident",
                "note": h.note if h.to_status in ("resolved", "invalid") else None,
            }
            for h in history
        ]
        msgs = [
            {"at": fmt_when(m.at), "mine": m.author_kind == "resident", "body": m.body}
            for m in messages
        ]
        rows = []
        if case.is_open:
            rows.append([turn.button("cases.progress.add", f"pg:m:{case.id}")])
            rows.append([turn.button("cases.progress.withdraw", f"pg:w:{case.id}")])
        rate = case.status == "resolved" and case.rating is None and case.erased_at is None
        if rate:  # 满意 / 基本满意 / 不满意 (不满意 reopens it): the 回访 flow's buttons
            rows.append(
                [
                    turn.button("staff.rate.satisfied", f"rv:r:{case.id}:s"),
                    turn.button("staff.rate.basic", f"rv:r:{case.id}:b"),
                ]
            )
            rows.append([turn.button("staff.rate.unsatisfied", f"rv:r:{case.id}:u")])
        rows.append([turn.button("cases.progress.list", "pg:list")])
        rows.append([turn.button("nav.menu", "nav:menu")])
        # An urgent request is counted in hours (every day), others in working days.
        hours = hours_of(case.target_days, case.created_at, case.due_at) if case.urgent else None
        turn.say(
            "cases/progress_case",
            rows,
            case=self.brief(turn, case),
            target_days=case.target_days,
            hours=hours,
            due=fmt_when(case.due_at, deadline=True),
            erased=case.erased_at is not None,
            steps=steps,
            messages=msgs,
            notice=notice,
            rate=rate,
        )

    async def on_text(self, turn: Turn, text: str) -> None:
        if turn.state.step != "message":
            await super().on_text(turn, text)
            return
        raw = str(turn.state.data.get("case"))
        case = None
        if CASE_ID.match(raw):
            case = await turn.store.cases.get_for_user(int(raw), turn.user_id)
        if case is None:  # erased meanwhile: start over instead of looping on this step
            turn.state.leave()
            await self.start(turn)
            return
        body = text.strip()
        back = [[turn.button("cases.progress.back", f"pg:v:{case.id}")]]
        if len(body) > MAX_MESSAGE_CHARS:
            turn.say("cases/ask_message", back, ref=case.ref, limit=MAX_MESSAGE_CHARS, retry="long")
            return
        if not meaningful(body):
            turn.say(
                "cases/ask_message", back, ref=case.ref, limit=MAX_MESSAGE_CHARS, retry="blank"
            )
            return
        msg = await turn.store.cases.add_message(
            case.id, "resident", turn.user_id, body, now=self.engine.services.now()
        )
        turn.state.leave()
        if msg is None:
            await self.show_case(turn, case, notice="closed")
            return
        rows = [
            [turn.button("cases.progress.back", f"pg:v:{case.id}")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        turn.say("cases/message_added", rows, ref=case.ref)
        await call_listeners("case_message", self.engine.hooks.case_message, turn, case, msg)
