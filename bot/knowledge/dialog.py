"""亮政策 in the conversation: free text goes to the matcher (intents first), the
answer / clarify / fallback replies, related topics, feedback and /start deep links.

Payloads (prefix ``kb``):
  kb:t:<topic>          show a topic (related topics, deep links)
  kb:p:<token>:<topic>  the resident picked a candidate offered for their question
  kb:n:<token>          都不是: none of the candidates
  kb:f:<token>:1|0      有帮助 / 没帮助 for the answer to their question
``<token>`` is the short id of the stored question; it must be the resident's own.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING

from bot.calendar import local_date
from bot.cases.areas import read_area
from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.knowledge.matcher import Result, Settings
from bot.knowledge.short import detail_reply, short_answer

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.knowledge.content import Knowledge
    from bot.knowledge.topics import Topic

MAX_QUESTION_CHARS = 300  # longer text is cut before matching and storing
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{6,16}$")


def knowledge_of(turn: Turn) -> Knowledge:
    return turn.content.knowledge


def screenable(turn: Turn, topic: Topic) -> bool:
    """Whether 我能办吗 can screen for this topic (the screening has its rules)."""
    screening = getattr(turn.content, "screening", None)
    return topic.program and topic.id in (getattr(screening, "programs", None) or {})


def resident_place(turn: Turn, question: str | None = None) -> tuple[str | None, str | None]:
    """The 市州 and 城市/农村 to show figures for: a 市州 the question names (泸州特困一个月
    多少), else what the resident's screening said."""
    memory = turn.state.memory.get("screening")
    answers = memory.get("answers") if isinstance(memory, dict) else None
    answers = answers if isinstance(answers, dict) else {}
    region, area = answers.get("region"), answers.get("area")
    region = region if isinstance(region, str) else None
    area = area if isinstance(area, str) else None
    channels = getattr(turn.content, "channels", None)
    regions = getattr(channels, "regions", None)
    if question and regions:
        named = read_area(turn.content.answers, regions, question)
        if named is not None and named.city != region:
            region, area = named.city, None
    return region, area


def date_notes(turn: Turn, topic: Topic, question: str | None = None) -> list[str]:
    """Warnings for the old figures the topic cites, for the resident's 市州 when their
    screening (or the question) said it (bot.screening.dates)."""
    screening = getattr(turn.content, "screening", None)
    if screening is None:
        return []
    region, area = resident_place(turn, question)
    return screening.date_notes(topic, local_date(time.time()), region, area)


def figure_lines(turn: Turn, topic: Topic, question: str | None) -> list[str]:
    """The figures in force, when the question asks an amount (低保一个月好多钱)."""
    screening = getattr(turn.content, "screening", None)
    if screening is None or not question or not turn.content.answers.asks_amount(question):
        return []
    region, area = resident_place(turn, question)
    return screening.figure_lines(topic, local_date(time.time()), region, area)


def topic_reply(
    turn: Turn, topic: Topic, *, token: str | None = None, question: str | None = None
) -> None:
    """Say the topic's short answer (bot.knowledge.short), with the warnings about old
    figures first — or, when the question asks an amount, the figures in force, each
    with its age; details on demand."""
    figures = figure_lines(turn, topic, question)
    turn.add(
        short_answer(
            turn.r,
            topic,
            token=token,
            notes=[] if figures else date_notes(turn, topic, question),
            figures=figures,
            screenable=screenable(turn, topic),
        )
    )


