"""Community workers in the chat: staff-chat buttons (认领 / 查看 / 转办), case cards
with their actions, the staff commands, and the resident's 回访 rating.

Payloads: ``st:<action>:<case id>[:...]`` for staff, ``rv:r:<case id>:<s|b|u>`` and
``rv:skip:<case id>`` for the resident's rating. A payload is only a request: the role,
the area and the case's status are checked against the store every time, and a
refusal is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING, Any

from bot.calendar import add_working_days, local_date
from bot.dialog.events import Button, Reply
from bot.dialog.flow import Flow, StaleButton, Turn, grid
from bot.domain.cases import Case
from bot.staff.permissions import Actor, Outcome
from bot.staff.service import StaffService
from bot.staff.settings import StaffSettings
from bot.staff.transitions import MAX_COMMENT_CHARS, MAX_TEXT_CHARS
from bot.staff.views import LIST_LIMIT

if TYPE_CHECKING:
    from bot.dialog.engine import Engine

log = logging.getLogger(__name__)

_ID = re.compile(r"^[1-9]\d{0,11}$")
_INDEX = re.compile(r"^\d{1,3}$")
_DAY = re.compile(r"^\d{8}$")
TEXT_STEPS = ("note", "reply", "res", "inv", "exp")
EXPECTED_CHOICES = 6
MAX_NAME_CHARS = 20


def service_of(turn: Turn) -> StaffService:
    svc = turn.engine.services.staff
    assert svc is not None, "the staff feature is installed"
    return svc


def regions_of(turn: Turn) -> dict[str, list[str]]:
    channels = getattr(turn.content, "channels", None)
    regions = getattr(channels, "regions", None)
    return regions if isinstance(regions, dict) else {}


def parse_id(raw: str) -> int:
    if not _ID.match(raw):
        raise StaleButton(raw)
    return int(raw)


def private(turn: Turn, reply: Reply) -> Reply:
    """Send to the user's private chat when the turn came from a group."""
    if turn.event.is_group and reply.chat_id is None:
        reply.chat_id = turn.user_id
    return turn.add(reply)


