"""我要求助 (payload prefix ``hc``): consent first, then the form's steps, a summary
to check, and the request stored once (the draft id makes confirming idempotent).
Every payload is parsed strictly against the current step."""

from __future__ import annotations

import logging
import re
from typing import Any

from bot.cases.channels_flow import ChannelsFlow
from bot.cases.common import (
    MAX_ATTACHMENT_TEXT,
    MAX_DESCRIPTION_CHARS,
    MAX_PLACE_CHARS,
    channels_of,
    clean_line,
    follow_up_target,
    meaningful,
    retention_days,
)
from bot.cases.phone import normalize_phone
from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn, grid
from bot.dialog.services import call_listeners
from bot.domain.cases import CATEGORIES, CONTACT_TIMES, NewCase, new_draft_id

log = logging.getLogger(__name__)

_DRAFT = re.compile(r"^[A-Za-z0-9_-]{8,20}$")
OTHER_DISTRICT = "*"


# -- what a request carries from earlier conversations ------------------------------


def _short(value: Any, limit: int = MAX_ATTACHMENT_TEXT) -> str:
    return clean_line(str(value))[:limit]


def unanswered_text(value: Any) -> str | None:
    if isinstance(value, str):
        text = _short(value)
    elif isinstance(value, dict):
        text = _short(value.get("text") or value.get("question") or "")
    else:
        return None
    return text or None


def screening_lines(value: Any, turn: Turn) -> list[str]:
    """Readable lines (program: verdict) from the screening feature's memory entry."""
    if not isinstance(value, dict):
        return []
    verdicts = value.get("verdicts", value.get("results"))
    lines: list[str] = []

    def verdict_word(v: Any) -> str:
        key = f"cases.verdict.{v}"
        return turn.r.label(key) if isinstance(v, str) and turn.r.has_label(key) else _short(v, 20)

    if isinstance(verdicts, dict):
        for name, v in verdicts.items():
            if isinstance(v, dict):
                v = v.get("verdict") or v.get("result") or ""
            lines.append(f"{_short(name, 40)}：{verdict_word(v)}")
    elif isinstance(verdicts, list):
        for item in verdicts:
            if not isinstance(item, dict):
                continue
            name = item.get("title") or item.get("name") or item.get("program") or ""
            v = item.get("verdict") or item.get("result") or ""
            if name:
                lines.append(f"{_short(name, 40)}：{verdict_word(v)}")
    return lines[:12]


def available_attachments(turn: Turn) -> list[dict[str, Any]]:
    """What the resident could attach: the unanswered question and the screening."""
    out: list[dict[str, Any]] = []
    memory = turn.state.memory
    question = unanswered_text(memory.get("unanswered"))
    if question:
        out.append({"kind": "unanswered", "text": question})
    screening = memory.get("screening")
    if isinstance(screening, dict) and screening:
        lines = screening_lines(screening, turn)
        item: dict[str, Any] = {"kind": "screening", "lines": lines}
        answers = screening.get("answers")
        if isinstance(answers, dict | list):
            item["answers"] = answers
        if isinstance(screening.get("verdicts", screening.get("results")), dict | list):
            item["verdicts"] = screening.get("verdicts", screening.get("results"))
        out.append(item)
    return out


# -- 我要求助 ------------------------------------------------------------------------

STEPS = (
    "consent",
    "category",
    "city",
    "district",
    "district_text",
    "township",
    "village",
    "description",
    "phone",
    "time",
    "urgency",
    "attach",
    "summary",
    "edit",
)
REGION_CHAIN = ("city", "district", "district_text", "township")
EDITABLE = ("category", "region", "description", "phone", "time", "urgency", "attach")


