"""我要求助 (payload prefix ``hc``): for whom, consent, then the form's steps (declared
in bot.cases.help_steps), a summary to check, and the request stored once (the draft
id makes confirming idempotent). Every payload is parsed strictly against the
current step. ``start_urgent`` is the emergency reply's 我要紧急求助: a short consent,
the area, the phone, confirm. What the resident is told after storing depends on
whether a staff chat covers the area (else: stored, the admins know, 12345 or the
village/community committee is quicker)."""

from __future__ import annotations

import re
from typing import Any

from bot.calendar import hours_of, local_date
from bot.cases.categories import TOPIC_CATEGORY
from bot.cases.channels_flow import ChannelsFlow
from bot.cases.common import (
    area_covered,
    channels_of,
    clean_line,
    follow_up_target,
    someone_alerted,
)
from bot.cases.help_pickers import DISTRICTS_PER_PAGE, city_rows, district_rows, short_name
from bot.cases.help_steps import (
    BY_CODE,
    EDIT_CHAIN,
    EDIT_FIELDS,
    EDIT_STEP,
    EDITABLE,
    OTHER_DISTRICT,
    PLAN_GROUP,
    STEPS,
    HelpDraft,
    Retry,
    prepare_summary,
    relation_word,
)
from bot.cases.phone import normalize_phone
from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn, grid
from bot.dialog.services import call_listeners
from bot.domain.cases import CATEGORIES, Case, NewCase

_DRAFT = re.compile(r"^[A-Za-z0-9_-]{8,20}$")
# Steps before the draft exists (it is made on consent).
BEFORE_CONSENT = ("whom", "relation", "consent", "consent_urgent", "consent_other")


