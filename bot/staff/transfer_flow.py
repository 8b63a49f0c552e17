"""The staff flow's transfer steps (市州 → 区县 → 乡镇/街道 → the reason) and the way
a case action's result is shown; ``bot.staff.flow.StaffFlow`` builds on them."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.dialog.events import Button, Reply
from bot.dialog.flow import Flow, StaleButton, Turn, grid
from bot.domain.cases import Case
from bot.domain.regions import Area
from bot.staff.common import INDEX, private, regions_of
from bot.staff.permissions import Actor, Outcome
from bot.staff.service import StaffService
from bot.staff.transitions import MAX_TEXT_CHARS

# The transfer's reason: its target area waits in the state with it.
REASON = "xr"


class CaseSteps(Flow):
    name = "staff"

    async def prompt_text(
        self,
        turn: Turn,
        svc: StaffService,
        case: Case,
        action: str,
        retry: str = "",
        target: str = "",
    ) -> None:
        """Ask for an action's text (``StaffFlow``)."""
        raise NotImplementedError

    # -- transfer --------------------------------------------------------------------

    async def transfer_cities(self, turn: Turn, svc: StaffService, actor: Actor, case_id: int):
        out = await svc.check(actor, case_id, "xfer")
        if not await self.allowed(turn, svc, out) or out.case is None:
            return
        regions = regions_of(turn)
        buttons = [
            Button(city, f"st:xc:{case_id}:{i}") for i, city in enumerate(regions) if i < 100
        ]
        rows = grid(buttons, 3) + [[turn.button("staff.btn.cancel", "st:cancel")]]
        private(
            turn, Reply(turn.text("staff/ask_transfer", c=svc.summary(out.case), city=""), rows)
        )

    async def transfer_districts(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, raw: str
    ) -> None:
        regions = regions_of(turn)
        cities = list(regions)
        if not INDEX.match(raw) or int(raw) >= len(cities):
            raise StaleButton(raw)
        out = await svc.check(actor, case_id, "xfer")
        if not await self.allowed(turn, svc, out) or out.case is None:
            return
        ci = int(raw)
        city = cities[ci]
        buttons = [
            Button(d, f"st:xd:{case_id}:{ci}:{di}")
            for di, d in enumerate(regions[city])
            if di < 100
        ]
        rows = [
            [
                Button(
                    turn.r.label("staff.transfer.whole_city", city=city), f"st:xd:{case_id}:{ci}:a"
                )
            ]
        ]
        rows += grid(buttons, 3)
        rows.append([turn.button("staff.btn.back", f"st:xfer:{case_id}")])
        reply = Reply(turn.text("staff/ask_transfer", c=svc.summary(out.case), city=city), rows)
        reply.edit = not turn.event.is_group
        private(turn, reply)

    def _city_district(self, turn: Turn, raw_c: str, raw_d: str) -> tuple[str, str | None]:
        """The 市州 and 区县 (None: 'a', the whole 市州) a picker button names."""
        regions = regions_of(turn)
        cities = list(regions)
        if not INDEX.match(raw_c) or int(raw_c) >= len(cities):
            raise StaleButton(raw_c)
        city = cities[int(raw_c)]
        if raw_d == "a":
            return city, None
        if INDEX.match(raw_d) and int(raw_d) < len(regions[city]):
            return city, regions[city][int(raw_d)]
        raise StaleButton(raw_d)

    async def townships(self, svc: StaffService, city: str, district: str) -> list[str]:
        """Transfer targets below a 区县: 乡镇/街道 with a worker or a staff group of
        their own (regions.yml lists no townships, so no other is offered)."""
        found = await svc.store.staff.townships(city, district)
        found += svc.settings.townships_with_chats(city, district)
        return sorted(set(found))[:30]

    async def transfer_townships(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, raw_c: str, raw_d: str
    ) -> None:
        city, district = self._city_district(turn, raw_c, raw_d)
        if district is None:
            await self.ask_reason(turn, svc, actor, case_id, Area(city))
            return
        names = await self.townships(svc, city, district)
        if not names:
            await self.ask_reason(turn, svc, actor, case_id, Area(city, district))
            return
        out = await svc.check(actor, case_id, "xfer")
        if not await self.allowed(turn, svc, out) or out.case is None:
            return
        whole = turn.r.label("staff.transfer.whole_district", district=district)
        rows = [[Button(whole, f"st:xt:{case_id}:{raw_c}:{raw_d}:a")]]
        rows += grid([Button(n, f"st:xt:{case_id}:{raw_c}:{raw_d}:{_key(n)}") for n in names], 2)
        rows.append([turn.button("staff.btn.back", f"st:xc:{case_id}:{raw_c}")])
        text = turn.text(
            "staff/ask_transfer", c=svc.summary(out.case), city=city, district=district
        )
        reply = Reply(text, rows)
        reply.edit = not turn.event.is_group
        private(turn, reply)

    async def transfer_pick(
        self,
        turn: Turn,
        svc: StaffService,
        actor: Actor,
        case_id: int,
        raw_c: str,
        raw_d: str,
        raw_t: str,
    ) -> None:
        city, district = self._city_district(turn, raw_c, raw_d)
        if district is None:
            raise StaleButton(raw_d)
        township = None
        if raw_t != "a":
            found = [n for n in await self.townships(svc, city, district) if _key(n) == raw_t]
            if not found:
                raise StaleButton(raw_t)
            township = found[0]
        await self.ask_reason(turn, svc, actor, case_id, Area(city, district, township))

    async def ask_reason(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, target: Area
    ) -> None:
        """Every transfer has a reason: typed next, bound to this case and target."""
        out = await svc.check(actor, case_id, REASON)
        if not await self.allowed(turn, svc, out) or out.case is None:
            return
        if target == out.case.responsible:
            private(turn, Reply(turn.text("staff/transfer_same")))
            return
        turn.state.enter(self.name, REASON, {"case": case_id, "to": target.parts()})
        await self.prompt_text(turn, svc, out.case, REASON, target=str(target))

    async def transfer_reason(
        self, turn: Turn, svc: StaffService, actor: Actor, case_id: int, text: str
    ) -> None:
        parts = turn.state.data.get("to")
        if not isinstance(parts, list) or not 1 <= len(parts) <= 3:
            turn.state.leave()
            raise StaleButton("to")
        target = Area(*[str(p) for p in parts])
        out = await svc.transfer(actor, case_id, target, text)
        if out.reason == "invalid" and out.case is not None:
            retry = "long" if len(text.strip()) > MAX_TEXT_CHARS else "blank"
            await self.prompt_text(turn, svc, out.case, REASON, retry=retry, target=str(target))
            return
        turn.state.leave()
        await self.finish(turn, svc, actor, out, "transfer", area=str(target))

    # -- results -------------------------------------------------------------------

    async def allowed(self, turn: Turn, svc: StaffService, out: Outcome) -> bool:
        if out.ok:
            return True
        if out.reason == "missing":
            raise StaleButton("case")
        if out.reason == "forbidden":
            private(turn, Reply(turn.text("staff/forbidden")))
        else:
            assert out.case is not None
            private(turn, Reply(turn.text("staff/state_changed", c=svc.summary(out.case))))
        return False

    async def finish(
        self, turn: Turn, svc: StaffService, actor: Actor, out: Outcome, action: str, **ctx: Any
    ) -> None:
        if out.reason == "missing":
            turn.say("staff/missing")
            return
        if not out.ok:
            if out.kind and out.case is not None:  # e.g. an extension already asked for
                text = turn.text(
                    "staff/done", kind=out.kind, c=svc.summary(out.case), told=True, area=""
                )
                private(turn, Reply(text))
            elif out.reason == "same":
                private(turn, Reply(turn.text("staff/transfer_same")))
            elif not await self.allowed(turn, svc, out):
                pass
            return
        case = out.case
        assert case is not None
        turn.replies.extend(out.notices)
        rows = svc.card_buttons(actor, case)
        rows.append([turn.button("staff.btn.view", f"st:view:{case.id}")])
        text = turn.text(
            "staff/done",
            kind=out.kind or action,
            c=svc.summary(case),
            told=out.told
            or (any(n.chat_id == case.chat_id for n in out.notices) and case.chat_id is not None),
            area=ctx.get("area", ""),
        )
        private(turn, Reply(text, rows))


def _key(name: str) -> str:
    """A short, stable key for a 乡镇/街道 in a button (its name may be too long)."""
    return hashlib.blake2b(name.encode("utf-8"), digest_size=4).hexdigest()
