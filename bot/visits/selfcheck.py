"""冬季自查 for residents (payload prefix ``wc``): four short questions with buttons
(被子棉衣 / 取暖 / 吃的 / 身体). Any 不够 offers an urgent help request with the
category and the description filled in from the answers; anyone can ask for a home
visit, which becomes a help request and, once stored, a visit task for the area
(``on_case_created``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.cases.help_steps import HelpDraft
from bot.dialog.flow import Flow, StaleButton, Turn, grid

if TYPE_CHECKING:
    from bot.domain.cases import Case

QUESTIONS = ("quilt", "heating", "food", "health")
ANSWERS = {
    "quilt": ("enough", "short"),
    "heating": ("enough", "short"),
    "food": ("enough", "short"),
    "health": ("ok", "unwell"),
}
SHORT = ("short", "unwell")
VISIT_MEMORY = "visit_request"
CATEGORY = "winter"


class WinterCheckFlow(Flow):
    name = "winter"
    prefix = "wc"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        if turn.event.is_group:
            turn.say("cases/private_only", [[turn.button("nav.menu", "nav:menu")]])
            return
        turn.state.enter(self.name, QUESTIONS[0], {"answers": {}})
        self.ask(turn, QUESTIONS[0])

    def ask(self, turn: Turn, step: str) -> None:
        buttons = [
            turn.button(f"visits.wc.{step}.{value}", f"wc:a:{step}:{value}")
            for value in ANSWERS[step]
        ]
        rows = grid(buttons, 2)
        rows.append(turn.nav_row(back=step != QUESTIONS[0]))
        turn.say(
            "visits/wc_ask", rows, step=step, number=QUESTIONS.index(step) + 1, total=len(QUESTIONS)
        )

    async def prompt(self, turn: Turn, step: str) -> None:
        if step in QUESTIONS:
            self.ask(turn, step)
        else:
            await self.start(turn)

    def shortages(self, answers: dict[str, Any]) -> list[str]:
        return [q for q in QUESTIONS if answers.get(q) in SHORT]

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)
        kind, _, args = rest.partition(":")
        if kind == "a":
            step, _, value = args.partition(":")
            if turn.state.flow != self.name or turn.state.step != step:
                raise StaleButton(rest)
            if value not in ANSWERS.get(step, ()):
                raise StaleButton(rest)
            answers = dict(turn.state.data.get("answers") or {})
            answers[step] = value
            turn.state.data["answers"] = answers
            following = QUESTIONS.index(step) + 1
            if following < len(QUESTIONS):
                turn.state.push(QUESTIONS[following])
                self.ask(turn, QUESTIONS[following])
                return
            turn.state.push("result")
            self.result(turn, answers)
        elif kind in ("help", "visit") and not args:
            if turn.state.flow != self.name or turn.state.step != "result":
                raise StaleButton(rest)
            answers = dict(turn.state.data.get("answers") or {})
            short = self.shortages(answers)
            if kind == "help" and not short:
                raise StaleButton(rest)
            await self.open_help(turn, short, visit=kind == "visit")
        else:
            raise StaleButton(rest)

    def result(self, turn: Turn, answers: dict[str, Any]) -> None:
        short = self.shortages(answers)
        rows = []
        if short:
            rows.append([turn.button("visits.wc.help", "wc:help")])
        rows.append([turn.button("visits.wc.visit", "wc:visit")])
        rows.append(turn.nav_row())
        turn.say(
            "visits/wc_result", rows, short=[turn.r.label(f"visits.wc.short.{q}") for q in short]
        )

    async def open_help(self, turn: Turn, short: list[str], visit: bool) -> None:
        """The help form, with what the self-check already knows filled in."""
        help_flow = self.engine.flows.get("help")
        if help_flow is None:
            raise StaleButton("help")
        description = str(
            turn.text(
                "visits/wc_description",
                short=[turn.r.label(f"visits.wc.short.{q}") for q in short],
                visit=visit,
            )
        ).strip()
        prefilled = ["category", "description"]
        if short:
            prefilled.append("urgency")
        draft = HelpDraft(
            category=CATEGORY, description=description, urgent=bool(short), prefilled=prefilled
        )
        memory = turn.state.memory
        if visit:
            memory[VISIT_MEMORY] = True
        else:
            memory.pop(VISIT_MEMORY, None)
        turn.state.enter(help_flow.name, "consent", draft.dump())
        await help_flow.prompt(turn, "consent")


async def on_case_created(turn: Turn, case: Case) -> None:
    """A help request that asked for a home visit becomes a visit task for its area."""
    if not turn.state.memory.pop(VISIT_MEMORY, None):
        return
    svc = turn.engine.services.visits
    if svc is None:
        return
    await svc.visit_requested(case)
