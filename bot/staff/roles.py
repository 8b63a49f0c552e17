"""Staff roles in the chat: /invite, /join, /name, /staff, /revoke. Only admins
invite and revoke, in a private chat; every refusal is audited."""

from __future__ import annotations

import re

from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.staff.cards import staff_actor
from bot.staff.common import MAX_NAME_CHARS, regions_of, service_of
from bot.staff.home import refresh_menu


async def admin_in_private(turn: Turn, action: str):
    """The acting admin, or None after telling why not (a group, or not an admin,
    which is audited)."""
    svc = service_of(turn)
    if turn.event.is_group:
        turn.say("staff/private_only")
        return None
    actor = await svc.actor(turn.user_id)
    if not actor.is_admin:
        await svc.audit(actor, action, allowed=False)
        turn.say("staff/admin_only")
        return None
    return actor


async def cmd_invite(turn: Turn, arg: str) -> None:
    svc = service_of(turn)
    actor = await admin_in_private(turn, "invite")
    if actor is None:
        return
    words = arg.split()
    # The role words: intents/words.yml (staff_roles).
    role = turn.content.words.which("staff_roles", words[0]) if words else None
    area = None
    if role == "worker":
        if len(words) != 2:
            turn.say("staff/usage", command="invite")
            return
        parsed = svc.parse_area(words[1], regions_of(turn))
        area = parsed.area
        if area is None:
            await svc.audit(actor, "invite", allowed=False, detail="bad_area")
            turn.say(
                "staff/usage",
                command="invite",
                bad_area=(parsed.bad or words[1])[:40],
                suggestions=list(parsed.suggestions),
            )
            return
    elif role != "admin" or len(words) != 1:
        turn.say("staff/usage", command="invite")
        return
    invite = await svc.create_invite(actor, role, area)
    assert invite is not None
    turn.say(
        "staff/invite",
        code=invite.code,
        role=turn.r.label(f"staff.role.{role}"),
        area=str(area) if area else "",
        days=svc.settings.invite_days,
    )


async def cmd_join(turn: Turn, arg: str) -> None:
    svc = service_of(turn)
    if turn.event.is_group:
        turn.say("staff/private_only")
        return
    words = arg.split(maxsplit=1)
    if not words:
        turn.say("staff/usage", command="join")
        return
    name = words[1].strip() if len(words) > 1 else None
    if name is not None and (len(name) > MAX_NAME_CHARS or not name):
        turn.say("staff/usage", command="join")
        return
    member, why = await svc.join(turn.user_id, words[0], name)
    if member is None:
        turn.say("staff/join", ok=False, why=why, role="", area="", nick="")
        return
    turn.say(
        "staff/join",
        ok=True,
        why=why,
        role=turn.r.label(f"staff.role.{member.role}"),
        area=str(member.area),
        nick=member.name or "",
    )
    await refresh_menu(turn.engine, turn.user_id)  # the staff command menu


async def cmd_name(turn: Turn, arg: str) -> None:
    actor = await staff_actor(turn)
    if actor is None:
        return
    name = arg.strip()
    if not name or len(name) > MAX_NAME_CHARS:
        turn.say("staff/usage", command="name")
        return
    ok = await service_of(turn).store.staff.set_name(turn.user_id, name)
    turn.say("staff/name", ok=ok, nick=name)


async def cmd_staff(turn: Turn, arg: str) -> None:
    svc = service_of(turn)
    actor = await admin_in_private(turn, "staff_list")
    if actor is None:
        return
    members = await svc.store.staff.members()
    await svc.audit(actor, "staff_list", detail=f"n={len(members)}")
    items = [
        {
            "id": m.user_id,
            "role": turn.r.label(f"staff.role.{m.role}"),
            "area": str(m.area),
            "name": m.name or "",
        }
        for m in members
    ]
    turn.say("staff/staff_list", items=items, admins=sorted(svc.settings.admin_ids))


async def cmd_revoke(turn: Turn, arg: str) -> None:
    """``/revoke ID``: a member without open cases loses the role at once; with open
    cases the admin first sees them and picks where they go (the queue, or a
    colleague who covers them all). ``/revoke ID OTHER`` hands them to OTHER."""
    svc = service_of(turn)
    actor = await admin_in_private(turn, "revoke")
    if actor is None:
        return
    words = arg.split()
    if not 1 <= len(words) <= 2 or not all(re.fullmatch(r"-?\d{1,15}", w) for w in words):
        turn.say("staff/usage", command="revoke")
        return
    target = int(words[0])
    if len(words) == 2:
        await do_revoke(turn, actor, target, int(words[1]))
        return
    result, cases, colleagues = await svc.revoke_plan(actor, target)
    if result != "ok" or not cases:
        await do_revoke(turn, actor, target, None)
        return
    member = await svc.store.staff.member(target)
    rows = [[turn.button("staff.btn.to_queue", f"rk:q:{target}")]]
    rows += [
        [Button(turn.r.label("staff.btn.hand_to", name=c.label), f"rk:w:{target}:{c.user_id}")]
        for c in colleagues[:6]
    ]
    rows.append([turn.button("staff.btn.cancel", "rk:c")])
    turn.say(
        "staff/revoke_plan",
        rows,
        target=target,
        who=member.label if member else "",
        cases=[svc.summary(c) for c in cases],
        colleagues=[c.label for c in colleagues],
    )


async def do_revoke(turn: Turn, actor, target: int, to: int | None, edit: bool = False) -> None:
    svc = service_of(turn)
    done = await svc.revoke(actor, target, to)
    heir = await svc.store.staff.member(to) if to is not None and done.result == "ok" else None
    turn.say(
        "staff/revoke",
        edit=edit,
        result=done.result,
        target=target,
        refs=[c.ref for c in done.cases],
        heir=heir.label if heir is not None else "",
        heir_id=to or "",
    )
    turn.replies.extend(done.notices)
    if done.result == "ok":
        await refresh_menu(turn.engine, target)  # back to the residents' menu


class RevokeFlow(Flow):
    """The admin's choice on /revoke's list: ``rk:q:<id>`` (to the queue),
    ``rk:w:<id>:<colleague>``, ``rk:c`` (cancel). Checked again on every press."""

    name = "revoke"
    prefix = "rk"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await turn.engine.show_menu(turn)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        parts = rest.split(":")
        ids = parts[1:]
        if not (
            (parts[0] == "c" and not ids)
            or (parts[0] == "q" and len(ids) == 1)
            or (parts[0] == "w" and len(ids) == 2)
        ) or not all(re.fullmatch(r"-?\d{1,15}", i) for i in ids):
            raise StaleButton(rest)
        actor = await admin_in_private(turn, "revoke")
        if actor is None:
            return
        if parts[0] == "c":
            turn.say("staff/cancelled", edit=True, ref="", action="", resident=False)
            return
        to = int(ids[1]) if parts[0] == "w" else None
        await do_revoke(turn, actor, int(ids[0]), to, edit=True)
