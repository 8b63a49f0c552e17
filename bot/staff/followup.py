"""回访 (payload prefix ``rv``): the resident rates the result of a resolved request,
then may add a comment."""

from __future__ import annotations

from bot.dialog.flow import Flow, StaleButton, Turn
from bot.staff.common import parse_id, service_of
from bot.staff.transitions import MAX_COMMENT_CHARS


class FollowupFlow(Flow):
    name = "followup"
    prefix = "rv"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await turn.engine.show_menu(turn)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)
        parts = rest.split(":")
        svc = service_of(turn)
        if parts[0] == "r" and len(parts) == 3:
            case_id = parse_id(parts[1])
            out = await svc.rate(turn.user_id, case_id, parts[2])
            if out.reason == "missing":
                raise StaleButton(rest)
            if not out.ok:
                turn.say("staff/rate_done", kind="already", ref=out.case.ref if out.case else "")
                return
            assert out.case is not None
            turn.replies.extend(out.notices)
            rows = [[turn.button("nav.menu", "nav:menu")]]
            if turn.state.flow in (None, self.name):
                # Ask for a comment, unless that would drop a form the resident is filling.
                turn.state.enter(self.name, "comment", {"case": case_id})
                rows = [[turn.button("staff.rate.no_comment", f"rv:skip:{case_id}")]]
            rating = out.case.rating or ""
            turn.say(
                "staff/rate_done",
                rows,
                kind=rating,
                ref=out.case.ref,
                limit=MAX_COMMENT_CHARS,
                ask=turn.state.flow == self.name,
            )
        elif parts[0] == "skip" and len(parts) == 2:
            parse_id(parts[1])
            turn.state.leave()
            turn.say(
                "staff/rate_done", [[turn.button("nav.menu", "nav:menu")]], kind="thanks", ref=""
            )
        else:
            raise StaleButton(rest)

    async def on_text(self, turn: Turn, text: str) -> None:
        raw = turn.state.data.get("case")
        if turn.state.step != "comment" or not isinstance(raw, int):
            await super().on_text(turn, text)
            return
        svc = service_of(turn)
        out = await svc.rate_comment(turn.user_id, raw, text)
        if out.reason == "invalid":
            rows = [[turn.button("staff.rate.no_comment", f"rv:skip:{raw}")]]
            retry = "long" if len(text.strip()) > MAX_COMMENT_CHARS else "blank"
            turn.say(
                "staff/rate_done", rows, kind="retry", ref="", retry=retry, limit=MAX_COMMENT_CHARS
            )
            return
        turn.state.leave()
        turn.replies.extend(out.notices)
        turn.say("staff/rate_done", [[turn.button("nav.menu", "nav:menu")]], kind="thanks", ref="")
