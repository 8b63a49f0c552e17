"""The staff workflow as plain async Python: who may do what, every transition, the
notices each one sends, and the audit log.

No channel here. A notice is a ``Reply`` addressed to a chat (``Reply.chat_id``): the
turn that caused it returns it (the channel delivers it), and jobs outside any turn
hand it to a ``Notifier``. Permissions are checked here, from the store, on every
call: nothing a button payload says about a case or a role is trusted.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.dialog.events import Button, Reply
from bot.render import mask_phone
from bot.staff.calendar import CHINA_TZ, local_date
from bot.staff.settings import StaffSettings
from bot.store.cases import OPEN_STATUSES, Case
from bot.store.outbox import PRIORITY_NORMAL, PRIORITY_URGENT, Outgoing
from bot.store.staff import Area, Invite, StaffMember
from bot.store.workflow import UNCLAIMED, WORKING

if TYPE_CHECKING:
    from bot.render import Renderer
    from bot.store import Store

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1000
MAX_COMMENT_CHARS = 500
MAX_EXPECTED_DAYS = 366
LIST_LIMIT = 10
RATING_CODES = {"s": "satisfied", "b": "basic", "u": "unsatisfied"}
RATING_WORDS = {"satisfied": "满意", "basic": "基本满意", "unsatisfied": "不满意"}


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: str  # resident | worker | admin
    member: StaffMember | None = None
    area: Area = field(default_factory=Area)

    @property
    def is_staff(self) -> bool:
        return self.role in ("worker", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        return self.member.label if self.member else f"#{self.user_id}"


@dataclass
class Outcome:
    ok: bool
    case: Case | None = None
    reason: str = ""  # forbidden | missing | state | taken | invalid
    notices: list[Reply] = field(default_factory=list)
    holder: str | None = None  # who has the case, when a claim lost


def fmt_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def fmt_day(ts: float | None) -> str:
    """The last day before a deadline (deadlines fall at midnight), as 1月3日."""
    if ts is None:
        return ""
    day = dt.datetime.fromtimestamp(ts - 1, CHINA_TZ).date()
    return f"{day.month}月{day.day}日"


def fmt_date(value: str | dt.date | None) -> str:
    if value is None:
        return ""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日"


class StaffService:
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

    def now(self) -> float:
        return float(self.clock())

    # -- who is asking ----------------------------------------------------------

    async def actor(self, user_id: int) -> Actor:
        if user_id in self.settings.admin_ids:
            return Actor(user_id, "admin", await self.store.staff.member(user_id), Area())
        member = await self.store.staff.member(user_id)
        if member is None:
            return Actor(user_id, "resident")
        area = Area() if member.is_admin else member.area
        return Actor(user_id, member.role, member, area)

    def covers(self, actor: Actor, case: Case) -> bool:
        """The case is in the actor's area (admins: every area)."""
        if actor.is_admin:
            return True
        if actor.role != "worker":
            return False
        return actor.area.covers(
            case.responsible_city, case.responsible_district, case.region_township
        )

    def may_work(self, actor: Actor, case: Case) -> bool:
        """Reply, set the expected date, resolve: the assignee, or an admin."""
        if actor.is_admin:
            return True
        return self.covers(actor, case) and case.assignee_id == actor.user_id

    def may_route(self, actor: Actor, case: Case) -> bool:
        """Transfer or mark invalid: the assignee, any area worker while nobody has
        claimed it, or an admin."""
        return self.may_work(actor, case) or (self.covers(actor, case) and case.status in UNCLAIMED)

    @staticmethod
    def full_phone(actor: Actor, covers: bool, private: bool) -> bool:
        """Full phone numbers only to a worker of the case's area, in a private chat."""
        return private and actor.role == "worker" and covers

    async def audit(
        self,
        actor: Actor,
        action: str,
        case_id: int | None = None,
        allowed: bool = True,
        detail: str | None = None,
    ) -> None:
        await self.store.staff.audit(
            actor.user_id, actor.role, action, case_id, allowed, detail, now=self.now()
        )

    async def refuse(self, actor: Actor, action: str, case_id: int | None) -> Outcome:
        await self.audit(actor, action, case_id, allowed=False)
        return Outcome(False, reason="forbidden")

    async def holder_label(self, case: Case) -> str | None:
        if case.assignee_id is None:
            return None
        member = await self.store.staff.member(case.assignee_id)
        return member.label if member else f"#{case.assignee_id}"

    # -- words ------------------------------------------------------------------

    def category_name(self, category: str) -> str:
        for key in (f"cases.cat.{category}", f"staff.cat.{category}"):
            if self.r.has_label(key):
                return self.r.label(key)
        return category

    def status_name(self, status: str) -> str:
        key = f"staff.status.{status}"
        return self.r.label(key) if self.r.has_label(key) else status

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
            "transferred": case.area != case.region,
            "urgent": case.urgent,
            "phone": mask_phone(case.phone) if case.phone else "",
            "created": fmt_time(case.created_at),
            "due": fmt_time(case.due_at),
            "due_day": fmt_day(case.due_at),
            "overdue": case.is_open and case.due_at is not None and case.due_at < now,
            "expected": fmt_date(case.expected_date) if case.expected_date else "",
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
            due_day=fmt_day(case.due_at),
            expected=fmt_date(case.expected_date) if case.expected_date else "",
            **ctx,
        )
        return Reply(text, buttons, chat_id=case.chat_id)

    def post_buttons(self, case: Case) -> list[list[Button]]:
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

    # -- a new request ------------------------------------------------------------

    async def on_case_created(self, case_id: int) -> list[Reply]:
        """Set the holiday-aware deadline, then post the request to its area's staff
        chat (and privately to the area's workers when urgent). Posting is recorded,
        so a second call, or the sweep job, does not post it twice."""
        case = await self.store.workflow.get(case_id)
        if case is None:
            return []
        deadlines = self.settings.deadlines
        days = deadlines.target_days(case.category, case.urgent, fallback=case.target_days)
        due = deadlines.due_at(case.created_at, days)
        if case.due_at != due or case.target_days != days:
            await self.store.workflow.set_deadline(case.id, days, due)
            case = await self.store.workflow.get(case_id) or case
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
            city = _match_name(city, list(regions))
            if city is None:
                return None
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

    async def revoke(self, actor: Actor, target: int) -> str:
        if not actor.is_admin:
            await self.audit(actor, "revoke", allowed=False)
            return "forbidden"
        if target in self.settings.admin_ids:
            return "config_admin"
        done = await self.store.staff.revoke(target, actor.user_id, now=self.now())
        await self.audit(actor, "revoke", allowed=done, detail=f"target={target}")
        return "ok" if done else "unknown"

    # -- views ------------------------------------------------------------------

    async def view(self, actor: Actor, case_id: int, private: bool) -> tuple[Outcome, bool]:
        """The case for a card, and whether its full phone may be shown. Every view
        is audited; a refused one too."""
        case = await self.store.workflow.get(case_id)
        if case is None:
            return Outcome(False, reason="missing"), False
        covers = self.covers(actor, case)
        if not (covers or (actor.is_staff and case.assignee_id == actor.user_id)):
            return await self.refuse(actor, "view", case_id), False
        full = self.full_phone(actor, covers, private)
        await self.audit(actor, "view", case_id, detail="phone=full" if full else "phone=masked")
        return Outcome(True, case), full

    async def card(self, actor: Actor, case: Case, full_phone: bool) -> dict[str, Any]:
        """Everything about a case for a staff card (already permitted and audited)."""
        c = self.summary(case)
        history = await self.store.cases.history(case.id)
        messages = await self.store.cases.messages(case.id, include_private=True)
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
                    "at": fmt_time(h.at),
                    "to": self.status_name(h.to_status),
                    "from": self.status_name(h.from_status) if h.from_status else "",
                    "by": h.actor_kind,
                    "note": h.note or "",
                }
                for h in history[-8:]
            ],
            messages=[
                {
                    "at": fmt_time(m.at),
                    "by": m.author_kind,
                    "private": m.private,
                    "body": m.body or "",
                }
                for m in messages[-8:]
                if m.body
            ],
        )
        return c

    def card_buttons(self, actor: Actor, case: Case) -> list[list[Button]]:
        def b(key: str, action: str) -> Button:
            return Button(self.r.label(f"staff.btn.{key}"), f"st:{action}:{case.id}")

        rows: list[list[Button]] = []
        if case.status in UNCLAIMED and self.covers(actor, case):
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
        city, district = (None, None) if actor.is_admin else (actor.area.city, actor.area.district)
        wf = self.store.workflow
        if kind == "queue":
            cases = await wf.select(UNCLAIMED, city, district)
        elif kind == "mine":
            cases = await wf.select(WORKING, assignee_id=actor.user_id)
        elif kind == "overdue":
            cases = await wf.select(OPEN_STATUSES, city, district, due_before=self.now())
        else:
            cases = await wf.search(text, city, district, limit=LIST_LIMIT * 3)
        cases = [c for c in cases if self.covers(actor, c) or c.assignee_id == actor.user_id]
        await self.audit(actor, f"list_{kind}", detail=f"n={len(cases)}")
        return cases

    # -- transitions --------------------------------------------------------------

    async def check(self, actor: Actor, case_id: int, action: str) -> Outcome:
        """May ``actor`` start ``action`` on this case now? For prompts that ask for a
        text first; the action itself checks again when the text arrives."""
        rules = {
            "note": (self.covers, None),
            "reply": (self.may_work, WORKING),
            "res": (self.may_work, WORKING),
            "exp": (self.may_work, WORKING),
            "inv": (self.may_route, OPEN_STATUSES),
            "xfer": (self.may_route, OPEN_STATUSES),
        }
        check, statuses = rules[action]
        got = await self._load(actor, case_id, action, check)
        if got.ok and statuses is not None and got.case.status not in statuses:
            return Outcome(False, got.case, reason="state")
        if got.ok and got.case.erased_at is not None:
            return Outcome(False, got.case, reason="state")
        return got

    async def _load(self, actor: Actor, case_id: int, action: str, check) -> Outcome:
        case = await self.store.workflow.get(case_id)
        if case is None:
            return Outcome(False, reason="missing")
        if not check(actor, case):
            return await self.refuse(actor, action, case_id)
        return Outcome(True, case)

    async def claim(self, actor: Actor, case_id: int) -> Outcome:
        got = await self._load(actor, case_id, "claim", self.covers)
        if not got.ok:
            return got
        won, current = await self.store.workflow.claim(case_id, actor.user_id, now=self.now())
        if won is None:
            await self.audit(actor, "claim", case_id, detail="lost")
            working = current is not None and current.status in WORKING
            holder = await self.holder_label(current) if working else None
            return Outcome(False, current, reason="taken" if holder else "state", holder=holder)
        await self.audit(actor, "claim", case_id)
        out = Outcome(True, won, holder=actor.label)
        notice = self.resident_notice(won, "claimed")
        if notice:
            out.notices.append(notice)
        return out

    def _text_ok(self, text: str, limit: int = MAX_TEXT_CHARS) -> str | None:
        body = text.strip()
        if not body or len(body) > limit or not any(ch.isalnum() for ch in body):
            return None
        return body

    async def note(self, actor: Actor, case_id: int, text: str) -> Outcome:
        got = await self._load(actor, case_id, "note", self.covers)
        if not got.ok:
            return got
        body = self._text_ok(text)
        if body is None:
            return Outcome(False, got.case, reason="invalid")
        if not await self.store.workflow.add_note(case_id, actor.user_id, body, now=self.now()):
            return Outcome(False, got.case, reason="state")
        await self.audit(actor, "note", case_id)
        return Outcome(True, await self.store.workflow.get(case_id))

    async def _text_transition(
        self,
        actor: Actor,
        case_id: int,
        text: str,
        *,
        action: str,
        check: Any,
        to_status: str,
        expect_from: tuple[str, ...],
        notice: str,
        note: bool = True,
        set_fields: dict[str, Any] | None = None,
    ) -> Outcome:
        """A staff action that carries a text the resident receives (reply, resolve,
        invalid): checked, applied with its status history, audited, and the
        resident's notice attached."""
        got = await self._load(actor, case_id, action, check)
        if not got.ok:
            return got
        body = self._text_ok(text)
        if body is None:
            return Outcome(False, got.case, reason="invalid")
        case = await self.store.workflow.transition(
            case_id,
            to_status,
            "staff",
            actor.user_id,
            expect_from=expect_from,
            note=body if note else None,
            message=body,
            history=note,
            set_fields=set_fields,
            now=self.now(),
        )
        if case is None:
            return Outcome(False, got.case, reason="state")
        await self.audit(actor, action, case_id)
        out = Outcome(True, case)
        resident = self.resident_notice(case, notice, body=body)
        if resident:
            out.notices.append(resident)
        return out

    async def reply(self, actor: Actor, case_id: int, text: str) -> Outcome:
        return await self._text_transition(
            actor,
            case_id,
            text,
            action="reply",
            check=self.may_work,
            to_status="in_progress",
            expect_from=WORKING,
            notice="reply",
            note=False,
        )

    def parse_expected(self, text: str) -> dt.date | None:
        """2025-01-03, 2025年1月3日, 1月3日, 1-3, 1.3 (this year, or next when past)."""
        raw = text.strip().replace("号", "日")
        today = local_date(self.now())
        m = re.fullmatch(r"(\d{4})\s*[-年./]\s*(\d{1,2})\s*[-月./]\s*(\d{1,2})\s*日?", raw)
        m2 = re.fullmatch(r"(\d{1,2})\s*[-月./]\s*(\d{1,2})\s*日?", raw)
        try:
            if m:
                day = dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            elif m2:
                day = dt.date(today.year, int(m2.group(1)), int(m2.group(2)))
                if day < today:
                    day = dt.date(today.year + 1, day.month, day.day)
            else:
                return None
        except ValueError:
            return None
        if not today <= day <= today + dt.timedelta(days=MAX_EXPECTED_DAYS):
            return None
        return day

    async def set_expected(self, actor: Actor, case_id: int, day: dt.date) -> Outcome:
        got = await self._load(actor, case_id, "expected", self.may_work)
        if not got.ok:
            return got
        case = await self.store.workflow.transition(
            case_id,
            "in_progress",
            "staff",
            actor.user_id,
            expect_from=WORKING,
            note=f"预计办结 {day.isoformat()}",
            set_fields={"expected_date": day.isoformat()},
            now=self.now(),
        )
        if case is None:
            return Outcome(False, got.case, reason="state")
        await self.audit(actor, "expected", case_id)
        out = Outcome(True, case)
        notice = self.resident_notice(case, "expected")
        if notice:
            out.notices.append(notice)
        return out

    async def transfer(
        self, actor: Actor, case_id: int, city: str, district: str | None
    ) -> Outcome:
        got = await self._load(actor, case_id, "transfer", self.may_route)
        if not got.ok:
            return got
        old = got.case
        assert old is not None
        district = district or None
        if (city, district) == (old.responsible_city, old.responsible_district):
            return Outcome(False, old, reason="same")
        case = await self.store.workflow.transition(
            case_id,
            "transferred",
            "staff",
            actor.user_id,
            expect_from=OPEN_STATUSES,
            note=f"从 {old.area} 转到 {city}{('/' + district) if district else ''}",
            set_fields={
                "area_city": city,
                "area_district": district,
                "assignee_id": None,
                "claimed_at": None,
            },
            now=self.now(),
        )
        if case is None:
            return Outcome(False, old, reason="state")
        await self.audit(actor, "transfer", case_id, detail=f"to={city}/{district or '*'}")
        out = Outcome(True, case)
        notice = self.resident_notice(case, "transferred", area=f"{city}{district or ''}")
        if notice:
            out.notices.append(notice)
        out.notices.extend(await self.post_case(case, kind=f"transfer-{now_key(self.now())}"))
        return out

    async def resolve(self, actor: Actor, case_id: int, text: str) -> Outcome:
        return await self._text_transition(
            actor,
            case_id,
            text,
            action="resolve",
            check=self.may_work,
            to_status="resolved",
            expect_from=WORKING,
            notice="resolved",
            set_fields={"resolved_at": self.now(), "rating": None, "rated_at": None},
        )

    async def mark_invalid(self, actor: Actor, case_id: int, text: str) -> Outcome:
        return await self._text_transition(
            actor,
            case_id,
            text,
            action="invalid",
            check=self.may_route,
            to_status="invalid",
            expect_from=OPEN_STATUSES,
            notice="invalid",
        )

    def _reopen_fields(self, case: Case, now: float) -> tuple[str, dict[str, Any]]:
        deadlines = self.settings.deadlines
        due = deadlines.due_at(now, case.target_days)
        fields: dict[str, Any] = {"due_at": due, "resolved_at": None, "expected_date": None}
        to = "in_progress" if case.assignee_id is not None else "new"
        return to, fields

    async def reopen(self, actor: Actor, case_id: int) -> Outcome:
        got = await self._load(actor, case_id, "reopen", self.covers)
        if not got.ok:
            return got
        case = got.case
        assert case is not None
        if case.erased_at is not None:
            return Outcome(False, case, reason="state")
        now = self.now()
        to, fields = self._reopen_fields(case, now)
        if to == "new":
            fields["assignee_id"] = None
        done = await self.store.workflow.transition(
            case_id,
            to,
            "staff",
            actor.user_id,
            expect_from=("resolved", "closed", "invalid"),
            note="重新办理",
            set_fields=fields,
            reopen=True,
            now=now,
        )
        if done is None:
            return Outcome(False, case, reason="state")
        await self.audit(actor, "reopen", case_id)
        out = Outcome(True, done)
        notice = self.resident_notice(done, "reopened")
        if notice:
            out.notices.append(notice)
        if to == "new":
            out.notices.extend(await self.post_case(done, kind=f"reopen-{done.reopen_count}"))
        return out

    # -- 回访 (the resident rates the result) ------------------------------------------

    async def rate(self, user_id: int, case_id: int, code: str) -> Outcome:
        """The resident's rating of a resolved request: 满意 / 基本满意 close it,
        不满意 reopens it with its assignee and a fresh deadline."""
        rating = RATING_CODES.get(code)
        case = await self.store.workflow.get(case_id)
        if rating is None or case is None or case.user_id != user_id:
            return Outcome(False, reason="missing")
        now = self.now()
        fields: dict[str, Any] = {"rating": rating, "rated_at": now}
        if rating == "unsatisfied":
            to, extra = self._reopen_fields(case, now)
            fields.update(extra)
            if to == "new":
                fields["assignee_id"] = None
        else:
            to = "closed"
        done = await self.store.workflow.transition(
            case_id,
            to,
            "resident",
            user_id,
            expect_from=("resolved",),
            note=f"回访：{RATING_WORDS[rating]}",
            set_fields=fields,
            reopen=to != "closed",
            now=now,
        )
        if done is None:
            return Outcome(False, case, reason="state")
        out = Outcome(True, done)
        text = self.r.render("staff/rated", c=self.summary(done), rating=rating, comment="")
        if done.assignee_id is not None:
            out.notices.append(Reply(text, [[self._view_button(done)]], chat_id=done.assignee_id))
        if rating == "unsatisfied":
            chat = self.settings.chat_for(done.responsible_city, done.responsible_district)
            if chat is not None:
                out.notices.append(Reply(text, [[self._view_button(done)]], chat_id=chat))
            if done.status == "new":
                out.notices.extend(await self.post_case(done, kind=f"reopen-{done.reopen_count}"))
        return out

    async def rate_comment(self, user_id: int, case_id: int, text: str) -> Outcome:
        body = self._text_ok(text, MAX_COMMENT_CHARS)
        if body is None:
            return Outcome(False, reason="invalid")
        if not await self.store.workflow.set_rating_comment(case_id, user_id, body, self.now()):
            return Outcome(False, reason="missing")
        case = await self.store.workflow.get(case_id)
        out = Outcome(True, case)
        if case is not None and case.assignee_id is not None:
            # The comment itself stays in the card (private chat, audited view).
            note = self.r.render(
                "staff/rated", c=self.summary(case), rating=case.rating, comment="yes"
            )
            out.notices.append(Reply(note, [[self._view_button(case)]], chat_id=case.assignee_id))
        return out

    def _view_button(self, case: Case) -> Button:
        return Button(self.r.label("staff.btn.view"), f"st:view:{case.id}")

    # -- what residents do elsewhere (hooks of the help-request feature) -------------

    async def on_resident_message(self, case_id: int) -> list[Reply]:
        """A resident added to their request: tell the assignee (or the area chat)."""
        case = await self.store.workflow.get(case_id)
        if case is None:
            return []
        text = self.r.render("staff/resident_event", c=self.summary(case), kind="message")
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


def now_key(ts: float) -> str:
    return str(int(ts))


def _match_name(typed: str, names: list[str]) -> str | None:
    """成都 for 成都市, 武侯 for 武侯区; an exact name always wins."""
    if typed in names:
        return typed
    found = [n for n in names if len(typed) >= 2 and n.startswith(typed)]
    return found[0] if len(found) == 1 else None
