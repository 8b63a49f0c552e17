"""The visit record itself, one short screen per step (bot.visits.steps): start or
resume, ask, answer (saved at once), 选好了, the summary, corrections and submit.
``bot.visits.flow.VisitFlow`` routes the payloads here."""

from __future__ import annotations

import re
from typing import Any

from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn, grid
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

MAX_POLICY_BUTTONS = 40
_VALUE = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


class VisitRecord(Flow):
    def service(self, turn: Turn) -> VisitService:
        svc = turn.engine.services.visits
        assert svc is not None, "the visits feature is installed"
        return svc

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

    # -- locations and photos ------------------------------------------------------------

    async def on_location(self, turn: Turn) -> None:
        loc = turn.event.location
        visit_id = turn.state.data.get("visit")
        if loc is None or not isinstance(visit_id, int):
            await super().on_location(turn)
            return
        svc = self.service(turn)
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
        svc = self.service(turn)
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
