"""The staff workflow as plain async Python: who may do what, every transition, the
notices each one sends, and the audit log.

No channel here. A notice is a ``Reply`` addressed to a chat (``Reply.chat_id``): the
turn that caused it returns it (the channel delivers it), and jobs outside any turn
hand it to a ``Notifier``. Permissions are checked here, from the store, on every
call: nothing a button payload says about a case or a role is trusted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.calendar import local_date
from bot.dialog.events import Button, Reply
from bot.domain.cases import UNCLAIMED, WORKING, Case
from bot.domain.regions import Area, AreaParse, parse_area
from bot.outbox import EDIT_KIND
from bot.staff.permissions import Actor
from bot.staff.settings import StaffSettings
from bot.staff.transfers import Transfers
from bot.store.outbox import PRIORITY_NORMAL, PRIORITY_URGENT, Outgoing
from bot.store.staff import Invite, StaffMember

if TYPE_CHECKING:
    from bot.render import Renderer
    from bot.store import Store

log = logging.getLogger(__name__)


@dataclass
class Revoked:
    """What /revoke did: ok | forbidden | config_admin | unknown, the cases handed
    back to the queue, and the notices (group posts, the revoked member)."""

    result: str
    cases: list[Case] = field(default_factory=list)
    notices: list[Reply] = field(default_factory=list)


class StaffService(Transfers):
    """The staff workflow: permissions (bot.staff.permissions), views
    (bot.staff.views) and transitions (bot.staff.transitions), plus new requests,
    invites and what residents do elsewhere."""

    def __init__(
        self,
        store: Store,
        renderer: Renderer,
        settings: StaffSettings,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.store = store
        self.r = renderer
        self.settings = settings
        self.clock = clock or time.time
        # Called after something was queued in the outbox (the sender plugs in here).
        self.wake: Callable[[], None] = lambda: None

    # -- a new request ------------------------------------------------------------

    async def on_case_created(self, case_id: int) -> list[Reply]:
        """Post the request to its area's staff chat (and privately to the area's
        workers when urgent). Its deadline was set when it was stored
        (``Deadlines.for_new_case``). Posting is recorded, so a second call, or the
        sweep job, does not post it twice."""
        case = await self.store.workflow.get(case_id)
        if case is None:
            return []
        return await self.post_case(case, kind="new")

    async def post_case(self, case: Case, kind: str = "new") -> list[Reply]:
        """Queue the post for the area's staff chat (and, when urgent, privately for
        the area's workers) in the outbox, in the same transaction that records the
        posting: posted once, and never recorded without being queued. An area with
        no staff chat of its own goes to the default chat and to the admins. The
        outbox sender delivers; nothing is returned for the turn to send."""
        messages = await self.case_post_messages(case, kind)
        if await self.store.workflow.notice_once(case.id, "posted", kind, messages, self.now()):
            self.wake()
        await self.alert_uncovered(case)
        return []

    async def refresh_cards(self, case: Case) -> None:
        """Edit every card of the case already posted (staff groups, the default
        chat, admins, urgent alerts) to say what it is now: claimed by whom,
        transferred where, closed. Through the outbox (an edit of the posted
        message, ``Outgoing.edit_of``); the buttons become 查看."""
        cards = await self.store.outbox.cards(case.id)
        if not cards:
            return
        holder = await self.holder_label(case) if case.status in WORKING else None
        text = self.r.render("staff/claimed_post", c=self.summary(case), holder=holder or "")
        # One edit per change of the case (its history rows), whatever the clock says.
        stamp = f"{len(await self.store.cases.history(case.id))}:{case.status}:{case.assignee_id}"
        items = [
            Outgoing(
                Reply(text, [[self._view_button(case)]]),
                EDIT_KIND,
                recipient=card.recipient,
                channel=card.channel,
                dedup=f"edit:{card.id}:{stamp}",
                case_id=case.id,
                edit_of=card.id,
            )
            for card in cards
        ]
        if await self.store.outbox.enqueue(items, now=self.now()):
            self.wake()

    # -- nobody covers the area -------------------------------------------------------

    async def covered(self, case: Case) -> bool:
        """Does an active worker cover the case's area?"""
        area = case.responsible
        return bool(
            await self.store.staff.workers_covering(area.city, area.district, area.township)
        )

    async def alert_uncovered(self, case: Case) -> bool:
        """An unclaimed case in an area no worker covers: the admins and the default
        chat are alerted, once per day (at once, then by the daily job on every
        working day until it is claimed or someone covers the area). True when
        an alert was queued."""
        if case.status not in UNCLAIMED or case.erased_at is not None or await self.covered(case):
            return False
        now = self.now()
        day = local_date(now).isoformat()
        text = self.r.render("staff/uncovered", c=self.summary(case, now))
        buttons = [
            [
                Button(self.r.label("staff.btn.view"), f"st:view:{case.id}"),
                Button(self.r.label("staff.btn.transfer"), f"st:xfer:{case.id}"),
            ]
        ]
        targets = sorted(set(self.settings.admin_ids) | set(await self.store.staff.admins()))
        if self.settings.default_chat is not None:
            targets.append(self.settings.default_chat)
        items = [
            Outgoing(
                Reply(text, buttons),
                "case_alert",
                recipient=target,
                priority=PRIORITY_URGENT if case.urgent else PRIORITY_NORMAL,
                dedup=f"uncovered:{case.id}:{day}:{target}",
                case_id=case.id,
            )
            for target in dict.fromkeys(targets)
        ]
        if not items:
            log.error("a request nobody covers has nobody to alert: no admin, no default chat")
            return False
        if await self.store.workflow.notice_once(case.id, "uncovered", day, items, now):
            self.wake()
            return True
        return False

    async def alert_all_uncovered(self) -> int:
        """Every unclaimed case nobody covers, alerted (at most once a day each)."""
        sent = 0
        for case in await self.store.workflow.select(UNCLAIMED):
            sent += await self.alert_uncovered(case)
        return sent

    async def case_post_messages(self, case: Case, kind: str = "new") -> list[Outgoing]:
        urgent = PRIORITY_URGENT if case.urgent else PRIORITY_NORMAL
        post = self.new_case_post(case, 0, kind)
        out: list[Outgoing] = []
        area = case.responsible
        own = self.settings.own_chat_for(area.city, area.district, area.township)
        targets = [own] if own is not None else []
        if own is None:
            if self.settings.default_chat is not None:
                targets.append(self.settings.default_chat)
            targets += sorted(set(self.settings.admin_ids) | set(await self.store.staff.admins()))
            if not targets:
                log.error("a new request has nowhere to go: no staff chat and no admin")
        for target in dict.fromkeys(targets):
            out.append(
                Outgoing(
                    Reply(post.text, post.buttons),
                    "case_post",
                    recipient=target,
                    priority=urgent,
                    dedup=f"post:{case.id}:{kind}:{target}",
                    case_id=case.id,
                )
            )
        if case.urgent:
            workers = await self.store.staff.workers_covering(
                area.city, area.district, area.township
            )
            text = self.r.render("staff/new_case", c=self.summary(case), kind="urgent")
            for worker in workers:
                out.append(
                    Outgoing(
                        Reply(text, self.post_buttons(case)),
                        "case_urgent",
                        recipient=worker.user_id,
                        priority=PRIORITY_URGENT,
                        dedup=f"urgent:{case.id}:{kind}:{worker.user_id}",
                        case_id=case.id,
                    )
                )
        return out

    # -- invites and members --------------------------------------------------------

    def parse_area(self, text: str, regions: dict[str, list[str]] | None) -> AreaParse:
        """``成都市/武侯区[/某某街道]`` checked against regions.yml (short forms such as
        成都, 武侯 accepted; typos refused with the nearest names)."""
        return parse_area(text, regions or {})

    async def create_invite(self, actor: Actor, role: str, area: Area | None) -> Invite | None:
        if not actor.is_admin:
            await self.audit(actor, "invite", allowed=False)
            return None
        ttl = self.settings.invite_days * 86400
        invite = await self.store.staff.create_invite(
            role, area or Area(), actor.user_id, ttl, now=self.now()
        )
        await self.audit(actor, "invite", detail=f"role={role} area={area or '*'}")
        return invite

    async def join(
        self, user_id: int, code: str, name: str | None
    ) -> tuple[StaffMember | None, str]:
        member, why = await self.store.staff.redeem(code, user_id, name, now=self.now())
        role = member.role if member else "resident"
        await self.store.staff.audit(
            user_id, role, "join", allowed=member is not None, detail=why, now=self.now()
        )
        return member, why

    async def revoke_plan(self, actor: Actor, target: int) -> tuple[str, list[Case], list[Actor]]:
        """Before /revoke: the member's open cases and the colleagues (active workers)
        who cover all of them, for the admin to choose where they go. ("ok" |
        "forbidden" | "config_admin" | "unknown", cases, colleagues)."""
        if not actor.is_admin:
            await self.audit(actor, "revoke", allowed=False)
            return "forbidden", [], []
        if target in self.settings.admin_ids:
            return "config_admin", [], []
        if await self.store.staff.member(target) is None:
            return "unknown", [], []
        cases = await self.store.workflow.select(WORKING, assignee_id=target)
        colleagues = []
        for member in await self.store.staff.members():
            if member.user_id == target or member.role != "worker":
                continue
            other = Actor(member.user_id, member.role, member, member.area)
            if all(self.covers(other, c) for c in cases):
                colleagues.append(other)
        return "ok", cases, colleagues

    async def revoke(self, actor: Actor, target: int, to: int | None = None) -> Revoked:
        """Take a member's role away and hand every case they still hold to ``to``
        (an active worker of the case's area) or back to the unclaimed queue of its
        area (posted again in its staff chat; history: who revoked, and why). The
        revoked member is told, their cards' buttons go (the cards are edited), and
        the colleague who got cases is told."""
        if not actor.is_admin:
            await self.audit(actor, "revoke", allowed=False)
            return Revoked("forbidden")
        if target in self.settings.admin_ids:
            return Revoked("config_admin")
        member = await self.store.staff.member(target)
        heir = await self.actor(to) if to is not None else None
        if to is not None and (heir is None or heir.role != "worker" or to == target):
            return Revoked("bad_heir")
        who = member.label if member else f"#{target}"
        done = await self.store.staff.revoke(target, actor.user_id, now=self.now())
        await self.audit(actor, "revoke", allowed=done, detail=f"target={target} to={to or '-'}")
        if not done:
            return Revoked("unknown")
        out = Revoked("ok")
        now = self.now()
        handed: list[Case] = []
        for case in await self.store.workflow.select(WORKING, assignee_id=target):
            to_heir = heir is not None and self.covers(heir, case)
            back = await self.store.workflow.transition(
                case.id,
                "claimed" if to_heir else "new",
                "staff",
                actor.user_id,
                expect_from=WORKING,
                expect_assignee=target,
                note=self.r.label(
                    "staff.note.handed" if to_heir else "staff.note.revoked",
                    who=who,
                    to=heir.label if heir is not None else "",
                ),
                set_fields={
                    "assignee_id": heir.user_id if to_heir and heir is not None else None,
                    "claimed_at": now if to_heir else None,
                },
                now=now,
            )
            if back is None:
                continue  # closed or moved meanwhile
            await self.audit(actor, "release", case.id, detail=f"revoked={target}")
            out.cases.append(back)
            await self.refresh_cards(back)
            if to_heir:
                handed.append(back)
            else:
                out.notices.extend(await self.post_case(back, kind=f"revoke-{int(now)}"))
        refs = [c.ref for c in out.cases]
        out.notices.append(Reply(self.r.render("staff/revoked_you", refs=refs), chat_id=target))
        if handed and heir is not None:
            text = self.r.render(
                "staff/handed_you", refs=[c.ref for c in handed], who=who, n=len(handed)
            )
            rows = [[self._view_button_ref(c)] for c in handed[:8]]
            out.notices.append(Reply(text, rows, chat_id=heir.user_id))
        # Cases only the revoked member covered now have nobody: alert at once.
        await self.alert_all_uncovered()
        return out

    # -- what residents do elsewhere (hooks of the help-request feature) -------------

    async def on_resident_message(self, case_id: int, body: str | None = None) -> list[Reply]:
        """A resident added to their request: tell the assignee (or the area chat).
        Their words (``body``) go only to the assignee, privately, never to a group."""
        case = await self.store.workflow.get(case_id)
        if case is None:
            return []
        private = body if case.assignee_id else None
        text = self.r.render(
            "staff/resident_event", c=self.summary(case), kind="message", body=private
        )
        area = case.responsible
        target = case.assignee_id or self.settings.chat_for(area.city, area.district, area.township)
        return [Reply(text, [[self._view_button(case)]], chat_id=target)] if target else []

    async def on_case_changed(self, case_id: int) -> list[Reply]:
        """The resident withdrew their request (or erased their data with /forget,
        which withdraws it): tell whoever was on it, once."""
        case = await self.store.workflow.get(case_id)
        if case is None or case.status != "withdrawn":
            return []
        if not await self.store.workflow.mark_notice(case.id, "withdrawn", now=self.now()):
            return []  # told already
        await self.refresh_cards(case)  # the cards say it was withdrawn
        text = self.r.render("staff/resident_event", c=self.summary(case), kind="withdrawn")
        area = case.responsible
        target = case.assignee_id or self.settings.chat_for(area.city, area.district, area.township)
        return [Reply(text, chat_id=target)] if target else []
