"""Supervision (the service; the chat is bot.staff.supervision_flow): admins, and area leads in their
own area, see every open request with its workload (/open, /workload), reassign
(改派), release a claim (退回待接手), decide deadline extensions (延期) the
assignee asked for with a reason, and, when ``[staff] invalid_needs_check`` is on,
agree (or not) to another worker's 无法受理 before it takes effect. Workers log
their phone contacts on a case (联系记录). Admins make a worker an area lead with
``/lead``.

Payloads: ``sv:ra:<case>`` (pick the new assignee), ``sv:rw:<case>:<user>``,
``sv:rel:<case>``, ``sv:ext:<case>`` (pick the days), ``sv:exd:<case>:<days>`` (then
the reason is typed: the staff text step ``ext``), ``sv:ok:<request>`` /
``sv:no:<request>`` (decide an extension or a check), ``sv:co:<case>`` (the outcome of
a call), ``sv:cw:<case>:<outcome>`` (when), ``sv:ct:<case>:<outcome>:<minutes ago>``.
Everything a payload names is checked against the store again.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.calendar import add_working_days, fmt_when, local_date, start_of_day
from bot.dialog.events import Button, Reply
from bot.domain.cases import OPEN_STATUSES, UNCLAIMED, WORKING, Case
from bot.staff.jobs import supervisors_of
from bot.staff.permissions import Actor, Outcome
from bot.store.outbox import Outgoing
from bot.store.supervision import CONTACT_OUTCOMES, CaseRequest

if TYPE_CHECKING:
    from bot.staff.service import StaffService

EXTENSION_CHOICES = (1, 2, 3, 5, 10)  # working days
CONTACT_AGO = (0, 30, 60, 120, 240)  # minutes
MAX_REASON_CHARS = 500
OPEN_LIMIT = 15
OUTCOME_CODES = {"r": "reached", "n": "no_answer", "w": "wrong_number", "b": "call_back"}
assert set(OUTCOME_CODES.values()) == set(CONTACT_OUTCOMES)


# -- who supervises ------------------------------------------------------------------


async def is_lead(svc: StaffService, actor: Actor) -> bool:
    return actor.role == "worker" and actor.user_id in await svc.store.supervision.leads()


async def supervises(svc: StaffService, actor: Actor, case: Case | None = None) -> bool:
    """Admins supervise every area; a lead their own (``case``: this one)."""
    if actor.is_admin:
        return True
    if not await is_lead(svc, actor):
        return False
    return case is None or svc.covers(actor, case)


async def _names(svc: StaffService) -> dict[int, str]:
    return {m.user_id: m.label for m in await svc.store.staff.members(include_revoked=True)}


# -- what supervisors see -------------------------------------------------------------


async def open_cases(svc: StaffService, actor: Actor) -> list[Case]:
    cases = await svc.store.workflow.select(OPEN_STATUSES)
    if not actor.is_admin:
        cases = [c for c in cases if svc.covers(actor, c)]
    now = svc.now()
    # Overdue first, then by deadline.
    return sorted(
        cases,
        key=lambda c: (not (c.due_at is not None and c.due_at <= now), c.due_at or 0, c.id),
    )


@dataclass
class Workload:
    rows: list[dict[str, Any]] = field(default_factory=list)
    waiting: int = 0
    waiting_overdue: int = 0
    total: int = 0


async def workload(svc: StaffService, actor: Actor) -> Workload:
    cases = await open_cases(svc, actor)
    now = svc.now()
    names = await _names(svc)
    held: Counter[int] = Counter()
    late: Counter[int] = Counter()
    out = Workload(total=len(cases))
    for c in cases:
        overdue = c.due_at is not None and c.due_at <= now
        if c.status in UNCLAIMED or c.assignee_id is None:
            out.waiting += 1
            out.waiting_overdue += overdue
            continue
        held[c.assignee_id] += 1
        late[c.assignee_id] += overdue
    workers = [
        m
        for m in await svc.store.staff.members()
        if m.role == "worker"
        and (actor.is_admin or actor.area.covers(m.area.city, m.area.district, m.area.township))
    ]
    ids = list(dict.fromkeys([m.user_id for m in workers] + list(held)))
    out.rows = sorted(
        (
            {"name": names.get(uid, f"#{uid}"), "held": held[uid], "overdue": late[uid]}
            for uid in ids
        ),
        key=lambda r: (-r["overdue"], -r["held"], r["name"]),
    )
    return out


# -- 改派 and 退回待接手 ------------------------------------------------------------------


async def _supervised(svc: StaffService, actor: Actor, case_id: int, action: str) -> Outcome:
    case = await svc.store.workflow.get(case_id)
    if case is None:
        return Outcome(False, reason="missing")
    if not await supervises(svc, actor, case):
        return await svc.refuse(actor, action, case_id)
    if case.status not in OPEN_STATUSES or case.erased_at is not None:
        return Outcome(False, case, reason="state")
    return Outcome(True, case)


async def candidates(svc: StaffService, case: Case) -> list[Any]:
    """Active workers who cover the case's area, the current assignee aside."""
    workers = await svc.store.staff.workers_covering(
        case.responsible_city, case.responsible_district, case.region_township
    )
    return [w for w in workers if w.user_id != case.assignee_id]