def fallback_reply(turn: Turn, question: str, nothing_fits: bool = False) -> None:
    turn.state.memory["unanswered"] = {
        "text": question,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    turn.say(
        "knowledge/fallback",
        [
            [turn.button("knowledge.help", "menu:help")],
            [turn.button("knowledge.channels", "menu:channels")],
            [turn.button("knowledge.ask_again", "menu:ask"), turn.button("nav.menu", "nav:menu")],
        ],
        question=question,
        nothing_fits=nothing_fits,
    )


class KnowledgeFlow(Flow):
    name = "knowledge"
    prefix = "kb"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        turn.state.enter(self.name, "ask")
        turn.say("knowledge/ask", [turn.nav_row(back=False)])

    async def prompt(self, turn: Turn, step: str) -> None:
        await self.start(turn)

    # -- typed questions ------------------------------------------------------

    async def on_free_text(self, turn: Turn, text: str) -> None:
        kb = knowledge_of(turn)
        matcher = kb.matcher
        question = text.strip()[:MAX_QUESTION_CHARS]
        # Only emoji or punctuation: nothing to match, and nothing worth keeping as a
        # question the assistant "could not answer".
        if matcher is None or not any(ch.isalnum() for ch in question):
            await self.engine.say_unsupported(turn)
            return
        intent = matcher.match_intent(question)
        if intent is not None:
            await self.run_intent(turn, intent.action)
            return
        result = matcher.match(question)
        await self.reply_to(turn, question, result)

    async def run_intent(self, turn: Turn, action: str) -> None:
        if action == "greeting":
            turn.state.leave()
            await self.engine.show_menu(turn, greeting=True)
        elif action == "thanks":
            turn.say("knowledge/thanks", [[turn.button("nav.menu", "nav:menu")]])
        elif action == "menu":
            turn.state.leave()
            await self.engine.show_menu(turn)
        elif action.startswith("open:"):
            await self.engine.open_menu_item(turn, action[5:])
        else:  # content checks reject other actions; be safe anyway
            await self.engine.say_unsupported(turn)

    async def reply_to(self, turn: Turn, question: str, result: Result) -> None:
        kb = knowledge_of(turn)
        # A result comes from the matcher, so there is one; its defaults otherwise.
        settings = kb.matcher.settings if kb.matcher is not None else Settings()
        cands = [(m.id, m.score) for m in result.matches[:5]]
        if result.decision == "answer":
            topic = kb.topics[result.matches[0].id]
            token = await turn.store.knowledge.log_question(
                turn.user_id, question, "answer", cands, topic.id
            )
            topic_reply(turn, topic, token=token, question=question)
        elif result.decision == "clarify":
            token = await turn.store.knowledge.log_question(
                turn.user_id, question, "clarify", cands
            )
            options = [m for m in result.candidates(settings, 3) if m.id in kb.topics]
            rows = [[Button(kb.topics[m.id].title, f"kb:p:{token}:{m.id}")] for m in options]
            rows.append([turn.button("knowledge.none", f"kb:n:{token}")])
            rows.append([turn.button("nav.menu", "nav:menu")])
            turn.say("knowledge/clarify", rows, question=question)
        elif result.decision == "multi":
            # Several needs in one message, or programs to compare (低保和特困有什么区别):
            # their topics as a short list, and the self-screening that looks at all of them. Stored as a clarify (the resident
            # picks one), so the picked topic and 都不是 work the same way.
            token = await turn.store.knowledge.log_question(
                turn.user_id, question, "clarify", cands
            )
            rows = [
                [Button(kb.topics[tid].title, f"kb:p:{token}:{tid}")]
                for tid in result.listed
                if tid in kb.topics
            ]
            rows.append([turn.button("knowledge.screen_all", "menu:screen")])
            rows.append([turn.button("knowledge.none", f"kb:n:{token}")])
            rows.append([turn.button("nav.menu", "nav:menu")])
            turn.say("knowledge/multi", rows, question=question, compare=result.compare)
        else:
            await turn.store.knowledge.log_question(turn.user_id, question, "fallback", cands)
            fallback_reply(turn, question)

    # -- buttons ----------------------------------------------------------------

    async def on_payload(self, turn: Turn, rest: str) -> None:
        kind, _, arg = rest.partition(":")
        kb = knowledge_of(turn)
        if kind == "t":
            topic = kb.topics.get(arg)
            if topic is None:
                raise StaleButton(rest)
            topic_reply(turn, topic)
        elif kind == "d":
            await self.details(turn, arg)
        elif kind == "s":
            topic = kb.topics.get(arg)
            screen = self.engine.menu_targets.get("screen")
            if topic is None or screen is None or not screenable(turn, topic):
                raise StaleButton(rest)
            turn.state.leave()
            await screen.start(turn, topic.id)
        elif kind == "p":
            token, _, topic_id = arg.partition(":")
            record = await self._own_record(turn, token)
            topic = kb.topics.get(topic_id)
            if topic is None or topic_id not in {c for c, _ in record.candidates}:
                raise StaleButton(rest)
            await turn.store.knowledge.set_decision(token, turn.user_id, "answer", topic_id)
            topic_reply(turn, topic, token=token, question=record.question)
        elif kind == "n":
            record = await self._own_record(turn, arg)
            await turn.store.knowledge.set_decision(arg, turn.user_id, "none", None)
            fallback_reply(turn, record.question, nothing_fits=True)
        elif kind == "f":
            token, _, value = arg.partition(":")
            if value not in ("0", "1"):
                raise StaleButton(rest)
            record = await self._own_record(turn, token)
            if record.topic_id is None:
                raise StaleButton(rest)
            await turn.store.knowledge.set_feedback(token, turn.user_id, value == "1")
            if value == "1":
                turn.say("knowledge/feedback_thanks", [[turn.button("nav.menu", "nav:menu")]])
            else:
                turn.state.memory["unanswered"] = {
                    "text": record.question,
                    "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                }
                turn.say(
                    "knowledge/feedback_sorry",
                    [
                        [turn.button("knowledge.ask_again", "menu:ask")],
                        [turn.button("knowledge.help", "menu:help")],
                        [
                            turn.button("knowledge.channels", "menu:channels"),
                            turn.button("nav.menu", "nav:menu"),
                        ],
                    ],
                )
        else:
            raise StaleButton(rest)

    async def details(self, turn: Turn, arg: str) -> None:
        """kb:d:<page>:<topic>[:<token>]: a page of a topic's details."""
        page, _, rest = arg.partition(":")
        topic_id, _, token = rest.partition(":")
        topic = knowledge_of(turn).topics.get(topic_id)
        if topic is None or not page.isdigit() or len(page) > 2:
            raise StaleButton(arg)
        if token:
            record = await self._own_record(turn, token)
            if record.topic_id != topic.id:
                raise StaleButton(arg)
        reply = detail_reply(
            turn.r,
            knowledge_of(turn),
            topic,
            int(page),
            token=token or None,
            screenable=screenable(turn, topic),
        )
        if reply is None:
            raise StaleButton(arg)
        turn.add(reply)

    async def _own_record(self, turn: Turn, token: str):
        if not _TOKEN.match(token or ""):
            raise StaleButton(token)
        record = await turn.store.knowledge.get(token)
        if record is None or record.user_id != turn.user_id:
            raise StaleButton(token)
        return record


def install(engine: Engine) -> None:
    flow = KnowledgeFlow(engine)
    engine.add_flow(flow, menu_item="ask")
    engine.set_free_text(flow.on_free_text)

    async def start_topic(turn: Turn, arg: str) -> bool:
        topic = knowledge_of(turn).topics.get(arg.strip())
        if topic is None:
            return False
        topic_reply(turn, topic)
        return True

    engine.hooks.start.append(start_topic)
    # The matcher of the snapshot being served (a reload swaps it with the content).
    engine.services.matcher = lambda: engine.content.current.knowledge.matcher
