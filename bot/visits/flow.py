"""Home visits in the workers' chat (payload prefix ``vs``): /visits (a worker's list
by village, nearest deadline first), the household card, the visit record one short
screen at a time (each answer saved at once), the summary and its corrections, the
actions, the 一人一策 plan and the links to help requests.

Payloads (ids are checked against the store and the conversation every time):
``vs:l:<page>`` the list, ``vs:h:<task>`` a household's card, ``vs:go:<task>`` start
or continue its visit, ``vs:a:<visit>:<step>:<value>`` an answer, ``vs:ok:<visit>:<step>``
选好了 on a multi step, ``vs:s:<visit>`` the summary, ``vs:sub:<visit>`` submit,
``vs:e:<visit>:<step>`` correct a step, ``vs:ad:<action>`` an action done,
``vs:pl:<task>`` the plan, ``vs:pa:<task>`` add a plan item, ``vs:lk:<task>`` link a
help request, ``vs:ra:<task>`` / ``vs:rt:<task>:<user>`` reassign (admins),
``vs:cancel`` drop a step waiting for a text.
"""

from __future__ import annotations

import re
from typing import Any

from bot.calendar import fmt_when, local_date
from bot.dialog.events import Button, Reply
from bot.dialog.flow import StaleButton, Turn
from bot.domain.cases import status_name
from bot.staff.cards import staff_actor
from bot.staff.common import parse_id
from bot.staff.permissions import Actor
from bot.store.visits import Task
from bot.visits.record import VisitRecord
from bot.visits.service import VisitService
from bot.visits.steps import (
    MAX_OTHER_CHARS,
    STEPS,
)

PAGE = 8
MAX_POLICY_BUTTONS = 40
MAX_PLAN_CHARS = 200
_VALUE = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")
_PAGE = re.compile(r"^\d{1,4}$")
_REF = re.compile(r"^[A-Z0-9-]{4,20}$")
# Steps of this flow that wait for a typed text, bound to one task.
TEXT_WAITS = ("other", "plan_add", "link")


def service_of(turn: Turn) -> VisitService:
    svc = getattr(turn.engine.services, "visits", None)
    assert isinstance(svc, VisitService), "the visits feature is installed"
    return svc