class HelpFlow(Flow):
    name = "help"
    prefix = "hc"

    # -- entry --------------------------------------------------------------

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        if turn.event.is_group:
            turn.say("cases/private_only", [[turn.button("nav.menu", "nav:menu")]])
            return
        draft = HelpDraft()
        self.prefill(turn, draft)
        if draft.for_other is None:
            first = "whom"
        else:
            first = "relation" if draft.for_other else "consent"
        turn.state.enter(self.name, first, draft.dump())
        await self.prompt(turn, first)

    async def start_urgent(
        self, turn: Turn, description: str = "", category: str | None = None
    ) -> None:
        """The emergency reply's 我要紧急求助: urgent, the description what they wrote,
        the category the triage said; a short consent, then only the area and the phone."""
        if turn.event.is_group:
            turn.say("cases/private_only", [[turn.button("nav.menu", "nav:menu")]])
            return
        body = description.strip()
        draft = HelpDraft(fast=True, urgent=True, whom_asked=True)
        self.prefill(turn, draft, today_only=False)
        draft.for_other = None  # the contact is whoever writes; no 代办 questions
        draft.category = category if category in CATEGORIES else "other"
        if body:
            draft.description = body
            draft.urgent_words = channels_of(turn).urgent_hits(body)
        turn.state.enter(self.name, "consent_urgent", draft.dump())
        await self.prompt(turn, "consent_urgent")

    def prefill(self, turn: Turn, draft: HelpDraft, today_only: bool = True) -> None:
        """What the screening just found out: the 市州, for whom, and (from 我能办吗)
        the category. Only a screening of today counts for whom and the category."""
        memory = turn.state.memory.get("screening")
        if not isinstance(memory, dict):
            return
        answers = memory.get("answers")
        regions = channels_of(turn).regions
        city = answers.get("region") if isinstance(answers, dict) else None
        if isinstance(city, str) and city in regions:
            draft.city = city
        today = local_date(self.engine.services.now()).isoformat()
        if today_only and memory.get("date") != today:
            return
        if isinstance(memory.get("for_other"), bool):
            draft.for_other = memory["for_other"]
        topic = memory.get("focus_category")
        if isinstance(topic, str) and topic in TOPIC_CATEGORY:
            draft.category = TOPIC_CATEGORY[topic]

    def draft(self, turn: Turn) -> HelpDraft:
        return HelpDraft.load(turn.state.data)

    def save(self, turn: Turn, draft: HelpDraft) -> None:
        turn.state.data = draft.dump()

    def expect(self, turn: Turn, *steps: str) -> HelpDraft:
        if turn.state.flow != self.name or turn.state.step not in steps:
            raise StaleButton(turn.state.step or "")
        draft = self.draft(turn)
        if turn.state.step not in BEFORE_CONSENT and not draft.draft_id:
            raise StaleButton("no draft")
        return draft

    # -- questions ------------------------------------------------------------

    def buttons(self, turn: Turn, name: str, draft: HelpDraft) -> list[Button]:
        """The choice buttons a step offers (without navigation)."""
        step = STEPS.get(name)
        if step is None or step.choices is None:
            return []
        return [Button(label, f"hc:{step.code}:{v}") for label, v in step.choices(turn, draft)]

    async def prompt(
        self, turn: Turn, name: str, retry: str | None = None, view: int | None = None
    ) -> None:
        """Ask step ``name``. ``view``: the group of 市州 or the page of 区县 shown (a
        long list never puts more than 8 buttons on one screen)."""
        draft = self.draft(turn)
        nav = turn.nav_row(back=bool(turn.state.stack))
        if name == "summary":
            if not draft.prepared:
                prepare_summary(turn, draft)
                self.save(turn, draft)
            self.show_summary(turn, draft, retry)
            return
        if name == "edit":
            fields = [f for f in EDITABLE if f != "attach" or draft.attach_offer]
            buttons = [turn.button(f"cases.field.{f}", f"hc:ef:{f}") for f in fields]
            turn.say("cases/ask_edit", [*grid(buttons, 2), nav])
            return
        step = STEPS.get(name)
        if step is None:
            raise StaleButton(name)
        choices = self.buttons(turn, name, draft)
        context = step.context(turn, draft) if step.context else {}
        context["other"] = bool(draft.for_other)
        group = PLAN_GROUP.get(name, name)
        if group in draft.plan and not draft.editing:
            context.update(step_no=draft.plan.index(group) + 1, steps=len(draft.plan))
        if name == "city":
            rows, context["groups"] = city_rows(turn, choices, view)
        elif name == "district" and len(choices) > DISTRICTS_PER_PAGE + 1:
            rows = district_rows(turn, choices, view or 0)
            context["names"] = [b.label for b in choices]
        else:
            rows = grid(choices, step.per_row)
        if step.other_district:
            rows.append([turn.button("cases.district.other", f"hc:dist:{OTHER_DISTRICT}")])
        if step.skippable:
            rows.append([turn.button("cases.place.unknown", f"hc:skip:{name}")])
        rows.append(nav)
        reply = turn.say(step.template, rows, retry=retry, **context)
        if step.share_contact:
            reply.request_contact = True
            reply.expects_number = True

    def show_summary(self, turn: Turn, draft: HelpDraft, retry: str | None = None) -> None:
        rows = [[turn.button("cases.confirm", f"hc:ok:{draft.draft_id}")]]
        if not draft.urgent_words:  # urgent by its words: nothing to switch
            if draft.urgent:
                rows.append([turn.button("cases.urgent_toggle.off", "hc:ux:off")])
            else:
                rows.append([turn.button("cases.urgent_toggle.on", "hc:ux:on")])
        rows += [[turn.button("cases.edit", "hc:edit")], turn.nav_row()]
        turn.say("cases/summary", rows, d=self.view(turn, draft), retry=retry)

    def view(self, turn: Turn, d: HelpDraft) -> dict[str, Any]:
        """The draft in words, for the summary."""
        return {
            "category": turn.r.label(f"cases.cat.{d.category}"),
            "city": d.city,
            "district": d.district,
            "township": d.township,
            "village": d.village,
            "description": d.description,
            "phone": d.phone,
            "time": turn.r.label(f"cases.time.{d.contact_time}"),
            "urgent": d.is_urgent,
            "urgent_by_resident": d.urgent,
            "words": d.urgent_words,
            "attachments": d.attachments if d.attach else [],
            "other": bool(d.for_other),
            "relation": relation_word(turn, d.relation) if d.for_other else "",
        }

    # -- moving on ---------------------------------------------------------------

    async def answer(self, turn: Turn, name: str, draft: HelpDraft, value: Any) -> None:
        """Record the answer to step ``name`` and ask the next question."""
        step = STEPS[name]
        if step.apply is not None:
            step.apply(turn, draft, value)
        elif step.field is not None:
            setattr(draft, step.field, value)
        if draft.editing:
            following = EDIT_CHAIN.get(name, "summary")
        else:
            following = step.next if isinstance(step.next, str) else step.next(turn, draft)
            while following in draft.prefilled and following in STEPS:
                skipped = STEPS[following].next
                following = skipped if isinstance(skipped, str) else skipped(turn, draft)
        if following == "summary":
            draft.editing = False
        self.save(turn, draft)
        turn.state.push(following)
        await self.prompt(turn, following)

    # -- buttons -----------------------------------------------------------------

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)  # the form is private: its steps show personal data
        kind, _, value = rest.partition(":")
        if kind == "ok":
            await self.confirm(turn, value)
        elif kind in ("consent", "cu") and value == "no":
            self.expect(turn, BY_CODE[kind])
            turn.state.leave()
            channels = self.engine.flows.get("channels")
            if isinstance(channels, ChannelsFlow):
                await channels.show_general(turn, declined=True)
            else:
                turn.say("cases/declined", [[turn.button("nav.menu", "nav:menu")]])
        elif kind == "co" and value == "no":
            self.expect(turn, "consent_other")
            turn.state.leave()  # nothing is kept: they ask the person first
            turn.say("cases/helper_later", [[turn.button("nav.menu", "nav:menu")]])
        elif kind == "ux" and value in ("on", "off"):
            draft = self.expect(turn, "summary")
            if draft.urgent_words:
                raise StaleButton(rest)
            draft.urgent = value == "on"
            self.save(turn, draft)
            self.show_summary(turn, draft)
        elif kind in ("cg", "dp"):
            # another group of 市州 / page of 区县 (cg:all: the groups again)
            name = "city" if kind == "cg" else "district"
            self.expect(turn, name)
            if value == "all" and kind == "cg":
                await self.prompt(turn, name)
            elif value.isdigit() and len(value) <= 2:
                await self.prompt(turn, name, view=int(value))
            else:
                raise StaleButton(rest)
        elif kind == "dist" and value == OTHER_DISTRICT:
            self.expect(turn, "district")
            turn.state.push("district_text")
            await self.prompt(turn, "district_text")
        elif kind == "skip":
            if value not in STEPS or not STEPS[value].skippable:
                raise StaleButton(rest)
            draft = self.expect(turn, value)
            await self.answer(turn, value, draft, None)
        elif kind == "edit" and not value:
            self.expect(turn, "summary")
            turn.state.push("edit")
            await self.prompt(turn, "edit")
        elif kind == "ef":
            draft = self.expect(turn, "edit")
            if value not in EDIT_FIELDS or (value == "attach" and not draft.attach_offer):
                raise StaleButton(rest)
            draft.editing = True
            self.save(turn, draft)
            step = EDIT_STEP.get(value, value)
            turn.state.push(step)
            await self.prompt(turn, step)
        elif kind in BY_CODE:
            name = BY_CODE[kind]
            draft = self.expect(turn, name)
            choices = STEPS[name].choices
            if choices is None or value not in {v for _label, v in choices(turn, draft)}:
                raise StaleButton(rest)
            await self.answer(turn, name, draft, value)
        else:
            raise StaleButton(rest)

    # -- typed answers --------------------------------------------------------------

    async def on_text(self, turn: Turn, text: str) -> None:
        name = turn.state.step or ""
        step = STEPS.get(name)
        if step is not None and step.parse is not None:
            draft = self.draft(turn)
            try:
                value = step.parse(turn, draft, text)
            except Retry as retry:
                await self.prompt(turn, name, retry=retry.reason)
                return
            await self.answer(turn, name, draft, value)
        elif step is not None and step.parse_fallback is not None:
            draft = self.draft(turn)
            try:
                value = step.parse_fallback(turn, draft, text)
            except Retry as retry:
                if not await self.typed_choice(turn, name, text, quiet=True):
                    await self.prompt(turn, name, retry=retry.reason)
                return
            await self.answer(turn, name, draft, value)
        elif step is not None and step.choices is not None:
            await self.typed_choice(turn, name, text)
        elif name in ("summary", "edit"):
            await self.prompt(turn, name, retry="buttons")
        else:
            await super().on_text(turn, text)

    async def typed_choice(self, turn: Turn, name: str, text: str, quiet: bool = False) -> bool:
        """A typed label counts as the button: a 市州/区县 name with or without its
        suffix (凉山, 凉山州), and 同意 / 要得 / 好 / 不要 ... at yes-no steps, 自己 /
        帮家人 for whom, 他同意了 / 还没问 at the helper's consent (intents/answers.yml,
        intents/words.yml). False (and, unless ``quiet``, the question again) when
        the text is no answer."""
        typed = clean_line(text)
        buttons = self.buttons(turn, name, self.draft(turn))
        options = [(b.payload.rsplit(":", 1)[-1], b.label) for b in buttons]
        words = turn.content.answers
        index = words.pick_option(typed, options)
        if index is None and STEPS[name].short_names:
            fits = [i for i, b in enumerate(buttons) if short_name(typed, b.label)]
            index = fits[0] if len(fits) == 1 else None
        if index is None and name == "consent_other":
            said = turn.content.words.which("screening_whom", words.squash(typed))
            value = {"agreed": "yes", "later": "no"}.get(said or "")
            index = next((i for i, (v, _l) in enumerate(options) if v == value), None)
        if index is not None:
            await self.on_payload(turn, buttons[index].payload[3:])
            return True
        if not quiet:
            await self.prompt(turn, name, retry="buttons")
        return False

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
        await self.answer(turn, "phone", self.draft(turn), phone)

    # -- confirm -------------------------------------------------------------------

    async def confirm(self, turn: Turn, draft_id: str) -> None:
        if not _DRAFT.match(draft_id):
            raise StaleButton(draft_id)
        store = turn.store
        existing = await store.cases.get_by_draft(draft_id)
        if existing is not None:
            if existing.user_id != turn.user_id:
                raise StaleButton(draft_id)
            if turn.state.flow == self.name and self.draft(turn).draft_id == draft_id:
                # The form is still at its summary: the turn that stored the request
                # never saved (the process died between the two commits), and this is
                # the same press delivered again. It gets that turn's answer, with the
                # reference; posting to staff is recorded, so the hook posts once.
                for_other = bool(self.draft(turn).for_other)
                turn.state.leave()
                await self._filed(turn, existing, "cases/submitted", for_other)
                await call_listeners("case_created", self.engine.hooks.case_created, turn, existing)
                return
            if turn.state.flow == self.name:
                turn.state.leave()
            turn.say("cases/already", [[turn.button("nav.menu", "nav:menu")]], case=existing)
            return
        d = self.expect(turn, "summary")
        if d.draft_id != draft_id:
            raise StaleButton(draft_id)
        if d.missing():
            raise StaleButton("incomplete draft")
        assert d.category and d.city and d.district and d.description and d.phone
        assert d.contact_time
        now = self.engine.services.now()
        days, due = follow_up_target(self.engine, channels_of(turn), d.category, d.is_urgent, now)
        attachments = list(d.attachments) if d.attach else []
        if d.for_other:
            # 代办: workers see who asked and how they are related (/forget erases it
            # with the request's other attachments).
            attachments.insert(0, {"kind": "proxy", "relation": d.relation or "other"})
        new = NewCase(
            draft_id=draft_id,
            user_id=turn.user_id,
            chat_id=turn.event.chat_id,
            category=d.category,
            region_city=d.city,
            region_district=d.district,
            region_township=d.township,
            region_village=d.village,
            description=d.description,
            phone=d.phone,
            contact_time=d.contact_time,
            urgent_by_resident=d.urgent,
            urgent_words=list(d.urgent_words),
            attachments=attachments,
            target_days=days,
            due_at=due,
        )
        case, created = await store.cases.create(new, now=now)  # committed here
        turn.state.leave()
        template = "cases/submitted" if created else "cases/already"
        await self._filed(turn, case, template, bool(d.for_other))
        if created:
            await call_listeners("case_created", self.engine.hooks.case_created, turn, case)

    async def _filed(self, turn: Turn, case: Case, template: str, for_other: bool) -> None:
        """The answer to 确认提交: the reference, when the first contact is due (in
        hours for an urgent request), and who was told."""
        rows = [
            [turn.button("menu.progress", "menu:progress")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        time_label = turn.r.label(f"cases.time.{case.contact_time or 'any'}")
        covered = area_covered(self.engine, case.region_city, case.region_district)
        turn.say(
            template,
            rows,
            case=case,
            days=case.target_days,
            hours=hours_of(case.target_days, case.created_at, case.due_at) if case.urgent else None,
            time=time_label,
            covered=covered,
            alerted=covered or await someone_alerted(self.engine),
            other=for_other,
        )
