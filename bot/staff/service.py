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

from bot.dialog.events import Reply
from bot.domain.cases import WORKING, Case
from bot.staff.permissions import Actor
from bot.staff.settings import StaffSettings
from bot.staff.transitions import Transitions
from bot.store.outbox import PRIORITY_NORMAL, PRIORITY_URGENT, Outgoing
from bot.store.staff import Area, Invite, StaffMember

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


class StaffService(Transitions):
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
        return []

    async def case_post_messages(self, case: Case, kind: str = "new") -> list[Outgoing]:
        urgent = PRIORITY_URGENT if case.urgent else PRIORITY_NORMAL
        post = self.new_case_post(case, 0, kind)
        out: list[Outgoing] = []
        own = self.settings.own_chat_for(case.responsible_city, case.responsible_district)
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
                case.responsible_city, case.responsible_district, case.region_township
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

    def parse_area(self, text: str, regions: dict[str, list[str]] | None) -> Area | None:
        """``成都市/武侯区[/某某街道]``; 市州 and 区县 checked against the regions list
        when there is one. Short forms (成都, 武侯) are accepted."""
        parts = [p.strip() for p in text.replace("／", "/").split("/") if p.strip()]
        if not 1 <= len(parts) <= 3 or any(len(p) > 30 for p in parts):
            return None
        city, district = parts[0], parts[1] if len(parts) > 1 else None
        township = parts[2] if len(parts) > 2 else None
        if regions:
            matched = _match_name(city, list(regions))
            if matched is None:
                return None
            city = matched
            if district is not None:
                district = _match_name(district, regions[city])
                if district is None:
                    return None
        return Area(city, district, township)

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

    async def revoke(self, actor: Actor, target: int) -> Revoked:
        """Take a member's role away, and hand every case they still hold back to the
        unclaimed queue of its area (history: who revoked, and why), posted again in
        the area's staff chat; the revoked member is told."""
        if not actor.is_admin:
            await self.audit(actor, "revoke", allowed=False)
            return Revoked("forbidden")
        if target in self.settings.admin_ids:
            return Revoked("config_admin")
        member = await self.store.staff.member(target)
        who = member.label if member else f"#{target}"
        done = await self.store.staff.revoke(target, actor.user_id, now=self.now())
        await self.audit(actor, "revoke", allowed=done, detail=f"target={target}")
        if not done:
            return Revoked("unknown")
        out = Revoked("ok")
        now = self.now()
        for case in await self.store.workflow.select(WORKING, assignee_id=target):
            back = await self.store.workflow.transition(
                case.id,
                "new",
                "staff",
                actor.user_id,
                expect_from=WORKING,
                expect_assignee=target,
                note=self.r.label("staff.note.revoked", who=who),
                set_fields={"assignee_id": None, "claimed_at": None},
                now=now,
            )
            if back is None:
                continue  # closed or moved meanwhile
            await self.audit(actor, "release", case.id, detail=f"revoked={target}")
            out.cases.append(back)
            out.notices.extend(await self.post_case(back, kind=f"revoke-{int(now)}"))
        refs = [c.ref for c in out.cases]
        out.notices.append(Reply(self.r.render("staff/revoked_you", refs=refs), chat_id=target))
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
        target = case.assignee_id or self.settings.chat_for(
            case.responsible_city, case.responsible_district
        )
        return [Reply(text, [[self._view_button(case)]], chat_id=target)] if target else []

    async def on_case_changed(self, case_id: int) -> list[Reply]:
        """The resident withdrew their request (or erased their data with /forget,
        which withdraws it): tell whoever was on it, once."""
        case = await self.store.workflow.get(case_id)
        if case is None or case.status != "withdrawn":
            return []
        if not await self.store.workflow.mark_notice(case.id, "withdrawn", now=self.now()):
            return []  # told already
        text = self.r.render("staff/resident_event", c=self.summary(case), kind="withdrawn")
        target = case.assignee_id or self.settings.chat_for(
            case.responsible_city, case.responsible_district
        )
        return [Reply(text, chat_id=target)] if target else []


def _match_name(typed: str, names: list[str]) -> str | None:
    """成都 for 成都市, 武侯 for 武侯区; an exact name always wins."""
    if typed in names:
        return typed
    found = [n for n in names if len(typed) >= 2 and n.startswith(typed)]
    return found[0] if len(found) == 1 else None
