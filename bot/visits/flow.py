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

from bot.calendar import fmt_cn_date, fmt_time, local_date
from bot.dialog.events import Button, Reply
from bot.dialog.flow import Flow, StaleButton, Turn, grid
from bot.staff.cards import staff_actor
from bot.staff.common import parse_id
from bot.staff.permissions import Actor
from bot.store.visits import Task, Visit
from bot.visits.service import MAX_PHOTOS, VisitService
from bot.visits.steps import (
    BY_CODE,
    EDITABLE,
    MAX_OTHER_CHARS,
    STEPS,
    first_unanswered,
    needs,
    path,
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


def status_of(task: Task) -> str:
    return task.status


class VisitFlow(Flow):
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
                "deadline": fmt_cn_date(t.deadline),
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
                cases.append(
                    {"ref": case.ref, "status": turn.r.label(f"staff.status.{case.status}")}
                )
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
            deadline=fmt_cn_date(task.deadline),
            status=task.status,
            assignee=await svc.owner_label(task.assignee_id),
            visited=fmt_time(visit.finished_at) if visit and visit.finished_at else "",
            met=visit.met if visit else "",
            actions=[svc.action_view(a, owners.get(a.owner_id, "")) for a in actions],
            cases=cases,
        )

    # -- the visit -----------------------------------------------------------------------

    async def begin(self, turn: Turn, svc: VisitService, actor: Actor, task: Task) -> None:
        if not svc.may_visit(actor, task):
            await svc.audit(actor, "visit_start", allowed=False, detail=f"task={task.id}")
            turn.say("visits/not_yours", holder=await svc.owner_label(task.assignee_id))
            return
        visit = await svc.repo.visit_of_task(task.id)
        if visit is None:
            visit = await svc.repo.start_visit(task.id, actor.user_id, svc.now())
        if not svc.may_edit(actor, visit):
            turn.say("visits/not_author")
            return
        if visit.finished_at is not None:
            await self.summary(turn, svc, visit, task)
            return
        step = first_unanswered(visit.answers)
        turn.state.enter(self.name, step, {"visit": visit.id, "task": task.id})
        if step == "summary":
            await self.summary(turn, svc, visit, task)
            return
        await self.ask(turn, svc, visit, task, step, resumed=bool(visit.answers))

    async def ask(
        self,
        turn: Turn,
        svc: VisitService,
        visit: Visit,
        task: Task,
        step: str,
        retry: str = "",
        resumed: bool = False,
    ) -> None:
        s = STEPS[step]
        answers = visit.answers
        choices: list[Button] = []
        if step == "policies":
            picked = answers.get("policies") or []
            topics = self.topics(turn)
            for tid, title in list(topics.items())[:MAX_POLICY_BUTTONS]:
                mark = "✅ " if tid in picked else ""
                choices.append(Button(f"{mark}{title}", f"vs:a:{visit.id}:p:{tid}"))
        else:
            picked = answers.get(step) if s.multi else None
            for value in s.choices:
                label = turn.r.label(f"visits.ans.{step}.{value}")
                if s.multi and isinstance(picked, list) and value in picked:
                    label = "✅ " + label
                choices.append(Button(label, f"vs:a:{visit.id}:{s.code}:{value}"))
        rows = grid(choices, s.per_row)
        if s.multi:
            rows.append([turn.button("visits.btn.picked", f"vs:ok:{visit.id}:{s.code}")])
        if step == "extras":
            rows.append([turn.button("visits.btn.summary", f"vs:s:{visit.id}")])
        if step in ("other", "extras"):
            pass
        rows.append([turn.button("visits.btn.later", "vs:cancel")])
        steps = path(answers)
        reply = turn.say(
            "visits/ask",
            rows,
            step=step,
            number=steps.index(step) + 1 if step in steps else len(steps),
            total=len(steps),
            head=task.household.head_name,
            retry=retry,
            resumed=resumed,
            photos=visit.photos,
            located=visit.latitude is not None,
            limit=MAX_OTHER_CHARS,
            photo_kb=svc.settings.photo_max_kb,
        )
        if step == "extras":
            reply.request_location = True

    def topics(self, turn: Turn) -> dict[str, str]:
        knowledge = getattr(turn.content, "knowledge", None)
        topics = getattr(knowledge, "topics", None) or {}
        return {tid: t.title for tid, t in topics.items()}

    async def current(
        self, turn: Turn, svc: VisitService, actor: Actor, visit_id: int
    ) -> tuple[Visit, Task]:
        """The visit this conversation is on, when it is ``visit_id`` and the actor
        may still change it; anything else is a stale or forged button."""
        if turn.state.flow != self.name or turn.state.data.get("visit") != visit_id:
            raise StaleButton(str(visit_id))
        visit = await svc.repo.visit(visit_id)
        if visit is None:
            raise StaleButton(str(visit_id))
        task = await svc.repo.task(visit.task_id)
        if task is None or not svc.may_edit(actor, visit) or not svc.may_visit(actor, task):
            raise StaleButton(str(visit_id))
        return visit, task

    async def on_visit_payload(
        self,
        turn: Turn,
        svc: VisitService,
        actor: Actor,
        kind: str,
        visit_id: int,
        extra: list[str],
    ) -> None:
        if kind in ("s", "e") and turn.state.data.get("visit") != visit_id:
            # 修改 from the card: a submitted visit of this author, today.
            visit = await svc.repo.visit(visit_id)
            task = await svc.repo.task(visit.task_id) if visit else None
            if visit is None or task is None:
                raise StaleButton(str(visit_id))
            if not svc.may_edit(actor, visit) or not svc.may_visit(actor, task):
                await svc.audit(actor, "visit_edit", allowed=False, detail=f"visit={visit_id}")
                turn.say("visits/not_author")
                return
            turn.state.enter(self.name, "summary", {"visit": visit.id, "task": task.id})
        visit, task = await self.current(turn, svc, actor, visit_id)
        if kind == "s":
            if turn.state.step == "extras" and "extras" not in visit.answers:
                # 完成，看汇总 on the photo and location screen answers it.
                await svc.repo.save_answer(visit.id, "extras", True, svc.now())
                fresh = await svc.repo.visit(visit.id)
                assert fresh is not None
                visit = fresh
            turn.state.step = "summary"
            await self.summary(turn, svc, visit, task)
        elif kind == "sub":
            await self.submit(turn, svc, actor, visit, task)
        elif kind == "e":
            step = BY_CODE.get(extra[0])
            if step not in EDITABLE or step not in path(visit.answers):
                raise StaleButton(extra[0])
            turn.state.step = step
            turn.state.data["edit"] = True
            await self.ask(turn, svc, visit, task, step)
        elif kind == "a":
            await self.answer(turn, svc, visit, task, extra[0], extra[1])
        elif kind == "ok":
            step = BY_CODE.get(extra[0])
            if step is None or not STEPS[step].multi or turn.state.step != step:
                raise StaleButton(extra[0])
            if step not in visit.answers:
                await svc.repo.save_answer(visit.id, step, [], svc.now())
            await self.advance(turn, svc, visit.id, task, step)

    async def answer(
        self, turn: Turn, svc: VisitService, visit: Visit, task: Task, code: str, value: str
    ) -> None:
        step = BY_CODE.get(code)
        if step is None or turn.state.step != step or not _VALUE.match(value):
            raise StaleButton(code)
        s = STEPS[step]
        if step == "policies":
            if value not in self.topics(turn):
                raise StaleButton(value)
        elif value not in s.choices:
            raise StaleButton(value)
        now = svc.now()
        if s.multi:
            picked = list(visit.answers.get(step) or [])
            if value == "none":
                picked = ["none"]
            elif value in picked:
                picked.remove(value)
            else:
                picked = [p for p in picked if p != "none"] + [value]
            await svc.repo.save_answer(visit.id, step, picked, now)
            fresh = await svc.repo.visit(visit.id)
            assert fresh is not None
            if value == "none" and step == "hazard":
                await self.advance(turn, svc, visit.id, task, step)
                return
            await self.ask(turn, svc, fresh, task, step)
            turn.replies[-1].edit = True
            return
        await svc.repo.save_answer(visit.id, step, value, now)
        await self.advance(turn, svc, visit.id, task, step)

    async def advance(
        self, turn: Turn, svc: VisitService, visit_id: int, task: Task, step: str
    ) -> None:
        """After an answer: the next step, or back to the summary when correcting."""
        visit = await svc.repo.visit(visit_id)
        assert visit is not None
        if turn.state.data.get("edit"):
            turn.state.data.pop("edit", None)
            nxt = first_unanswered(visit.answers)
            if nxt != "summary" and visit.finished_at is None:
                turn.state.step = nxt
                await self.ask(turn, svc, visit, task, nxt)
                return
            turn.state.step = "summary"
            if visit.finished_at is not None:
                await self.resync(turn, svc, visit, task)
            await self.summary(turn, svc, visit, task)
            return
        nxt = first_unanswered(visit.answers)
        s = STEPS[step]
        following = s.next(visit.answers) if s.next else "summary"
        if nxt == "summary" or following == "summary":
            turn.state.step = "summary" if nxt == "summary" else nxt
        else:
            turn.state.step = nxt
        if turn.state.step == "summary":
            await self.summary(turn, svc, visit, task)
        else:
            await self.ask(turn, svc, visit, task, turn.state.step)

    async def resync(self, turn: Turn, svc: VisitService, visit: Visit, task: Task) -> None:
        created, cancelled = await svc.sync_actions(visit, task)
        if created or cancelled:
            turn.say(
                "visits/actions_changed",
                created=[svc.action_view(a) for a in created],
                cancelled=[svc.action_view(a) for a in cancelled],
            )

    def summary_view(self, turn: Turn, visit: Visit) -> dict[str, Any]:
        answers = visit.answers
        items = []
        for step in path(answers):
            if step in ("extras",):
                continue
            value = answers.get(step)
            if step == "policies":
                topics = self.topics(turn)
                words = "、".join(topics.get(p, p) for p in (value or [])) if value else ""
            elif step == "other" and isinstance(value, str) and value != "none":
                words = value
            elif isinstance(value, list):
                words = "、".join(turn.r.label(f"visits.ans.{step}.{v}") for v in value)
            elif isinstance(value, str):
                words = turn.r.label(f"visits.ans.{step}.{value}")
            else:
                words = ""
            items.append(
                {"step": step, "name": turn.r.label(f"visits.step.{step}"), "answer": words}
            )
        return {
            "rows": items,
            "needs": [turn.r.label(f"visits.action.{k}") for k in needs(answers)],
            "photos": visit.photos,
            "located": visit.latitude is not None,
            "finished": visit.finished_at is not None,
        }

    async def summary(self, turn: Turn, svc: VisitService, visit: Visit, task: Task) -> None:
        missing = first_unanswered(visit.answers)
        rows: list[list[Button]] = []
        if visit.finished_at is None:
            if missing == "summary":
                rows.append([turn.button("visits.btn.submit", f"vs:sub:{visit.id}")])
            else:
                rows.append([turn.button("visits.btn.continue", f"vs:go:{task.id}")])
        edits = [
            Button(turn.r.label(f"visits.step.{s}"), f"vs:e:{visit.id}:{STEPS[s].code}")
            for s in path(visit.answers)
            if s in EDITABLE and s in visit.answers
        ]
        rows += grid(edits, 3)
        rows.append([turn.button("visits.btn.card", f"vs:h:{task.id}")])
        turn.say(
            "visits/summary",
            rows,
            head=task.household.head_name,
            v=self.summary_view(turn, visit),
            complete=missing == "summary",
        )

    async def submit(
        self, turn: Turn, svc: VisitService, actor: Actor, visit: Visit, task: Task
    ) -> None:
        if first_unanswered(visit.answers) != "summary":
            raise StaleButton("incomplete")
        first = visit.finished_at is None
        await svc.repo.finish_visit(visit.id, task.id, svc.now())
        created, _cancelled = await svc.sync_actions(visit, task)
        await svc.audit(actor, "visit_submit", detail=f"visit={visit.id}")
        turn.state.leave()
        owners = {a.owner_id: await svc.owner_label(a.owner_id) for a in created}
        rows = [
            [
                turn.button("visits.btn.plan", f"vs:pl:{task.id}"),
                turn.button("visits.btn.link", f"vs:lk:{task.id}"),
            ],
            [turn.button("visits.btn.list", "vs:l:0")],
        ]
        turn.say(
            "visits/submitted",
            rows,
            head=task.household.head_name,
            first=first,
            actions=[svc.action_view(a, owners.get(a.owner_id, "")) for a in created],
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

    async def on_location(self, turn: Turn) -> None:
        loc = turn.event.location
        visit_id = turn.state.data.get("visit")
        if loc is None or not isinstance(visit_id, int):
            await super().on_location(turn)
            return
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        visit, task = await self.current(turn, svc, actor, visit_id)
        if not (-90 <= loc.latitude <= 90 and -180 <= loc.longitude <= 180):
            raise StaleButton("location")
        await svc.repo.set_location(visit.id, loc.latitude, loc.longitude, svc.now())
        fresh = await svc.repo.visit(visit.id)
        assert fresh is not None
        turn.say("visits/got", what="location")
        await self.ask(turn, svc, fresh, task, turn.state.step or "extras")

    async def on_photo(self, turn: Turn) -> bool:
        photo = turn.event.photo
        visit_id = turn.state.data.get("visit")
        if photo is None or turn.state.flow != self.name or not isinstance(visit_id, int):
            return False
        svc = service_of(turn)
        actor = await svc.actor(turn.user_id)
        visit, task = await self.current(turn, svc, actor, visit_id)
        limit = svc.settings.photo_max_kb
        if photo.size is None or photo.size > limit * 1024:
            turn.say("visits/photo_refused", why="size", limit=limit, most=MAX_PHOTOS)
            return True
        if visit.photos >= MAX_PHOTOS:
            turn.say("visits/photo_refused", why="count", limit=limit, most=MAX_PHOTOS)
            return True
        await svc.repo.add_photo(visit.id, photo.file_id, photo.size, svc.now())
        fresh = await svc.repo.visit(visit.id)
        assert fresh is not None
        turn.say("visits/got", what="photo")
        await self.ask(turn, svc, fresh, task, turn.state.step or "extras")
        return True

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