class HelpFlow(Flow):
    name = "help"
    prefix = "hc"

    # -- entry --------------------------------------------------------------

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        if turn.event.is_group:
            turn.say("cases/private_only", [[turn.button("nav.menu", "nav:menu")]])
            return
        turn.state.enter(self.name, "consent")
        await self.prompt(turn, "consent")

    def data(self, turn: Turn) -> dict[str, Any]:
        return turn.state.data

    def expect(self, turn: Turn, *steps: str) -> None:
        if turn.state.flow != self.name or turn.state.step not in steps:
            raise StaleButton(turn.state.step or "")
        if turn.state.step != "consent" and not self.data(turn).get("draft"):
            raise StaleButton("no draft")

    # -- questions ------------------------------------------------------------

    async def prompt(self, turn: Turn, step: str, retry: str | None = None) -> None:
        d = self.data(turn)
        nav = turn.nav_row(back=step != "consent")
        ctx: dict[str, Any] = {"retry": retry}
        if step == "consent":
            rows = [[b] for b in step_buttons(turn, step)] + [nav]
            turn.say("cases/consent", rows, days=retention_days(self.engine), **ctx)
        elif step == "category":
            turn.say("cases/ask_category", [*grid(step_buttons(turn, step), 2), nav], **ctx)
        elif step == "city":
            turn.say("cases/ask_city", [*grid(step_buttons(turn, step), 3), nav], **ctx)
        elif step == "district":
            other = [turn.button("cases.district.other", "hc:dist:*")]
            rows = [*grid(step_buttons(turn, step), 3), other, nav]
            turn.say("cases/ask_district", rows, city=d.get("city", ""), **ctx)
        elif step == "district_text":
            turn.say("cases/ask_district_text", [nav], city=d.get("city", ""), **ctx)
        elif step in ("township", "village"):
            skip = [turn.button("cases.place.unknown", f"hc:skip:{step}")]
            turn.say(f"cases/ask_{step}", [skip, nav], limit=MAX_PLACE_CHARS, **ctx)
        elif step == "description":
            turn.say("cases/ask_description", [nav], limit=MAX_DESCRIPTION_CHARS, **ctx)
        elif step == "phone":
            reply = turn.say("cases/ask_phone", [nav], **ctx)
            reply.request_contact = True
            reply.expects_number = True
        elif step == "time":
            turn.say("cases/ask_time", [*grid(step_buttons(turn, step), 2), nav], **ctx)
        elif step == "urgency":
            rows = [[b] for b in step_buttons(turn, step)] + [nav]
            turn.say("cases/ask_urgency", rows, words=d.get("words", []), **ctx)
        elif step == "attach":
            rows = [[b] for b in step_buttons(turn, step)] + [nav]
            turn.say("cases/ask_attach", rows, items=available_attachments(turn), **ctx)
        elif step == "summary":
            await self.show_summary(turn, retry)
        elif step == "edit":
            fields = [f for f in EDITABLE if f != "attach" or d.get("attach_offer")]
            buttons = [turn.button(f"cases.field.{f}", f"hc:ef:{f}") for f in fields]
            turn.say("cases/ask_edit", [*grid(buttons, 2), nav])
        else:
            raise StaleButton(step)

    async def show_summary(self, turn: Turn, retry: str | None = None) -> None:
        d = self.data(turn)
        rows = [
            [turn.button("cases.confirm", f"hc:ok:{d['draft']}")],
            [turn.button("cases.edit", "hc:edit")],
            turn.nav_row(),
        ]
        turn.say("cases/summary", rows, d=self.view(turn), retry=retry)

    def view(self, turn: Turn) -> dict[str, Any]:
        """The draft in words, for the summary."""
        d = self.data(turn)
        return {
            "category": turn.r.label(f"cases.cat.{d['cat']}"),
            "city": d.get("city"),
            "district": d.get("dist"),
            "township": d.get("town"),
            "village": d.get("vil"),
            "description": d.get("desc"),
            "phone": d.get("phone"),
            "time": turn.r.label(f"cases.time.{d['time']}"),
            "urgent": bool(d.get("urg") or d.get("words")),
            "urgent_by_resident": bool(d.get("urg")),
            "words": d.get("words", []),
            "attachments": d.get("attachments", []) if d.get("attach") else [],
        }

    # -- moving on ---------------------------------------------------------------

    def next_step(self, turn: Turn, done: str) -> str:
        d = self.data(turn)
        editing = d.get("edit")
        if editing and done not in REGION_CHAIN:
            return "summary"
        order = {
            "consent": "category",
            "category": "city",
            "city": "district",
            "district": "township",
            "district_text": "township",
            "township": "village",
            "village": "description",
            "description": "phone",
            "phone": "time",
            "time": "urgency",
        }
        if done in order:
            return order[done]
        if done == "urgency":
            if available_attachments(turn):
                d["attach_offer"] = True
                return "attach"
            d["attach_offer"] = False
            d["attach"] = False
            return "summary"
        return "summary"

    async def advance(self, turn: Turn, done: str) -> None:
        step = self.next_step(turn, done)
        if step == "summary":
            self.data(turn).pop("edit", None)
        turn.state.push(step)
        await self.prompt(turn, step)

    # -- buttons -----------------------------------------------------------------

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)  # the form is private: its steps show personal data
        kind, _, value = rest.partition(":")
        d = self.data(turn)
        regions = channels_of(turn).regions
        if kind == "ok":
            await self.confirm(turn, value)
        elif kind == "consent":
            self.expect(turn, "consent")
            if value == "yes":
                d["draft"] = new_draft_id()
                await self.advance(turn, "consent")
            elif value == "no":
                turn.state.leave()
                channels = self.engine.flows.get("channels")
                if isinstance(channels, ChannelsFlow):
                    await channels.show_general(turn, declined=True)
                else:
                    turn.say("cases/declined", [[turn.button("nav.menu", "nav:menu")]])
            else:
                raise StaleButton(rest)
        elif kind == "cat":
            self.expect(turn, "category")
            if value not in CATEGORIES:
                raise StaleButton(rest)
            d["cat"] = value
            await self.advance(turn, "category")
        elif kind == "city":
            self.expect(turn, "city")
            if value not in regions:
                raise StaleButton(rest)
            if d.get("city") != value:
                d.pop("dist", None)
            d["city"] = value
            await self.advance(turn, "city")
        elif kind == "dist":
            self.expect(turn, "district")
            if value == OTHER_DISTRICT:
                turn.state.push("district_text")
                await self.prompt(turn, "district_text")
                return
            if value not in regions.get(d.get("city", ""), []):
                raise StaleButton(rest)
            d["dist"] = value
            await self.advance(turn, "district")
        elif kind == "skip":
            self.expect(turn, "township", "village")
            if value != turn.state.step:
                raise StaleButton(rest)
            d["town" if value == "township" else "vil"] = None
            await self.advance(turn, value)
        elif kind == "time":
            self.expect(turn, "time")
            if value not in CONTACT_TIMES:
                raise StaleButton(rest)
            d["time"] = value
            await self.advance(turn, "time")
        elif kind == "urg":
            self.expect(turn, "urgency")
            if value not in ("yes", "no"):
                raise StaleButton(rest)
            d["urg"] = value == "yes"
            await self.advance(turn, "urgency")
        elif kind == "att":
            self.expect(turn, "attach")
            if value not in ("yes", "no"):
                raise StaleButton(rest)
            d["attach"] = value == "yes"
            d["attachments"] = available_attachments(turn) if d["attach"] else []
            await self.advance(turn, "attach")
        elif kind == "edit" and not value:
            self.expect(turn, "summary")
            turn.state.push("edit")
            await self.prompt(turn, "edit")
        elif kind == "ef":
            self.expect(turn, "edit")
            if value not in EDITABLE or (value == "attach" and not d.get("attach_offer")):
                raise StaleButton(rest)
            d["edit"] = True
            step = "city" if value == "region" else value
            turn.state.push(step)
            await self.prompt(turn, step)
        else:
            raise StaleButton(rest)

    # -- typed answers --------------------------------------------------------------

    async def on_text(self, turn: Turn, text: str) -> None:
        step = turn.state.step or ""
        d = self.data(turn)
        if step == "district_text":
            name = clean_line(text)
            if not meaningful(name) or len(name) > 20:
                await self.prompt(turn, step, retry="place")
                return
            d["dist"] = name
            await self.advance(turn, step)
        elif step in ("township", "village"):
            name = clean_line(text)
            if not meaningful(name) or len(name) > MAX_PLACE_CHARS:
                await self.prompt(turn, step, retry="place_long" if name else "place")
                return
            d["town" if step == "township" else "vil"] = name
            await self.advance(turn, step)
        elif step == "description":
            body = text.strip()
            if len(body) > MAX_DESCRIPTION_CHARS:
                await self.prompt(turn, step, retry="long")
                return
            if not meaningful(body):
                await self.prompt(turn, step, retry="blank")
                return
            d["desc"] = body
            d["words"] = channels_of(turn).urgent_hits(body)
            await self.advance(turn, step)
        elif step == "phone":
            phone = normalize_phone(text)
            if phone is None:
                await self.prompt(turn, step, retry="phone")
                return
            d["phone"] = phone
            await self.advance(turn, step)
        elif step in ("consent", "category", "city", "district", "time", "urgency", "attach"):
            await self.typed_choice(turn, step, text)
        elif step in ("summary", "edit"):
            await self.prompt(turn, step, retry="buttons")
        else:
            await super().on_text(turn, text)

    async def typed_choice(self, turn: Turn, step: str, text: str) -> None:
        """A typed label (or a 市州/区县 name without its suffix) counts as the button."""
        typed = clean_line(text)
        for b in step_buttons(turn, step):
            if typed == b.label or (step in ("city", "district") and _short_name(typed, b.label)):
                await self.on_payload(turn, b.payload[3:])
                return
        await self.prompt(turn, step, retry="buttons")

    async def on_contact(self, turn: Turn) -> None:
        contact = turn.event.contact
        if turn.state.step != "phone" or contact is None:
            await self.prompt(turn, turn.state.step or "consent", retry="buttons")
            return
        if contact.user_id is None or contact.user_id != turn.user_id:
            await self.prompt(turn, "phone", retry="not_own")
            return
        phone = normalize_phone(contact.phone)
        if phone is None:
            await self.prompt(turn, "phone", retry="phone")
            return
        self.data(turn)["phone"] = phone
        await self.advance(turn, "phone")

    # -- confirm -------------------------------------------------------------------

    async def confirm(self, turn: Turn, draft: str) -> None:
        if not _DRAFT.match(draft):
            raise StaleButton(draft)
        store = turn.store
        existing = await store.cases.get_by_draft(draft)
        if existing is not None:
            if existing.user_id != turn.user_id:
                raise StaleButton(draft)
            if turn.state.flow == self.name:
                turn.state.leave()
            turn.say("cases/already", [[turn.button("nav.menu", "nav:menu")]], case=existing)
            return
        self.expect(turn, "summary")
        d = self.data(turn)
        if d.get("draft") != draft:
            raise StaleButton(draft)
        missing = [k for k in ("cat", "city", "dist", "desc", "phone", "time") if not d.get(k)]
        if missing:
            raise StaleButton("incomplete draft")
        channels = channels_of(turn)
        urgent = bool(d.get("urg") or d.get("words"))
        now = self.engine.services.now()
        days, due = follow_up_target(self.engine, channels, d["cat"], urgent, now)
        new = NewCase(
            draft_id=draft,
            user_id=turn.user_id,
            chat_id=turn.event.chat_id,
            category=d["cat"],
            region_city=d["city"],
            region_district=d["dist"],
            region_township=d.get("town"),
            region_village=d.get("vil"),
            description=d["desc"],
            phone=d["phone"],
            contact_time=d["time"],
            urgent_by_resident=bool(d.get("urg")),
            urgent_words=list(d.get("words", [])),
            attachments=list(d.get("attachments", [])) if d.get("attach") else [],
            target_days=days,
            due_at=due,
        )
        case, created = await store.cases.create(new, now=now)  # committed here
        turn.state.leave()
        template = "cases/submitted" if created else "cases/already"
        rows = [
            [turn.button("menu.progress", "menu:progress")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        turn.say(template, rows, case=case, days=days, time=turn.r.label(f"cases.time.{d['time']}"))
        if created:
            await call_listeners("case_created", self.engine.hooks.case_created, turn, case)


def _short_name(typed: str, label: str) -> bool:
    """成都 for 成都市, 武侯 for 武侯区, 凉山 for 凉山彝族自治州."""
    return len(typed) >= 2 and label.startswith(typed)


def step_buttons(turn: Turn, step: str) -> list[Button]:
    """The choice buttons a step offers (without navigation)."""
    d = turn.state.data
    r = turn.r
    if step == "category":
        return [Button(r.label(f"cases.cat.{c}"), f"hc:cat:{c}") for c in CATEGORIES]
    if step == "city":
        return [Button(c, f"hc:city:{c}") for c in channels_of(turn).regions]
    if step == "district":
        districts = channels_of(turn).regions.get(d.get("city", ""), [])
        return [Button(x, f"hc:dist:{x}") for x in districts]
    if step == "time":
        return [Button(r.label(f"cases.time.{t}"), f"hc:time:{t}") for t in CONTACT_TIMES]
    if step in ("urgency", "attach", "consent"):
        key, prefix = {
            "urgency": ("cases.urgent", "hc:urg"),
            "attach": ("cases.attach", "hc:att"),
            "consent": ("cases.consent", "hc:consent"),
        }[step]
        return [Button(r.label(f"{key}.{v}"), f"{prefix}:{v}") for v in ("yes", "no")]
    return []
