"""Supervision in the chat (payload prefix ``sv``), the buttons and commands over
``bot.staff.supervision``: /open, /workload, /lead, 改派, 退回待接手, 延期 (the days,
then the reason as the staff text step ``ext``), deciding a request, 联系记录, and the
staff panel's list buttons (``sv:l:<kind>``). Payload shapes are in
``bot.staff.supervision``'s docstring; each is parsed strictly (StaleButton)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.calendar import fmt_when
from bot.dialog.events import Button, Reply
from bot.dialog.flow import Flow, StaleButton, Turn, grid
from bot.domain.cases import WORKING, Case
from bot.staff.cards import cmd_list, staff_actor
from bot.staff.common import parse_id, service_of
from bot.staff.home import refresh_menu
from bot.staff.pending import cancel_pending
from bot.staff.permissions import Actor, Outcome
from bot.staff.roles import admin_in_private
from bot.staff.supervision import (
    CONTACT_AGO,
    EXTENSION_CHOICES,
    MAX_REASON_CHARS,
    OPEN_LIMIT,
    OUTCOME_CODES,
    _card_button,
    _extended_due,
    _names,
    _supervised,
    candidates,
    decide,
    log_contact,
    open_cases,
    reassign,
    release,
    supervises,
    workload,
)

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.staff.service import StaffService


# -- on the card ---------------------------------------------------------------------


async def contact_lines(svc: StaffService, case: Case) -> list[dict[str, Any]]:
    names = await _names(svc)
    now = svc.now()
    return [
        {
            "at": fmt_when(k.at, now=now),
            "who": names.get(k.staff_id, f"#{k.staff_id}"),
            "outcome": svc.r.label(f"staff.contact.{k.outcome}"),
        }
        for k in (await svc.store.supervision.contacts(case.id))[-5:]
    ]


async def card_rows(svc: StaffService, actor: Actor, case: Case) -> list[list[Button]]:
    """Supervision's buttons on a case card (added by bot.staff.cards.show_card)."""
    rows: list[list[Button]] = []
    if case.erased_at is not None:
        return rows

    def b(key: str, payload: str) -> Button:
        return Button(svc.r.label(f"staff.btn.{key}"), payload)

    if case.is_open and (svc.covers(actor, case) or case.assignee_id == actor.user_id):
        first = [b("contact", f"sv:co:{case.id}")]
        if case.status in WORKING and case.assignee_id == actor.user_id:
            first.append(b("extend", f"sv:ext:{case.id}"))
        rows.append(first)
    if case.is_open and await supervises(svc, actor, case):
        second = [b("reassign", f"sv:ra:{case.id}")]
        if case.status in WORKING:
            second.append(b("release", f"sv:rel:{case.id}"))
        rows.append(second)
    return rows


# -- the chat -------------------------------------------------------------------------


