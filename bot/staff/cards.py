"""Case cards and lists for staff (/queue, /mine, /overdue, /find, /case)."""

from __future__ import annotations

from bot.dialog.events import Button, Reply
from bot.dialog.flow import StaleButton, Turn
from bot.domain.cases import Case
from bot.staff.common import private, service_of
from bot.staff.permissions import Actor
from bot.staff.service import StaffService
from bot.staff.views import LIST_LIMIT


async def show_card(
    turn: Turn, svc: StaffService, actor: Actor, case_id: int, notice: str = ""
) -> None:
    out, full = await svc.view(actor, case_id, private=not turn.event.is_group)
    if out.reason == "missing":
        raise StaleButton(str(case_id))
    if not out.ok:
        private(turn, Reply(turn.text("staff/forbidden")))
        return
    case = out.case
    assert case is not None
    card = await svc.card(actor, case, full)
    rows = svc.card_buttons(actor, case)
    # 联系记录, 申请延期, 改派, 退回待接手 (bot.staff.supervision).
    from bot.staff.supervision_flow import card_rows, contact_lines

    card["contacts"] = await contact_lines(svc, case)
    rows += await card_rows(svc, actor, case)
    if turn.event.is_group:
        # Sent privately, but from a group press: phone masked; 查看 again for it in full.
        rows.append([turn.button("staff.btn.full", f"st:view:{case.id}")])
    private(turn, Reply(turn.text("staff/card", c=card, notice=notice), rows))


def list_reply(turn: Turn, svc: StaffService, kind: str, cases: list[Case], query: str) -> Reply:
    now = svc.now()
    shown = cases[:LIST_LIMIT]
    items = [svc.summary(c, now) for c in shown]
    rows = [[Button(f"{c.ref} {svc.category_name(c.category)}", f"st:view:{c.id}")] for c in shown]
    text = turn.text("staff/list", kind=kind, items=items, total=len(cases), query=query)
    return Reply(text, rows)


async def staff_actor(turn: Turn) -> Actor | None:
    """The staff member behind a command in a private chat, else the refusal said."""
    svc = service_of(turn)
    if turn.event.is_group:
        turn.say("staff/private_only")
        return None
    actor = await svc.actor(turn.user_id)
    if not actor.is_staff:
        await svc.audit(actor, "command", allowed=False)
        turn.say("staff/not_staff")
        return None
    return actor


async def cmd_list(turn: Turn, kind: str, arg: str) -> None:
    actor = await staff_actor(turn)
    if actor is None:
        return
    svc = service_of(turn)
    if kind == "find" and not arg.strip():
        turn.say("staff/usage", command="find")
        return
    cases = await svc.listing(actor, kind, arg)
    assert cases is not None
    turn.add(list_reply(turn, svc, kind, cases, arg.strip()[:50]))


async def cmd_case(turn: Turn, arg: str) -> None:
    actor = await staff_actor(turn)
    if actor is None:
        return
    svc = service_of(turn)
    ref = arg.strip().upper()
    case = await svc.store.workflow.get_by_ref(ref) if ref and len(ref) <= 20 else None
    if case is None:
        turn.say("staff/missing", ref=ref[:20])
        return
    await show_card(turn, svc, actor, case.id)
