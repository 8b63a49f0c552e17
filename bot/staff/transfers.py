"""Transfers between areas (#14 point 3): to exactly a 市州, a 区县 or a 乡镇/街道,
with a reason; the receiving side signs (签收, a claim of a transferred case:
``Transitions.claim``) or sends it back (退回, with a reason)."""

from __future__ import annotations

from bot.dialog.events import Reply
from bot.domain.cases import OPEN_STATUSES
from bot.domain.regions import Area
from bot.staff.permissions import Actor, Outcome
from bot.staff.transitions import MAX_COMMENT_CHARS, Transitions, now_key


class Transfers(Transitions):
    async def transfer(self, actor: Actor, case_id: int, target: Area, reason: str) -> Outcome:
        """Move the case to exactly ``target`` (a whole 市州, a 区县 or a 乡镇/街道),
        with a reason: unclaimed there (待签收), the old cards edited, a new card in
        the target's staff chat, the resident told. The sender keeps read access
        (``Views.view``) and hears when it is signed or sent back."""
        got = await self._load(actor, case_id, "transfer", self.may_route)
        if not got.ok:
            return got
        old = got.case
        assert old is not None
        source = old.responsible
        if target == source or target.city is None:
            return Outcome(False, old, reason="same")
        body = self.text_ok(reason, MAX_COMMENT_CHARS)
        if body is None:
            return Outcome(False, old, reason="invalid")
        case = await self.store.workflow.transition(
            case_id,
            "transferred",
            "staff",
            actor.user_id,
            expect_from=OPEN_STATUSES,
            note=self.r.label("staff.note.transfer", old=str(source), new=str(target), reason=body),
            set_fields={
                "area_city": target.city,
                "area_district": target.district,
                "area_township": target.township,
                "from_city": source.city,
                "from_district": source.district,
                "from_township": source.township,
                "transferred_by": actor.user_id,
                "assignee_id": None,
                "claimed_at": None,
            },
            now=self.now(),
            notices=self.tell_resident(actor.user_id, "transferred", area=self.area_words(target)),
        )
        if case is None:
            return Outcome(False, old, reason="state")
        await self.audit(actor, "transfer", case_id, detail=f"level={target.level}")
        out = self.told(Outcome(True, case), "transferred", area=self.area_words(target))
        await self.refresh_cards(case)  # before the new card: that one is not edited
        out.notices.extend(await self.post_case(case, kind=f"transfer-{now_key(self.now())}"))
        return out

    async def send_back(self, actor: Actor, case_id: int, reason: str) -> Outcome:
        """退回: the receiving side refuses a transfer, with a reason. The case goes
        back to the area it came from — to the worker who sent it when they still
        work there, else to that area's queue — and the sender and the resident
        are told."""
        got = await self._load(actor, case_id, "return", self.covers)
        if not got.ok:
            return got
        case = got.case
        assert case is not None
        source = case.transferred_from
        if case.status != "transferred" or source is None or case.erased_at is not None:
            return Outcome(False, case, reason="state")
        body = self.text_ok(reason, MAX_COMMENT_CHARS)
        if body is None:
            return Outcome(False, case, reason="invalid")
        now = self.now()
        sender = await self.actor(case.transferred_by) if case.transferred_by else None
        back_to = None
        if sender is not None and sender.role == "worker":
            if sender.area.covers(source.city, source.district, source.township):
                back_to = sender.user_id
        done = await self.store.workflow.transition(
            case_id,
            "claimed" if back_to is not None else "new",
            "staff",
            actor.user_id,
            expect_from=("transferred",),
            note=self.r.label(
                "staff.note.returned", old=str(case.responsible), new=str(source), reason=body
            ),
            set_fields={
                "area_city": source.city,
                "area_district": source.district,
                "area_township": source.township,
                "from_city": None,
                "from_district": None,
                "from_township": None,
                "assignee_id": back_to,
                "claimed_at": now if back_to is not None else None,
            },
            now=now,
            notices=self.tell_resident(actor.user_id, "returned", area=self.area_words(source)),
        )
        if done is None:
            return Outcome(False, case, reason="state")
        await self.audit(actor, "return", case_id)
        out = self.told(Outcome(True, done), "returned", area=self.area_words(source))
        if case.transferred_by is not None and case.transferred_by != actor.user_id:
            text = self.r.render(
                "staff/returned", c=self.summary(done), reason=body, yours=back_to is not None
            )
            out.notices.append(
                Reply(text, [[self._view_button(done)]], chat_id=case.transferred_by)
            )
        await self.refresh_cards(done)
        if back_to is None:
            out.notices.extend(await self.post_case(done, kind=f"return-{now_key(now)}"))
        return out
