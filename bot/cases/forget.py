"""/forget (payload prefix ``fg``): say what is erased, erase it once the resident
confirms; other features erase their own data through ``engine.hooks.forget``."""

from __future__ import annotations

from bot.dialog.flow import Flow, StaleButton, Turn


class ForgetFlow(Flow):
    """/forget: say what is erased, then erase it after the resident confirms."""

    name = "forget"
    prefix = "fg"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        if turn.event.is_group:
            turn.say("cases/private_only", [[turn.button("nav.menu", "nav:menu")]])
            return
        cases = await turn.store.cases.for_user(turn.user_id, limit=1000)
        rows = [
            [turn.button("cases.forget.yes", "fg:yes")],
            [turn.button("cases.forget.no", "fg:no")],
        ]
        turn.say(
            "cases/forget_ask",
            rows,
            n_cases=len(cases),
            n_open=sum(1 for c in cases if c.is_open),
        )

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)  # erasing is confirmed in a private chat only
        if rest == "no":
            turn.say("cases/forget_kept", [[turn.button("nav.menu", "nav:menu")]])
            return
        if rest != "yes":
            raise StaleButton(rest)
        # Messages queued or sent to the resident, or about their requests, go first
        # (the requests are unlinked from the resident below).
        mine = await turn.store.cases.for_user(turn.user_id, limit=10_000)
        await turn.store.outbox.forget(turn.user_id, [c.id for c in mine])
        erased = await turn.store.cases.forget_user(turn.user_id, now=self.engine.services.now())
        # The questions the resident asked (the knowledge feature's log), then whatever
        # other features registered for their own data.
        knowledge_forget = getattr(turn.store.knowledge, "forget_user", None)
        if knowledge_forget is not None:
            await knowledge_forget(turn.user_id)
        for handler in self.engine.hooks.forget:
            await handler(turn.store, turn.user_id)
        # The conversation row (any half-filled form) goes now, not at the turn's save,
        # so that the checkpoint below leaves none of it in the WAL.
        await turn.store.forget_user_state(turn.user_id)
        await turn.store.scrub()
        # An empty conversation is deleted from the store when the turn is saved.
        turn.state.leave()
        turn.state.memory.clear()
        turn.say("cases/forget_done", [[turn.button("nav.menu", "nav:menu")]], n_cases=erased)