class SupervisionFlow(Flow):
    name = "supervision"
    prefix = "sv"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await cmd_open(turn, "")

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)
        action, _, args = rest.partition(":")
        if action == "l":
            await self.listing(turn, args)
            return
        parts = args.split(":")
        shapes = {
            "ra": 1,
            "rw": 2,
            "rel": 1,
            "ext": 1,
            "exd": 2,
            "ok": 1,
            "no": 1,
            "co": 1,
            "cw": 2,
            "ct": 3,
        }
        if action not in shapes or len(parts) != shapes[action]:
            raise StaleButton(rest)
        ident = parse_id(parts[0])
        # Any supervision button drops a staff text step waiting for its text.
        await cancel_pending(turn)
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        if not actor.is_staff:
            await svc.refuse(actor, f"sv_{action}", ident)
            turn.say("staff/forbidden")
            return
        if action == "ra":
            await self.pick_worker(turn, svc, actor, ident)
        elif action == "rw":
            out = await reassign(svc, actor, ident, parse_id(parts[1]))
            await self.result(turn, svc, out, "reassigned")
        elif action == "rel":
            await self.result(turn, svc, await release(svc, actor, ident), "released")
        elif action == "ext":
            await self.pick_days(turn, svc, actor, ident)
        elif action == "exd":
            await self.ask_reason(turn, svc, actor, ident, parts[1])
        elif action in ("ok", "no"):
            out = await decide(svc, actor, ident, approve=action == "ok")
            await self.result(turn, svc, out, out.kind)
        elif action == "co":
            await self.pick_outcome(turn, svc, actor, ident)
        elif action == "cw":
            await self.pick_when(turn, svc, ident, parts[1])
        elif action == "ct":
            outcome = OUTCOME_CODES.get(parts[1])
            if outcome is None or not parts[2].isdigit() or int(parts[2]) not in CONTACT_AGO:
                raise StaleButton(rest)
            out = await log_contact(svc, actor, ident, outcome, int(parts[2]))
            await self.result(turn, svc, out, "contact")

    async def listing(self, turn: Turn, kind: str) -> None:
        """The staff panel's buttons: the same lists as the commands."""
        await cancel_pending(turn)
        if kind in ("queue", "mine", "overdue"):
            await cmd_list(turn, kind, "")
        elif kind == "open":
            await cmd_open(turn, "")
        elif kind == "workload":
            await cmd_workload(turn, "")
        else:
            raise StaleButton(kind)

    async def _case(self, turn: Turn, svc: StaffService, actor: Actor, case_id: int) -> Case | None:
        case = await svc.store.workflow.get(case_id)
        if case is None:
            raise StaleButton(str(case_id))
        return case

    async def pick_worker(self, turn: Turn, svc: StaffService, actor: Actor, case_id: int) -> None:
        got = await _supervised(svc, actor, case_id, "reassign")
        if not got.ok or got.case is None:
            await self.result(turn, svc, got, "")
            return
        workers = await candidates(svc, got.case)
        buttons = [Button(w.label, f"sv:rw:{case_id}:{w.user_id}") for w in workers[:30]]
        rows = grid(buttons, 2) + [[turn.button("staff.btn.cancel", "st:cancel")]]
        turn.say(
            "staff/supervise_ask", rows, kind="reassign", c=svc.summary(got.case), n=len(workers)
        )

    async def pick_days(self, turn: Turn, svc: StaffService, actor: Actor, case_id: int) -> None:
        case = await self._case(turn, svc, actor, case_id)
        assert case is not None
        if case.assignee_id != actor.user_id or case.status not in WORKING:
            turn.say("staff/state_changed", c=svc.summary(case))
            return
        buttons = [
            Button(
                turn.r.label(
                    "staff.extend.days",
                    days=n,
                    due=fmt_when(_extended_due(svc, case, n), deadline=True),
                ),
                f"sv:exd:{case_id}:{n}",
            )
            for n in EXTENSION_CHOICES
        ]
        rows = [[b] for b in buttons] + [[turn.button("staff.btn.cancel", "st:cancel")]]
        turn.say("staff/supervise_ask", rows, kind="extend", c=svc.summary(case), n=0)

    async def ask_reason(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, raw: str
    ) -> None:
        if not raw.isdigit() or int(raw) not in EXTENSION_CHOICES:
            raise StaleButton(raw)
        case = await self._case(turn, svc, actor, case_id)
        assert case is not None
        if case.assignee_id != actor.user_id or case.status not in WORKING:
            turn.say("staff/state_changed", c=svc.summary(case))
            return
        # A staff text step (bot.staff.flow TEXT_STEPS "ext"): bound to this case, and
        # cancelled by any command or another case's button like the others.
        turn.state.enter("staff", "ext", {"case": case_id, "days": int(raw)})
        rows = [[turn.button("staff.btn.cancel", "st:cancel")]]
        text = turn.text(
            "staff/ask_text",
            kind="ext",
            c=svc.summary(case),
            retry="",
            limit=MAX_REASON_CHARS,
            days=int(raw),
        )
        turn.add(Reply(text, rows))

    async def pick_outcome(self, turn: Turn, svc: StaffService, actor: Actor, case_id: int) -> None:
        case = await self._case(turn, svc, actor, case_id)
        assert case is not None
        if not (svc.covers(actor, case) or case.assignee_id == actor.user_id):
            await svc.refuse(actor, "contact", case_id)
            turn.say("staff/forbidden")
            return
        buttons = [
            Button(turn.r.label(f"staff.contact.{name}"), f"sv:cw:{case_id}:{code}")
            for code, name in OUTCOME_CODES.items()
        ]
        rows = grid(buttons, 2) + [[turn.button("staff.btn.cancel", "st:cancel")]]
        turn.say("staff/supervise_ask", rows, kind="contact", c=svc.summary(case), n=0)

    async def pick_when(self, turn: Turn, svc: StaffService, case_id: int, code: str) -> None:
        if code not in OUTCOME_CODES:
            raise StaleButton(code)
        case = await svc.store.workflow.get(case_id)
        if case is None:
            raise StaleButton(str(case_id))
        buttons = [
            Button(turn.r.label("staff.contact.ago", minutes=m), f"sv:ct:{case_id}:{code}:{m}")
            for m in CONTACT_AGO
        ]
        rows = grid(buttons, 3) + [[turn.button("staff.btn.cancel", "st:cancel")]]
        turn.say("staff/supervise_ask", rows, kind="contact_when", c=svc.summary(case), n=0)

    async def result(self, turn: Turn, svc: StaffService, out: Outcome, kind: str) -> None:
        if out.reason == "missing":
            raise StaleButton("case")
        if out.reason == "forbidden":
            turn.say("staff/forbidden")
            return
        turn.replies.extend(out.notices)
        c = svc.summary(out.case) if out.case is not None else {}
        rows = _card_button(svc, out.case.id) if out.case is not None else []
        if not out.ok:
            kind = "decided" if out.reason == "decided" else "state"
        turn.say("staff/supervise_done", rows, kind=kind, c=c, holder=out.holder or "")


