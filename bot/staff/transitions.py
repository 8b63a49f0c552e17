"""Every change staff (and the resident's 回访) make to a case: who may start it
(``RULES``), the text transitions as a table (``TEXT_TRANSITIONS``), and the
transitions with their own shape (claim, expected date, transfer, reopen, rating).
Each one is checked, applied with its status history, audited, and returns the
notices it causes."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.calendar import fmt_when, local_date
from bot.dialog.events import Reply
from bot.domain.cases import OPEN_STATUSES, WORKING, Case
from bot.domain.regions import Area
from bot.staff.permissions import Actor, Outcome
from bot.staff.views import Views
from bot.store.outbox import Outgoing
from bot.store.workflow import Notices

MAX_TEXT_CHARS = 1000
MAX_COMMENT_CHARS = 500
MAX_EXPECTED_DAYS = 366
RATING_CODES = {"s": "satisfied", "b": "basic", "u": "unsatisfied"}


@dataclass(frozen=True)
class Rule:
    """Who may start an action (a check of bot.staff.permissions) and from which
    statuses (None: any)."""

    allowed: str  # covers | may_work | may_route
    statuses: tuple[str, ...] | None = None


# Actions that ask for a text first: checked when the prompt opens, and again (by
# the action itself) when the text arrives.
RULES: dict[str, Rule] = {
    "note": Rule("covers"),
    "reply": Rule("may_work", WORKING),
    "res": Rule("may_work", WORKING),
    "exp": Rule("may_work", WORKING),
    "inv": Rule("may_route", OPEN_STATUSES),
    "xfer": Rule("may_route", OPEN_STATUSES),
    "xr": Rule("may_route", OPEN_STATUSES),  # the transfer's reason
    "ret": Rule("covers", ("transferred",)),  # 退回: the receiving side sends it back
}


@dataclass(frozen=True)
class TextTransition:
    """A staff action that carries a text the resident receives."""

    allowed: str  # covers | may_work | may_route
    to_status: str
    expect_from: tuple[str, ...]
    notice: str  # the kind of staff/resident notice
    note: bool = True  # the text also goes into the status history


TEXT_TRANSITIONS: dict[str, TextTransition] = {
    "reply": TextTransition("may_work", "in_progress", WORKING, "reply", note=False),
    "resolve": TextTransition("may_work", "resolved", WORKING, "resolved"),
    "invalid": TextTransition("may_route", "invalid", OPEN_STATUSES, "invalid"),
}


class Transitions(Views):
    wake: Callable[[], None]  # the outbox sender (StaffService)
    queue_notices = False  # set where the outbox sender runs (bot/telegram/cli.py)

    def allowed(self, rule: str):
        return {"covers": self.covers, "may_work": self.may_work, "may_route": self.may_route}[rule]

    async def post_case(self, case: Case, kind: str = "new") -> list[Reply]:
        """The case's card in its area group (StaffService)."""
        raise NotImplementedError

    async def refresh_cards(self, case: Case) -> None:
        """Edit the case's cards in staff chats (StaffService)."""
        raise NotImplementedError

    def area_words(self, area: Area) -> str:
        """An area as the resident reads it: 巴中市, 成都市武侯区."""
        return "".join(area.parts())

    def tell_resident(self, actor_id: int | None, kind: str, **ctx: Any) -> Notices | None:
        """With an outbox sender running: the resident's notice about a change, built
        from the changed case and queued in the change's own transaction (never the
        change without it). Without one (``sanliang web``, the terminal): None, and
        ``told`` returns the notice with the outcome for the channel to deliver."""
        if not self.queue_notices:
            return None

        def build(case: Case) -> list[Outgoing]:
            notice = self.resident_notice(case, kind, **ctx)
            if notice is None:
                return []
            return [Outgoing(notice, "notice", case_id=case.id, cause=actor_id)]

        return build

    def told(self, out: Outcome, kind: str, **ctx: Any) -> Outcome:
        """After a change: wake the sender for the queued notice, or attach it."""
        case = out.case
        if self.queue_notices:
            out.told = case is not None and case.chat_id is not None
            if out.told:
                self.wake()
        elif case is not None:
            notice = self.resident_notice(case, kind, **ctx)
            if notice:
                out.notices.append(notice)
        return out

    # -- transitions --------------------------------------------------------------

    async def check(self, actor: Actor, case_id: int, action: str) -> Outcome:
        """May ``actor`` start ``action`` on this case now? For prompts that ask for a
        text first; the action itself checks again when the text arrives."""
        rule = RULES[action]
        statuses = rule.statuses
        got = await self._load(actor, case_id, action, self.allowed(rule.allowed))
        case = got.case
        if got.ok and case is not None:
            if (statuses is not None and case.status not in statuses) or case.erased_at is not None:
                return Outcome(False, case, reason="state")
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
        won, current = await self.store.workflow.claim(
            case_id,
            actor.user_id,
            now=self.now(),
            notices=self.tell_resident(actor.user_id, "claimed"),
        )
        if won is None:
            await self.audit(actor, "claim", case_id, detail="lost")
            working = current is not None and current.status in WORKING
            holder = await self.holder_label(current) if current and working else None
            return Outcome(False, current, reason="taken" if holder else "state", holder=holder)
        signed = got.case is not None and got.case.status == "transferred"
        await self.audit(actor, "sign" if signed else "claim", case_id)
        out = self.told(Outcome(True, won, holder=actor.label), "claimed")
        sender = won.transferred_by
        if signed and sender is not None and sender != actor.user_id:
            text = self.r.render("staff/signed", c=self.summary(won), holder=actor.label)
            out.notices.append(Reply(text, [[self._view_button(won)]], chat_id=sender))
        await self.refresh_cards(won)
        return out

    def text_ok(self, text: str, limit: int = MAX_TEXT_CHARS) -> str | None:
        """The text stripped, or None when blank, too long or only punctuation."""
        body = text.strip()
        if not body or len(body) > limit or not any(ch.isalnum() for ch in body):
            return None
        return body

    async def note(self, actor: Actor, case_id: int, text: str) -> Outcome:
        got = await self._load(actor, case_id, "note", self.covers)
        if not got.ok:
            return got
        body = self.text_ok(text)
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
        action: str,
        set_fields: dict[str, Any] | None = None,
    ) -> Outcome:
        """A staff action that carries a text the resident receives (reply, resolve,
        invalid): checked, applied with its status history, audited, and the
        resident's notice attached."""
        step = TEXT_TRANSITIONS[action]
        got = await self._load(actor, case_id, action, self.allowed(step.allowed))
        if not got.ok:
            return got
        body = self.text_ok(text)
        if body is None:
            return Outcome(False, got.case, reason="invalid")
        case = await self.store.workflow.transition(
            case_id,
            step.to_status,
            "staff",
            actor.user_id,
            expect_from=step.expect_from,
            note=body if step.note else None,
            message=body,
            history=step.note,
            set_fields=set_fields,
            now=self.now(),
            notices=self.tell_resident(actor.user_id, step.notice, body=body),
        )
        if case is None:
            return Outcome(False, got.case, reason="state")
        await self.audit(actor, action, case_id)
        out = self.told(Outcome(True, case), step.notice, body=body)
        if got.case is not None and got.case.status != case.status:
            await self.refresh_cards(case)
        return out

    async def reply(self, actor: Actor, case_id: int, text: str) -> Outcome:
        return await self._text_transition(actor, case_id, text, "reply")

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
            note=self.r.label("staff.note.expected", day=fmt_when(day)),
            set_fields={"expected_date": day.isoformat()},
            now=self.now(),
            notices=self.tell_resident(actor.user_id, "expected"),
        )
        if case is None:
            return Outcome(False, got.case, reason="state")
        await self.audit(actor, "expected", case_id)
        return self.told(Outcome(True, case), "expected")

    async def resolve(self, actor: Actor, case_id: int, text: str) -> Outcome:
        fields = {"resolved_at": self.now(), "rating": None, "rated_at": None}
        return await self._text_transition(actor, case_id, text, "resolve", fields)

    async def mark_invalid(self, actor: Actor, case_id: int, text: str) -> Outcome:
        return await self._text_transition(actor, case_id, text, "invalid")

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
            note=self.r.label("staff.note.reopen"),
            set_fields=fields,
            reopen=True,
            now=now,
            notices=self.tell_resident(actor.user_id, "reopened"),
        )
        if done is None:
            return Outcome(False, case, reason="state")
        await self.audit(actor, "reopen", case_id)
        await self.refresh_cards(done)
        out = self.told(Outcome(True, done), "reopened")
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
        if case.first_rating is None:
            # The first rating stays (the report's 满意率 counts it), whatever follows.
            fields.update(first_rating=rating, first_rated_at=now)
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
            note=self.r.label("staff.note.rated", rating=self.r.label(f"staff.rate.{rating}")),
            set_fields=fields,
            reopen=to != "closed",
            now=now,
        )
        if done is None:
            return Outcome(False, case, reason="state")
        await self.refresh_cards(done)
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
        body = self.text_ok(text, MAX_COMMENT_CHARS)
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


def now_key(ts: float) -> str:
    return str(int(ts))