class StaffFlow(Flow):
    name = "staff"
    prefix = "st"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await cmd_list(turn, "queue", "")

    # -- buttons ---------------------------------------------------------------------

    async def on_payload(self, turn: Turn, rest: str) -> None:
        action, _, args = rest.partition(":")
        if action == "cancel" and not args:
            turn.state.leave()
            private(turn, Reply(turn.text("staff/cancelled")))
            return
        parts = args.split(":")
        case_id = parse_id(parts[0])
        extra = parts[1:]
        known = {
            "claim": 0,
            "view": 0,
            "xfer": 0,
            "xc": 1,
            "xd": 2,
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
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        if not actor.is_staff:
            # A resident (or a revoked worker) pressing a staff button: refuse, log it.
            await svc.refuse(actor, action, case_id)
            turn.say("staff/forbidden")
            return
        if action == "claim":
            await self.claim(turn, svc, actor, case_id)
        elif action == "view":
            await show_card(turn, svc, actor, case_id)
        elif action == "xfer":
            await self.transfer_cities(turn, svc, actor, case_id)
        elif action == "xc":
            await self.transfer_districts(turn, svc, actor, case_id, extra[0])
        elif action == "xd":
            await self.transfer(turn, svc, actor, case_id, extra[0], extra[1])
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

    # -- transfer --------------------------------------------------------------------

    async def transfer_cities(self, turn: Turn, svc: StaffService, actor: Actor, case_id: int):
        out = await svc.check(actor, case_id, "xfer")
        if not await self.allowed(turn, svc, out):
            return
        regions = regions_of(turn)
        buttons = [
            Button(city, f"st:xc:{case_id}:{i}") for i, city in enumerate(regions) if i < 100
        ]
        rows = grid(buttons, 3) + [[turn.button("staff.btn.cancel", "st:cancel")]]
        private(
            turn, Reply(turn.text("staff/ask_transfer", c=svc.summary(out.case), city=""), rows)
        )

    async def transfer_districts(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, raw: str
    ) -> None:
        regions = regions_of(turn)
        cities = list(regions)
        if not _INDEX.match(raw) or int(raw) >= len(cities):
            raise StaleButton(raw)
        out = await svc.check(actor, case_id, "xfer")
        if not await self.allowed(turn, svc, out):
            return
        ci = int(raw)
        city = cities[ci]
        buttons = [
            Button(d, f"st:xd:{case_id}:{ci}:{di}")
            for di, d in enumerate(regions[city])
            if di < 100
        ]
        rows = [
            [
                Button(
                    turn.r.label("staff.transfer.whole_city", city=city), f"st:xd:{case_id}:{ci}:a"
                )
            ]
        ]
        rows += grid(buttons, 3)
        rows.append([turn.button("staff.btn.back", f"st:xfer:{case_id}")])
        reply = Reply(turn.text("staff/ask_transfer", c=svc.summary(out.case), city=city), rows)
        reply.edit = not turn.event.is_group
        private(turn, reply)

    async def transfer(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, raw_c: str, raw_d: str
    ) -> None:
        regions = regions_of(turn)
        cities = list(regions)
        if not _INDEX.match(raw_c) or int(raw_c) >= len(cities):
            raise StaleButton(raw_c)
        city = cities[int(raw_c)]
        if raw_d == "a":
            district = None
        elif _INDEX.match(raw_d) and int(raw_d) < len(regions[city]):
            district = regions[city][int(raw_d)]
        else:
            raise StaleButton(raw_d)
        out = await svc.transfer(actor, case_id, city, district)
        await self.finish(turn, svc, actor, out, "transfer", area=f"{city}{district or ''}")

    # -- actions that need a text --------------------------------------------------------

    async def ask_text(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, action: str
    ) -> None:
        out = await svc.check(actor, case_id, action)
        if not await self.allowed(turn, svc, out):
            return
        turn.state.enter(self.name, action, {"case": case_id})
        await self.prompt_text(turn, svc, out.case, action)

    async def prompt_text(
        self, turn: Turn, svc: StaffService, case: Case, action: str, retry: str = ""
    ) -> None:
        rows: list[list[Button]] = []
        if action == "exp":
            today = local_date(svc.now())
            cal = svc.settings.deadlines.calendar
            days = [add_working_days(cal, today, n) for n in range(EXPECTED_CHOICES)]
            buttons = [
                Button(f"{d.month}月{d.day}日", f"st:expd:{case.id}:{d:%Y%m%d}")
                for d in dict.fromkeys(days)
            ]
            rows = grid(buttons, 3)
        rows.append([turn.button("staff.btn.cancel", "st:cancel")])
        text = turn.text(
            "staff/ask_text",
            kind=action,
            c=svc.summary(case),
            retry=retry,
            limit=MAX_TEXT_CHARS,
        )
        private(turn, Reply(text, rows))

    async def on_text(self, turn: Turn, text: str) -> None:
        step = turn.state.step
        raw = turn.state.data.get("case")
        if step not in TEXT_STEPS or not isinstance(raw, int):
            await super().on_text(turn, text)
            return
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        case_id = raw
        if step == "exp":
            day = svc.parse_expected(text)
            if day is None:
                case = await svc.store.workflow.get(case_id)
                if case is None:
                    turn.state.leave()
                    turn.say("staff/missing")
                    return
                await self.prompt_text(turn, svc, case, step, retry="date")
                return
            out = await svc.set_expected(actor, case_id, day)
        elif step == "note":
            out = await svc.note(actor, case_id, text)
        elif step == "reply":
            out = await svc.reply(actor, case_id, text)
        elif step == "res":
            out = await svc.resolve(actor, case_id, text)
        else:
            out = await svc.mark_invalid(actor, case_id, text)
        if out.reason == "invalid" and out.case is not None:
            retry = "long" if len(text.strip()) > MAX_TEXT_CHARS else "blank"
            await self.prompt_text(turn, svc, out.case, step, retry=retry)
            return
        turn.state.leave()
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

    # -- results -------------------------------------------------------------------

    async def allowed(self, turn: Turn, svc: StaffService, out: Outcome) -> bool:
        if out.ok:
            return True
        if out.reason == "missing":
            raise StaleButton("case")
        if out.reason == "forbidden":
            private(turn, Reply(turn.text("staff/forbidden")))
        else:
            assert out.case is not None
            private(turn, Reply(turn.text("staff/state_changed", c=svc.summary(out.case))))
        return False

    async def finish(
        self, turn: Turn, svc: StaffService, actor: Actor, out: Outcome, action: str, **ctx: Any
    ) -> None:
        if out.reason == "missing":
            turn.say("staff/missing")
            return
        if not out.ok:
            if out.reason == "same":
                private(turn, Reply(turn.text("staff/transfer_same")))
            elif not await self.allowed(turn, svc, out):
                pass
            return
        case = out.case
        assert case is not None
        turn.replies.extend(out.notices)
        rows = svc.card_buttons(actor, case)
        rows.append([turn.button("staff.btn.view", f"st:view:{case.id}")])
        text = turn.text(
            "staff/done",
            kind=action,
            c=svc.summary(case),
            told=any(n.chat_id == case.chat_id for n in out.notices) and case.chat_id is not None,
            area=ctx.get("area", ""),
        )
        private(turn, Reply(text, rows))


# -- cards and lists -------------------------------------------------------------------


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


# -- commands --------------------------------------------------------------------------


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


ROLE_WORDS = {"worker": "worker", "工作人员": "worker", "admin": "admin", "管理员": "admin"}


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
    role = ROLE_WORDS.get(words[0].lower()) if words else None
    area = None
    if role == "worker":
        if len(words) != 2:
            turn.say("staff/usage", command="invite")
            return
        area = svc.parse_area(words[1], regions_of(turn))
        if area is None:
            turn.say("staff/usage", command="invite", bad_area=words[1][:40])
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
    svc = service_of(turn)
    actor = await admin_in_private(turn, "revoke")
    if actor is None:
        return
    raw = arg.strip()
    if not re.fullmatch(r"-?\d{1,15}", raw):
        turn.say("staff/usage", command="revoke")
        return
    result = await svc.revoke(actor, int(raw))
    turn.say("staff/revoke", result=result, target=int(raw))


# -- 回访: the resident rates the result ---------------------------------------------------


class FollowupFlow(Flow):
    name = "followup"
    prefix = "rv"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await turn.engine.show_menu(turn)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)
        parts = rest.split(":")
        svc = service_of(turn)
        if parts[0] == "r" and len(parts) == 3:
            case_id = parse_id(parts[1])
            out = await svc.rate(turn.user_id, case_id, parts[2])
            if out.reason == "missing":
                raise StaleButton(rest)
            if not out.ok:
                turn.say("staff/rate_done", kind="already", ref=out.case.ref if out.case else "")
                return
            assert out.case is not None
            turn.replies.extend(out.notices)
            rows = [[turn.button("nav.menu", "nav:menu")]]
            if turn.state.flow in (None, self.name):
                # Ask for a comment, unless that would drop a form the resident is filling.
                turn.state.enter(self.name, "comment", {"case": case_id})
                rows = [[turn.button("staff.rate.no_comment", f"rv:skip:{case_id}")]]
            rating = out.case.rating or ""
            turn.say(
                "staff/rate_done",
                rows,
                kind=rating,
                ref=out.case.ref,
                limit=MAX_COMMENT_CHARS,
                ask=turn.state.flow == self.name,
            )
        elif parts[0] == "skip" and len(parts) == 2:
            parse_id(parts[1])
            turn.state.leave()
            turn.say(
                "staff/rate_done", [[turn.button("nav.menu", "nav:menu")]], kind="thanks", ref=""
            )
        else:
            raise StaleButton(rest)

    async def on_text(self, turn: Turn, text: str) -> None:
        raw = turn.state.data.get("case")
        if turn.state.step != "comment" or not isinstance(raw, int):
            await super().on_text(turn, text)
            return
        svc = service_of(turn)
        out = await svc.rate_comment(turn.user_id, raw, text)
        if out.reason == "invalid":
            rows = [[turn.button("staff.rate.no_comment", f"rv:skip:{raw}")]]
            retry = "long" if len(text.strip()) > MAX_COMMENT_CHARS else "blank"
            turn.say(
                "staff/rate_done", rows, kind="retry", ref="", retry=retry, limit=MAX_COMMENT_CHARS
            )
            return
        turn.state.leave()
        turn.replies.extend(out.notices)
        turn.say("staff/rate_done", [[turn.button("nav.menu", "nav:menu")]], kind="thanks", ref="")