def _card_button(svc: StaffService, case_id: int) -> list[list[Button]]:
    return [[Button(svc.r.label("staff.btn.view"), f"st:view:{case_id}")]]


async def reassign(svc: StaffService, actor: Actor, case_id: int, to_user: int) -> Outcome:
    got = await _supervised(svc, actor, case_id, "reassign")
    if not got.ok or got.case is None:
        return got
    case = got.case
    if to_user not in {w.user_id for w in await candidates(svc, case)}:
        return Outcome(False, case, reason="state")
    now = svc.now()
    names = await _names(svc)
    old = case.assignee_id
    fields: dict[str, Any] = {"assignee_id": to_user, "claimed_at": now}
    if case.first_claimed_at is None:
        fields["first_claimed_at"] = now
    done = await svc.store.workflow.transition(
        case.id,
        "claimed" if case.status in UNCLAIMED else case.status,
        "staff",
        actor.user_id,
        expect_from=(case.status,),
        note=svc.r.label(
            "staff.note.reassigned",
            old=names.get(old, f"#{old}") if old else "",
            new=names.get(to_user, f"#{to_user}"),
        ),
        set_fields=fields,
        now=now,
    )
    if done is None:
        return Outcome(False, case, reason="state")
    await svc.audit(actor, "reassign", case.id, detail=f"to={to_user} from={old or '-'}")
    await svc.refresh_cards(done)  # the cards in the staff chats show the new holder
    out = Outcome(True, done, holder=names.get(to_user, f"#{to_user}"))
    c = svc.summary(done)
    text = svc.r.render("staff/supervised", kind="reassigned_you", c=c, by=actor.label)
    out.notices.append(Reply(text, _card_button(svc, done.id), chat_id=to_user))
    if old is not None and old != actor.user_id:
        text = svc.r.render("staff/supervised", kind="taken_from_you", c=c, by=actor.label)
        out.notices.append(Reply(text, chat_id=old))
    return out


async def release(svc: StaffService, actor: Actor, case_id: int) -> Outcome:
    """Back to the area's queue, posted again in its group; the assignee is told."""
    got = await _supervised(svc, actor, case_id, "release")
    if not got.ok or got.case is None:
        return got
    case = got.case
    if case.status not in WORKING or case.assignee_id is None:
        return Outcome(False, case, reason="state")
    now = svc.now()
    old = case.assignee_id
    done = await svc.store.workflow.transition(
        case.id,
        "new",
        "staff",
        actor.user_id,
        expect_from=WORKING,
        expect_assignee=old,
        note=svc.r.label("staff.note.released"),
        set_fields={"assignee_id": None, "claimed_at": None},
        now=now,
    )
    if done is None:
        return Outcome(False, case, reason="state")
    await svc.audit(actor, "release", case.id, detail=f"from={old}")
    out = Outcome(True, done)
    await svc.refresh_cards(done)  # before the new card: that one is not edited
    await svc.post_case(done, kind=f"release-{int(now)}")
    if old != actor.user_id:
        text = svc.r.render(
            "staff/supervised", kind="released_you", c=svc.summary(done), by=actor.label
        )
        out.notices.append(Reply(text, chat_id=old))
    return out


# -- requests that wait for a second person -----------------------------------------------


