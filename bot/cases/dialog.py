"""亮渠道, 我要求助, 我的求助进度 and /forget, as engine flows.

Payload prefixes: ``ch`` channels, ``hc`` help request, ``pg`` progress, ``fg`` forget.
Every payload is parsed strictly against the current step; case ids in payloads are
checked against the resident's own cases in the store, never trusted.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from bot.cases.channels import Channels
from bot.cases.phone import normalize_phone
from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.store.cases import (
    CATEGORIES,
    CHINA_TZ,
    CONTACT_TIMES,
    OPEN_STATUSES,
    Case,
    NewCase,
    new_draft_id,
)

if TYPE_CHECKING:
    from bot.dialog.engine import Engine

log = logging.getLogger(__name__)

MAX_PLACE_CHARS = 30
MAX_DESCRIPTION_CHARS = 500
MIN_DESCRIPTION_CHARS = 2
MAX_MESSAGE_CHARS = 500
MAX_ATTACHMENT_TEXT = 500
MAX_CASES_SHOWN = 10
DEFAULT_RETENTION_DAYS = 180
_MEANINGFUL = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")
_DRAFT = re.compile(r"^[A-Za-z0-9_-]{8,20}$")
_ID = re.compile(r"^[1-9]\d{0,11}$")
OTHER_DISTRICT = "*"


def channels_of(turn: Turn) -> Channels:
    return turn.content.channels


def retention_days(engine: Engine) -> int:
    """What the consent text promises; the staff feature's retention job enforces the
    same setting ([retention] days, else [cases] retention_days)."""
    staff = engine.services.get("staff")
    settings = getattr(staff, "settings", None)
    if settings is not None:
        return int(settings.retention_days)
    cfg = engine.config
    value = cfg.section("cases").get("retention_days") if cfg is not None else None
    return value if isinstance(value, int) and value > 0 else DEFAULT_RETENTION_DAYS


def follow_up_target(engine: Engine, channels: Channels, category: str, urgent: bool, now: float):
    """(working days, due time) for a new request. The staff feature's deadlines
    ([deadlines] in the config, holidays included) win over the defaults in
    channels.yml, so the resident is told the same target the workers are held to."""
    days = channels.targets.days(category, urgent)
    deadlines = engine.services.get("deadlines")
    if deadlines is not None:
        days = deadlines.target_days(category, urgent, fallback=days)
        return days, deadlines.due_at(now, days)
    return days, add_working_days(now, days)


def add_working_days(start: float, days: int) -> float:
    """``days`` working days after ``start`` (China time), weekends skipped."""
    when = dt.datetime.fromtimestamp(start, CHINA_TZ)
    left = days
    while left > 0:
        when += dt.timedelta(days=1)
        if when.weekday() < 5:
            left -= 1
    return when.timestamp()


def clean_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def meaningful(text: str) -> bool:
    return len(_MEANINGFUL.findall(text)) >= MIN_DESCRIPTION_CHARS


def fmt_time(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def fmt_date(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, CHINA_TZ).strftime("%Y-%m-%d")


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


# -- channels --------------------------------------------------------------------


class ChannelsFlow(Flow):
    """亮渠道: general channels, per-region offices, nearest office by location.
    It keeps no state: every step is a button or a shared location."""

    name = "channels"
    prefix = "ch"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await self.show_general(turn)

    async def show_general(self, turn: Turn, declined: bool = False) -> None:
        rows = [
            [turn.button("cases.ch.by_region", "ch:cities")],
            [turn.button("menu.help", "menu:help")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        reply = turn.say(
            "cases/channels", rows, channels=channels_of(turn).general, declined=declined
        )
        reply.request_location = True

    async def on_payload(self, turn: Turn, rest: str) -> None:
        kind, _, value = rest.partition(":")
        if kind == "home" and not value:
            await self.show_general(turn)
        elif kind == "cities" and not value:
            self.show_cities(turn)
        elif kind == "c" and value in channels_of(turn).regions:
            self.show_city(turn, value)
        else:
            raise StaleButton(rest)

    def show_cities(self, turn: Turn) -> None:
        cities = list(channels_of(turn).regions)
        rows = grid([Button(c, f"ch:c:{c}") for c in cities], 3)
        rows.append([turn.button("nav.back", "ch:home"), turn.button("nav.menu", "nav:menu")])
        turn.say("cases/channels_cities", rows)

    def show_city(self, turn: Turn, city: str) -> None:
        offices = channels_of(turn).offices_in(city)
        rows = [
            [turn.button("cases.ch.other_city", "ch:cities")],
            [turn.button("menu.help", "menu:help"), turn.button("nav.menu", "nav:menu")],
        ]
        turn.say("cases/channels_city", rows, city=city, offices=offices)

    async def on_location(self, turn: Turn) -> None:
        loc = turn.event.location
        rows = [
            [turn.button("cases.ch.by_region", "ch:cities")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        found = None
        if loc is not None and -90 <= loc.latitude <= 90 and -180 <= loc.longitude <= 180:
            found = channels_of(turn).nearest(loc.latitude, loc.longitude)
        if found is None:
            turn.say("cases/channels_no_position", rows)
            return
        office, km = found
        turn.say("cases/channels_nearest", rows, office=office, km=round(km, 1))


def grid(buttons: list[Button], per_row: int) -> list[list[Button]]:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


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
        now = _now(self.engine)
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
            for listener in self.engine.services.get("case_created", []):
                try:
                    await listener(turn, case)
                except Exception as exc:  # noqa: BLE001 - the case is stored; tell no one else
                    log.error("case_created listener failed: %s", type(exc).__name__)


def _now(engine: Engine) -> float:
    """Now, from ``engine.services["clock"]`` when a test or a feature sets one."""
    clock = engine.services.get("clock")
    if callable(clock):
        return float(clock())
    return time.time()


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


# -- 我的求助进度 ----------------------------------------------------------------------


class ProgressFlow(Flow):
    """The resident's own requests: status, history, add a message, withdraw.
    Only the 补充说明 step keeps state (the case id, checked again on use)."""

    name = "progress"
    prefix = "pg"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        if turn.event.is_group:
            turn.say("cases/private_only", [[turn.button("nav.menu", "nav:menu")]])
            return
        cases = await turn.store.cases.for_user(turn.user_id, limit=MAX_CASES_SHOWN)
        rows = [
            [
                turn.button(
                    "cases.progress.item",
                    f"pg:v:{c.id}",
                    ref=c.ref,
                    category=turn.r.label(f"cases.cat.{c.category}"),
                )
            ]
            for c in cases
        ]
        if not cases:
            rows.append([turn.button("menu.help", "menu:help")])
        rows.append([turn.button("nav.menu", "nav:menu")])
        turn.say("cases/progress_list", rows, cases=[self.brief(turn, c) for c in cases])

    def brief(self, turn: Turn, case: Case) -> dict[str, Any]:
        return {
            "ref": case.ref,
            "category": turn.r.label(f"cases.cat.{case.category}"),
            "status": turn.r.label(f"cases.status.{case.status}"),
            "created": fmt_date(case.created_at),
            "urgent": case.urgent,
            "open": case.is_open,
        }

    async def own_case(self, turn: Turn, raw_id: str) -> Case:
        """The case named by a payload, only if it is this resident's; else StaleButton."""
        if not _ID.match(raw_id):
            raise StaleButton(raw_id)
        case = await turn.store.cases.get_for_user(int(raw_id), turn.user_id)
        if case is None:
            raise StaleButton(raw_id)
        return case

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)
        kind, _, value = rest.partition(":")
        if kind == "list" and not value:
            turn.state.leave()
            await self.start(turn)
            return
        if kind not in ("v", "m", "w", "wy"):
            raise StaleButton(rest)
        case = await self.own_case(turn, value)
        if kind == "v":
            turn.state.leave()
            await self.show_case(turn, case)
        elif kind == "m":
            if not case.is_open:
                await self.show_case(turn, case, notice="closed")
                return
            turn.state.enter(self.name, "message", {"case": case.id})
            rows = [[turn.button("cases.progress.back", f"pg:v:{case.id}")]]
            turn.say("cases/ask_message", rows, ref=case.ref, limit=MAX_MESSAGE_CHARS)
        elif kind == "w":
            if not case.is_open:
                await self.show_case(turn, case, notice="closed")
                return
            rows = [
                [turn.button("cases.withdraw.yes", f"pg:wy:{case.id}")],
                [turn.button("cases.withdraw.no", f"pg:v:{case.id}")],
            ]
            turn.say("cases/withdraw_confirm", rows, ref=case.ref)
        else:  # wy
            turn.state.leave()
            done = await turn.store.cases.change_status(
                case.id,
                "withdrawn",
                "resident",
                turn.user_id,
                expect_from=OPEN_STATUSES,
                now=_now(self.engine),
            )
            if done is None:
                fresh = await self.own_case(turn, value)
                await self.show_case(turn, fresh, notice="closed")
                return
            rows = [
                [turn.button("cases.progress.list", "pg:list")],
                [turn.button("nav.menu", "nav:menu")],
            ]
            turn.say("cases/withdrawn", rows, ref=done.ref)
            for listener in self.engine.services.get("case_changed", []):
                try:
                    await listener(turn, done)
                except Exception as exc:  # noqa: BLE001
                    log.error("case_changed listener failed: %s", type(exc).__name__)

    async def show_case(self, turn: Turn, case: Case, notice: str | None = None) -> None:
        history = await turn.store.cases.history(case.id)
        messages = await turn.store.cases.messages(case.id, include_private=False)
        steps = [
            {
                "at": fmt_time(h.at),
                "status": turn.r.label(f"cases.status.{h.to_status}"),
                "by_resident": h.actor_kind == "resident",
                "note": h.note if h.to_status in ("resolved", "invalid") else None,
            }
            for h in history
        ]
        msgs = [
            {"at": fmt_time(m.at), "mine": m.author_kind == "resident", "body": m.body}
            for m in messages
        ]
        rows = []
        if case.is_open:
            rows.append([turn.button("cases.progress.add", f"pg:m:{case.id}")])
            rows.append([turn.button("cases.progress.withdraw", f"pg:w:{case.id}")])
        rows.append([turn.button("cases.progress.list", "pg:list")])
        rows.append([turn.button("nav.menu", "nav:menu")])
        turn.say(
            "cases/progress_case",
            rows,
            case=self.brief(turn, case),
            target_days=case.target_days,
            due=fmt_date(case.due_at),
            erased=case.erased_at is not None,
            steps=steps,
            messages=msgs,
            notice=notice,
        )

    async def on_text(self, turn: Turn, text: str) -> None:
        if turn.state.step != "message":
            await super().on_text(turn, text)
            return
        raw = str(turn.state.data.get("case"))
        case = None
        if _ID.match(raw):
            case = await turn.store.cases.get_for_user(int(raw), turn.user_id)
        if case is None:  # erased meanwhile: start over instead of looping on this step
            turn.state.leave()
            await self.start(turn)
            return
        body = text.strip()
        back = [[turn.button("cases.progress.back", f"pg:v:{case.id}")]]
        if len(body) > MAX_MESSAGE_CHARS:
            turn.say("cases/ask_message", back, ref=case.ref, limit=MAX_MESSAGE_CHARS, retry="long")
            return
        if not meaningful(body):
            turn.say(
                "cases/ask_message", back, ref=case.ref, limit=MAX_MESSAGE_CHARS, retry="blank"
            )
            return
        msg = await turn.store.cases.add_message(
            case.id, "resident", turn.user_id, body, now=_now(self.engine)
        )
        turn.state.leave()
        if msg is None:
            await self.show_case(turn, case, notice="closed")
            return
        rows = [
            [turn.button("cases.progress.back", f"pg:v:{case.id}")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        turn.say("cases/message_added", rows, ref=case.ref)
        for listener in self.engine.services.get("case_message", []):
            try:
                await listener(turn, case, msg)
            except Exception as exc:  # noqa: BLE001
                log.error("case_message listener failed: %s", type(exc).__name__)


# -- /forget ----------------------------------------------------------------------------


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
        erased = await turn.store.cases.forget_user(turn.user_id, now=_now(self.engine))
        # The questions the resident asked (the knowledge feature's log), then whatever
        # other features registered for their own data.
        knowledge_forget = getattr(turn.store.knowledge, "forget_user", None)
        if knowledge_forget is not None:
            await knowledge_forget(turn.user_id)
        for handler in self.engine.services.get("forget_handlers", []):
            await handler(turn.store, turn.user_id)
        # The conversation row (any half-filled form) goes now, not at the turn's save,
        # so that the checkpoint below leaves none of it in the WAL.
        await turn.store.forget_user_state(turn.user_id)
        await turn.store.scrub()
        # An empty conversation is deleted from the store when the turn is saved.
        turn.state.leave()
        turn.state.memory.clear()
        turn.say("cases/forget_done", [[turn.button("nav.menu", "nav:menu")]], n_cases=erased)


def install(engine: Engine) -> None:
    engine.add_flow(ChannelsFlow(engine), menu_item="channels")
    engine.add_flow(HelpFlow(engine), menu_item="help")
    engine.add_flow(ProgressFlow(engine), menu_item="progress")
    forget = engine.add_flow(ForgetFlow(engine))
    engine.add_command("forget", forget.start)
    # Hooks for other features: staff notifications and erasing their own data.
    for name in ("case_created", "case_changed", "case_message", "forget_handlers"):
        engine.services.setdefault(name, [])