# -- install -------------------------------------------------------------------------


def install(engine: Engine) -> None:
    settings = StaffSettings.from_config(engine.config)
    svc = StaffService(engine.store, engine.renderer, settings, clock=engine.services.now)
    engine.services.staff = svc
    engine.services.deadlines = settings.deadlines
    engine.add_flow(StaffFlow(engine))
    engine.add_flow(FollowupFlow(engine))

    # Staff buttons are pressed in staff groups: let the Telegram adapter pass them.
    engine.services.group_safe_prefixes.add("st")

    # Hooks the help-request feature calls (bot/cases/dialog.py).
    async def case_created(turn: Turn, case: Any) -> None:
        turn.replies.extend(await svc.on_case_created(case.id))

    async def case_message(turn: Turn, case: Any, message: Any = None) -> None:
        turn.replies.extend(await svc.on_resident_message(case.id))

    async def case_changed(turn: Turn, case: Any) -> None:
        turn.replies.extend(await svc.on_case_changed(case.id))

    engine.hooks.case_created.append(case_created)
    engine.hooks.case_message.append(case_message)
    engine.hooks.case_changed.append(case_changed)

    async def forget(store: Any, user_id: int) -> None:
        await store.workflow.forget_user(user_id)

    engine.hooks.forget.append(forget)

    for kind in ("queue", "mine", "overdue", "find"):

        async def handler(turn: Turn, arg: str, kind: str = kind) -> None:
            await cmd_list(turn, kind, arg)

        engine.add_command(kind, handler)
    engine.add_command("case", cmd_case)
    engine.add_command("invite", cmd_invite)
    engine.add_command("join", cmd_join)
    engine.add_command("name", cmd_name)
    engine.add_command("staff", cmd_staff)
    engine.add_command("revoke", cmd_revoke)