async def _ask_deciders(
    svc: StaffService, case: Case, req: CaseRequest, by: Actor, extra: list[int] | None = None
) -> int:
    """Queue the request privately for those who decide it (never the requester)."""
    found = [*await supervisors_of(svc, case), *(extra or [])]
    targets = [t for t in dict.fromkeys(found) if t != by.user_id]
    text = svc.r.render(
        "staff/request",
        kind=req.kind,
        c=svc.summary(case),
        who=by.label,
        reason=req.reason or "",
        days=req.days or 0,
        new_due=fmt_when(_extended_due(svc, case, req.days or 0), deadline=True, now=svc.now())
        if req.kind == "extend"
        else "",
    )
    rows = [
        [
            Button(svc.r.label(f"staff.btn.{req.kind}_yes"), f"sv:ok:{req.id}"),
            Button(svc.r.label(f"staff.btn.{req.kind}_no"), f"sv:no:{req.id}"),
        ],
        [Button(svc.r.label("staff.btn.view"), f"st:view:{case.id}")],
    ]
    items = [
        Outgoing(
            Reply(text, rows),
            f"request_{req.kind}",
            recipient=t,
            dedup=f"req:{req.id}:{t}",
            case_id=case.id,
            cause=by.user_id,
        )
        for t in targets
    ]
    if items:
        await svc.store.outbox.enqueue(items, now=svc.now())
        svc.wake()
    return len(items)


def _extended_due(svc: StaffService, case: Case, days: int) -> float:
    """The deadline ``days`` working days after the current one."""
    cal = svc.settings.deadlines.calendar
    base = case.due_at if case.due_at is not None else svc.now()
    last = add_working_days(cal, local_date(base - 1), days)
    return start_of_day(last + dt.timedelta(days=1))


async def request_extension(
    svc: StaffService, actor: Actor, case_id: int, text: str, data: dict[str, Any]
) -> Outcome:
    """The staff text step ``ext``: the assignee's reason for ``data['days']`` more."""
    days = data.get("days")
    case = await svc.store.workflow.get(case_id)
    if case is None:
        return Outcome(False, reason="missing")
    if not (actor.is_staff and case.assignee_id == actor.user_id and svc.covers(actor, case)):
        if not actor.is_admin:
            return await svc.refuse(actor, "extend", case_id)
    if days not in EXTENSION_CHOICES or case.status not in WORKING:
        return Outcome(False, case, reason="state")
    reason = svc.text_ok(text, MAX_REASON_CHARS)
    if reason is None:
        return Outcome(False, case, reason="invalid")
    req = await svc.store.supervision.open_request(
        case.id, "extend", actor.user_id, reason, days=int(days), now=svc.now()
    )
    if req is None:
        return Outcome(False, case, reason="pending", kind="ext_pending")
    await svc.audit(actor, "extend_request", case.id, detail=f"days={days}")
    asked = await _ask_deciders(svc, case, req, actor)
    return Outcome(True, case, kind="ext_asked" if asked else "ext_nobody")


async def mark_invalid_or_ask(svc: StaffService, actor: Actor, case_id: int, text: str) -> Outcome:
    """The 无法受理 step: at once, or (``invalid_needs_check``) once a second person agrees."""
    if not svc.settings.invalid_needs_check:
        return await svc.mark_invalid(actor, case_id, text)
    got = await svc.check(actor, case_id, "inv")
    if not got.ok or got.case is None:
        return got
    case = got.case
    reason = svc.text_ok(text)
    if reason is None:
        return Outcome(False, case, reason="invalid")
    req = await svc.store.supervision.open_request(
        case.id, "invalid", actor.user_id, reason, now=svc.now()
    )
    if req is None:
        return Outcome(False, case, reason="pending", kind="inv_pending")
    await svc.audit(actor, "invalid_request", case.id)
    # A colleague of the area may check it too, not only the supervisors.
    colleagues = [
        w.user_id
        for w in await svc.store.staff.workers_covering(
            case.responsible_city, case.responsible_district, case.region_township
        )
    ]
    asked = await _ask_deciders(svc, case, req, actor, colleagues)
    return Outcome(True, case, kind="inv_asked" if asked else "inv_nobody")


