"""亮清单 in the chat: the self-screening questionnaire with its explained result
(menu "screen"); the catalogue of help (menu "list") is bot.screening.catalogue.

Payloads: ``scr:w:self|other|agreed|later``
(for whom: oneself, or someone else with their agreement), ``scr:a:<fact>:<option>``,
``scr:u:<fact>`` (不清楚), ``scr:g:<fact>:<group>`` (a group of a long choice: 市州 by
片区), ``scr:n:<fact>:<amount>`` (an amount offered for a typed range such as 两三千),
``scr:full`` (详细结果), ``scr:read:<program>``, ``scr:restart``. Answer buttons are
only valid for the question being asked right now; anything else is a StaleButton.

Screening for someone else (a child for a parent, a neighbour, a 网格员): the helper
confirms the person agrees, and the questions and the result say 他（她）家 instead of
您家.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.answers.picker import MAX_BUTTONS, groups_for
from bot.calendar import local_date
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.screening.catalogue import CatalogueFlow
from bot.screening.facts import InvalidAnswer, check_value
from bot.screening.questionnaire import NumberError, Question, parse_number
from bot.screening.result import result_context, screen
from bot.screening.result_view import say_result
from bot.screening.result_view import third_person as _third
from bot.screening.typed import ask_within, choice_rows

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.screening.content import Screening

RESULT = "result"
FULL_RESULT = "result:full"  # 详细结果, one step after the short result
WHOM = "whom"  # 为自己，还是帮家人/邻居？
AGREE = "agree"  # the helper confirms the person agrees
_NOT_QUESTIONS = (WHOM, AGREE)


# -- the screening ---------------------------------------------------------------


class ScreeningFlow(Flow):
    name = "screening"
    prefix = "scr"

    @staticmethod
    def screening(turn: Turn) -> Screening:
        return turn.content.screening

    def today(self) -> dt.date:
        """China's date by the engine's clock: the day the rules are evaluated on, and
        the day 我要求助 compares with (``HelpFlow.prefill``), whatever the server's
        own time zone."""
        return local_date(self.engine.services.now())

    # state helpers
    @staticmethod
    def _answers(turn: Turn) -> dict[str, Any]:
        answers = turn.state.data.get("answers")
        if not isinstance(answers, dict):
            answers = {}
            turn.state.data["answers"] = answers
        return answers

    @staticmethod
    def _skipped(turn: Turn) -> list[str]:
        skipped = turn.state.data.get("skipped")
        if not isinstance(skipped, list):
            skipped = []
            turn.state.data["skipped"] = skipped
        return skipped

    def _focus(self, turn: Turn) -> str | None:
        focus = turn.state.data.get("focus")
        return focus if isinstance(focus, str) and focus in self.screening(turn).programs else None

    def _date(self, turn: Turn) -> dt.date:
        try:
            return dt.date.fromisoformat(str(turn.state.data.get("date")))
        except ValueError:
            return self.today()

    def _clean_answers(self, turn: Turn) -> dict[str, Any]:
        """Stored answers that are still valid facts (the content may have changed)."""
        out = {}
        for name, value in self._answers(turn).items():
            try:
                out[name] = check_value(name, value)
            except InvalidAnswer:
                continue
        return out

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        """The questionnaire; ``arg``: one program's id (我能办吗 on its answer), whose
        questions alone are asked."""
        turn.state.enter(self.name, WHOM, {"answers": {}, "skipped": [], "set_by": {},
                                           "date": self.today().isoformat()})  # fmt: skip
        if arg in self.screening(turn).programs:
            turn.state.data["focus"] = arg
        turn.say("screening/intro")
        self._ask_whom(turn)

    async def restart(self, turn: Turn) -> None:
        """重新开始: the answers go, who the screening is for stays."""
        data = turn.state.data if turn.state.flow == self.name else {}
        if data.get("for_other") is False or data.get("helper_confirmed") is True:
            keep: dict[str, Any] = {
                k: data[k] for k in ("for_other", "helper_confirmed") if k in data
            }
            keep.update({k: data[k] for k in ("focus",) if k in data})
            turn.state.enter(self.name, WHOM, {"answers": {}, "skipped": [], "set_by": {},
                                               "date": self.today().isoformat(), **keep})  # fmt: skip
            if keep.get("for_other"):
                turn.state.push(AGREE)
            await self._first(turn)
            return
        await self.start(turn)

    def _ask_whom(self, turn: Turn) -> None:
        rows = [
            [turn.button("screen.for_self", "scr:w:self")],
            [turn.button("screen.for_other", "scr:w:other")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        turn.say("screening/whom", rows)

    def _ask_agree(self, turn: Turn) -> None:
        rows = [
            [turn.button("screen.other_agreed", "scr:w:agreed")],
            [turn.button("screen.other_later", "scr:w:later")],
            [turn.button("nav.back", "nav:back"), turn.button("nav.menu", "nav:menu")],
        ]
        turn.say("screening/helper_consent", rows)

    async def _whom(self, turn: Turn, choice: str) -> None:
        step = turn.state.step
        if choice in ("self", "other") and step == WHOM:
            turn.state.data["for_other"] = choice == "other"
            if choice == "other":
                turn.state.push(AGREE)
                self._ask_agree(turn)
                return
        elif choice == "agreed" and step == AGREE:
            turn.state.data["helper_confirmed"] = True
        elif choice == "later" and step == AGREE:
            turn.state.leave()
            turn.say("screening/helper_later", [[turn.button("nav.menu", "nav:menu")]])
            return
        else:
            raise StaleButton(choice)
        await self._first(turn)

    async def _first(self, turn: Turn) -> None:
        q = self.screening(turn).next_question({}, set(), self._date(turn), self._focus(turn))
        if q is None:  # nothing to ask (cannot happen with the bundled questionnaire)
            turn.state.push(RESULT)
            self._show_result(turn)
            return
        turn.state.push(q.fact)
        self._ask(turn, q)

    @staticmethod
    def _for_other(turn: Turn) -> bool:
        return turn.state.data.get("for_other") is True

    def _ask(self, turn: Turn, q: Question, group: int | None = None) -> None:
        """Ask ``q``. A long choice (the 21 市州) is picked by group first, then in the
        group (``group``): never more than MAX_BUTTONS on one screen."""
        number = sum(1 for step in turn.state.stack if step not in _NOT_QUESTIONS) + 1
        rows, nav, listed = choice_rows(turn, q, group)
        if nav:
            if q.allow_unknown:
                rows.append([turn.button("screen.unknown", f"scr:u:{q.fact}")])
            back = [turn.button("nav.back", "nav:back")]
            if sum(map(len, rows)) + 3 <= MAX_BUTTONS:
                back.append(turn.button("screen.restart", "scr:restart"))
            rows.append(back)
            rows.append([turn.button("nav.menu", "nav:menu")])
        prompt, hint = q.prompt, q.hint
        if self._for_other(turn):
            prompt, hint = q.prompt_other or _third(prompt), q.hint_other or _third(hint)
        reply = turn.say(
            "screening/question",
            rows,
            number=number,
            prompt=prompt,
            hint=hint,
            groups=listed,
            fact=q.fact,
        )
        reply.expects_number = q.type != "choice"

    def _current(self, turn: Turn) -> Question | None:
        if turn.state.flow != self.name or not turn.state.step:
            return None
        return self.screening(turn).questionnaire.get(turn.state.step)

    # payloads
    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)  # the answers are the presser's private conversation
        if rest == "restart":
            await self.restart(turn)
            return
        if rest.startswith("read:"):
            await self._read(turn, rest[len("read:") :])
            return
        if rest.startswith("w:"):
            await self._whom(turn, rest[2:])
            return
        if rest == "full":
            if turn.state.flow != self.name or turn.state.step != RESULT:
                raise StaleButton(rest)
            turn.state.push(FULL_RESULT)
            self._show_result(turn, full=True)
            return
        parts = rest.split(":")
        q = self._current(turn)
        if q is None or len(parts) < 2 or parts[1] != q.fact:
            raise StaleButton(rest)
        if parts[0] == "a" and len(parts) == 3 and q.type == "choice":
            idx = parts[2]
            if not idx.isdigit() or int(idx) >= len(q.options):
                raise StaleButton(rest)
            option = q.options[int(idx)]
            await self._answer(turn, q, option.value, option.also)
        elif parts[0] == "u" and len(parts) == 2 and q.allow_unknown:
            await self._skip(turn, q)
        elif parts[0] == "g" and len(parts) == 3 and q.type == "choice":
            # a group of a long choice (市州 by 片区), or all the groups again
            groups = groups_for(turn.content.answers, [o.label for o in q.options])
            if parts[2] == "all":
                self._ask(turn, q)
            elif parts[2].isdigit() and int(parts[2]) < len(groups):
                self._ask(turn, q, int(parts[2]))
            else:
                raise StaleButton(rest)
        elif parts[0] == "n" and len(parts) == 3 and q.type == "number" and parts[2].isdigit():
            # one of the amounts offered for a typed range (两三千)
            try:
                value = parse_number(parts[2], False, q.minimum, q.maximum)
            except NumberError:
                raise StaleButton(rest) from None
            await self._answer(turn, q, value, {})
        else:
            raise StaleButton(rest)

    async def _answer(self, turn: Turn, q: Question, value: Any, also: dict[str, Any]) -> None:
        answers, skipped = self._answers(turn), self._skipped(turn)
        answers[q.fact] = value
        answers.update(also)
        for name in (q.fact, *also):
            if name in skipped:
                skipped.remove(name)
        turn.state.data.setdefault("set_by", {})[q.fact] = list(also)
        await self._advance(turn)

    async def _skip(self, turn: Turn, q: Question) -> None:
        skipped = self._skipped(turn)
        if q.fact not in skipped:
            skipped.append(q.fact)
        self._answers(turn).pop(q.fact, None)
        await self._advance(turn)

    async def _advance(self, turn: Turn) -> None:
        s = self.screening(turn)
        q = s.next_question(
            self._clean_answers(turn), set(self._skipped(turn)), self._date(turn), self._focus(turn)
        )
        if q is None:
            turn.state.push(RESULT)
            self._show_result(turn)
            return
        turn.state.push(q.fact)
        self._ask(turn, q)

    # typed text
    async def on_text(self, turn: Turn, text: str) -> None:
        q = self._current(turn)
        t = text.strip()
        # What typed words mean: intents/words.yml (screening: restart, back, unknown;
        # screening_whom: for_self, for_other, agreed, later), and typed answers
        # (intents/answers.yml: places, yes/no, 就我一个, 两三千).
        said = turn.content.words.which("screening", t)
        words = turn.content.answers
        if said == "restart":
            await self.restart(turn)
            return
        if turn.state.flow == self.name and turn.state.step in _NOT_QUESTIONS:
            if said == "back":
                await self.on_back(turn)
                return
            whom = turn.content.words.which("screening_whom", t)
            allowed = ("for_self", "for_other") if turn.state.step == WHOM else ("agreed", "later")
            if whom not in allowed:
                await self.engine.free_text(turn, text)
                return
            await self._whom(turn, {"for_self": "self", "for_other": "other"}.get(whom, whom))
            return
        if q is None:
            await self.engine.free_text(turn, text)
            return
        if said == "back":
            await self.on_back(turn)
            return
        if said == "unknown" and q.allow_unknown:
            await self._skip(turn, q)
            return
        if q.type == "choice":
            index = words.pick_option(t, [(o.value, o.label) for o in q.options])
            if index is None and len(words.squash(t)) >= 2:
                matches = [i for i, o in enumerate(q.options) if o.label.startswith(t)]
                index = matches[0] if len(matches) == 1 else None
            if index is not None:
                option = q.options[index]
                await self._answer(turn, q, option.value, option.also)
                return
            self._invalid(turn, q, "choose")
            return
        if q.fact == "household_size" and words.is_alone(t):
            await self._answer(turn, q, 1, {})
            return
        span = words.amount_range(t)
        if span is not None and q.type != "integer":
            ask_within(turn, q, span)  # 两三千: ask which
            return
        try:
            value = parse_number(t, q.type == "integer", q.minimum, q.maximum)
        except NumberError as exc:
            self._invalid(turn, q, exc.kind)
            return
        size = self._answers(turn).get("household_size")
        if (
            q.fact in ("members_able_to_work", "students")
            and isinstance(size, int)
            and value > size
        ):
            self._invalid(turn, q, "more_than_household", household_size=size)
            return
        await self._answer(turn, q, value, {})

    def _invalid(self, turn: Turn, q: Question, kind: str, **extra: Any) -> None:
        example = {"monthly_income": 1500, "applicant_age": 68}.get(q.fact, 3)
        turn.say(
            "screening/invalid",
            kind=kind,
            minimum=q.minimum,
            unit=q.unit,
            example=example,
            household_size=extra.get("household_size"),
        )
        self._ask(turn, q)

    # 返回上一步
    async def on_back(self, turn: Turn) -> None:
        step = turn.state.pop()
        if step is None:
            turn.state.leave()
            await self.engine.show_menu(turn)
            return
        self._forget(turn, step)
        await self.prompt(turn, step)

    def _forget(self, turn: Turn, step: str) -> None:
        """Going back to a question clears its answer, so it is asked afresh."""
        answers, skipped = self._answers(turn), self._skipped(turn)
        set_by = turn.state.data.get("set_by") or {}
        for name in (step, *set_by.pop(step, [])):
            answers.pop(name, None)
            if name in skipped:
                skipped.remove(name)

    async def _read(self, turn: Turn, program: str) -> None:
        """A program's policy, opened from the result, with a way back to the result."""
        if turn.state.flow != self.name or turn.state.step != RESULT:
            raise StaleButton(program)
        turn.state.push(f"read:{program}")
        self._show_policy(turn, program)

    def _show_policy(self, turn: Turn, program: str) -> None:
        from bot.knowledge.dialog import topic_reply

        topic = turn.content.knowledge.topics.get(program)
        if topic is None:
            raise StaleButton(program)
        topic_reply(turn, topic)
        turn.replies[-1].buttons.insert(0, [turn.button("screen.back_to_result", "nav:back")])

    async def prompt(self, turn: Turn, step: str) -> None:
        if step == WHOM:
            turn.state.data.pop("for_other", None)
            turn.state.data.pop("helper_confirmed", None)
            self._ask_whom(turn)
            return
        if step == AGREE:
            turn.state.data.pop("helper_confirmed", None)
            self._ask_agree(turn)
            return
        if step in (RESULT, FULL_RESULT):
            self._show_result(turn, full=step == FULL_RESULT)
            return
        if step.startswith("read:"):
            self._show_policy(turn, step[len("read:") :])
            return
        q = self.screening(turn).questionnaire.get(step)
        if q is None:  # the questionnaire changed since: carry on from the answers
            turn.state.step = None
            await self._advance(turn)
            return
        self._ask(turn, q)

    # the result
    def _show_result(self, turn: Turn, full: bool = False) -> None:
        s = self.screening(turn)
        on = self._date(turn)
        skipped = set(self._skipped(turn))
        answers = s.effective_answers(self._clean_answers(turn), skipped)
        out = screen(s, answers, on)
        view = result_context(s, out, on)
        labels = s.questionnaire.labels()
        order = [q.fact for q in s.questionnaire.questions]
        unknown = [labels.get(f, f) for f in order if f in skipped]
        for_other = self._for_other(turn)
        focus = self._focus(turn)
        topic = turn.content.knowledge.topics.get(focus) if focus else None
        turn.state.memory["screening"] = {
            "answers": answers,
            "results": [{"program": r["program"], "verdict": r["verdict"]} for r in out["results"]],
            "date": on.isoformat(),
            "for_other": for_other,
            # 我能办吗 → 我要求助: the help request's category comes from the topic's.
            "focus_category": getattr(topic, "category", None),
        }
        say_result(turn, view, unknown, focus, full, for_other)


def install(engine: Engine) -> None:
    engine.add_flow(CatalogueFlow(engine), menu_item="list")  # bot.screening.catalogue
    engine.add_flow(ScreeningFlow(engine), menu_item="screen")
