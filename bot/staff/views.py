"""What staff see: the words for codes, the case summary (no personal data but a
masked phone), the staff-chat post, the case card and its buttons, the lists, and
the notices residents get about their request."""

from __future__ import annotations

from typing import Any

from bot.calendar import fmt_when
from bot.cases.attachments import for_workers
from bot.dialog.events import Button, Reply
from bot.domain.cases import OPEN_STATUSES, UNCLAIMED, WORKING, Case, status_name
from bot.domain.regions import Area
from bot.render import mask_phone
from bot.staff.permissions import Actor, Outcome, Permissions

LIST_LIMIT = 10


class Views(Permissions):
    # -- words ------------------------------------------------------------------

    def category_name(self, category: str) -> str:
        for key in (f"cases.cat.{category}", f"staff.cat.{category}"):
            if self.r.has_label(key):
                return self.r.label(key)
        return category

    def status_name(self, status: str) -> str:
        return status_name(self.r, status)

    def time_name(self, value: str | None) -> str:
        if not value:
            return ""
        key = f"cases.time.{value}"
        return self.r.label(key) if self.r.has_label(key) else value

    def summary(self, case: Case, now: float | None = None) -> dict[str, Any]:
        """What may be shown anywhere staff see the case: no personal data except a
        masked phone."""
        now = self.now() if now is None else now
        return {
            "id": case.id,
            "ref": case.ref,
            "status": self.status_name(case.status),
            "status_code": case.status,
            "category": self.category_name(case.category),
            "region": case.region,
            "area": case.area,
            "transferred": case.transferred_from is not None
            or not Area(case.region_city, case.region_district).contains(case.responsible),
            "urgent": case.urgent,
            "phone": mask_phone(case.phone) if case.phone else "",
            "created": fmt_when(case.created_at, now=now),
            "due": fmt_when(case.due_at, deadline=True, now=now),
            "due_day": fmt_when(case.due_at, deadline=True, now=now),
            "overdue": case.is_open and case.due_at is not None and case.due_at < now,
            "expected": fmt_when(case.expected_date, now=now),
            "erased": case.erased_at is not None,
        }

    def resident_notice(self, case: Case, kind: str, **ctx: Any) -> Reply | None:
        """A message to the resident about their request (None when there is no chat
        to reach them, e.g. after their data was erased)."""
        if case.chat_id is None:
            return None
        buttons: list[list[Button]] = []
        if kind == "resolved":
            buttons = [
                [
                    Button(self.r.label("staff.rate.satisfied"), f"rv:r:{case.id}:s"),
                    Button(self.r.label("staff.rate.basic"), f"rv:r:{case.id}:b"),
                ],
                [Button(self.r.label("staff.rate.unsatisfied"), f"rv:r:{case.id}:u")],
            ]
        buttons.append([Button(self.r.label("staff.resident.progress"), "menu:progress")])
        text = self.r.render(
            "staff/resident",
            kind=kind,
            ref=case.ref,
            due_day=fmt_when(case.due_at, deadline=True, now=self.now()),
            expected=fmt_when(case.expected_date, now=self.now()),
            **ctx,
        )
        return Reply(text, buttons, chat_id=case.chat_id, case_id=case.id)

    def post_buttons(self, case: Case) -> list[list[Button]]:
        if case.status == "transferred" and case.transferred_from is not None:
            # A transfer is signed for (签收) or sent back (退回) by the receiving side.
            return [
                [
                    Button(self.r.label("staff.btn.sign"), f"st:claim:{case.id}"),
                    Button(self.r.label("staff.btn.view"), f"st:view:{case.id}"),
                    Button(self.r.label("staff.btn.return"), f"st:ret:{case.id}"),
                ]
            ]
        return [
            [
                Button(self.r.label("staff.btn.claim"), f"st:claim:{case.id}"),
                Button(self.r.label("staff.btn.view"), f"st:view:{case.id}"),
                Button(self.r.label("staff.btn.transfer"), f"st:xfer:{case.id}"),
            ]
        ]

    def new_case_post(self, case: Case, chat_id: int, kind: str = "new") -> Reply:
        """The post in a staff chat: category, region, urgency, masked phone, buttons."""
        text = self.r.render("staff/new_case", c=self.summary(case), kind=kind)
        return Reply(text, self.post_buttons(case), chat_id=chat_id)

    # -- views ------------------------------------------------------------------

    async def view(self, actor: Actor, case_id: int, private: bool) -> tuple[Outcome, bool]:
        """The case for a card, and whether its full phone may be shown. Every view
        is audited; a refused one too."""
        case = await self.store.workflow.get(case_id)
        if case is None:
            return Outcome(False, reason="missing"), False
        covers = self.covers(actor, case)
        if not (covers or (actor.is_staff and case.assignee_id == actor.user_id)):
            # Whoever acted on it (the sender of a transfer) keeps read access.
            if not (actor.is_staff and await self.store.workflow.involved(case_id, actor.user_id)):
                return await self.refuse(actor, "view", case_id), False
        full = self.full_phone(actor, covers, private)
        await self.audit(actor, "view", case_id, detail="phone=full" if full else "phone=masked")
        return Outcome(True, case), full

    async def card(self, actor: Actor, case: Case, full_phone: bool) -> dict[str, Any]:
        """Everything about a case for a staff card (already permitted and audited)."""
        c = self.summary(case)
        history = await self.store.cases.history(case.id)
        messages = await self.store.cases.messages(case.id, include_private=True)
        names = await self.actor_names()
        c.update(
            phone=(case.phone or "") if full_phone else c["phone"],
            full_phone=full_phone,
            township=case.region_township or "",
            village=case.region_village or "",
            description=case.description or "",
            contact_time=self.time_name(case.contact_time),
            holder=await self.holder_label(case) or "",
            mine=case.assignee_id == actor.user_id,
            rating=self.r.label(f"staff.rate.{case.rating}") if case.rating else "",
            rating_comment=case.rating_comment or "",
            history=[
                {
                    "at": fmt_when(h.at, now=self.now()),
                    "to": self.status_name(h.to_status),
                    "from": self.status_name(h.from_status) if h.from_status else "",
                    "by": h.actor_kind,
                    "who": names.get(h.actor_id, f"#{h.actor_id}")
                    if h.actor_kind == "staff" and h.actor_id is not None
                    else "",
                    "note": h.note or "",
                }
                for h in history[-8:]
            ],
            messages=[
                {
                    "at": fmt_when(m.at, now=self.now()),
                    "by": m.author_kind,
                    "who": names.get(m.author_id, f"#{m.author_id}")
                    if m.author_kind == "staff" and m.author_id is not None
                    else "",
                    "private": m.private,
                    "body": m.body or "",
                }
                for m in messages[-8:]
                if m.body
            ],
        )
        # 代办 and what the resident attached (bot.cases.attachments), in their words.
        attached = for_workers(self.r, () if case.erased_at else case.attachments)
        c.update(proxy=attached["proxy"], attachments=attached["items"])
        return c

    async def actor_names(self) -> dict[int, str]:
        """How colleagues see each staff member (also revoked ones, for old history);
        an admin of the configuration without a 称呼 is 管理员 #id."""
        names = {m.user_id: m.label for m in await self.store.staff.members(include_revoked=True)}
        for admin in self.settings.admin_ids:
            names.setdefault(admin, self.r.label("staff.role.admin") + f" #{admin}")
        return names

    def card_buttons(self, actor: Actor, case: Case) -> list[list[Button]]:
        def b(key: str, action: str) -> Button:
            return Button(self.r.label(f"staff.btn.{key}"), f"st:{action}:{case.id}")

        rows: list[list[Button]] = []
        signing = case.status == "transferred" and case.transferred_from is not None
        if signing and self.covers(actor, case):
            rows.append([b("sign", "claim"), b("return", "ret")])
            rows.append([b("transfer", "xfer"), b("note", "note")])
        elif case.status in UNCLAIMED and self.covers(actor, case):
            rows.append([b("claim", "claim"), b("transfer", "xfer")])
            rows.append([b("note", "note"), b("invalid", "inv")])
        elif case.status in WORKING and self.may_work(actor, case):
            rows.append([b("reply", "reply"), b("expected", "exp")])
            rows.append([b("resolve", "res"), b("note", "note")])
            rows.append([b("transfer", "xfer"), b("invalid", "inv")])
        elif case.status in ("resolved", "closed", "invalid") and self.covers(actor, case):
            rows.append([b("reopen", "reopen"), b("note", "note")])
        elif self.covers(actor, case) and case.erased_at is None:
            rows.append([b("note", "note")])
        return rows

    async def listing(self, actor: Actor, kind: str, text: str = "") -> list[Case] | None:
        """/queue, /mine, /overdue, /find for a staff member; None when not staff."""
        if not actor.is_staff:
            await self.audit(actor, f"list_{kind}", allowed=False)
            return None
        area = None if actor.is_admin else actor.area
        wf = self.store.workflow
        if kind == "queue":
            cases = await wf.select(UNCLAIMED, covered_by=area)
        elif kind == "mine":
            cases = await wf.select(WORKING, assignee_id=actor.user_id)
        elif kind == "overdue":
            cases = await wf.select(OPEN_STATUSES, due_before=self.now(), covered_by=area)
        else:
            cases = await wf.search(text, limit=LIST_LIMIT * 3, covered_by=area)
        cases = [c for c in cases if self.covers(actor, c) or c.assignee_id == actor.user_id]
        await self.audit(actor, f"list_{kind}", detail=f"n={len(cases)}")
        return cases

    def _view_button(self, case: Case) -> Button:
        return Button(self.r.label("staff.btn.view"), f"st:view:{case.id}")

    def _view_button_ref(self, case: Case) -> Button:
        """查看 with the case's reference, for a list of several cases."""
        return Button(f"{self.r.label('staff.btn.view')} {case.ref}", f"st:view:{case.id}")