async def decide(svc: StaffService, actor: Actor, request_id: int, approve: bool) -> Outcome:
    """批准/不批准 an extension (supervisors), 同意/不同意 a 无法受理 (a second person
    who covers the case). Decided once; the requester is told either way."""
    req = await svc.store.supervision.request(request_id)
    if req is None:
        return Outcome(False, reason="missing")
    case = await svc.store.workflow.get(req.case_id)
    if case is None:
        return Outcome(False, reason="missing")
    if req.kind == "extend":
        allowed = await supervises(svc, actor, case)
    else:
        allowed = actor.is_staff and (await supervises(svc, actor, case) or svc.covers(actor, case))
    if not allowed or actor.user_id == req.requested_by:
        return await svc.refuse(actor, f"decide_{req.kind}", case.id)
    if req.status != "pending":
        return Outcome(False, case, reason="decided", kind=req.status)
    now = svc.now()
    # An extension is for the worker who asked, while they still have the case.
    moved = req.kind == "extend" and (
        case.assignee_id != req.requested_by or case.status not in WORKING
    )
    if not approve or case.status not in OPEN_STATUSES or moved:
        status = "refused" if approve is False else "void"
        if not await svc.store.supervision.decide(req.id, status, actor.user_id, now=now):
            return Outcome(False, case, reason="decided")
        await svc.audit(actor, f"decide_{req.kind}", case.id, detail=status)
        out = Outcome(True, case, kind=f"{req.kind}_{status}")
        text = svc.r.render(
            "staff/supervised", kind=f"{req.kind}_{status}", c=svc.summary(case), by=actor.label
        )
        out.notices.append(Reply(text, _card_button(svc, case.id), chat_id=req.requested_by))
        return out
    if not await svc.store.supervision.decide(req.id, "approved", actor.user_id, now=now):
        return Outcome(False, case, reason="decided")
    await svc.audit(actor, f"decide_{req.kind}", case.id, detail="approved")
    if req.kind == "extend":
        return await _extend(svc, actor, case, req)
    requester = await svc.actor(req.requested_by)
    done = await svc.mark_invalid(requester, case.id, req.reason or "")
    if not done.ok or done.case is None:
        return Outcome(False, case, reason="state")
    # The history names the second person too.
    await svc.store.workflow.transition(
        case.id,
        "invalid",
        "staff",
        actor.user_id,
        expect_from=("invalid",),
        note=svc.r.label("staff.note.checked"),
        now=now,
    )
    out = Outcome(True, done.case, kind="invalid_approved", notices=list(done.notices))
    text = svc.r.render(
        "staff/supervised", kind="invalid_approved", c=svc.summary(done.case), by=actor.label
    )
    out.notices.append(Reply(text, chat_id=req.requested_by))
    return out


async def _extend(svc: StaffService, actor: Actor, case: Case, req: CaseRequest) -> Outcome:
    days = req.days or 0
    new_due = _extended_due(svc, case, days)
    done = await svc.store.workflow.transition(
        case.id,
        case.status,
        "staff",
        actor.user_id,
        expect_from=(case.status,),
        note=svc.r.label(
            "staff.note.extended", days=days, due=fmt_when(new_due, deadline=True, now=svc.now())
        ),
        set_fields={"due_at": new_due, "target_days": case.target_days + days},
        now=svc.now(),
        notices=svc.tell_resident(actor.user_id, "extended"),
    )
    if done is None:
        return Outcome(False, case, reason="state")
    out = svc.told(Outcome(True, done, kind="extend_approved"), "extended")
    c = svc.summary(done)
    text = svc.r.render("staff/supervised", kind="extend_approved", c=c, by=actor.label)
    out.notices.append(Reply(text, _card_button(svc, done.id), chat_id=req.requested_by))
    await svc.refresh_cards(done)  # the new deadline on the cards
    return out


# -- 联系记录 ----------------------------------------------------------------------------


async def log_contact(
    svc: StaffService, actor: Actor, case_id: int, outcome: str, minutes_ago: int
) -> Outcome:
    case = await svc.store.workflow.get(case_id)
    if case is None:
        return Outcome(False, reason="missing")
    if not (svc.covers(actor, case) or (actor.is_staff and case.assignee_id == actor.user_id)):
        return await svc.refuse(actor, "contact", case_id)
    if case.erased_at is not None:
        return Outcome(False, case, reason="state")
    now = svc.now()
    await svc.store.supervision.add_contact(
        case.id, actor.user_id, outcome, now - minutes_ago * 60, now=now
    )
    await svc.audit(actor, "contact", case.id, detail=outcome)
    return Outcome(True, case, kind="contact")