# -- commands ------------------------------------------------------------------------


async def _supervisor(turn: Turn) -> Actor | None:
    actor = await staff_actor(turn)
    if actor is None:
        return None
    svc = service_of(turn)
    if not await supervises(svc, actor):
        await svc.audit(actor, "supervise", allowed=False)
        turn.say("staff/supervise_only")
        return None
    return actor


async def cmd_open(turn: Turn, arg: str) -> None:
    actor = await _supervisor(turn)
    if actor is None:
        return
    svc = service_of(turn)
    cases = await open_cases(svc, actor)
    await svc.audit(actor, "list_open", detail=f"n={len(cases)}")
    names = await _names(svc)
    now = svc.now()
    shown = cases[:OPEN_LIMIT]
    items = []
    for case in shown:
        item = svc.summary(case, now)
        item["holder"] = (
            names.get(case.assignee_id, f"#{case.assignee_id}") if case.assignee_id else ""
        )
        items.append(item)
    rows = [[Button(f"{c.ref} {svc.category_name(c.category)}", f"st:view:{c.id}")] for c in shown]
    turn.say(
        "staff/open",
        rows,
        items=items,
        total=len(cases),
        scope="" if actor.is_admin else str(actor.area),
    )


async def cmd_workload(turn: Turn, arg: str) -> None:
    actor = await _supervisor(turn)
    if actor is None:
        return
    svc = service_of(turn)
    load = await workload(svc, actor)
    await svc.audit(actor, "workload")
    turn.say("staff/workload", w=load, scope="" if actor.is_admin else str(actor.area))


async def cmd_lead(turn: Turn, arg: str) -> None:
    """/lead <user id> (make an area lead) or /lead <user id> off."""
    svc = service_of(turn)
    actor = await admin_in_private(turn, "lead")
    if actor is None:
        return
    words = arg.split()
    if (
        not 1 <= len(words) <= 2
        or not words[0].isdigit()
        or len(words[0]) > 15
        or (len(words) == 2 and words[1].lower() not in ("off", "取消"))
    ):
        turn.say("staff/usage", command="lead")
        return
    target = int(words[0])
    on = len(words) == 1
    member = await svc.store.staff.member(target)
    if member is None or member.role != "worker":
        turn.say("staff/lead", ok=False, on=on, who=f"#{target}", area="")
        return
    await svc.store.supervision.set_lead(target, on, actor.user_id, now=svc.now())
    await svc.audit(actor, "lead", detail=f"target={target} on={int(on)}")
    await refresh_menu(turn.engine, target)
    turn.say("staff/lead", ok=True, on=on, who=member.label, area=str(member.area))
    turn.add(Reply(turn.text("staff/lead_you", on=on, area=str(member.area)), chat_id=target))


def install(engine: Engine) -> None:
    engine.add_flow(SupervisionFlow(engine))
    engine.add_command("open", cmd_open)
    engine.add_command("workload", cmd_workload)
    engine.add_command("lead", cmd_lead)