class VisitFlow(VisitRecord):
    name = "visits"
    prefix = "vs"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await self.show_list(turn, 0)

    # -- the list --------------------------------------------------------------------

    async def show_list(self, turn: Turn, page: int) -> None:
        actor = await staff_actor(turn)
        if actor is None:
            return
        svc = service_of(turn)
        tasks = await svc.repo.tasks_of(actor.user_id)
        pages = max((len(tasks) + PAGE - 1) // PAGE, 1)
        page = min(page, pages - 1)
        shown = tasks[page * PAGE : (page + 1) * PAGE]
        today = local_date(svc.now())
        groups: list[dict[str, Any]] = []
        for t in shown:
            h = t.household
            head = {
                "campaign": t.campaign,
                "deadline": fmt_when(t.deadline, year=True),
                "days": (fmt_days(t.deadline, today)),
                "village": f"{h.township}{h.village}",
                "people": [],
            }
            if not groups or (groups[-1]["campaign"], groups[-1]["village"]) != (
                head["campaign"],
                head["village"],
            ):
                groups.append(head)
            groups[-1]["people"].append({"name": h.head_name, "status": t.status})
        done = sum(1 for t in tasks if t.status == "done")
        rows = [
            [
                Button(
                    turn.r.label(f"visits.list.{t.status}", name=t.household.head_name),
                    f"vs:h:{t.id}",
                )
            ]
            for t in shown
        ]
        pager = []
        if page > 0:
            pager.append(turn.button("visits.btn.prev", f"vs:l:{page - 1}"))
        if page + 1 < pages:
            pager.append(turn.button("visits.btn.next", f"vs:l:{page + 1}"))
        if pager:
            rows.append(pager)
        turn.say(
            "visits/list",
            rows,
            groups=groups,
            total=len(tasks),
            done=done,
            page=page + 1,
            pages=pages,
            admin=actor.is_admin,
        )

    # -- buttons ---------------------------------------------------------------------

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)  # household data is never shown in a group
        kind, _, args = rest.partition(":")
        parts = args.split(":") if args else []
        shapes = {
            "l": 1,
            "h": 1,
            "go": 1,
            "a": 3,
            "ok": 2,
            "s": 1,
            "sub": 1,
            "e": 2,
            "ad": 1,
            "pl": 1,
            "pa": 1,
            "lk": 1,
            "ra": 1,
            "rt": 2,
            "cancel": 0,
        }
        if kind not in shapes or len(parts) != shapes[kind]:
            raise StaleButton(rest)
        if kind == "l":
            if not _PAGE.match(parts[0]):
                raise StaleButton(rest)
            await self.show_list(turn, int(parts[0]))
            return
        if kind == "cancel":
            waiting = turn.state.flow == self.name and turn.state.step in TEXT_WAITS
            turn.state.leave()
            turn.say("visits/cancelled", waiting=waiting)
            return
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        if not actor.is_staff:
            await svc.audit(actor, f"visit_{kind}", allowed=False)
            turn.say("staff/forbidden")
            return
        target = parse_id(parts[0])
        if kind in ("a", "ok", "s", "sub", "e"):
            await self.on_visit_payload(turn, svc, actor, kind, target, parts[1:])
        elif kind == "ad":
            await self.action_done(turn, svc, actor, target)
        else:
            task = await self.task_for(turn, svc, actor, target, kind)
            if task is None:
                return
            if kind == "h":
                await self.show_card(turn, svc, actor, task)
            elif kind == "go":
                await self.begin(turn, svc, actor, task)
            elif kind == "pl":
                await self.show_plan(turn, svc, task)
            elif kind in ("pa", "lk"):
                step = "plan_add" if kind == "pa" else "link"
                turn.state.enter(self.name, step, {"task": task.id})
                self.ask_text(turn, step, task)
            elif kind == "ra":
                await self.reassign_menu(turn, svc, actor, task)
            elif kind == "rt":
                to = parse_id(parts[1])
                await self.reassign(turn, svc, actor, task, to)

    async def task_for(
        self, turn: Turn, svc: VisitService, actor: Actor, task_id: int, kind: str
    ) -> Task | None:
        task = await svc.repo.task(task_id)
        if task is None:
            raise StaleButton(str(task_id))
        if not svc.covers(actor, task.household):
            await svc.audit(actor, f"visit_{kind}", allowed=False, detail=f"task={task_id}")
            turn.say("staff/forbidden")
            return None
        return task

    # -- the household card --------------------------------------------------------------

    async def show_card(self, turn: Turn, svc: VisitService, actor: Actor, task: Task) -> None:
        if turn.state.flow == self.name and turn.state.data.get("task") != task.id:
            turn.state.leave()  # a step of another household is dropped
        h = task.household
        await svc.audit(actor, "household_view", detail=f"household={h.id}")
        visit = await svc.repo.visit_of_task(task.id)
        actions = await svc.repo.actions_of(h.id)
        cases = []
        for case_id in await svc.repo.linked_cases(h.id):
            case = await svc.store.workflow.get(case_id)
            if case is not None:
                cases.append({"ref": case.ref, "status": status_name(turn.r, case.status)})
        rows: list[list[Button]] = []
        if svc.may_visit(actor, task) and (visit is None or visit.finished_at is None):
            key = "visits.btn.continue" if visit is not None else "visits.btn.start"
            rows.append([turn.button(key, f"vs:go:{task.id}")])
        if visit is not None and visit.finished_at is not None and svc.may_edit(actor, visit):
            rows.append([turn.button("visits.btn.correct", f"vs:s:{visit.id}")])
        rows.append(
            [
                turn.button("visits.btn.plan", f"vs:pl:{task.id}"),
                turn.button("visits.btn.link", f"vs:lk:{task.id}"),
            ]
        )
        for a in actions:
            if a.status == "open":
                rows.append(
                    [
                        turn.button(
                            "visits.btn.action_done",
                            f"vs:ad:{a.id}",
                            title=svc.r.label(f"visits.action.{a.kind}")
                            if a.kind != "plan"
                            else a.need[:20],
                        )
                    ]
                )
        if actor.is_admin:
            rows.append([turn.button("visits.btn.reassign", f"vs:ra:{task.id}")])
        rows.append([turn.button("visits.btn.list", "vs:l:0")])
        owners = {a.owner_id: await svc.owner_label(a.owner_id) for a in actions}
        turn.say(
            "visits/card",
            rows,
            h=svc.household_view(h, full=True),
            campaign=task.campaign,
            deadline=fmt_when(task.deadline, year=True),
            status=task.status,
            assignee=await svc.owner_label(task.assignee_id),
            visited=fmt_when(visit.finished_at, year=True) if visit and visit.finished_at else "",
            met=visit.met if visit else "",
            actions=[svc.action_view(a, owners.get(a.owner_id, "")) for a in actions],
            cases=cases,
        )

    # -- typed texts, locations, photos ------------------------------------------------------

    async def on_text(self, turn: Turn, text: str) -> None:
        step = turn.state.step or ""
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        if not actor.is_staff:
            turn.state.leave()
            await super().on_text(turn, text)
            return
        if step == "other":
            visit_id = turn.state.data.get("visit")
            if not isinstance(visit_id, int):
                turn.state.leave()
                return
            visit, task = await self.current(turn, svc, actor, visit_id)
            body = " ".join(text.split())
            if not body or len(body) > MAX_OTHER_CHARS:
                await self.ask(turn, svc, visit, task, step, retry="long" if body else "blank")
                return
            await svc.repo.save_answer(visit.id, "other", body, svc.now())
            await self.advance(turn, svc, visit.id, task, step)
            return
        if step in ("plan_add", "link"):
            task_id = turn.state.data.get("task")
            bound = await svc.repo.task(task_id) if isinstance(task_id, int) else None
            if bound is None or not svc.covers(actor, bound.household):
                turn.state.leave()
                turn.say("staff/forbidden")
                return
            if step == "plan_add":
                await self.add_plan_item(turn, svc, actor, bound, text)
            else:
                await self.link_case(turn, svc, actor, bound, text)
            return
        visit_id = turn.state.data.get("visit")
        if step in STEPS and isinstance(visit_id, int):
            visit, task = await self.current(turn, svc, actor, visit_id)
            await self.ask(turn, svc, visit, task, step, retry="buttons")
            return
        turn.state.leave()
        await super().on_text(turn, text)

    # -- actions, the plan, links, reassignment ----------------------------------------------------

    async def action_done(
        self, turn: Turn, svc: VisitService, actor: Actor, action_id: int
    ) -> None:
        action = await svc.repo.action(action_id)
        if action is None:
            raise StaleButton(str(action_id))
        h = await svc.may_act(actor, action)
        if h is None:
            await svc.audit(actor, "action_done", allowed=False, detail=f"action={action_id}")
            turn.say("staff/forbidden")
            return
        ok = await svc.repo.set_action_status(action.id, "done", actor.user_id, svc.now())
        await svc.audit(actor, "action_done", detail=f"action={action_id}")
        turn.say(
            "visits/action_done",
            ok=ok,
            a=svc.action_view(action),
            head=h.head_name,
        )

    async def show_plan(self, turn: Turn, svc: VisitService, task: Task) -> None:
        if turn.state.flow == self.name and turn.state.data.get("task") != task.id:
            turn.state.leave()
        actions = await svc.repo.actions_of(task.household.id)
        owners = {a.owner_id: await svc.owner_label(a.owner_id) for a in actions}
        rows = [
            [turn.button("visits.btn.plan_add", f"vs:pa:{task.id}")],
            [turn.button("visits.btn.card", f"vs:h:{task.id}")],
        ]
        turn.say(
            "visits/plan",
            rows,
            head=task.household.head_name,
            plan=task.household.plan,
            items=[svc.action_view(a, owners.get(a.owner_id, "")) for a in actions],
        )

    def ask_text(self, turn: Turn, step: str, task: Task, retry: str = "") -> None:
        rows = [[turn.button("visits.btn.cancel", "vs:cancel")]]
        turn.say(
            "visits/ask_text",
            rows,
            step=step,
            head=task.household.head_name,
            retry=retry,
            limit=MAX_PLAN_CHARS,
        )

    async def add_plan_item(
        self, turn: Turn, svc: VisitService, actor: Actor, task: Task, text: str
    ) -> None:
        body = " ".join(text.split())
        parts = re.split(r"[；;：:]", body, maxsplit=1)
        need = parts[0].strip()
        measure = parts[1].strip() if len(parts) > 1 else ""
        if not need or len(body) > MAX_PLAN_CHARS:
            self.ask_text(turn, "plan_add", task, retry="long" if need else "blank")
            return
        now = svc.now()
        await svc.repo.set_plan(task.household.id, now)
        await svc.repo.add_action(
            task.household.id,
            None,
            "plan",
            actor.user_id,
            svc.due_date("plan"),
            actor.user_id,
            now,
            need=need,
            measure=measure,
        )
        await svc.audit(actor, "plan_add", detail=f"household={task.household.id}")
        turn.state.leave()
        fresh = await svc.repo.task(task.id)
        assert fresh is not None
        await self.show_plan(turn, svc, fresh)

    async def link_case(
        self, turn: Turn, svc: VisitService, actor: Actor, task: Task, text: str
    ) -> None:
        ref = text.strip().upper()
        case = await svc.store.workflow.get_by_ref(ref) if _REF.match(ref) else None
        if case is None:
            self.ask_text(turn, "link", task, retry="unknown")
            return
        staff = svc.staff
        if not staff.covers(actor, case):
            await svc.audit(actor, "household_link", allowed=False, detail=f"case={case.id}")
            self.ask_text(turn, "link", task, retry="area")
            return
        await svc.repo.link_case(task.household.id, case.id, actor.user_id, svc.now())
        await svc.audit(actor, "household_link", detail=f"household={task.household.id}")
        turn.state.leave()
        await self.show_card(turn, svc, actor, task)

    async def reassign_menu(self, turn: Turn, svc: VisitService, actor: Actor, task: Task) -> None:
        if not actor.is_admin:
            await svc.audit(actor, "visit_reassign", allowed=False, detail=f"task={task.id}")
            turn.say("staff/admin_only")
            return
        h = task.household
        workers = await svc.store.staff.workers_covering(h.city, h.district, h.township)
        rows = [[Button(m.label, f"vs:rt:{task.id}:{m.user_id}")] for m in workers[:20]]
        rows.append([turn.button("visits.btn.card", f"vs:h:{task.id}")])
        turn.say("visits/reassign", rows, head=h.head_name, any=bool(workers))

    async def reassign(
        self, turn: Turn, svc: VisitService, actor: Actor, task: Task, to: int
    ) -> None:
        result = await svc.reassign(actor, task, to)
        if result == "not_covering":
            raise StaleButton(str(to))  # not a worker we offered
        if result == "forbidden":
            turn.say("staff/admin_only")
            return
        turn.say("visits/reassigned", head=task.household.head_name, to=await svc.owner_label(to))
        turn.add(
            Reply(
                turn.text(
                    "visits/assigned_you", head=task.household.head_name, campaign=task.campaign
                ),
                [[turn.button("visits.btn.open", f"vs:h:{task.id}")]],
                chat_id=to,
            )
        )


def fmt_days(deadline: str, today: Any) -> int:
    import datetime as dt

    return (dt.date.fromisoformat(deadline) - today).days
