"""我要求助 (payload prefix ``hc``): consent first, then the form's steps (declared in
bot.cases.help_steps), a summary to check, and the request stored once (the draft
id makes confirming idempotent). Every payload is parsed strictly against the
current step."""

from __future__ import annotations

import re
from typing import Any

from bot.answers.picker import groups_for, page, short_place
from bot.cases.channels_flow import ChannelsFlow
from bot.cases.common import channels_of, clean_line, follow_up_target
from bot.cases.help_steps import (
    BY_CODE,
    EDIT_STEP,
    EDITABLE,
    OTHER_DISTRICT,
    REGION_CHAIN,
    STEPS,
    HelpDraft,
    Retry,
)
from bot.cases.phone import normalize_phone
from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn, grid
from bot.dialog.services import call_listeners
from bot.domain.cases import NewCase

_DRAFT = re.compile(r"^[A-Za-z0-9_-]{8,20}$")
DISTRICTS_PER_PAGE = 4  # + 更多区县, 其他区县, 返回上一步, 回主菜单: 8 buttons


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

    def draft(self, turn: Turn) -> HelpDraft:
        return HelpDraft.load(turn.state.data)

    def save(self, turn: Turn, draft: HelpDraft) -> None:
        turn.state.data = draft.dump()

    def expect(self, turn: Turn, *steps: str) -> HelpDraft:
        if turn.state.flow != self.name or turn.state.step not in steps:
            raise StaleButton(turn.state.step or "")
        draft = self.draft(turn)
        if turn.state.step != "consent" and not draft.draft_id:
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
        nav = turn.nav_row(back=name != "consent")
        if name == "summary":
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
        rows = [
            [turn.button("cases.confirm", f"hc:ok:{draft.draft_id}")],
            [turn.button("cases.edit", "hc:edit")],
            turn.nav_row(),
        ]
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
        }

    # -- moving on ---------------------------------------------------------------

    async def answer(self, turn: Turn, name: str, draft: HelpDraft, value: Any) -> None:
        """Record the answer to step ``name`` and ask the next question."""
        step = STEPS[name]
        if step.apply is not None:
            step.apply(turn, draft, value)
        elif step.field is not None:
            setattr(draft, step.field, value)
        if draft.editing and name not in REGION_CHAIN:
            following = "summary"
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
        elif kind == "consent" and value == "no":
            self.expect(turn, "consent")
            turn.state.leave()
            channels = self.engine.flows.get("channels")
            if isinstance(channels, ChannelsFlow):
                await channels.show_general(turn, declined=True)
            else:
                turn.say("cases/declined", [[turn.button("nav.menu", "nav:menu")]])
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
            if value not in EDITABLE or (value == "attach" and not draft.attach_offer):
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
        elif step is not None and step.choices is not None:
            await self.typed_choice(turn, name, text)
        elif name in ("summary", "edit"):
            await self.prompt(turn, name, retry="buttons")
        else:
            await super().on_text(turn, text)

    async def typed_choice(self, turn: Turn, name: str, text: str) -> None:
        """A typed label counts as the button: a 市州/区县 name with or without its
        suffix (凉山, 凉山州), and 同意 / 要得 / 好 / 不要 ... at yes-no steps
        (intents/answers.yml)."""
        typed = clean_line(text)
        buttons = self.buttons(turn, name, self.draft(turn))
        options = [(b.payload.rsplit(":", 1)[-1], b.label) for b in buttons]
        words = turn.content.answers
        index = words.pick_option(typed, options)
        if index is None and STEPS[name].short_names:
            fits = [i for i, b in enumerate(buttons) if _short_name(typed, b.label)]
            index = fits[0] if len(fits) == 1 else None
        if index is not None:
            await self.on_payload(turn, buttons[index].payload[3:])
            return
        await self.prompt(turn, name, retry="buttons")

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
            attachments=list(d.attachments) if d.attach else [],
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
        time_label = turn.r.label(f"cases.time.{d.contact_time}")
        turn.say(template, rows, case=case, days=days, time=time_label)
        if created:
            await call_listeners("case_created", self.engine.hooks.case_created, turn, case)


def city_rows(
    turn: Turn, choices: list[Button], group: int | None
) -> tuple[list[list[Button]], list[dict[str, Any]]]:
    """The 市州 by 片区 (intents/answers.yml region_groups): the groups first (a group
    of one is its 市州's button), then the 市州 of one group. Returns the rows and the
    groups to list in the text."""
    words = turn.content.answers
    by_name = {b.label: b for b in choices}
    groups = groups_for(words, list(by_name))
    if group is not None:
        if group >= len(groups):
            raise StaleButton(str(group))
        members = [Button(short_place(words, m), by_name[m].payload) for m in groups[group].members]
        return [*grid(members, 2), [turn.button("cases.city.groups", "hc:cg:all")]], []
    buttons = [
        by_name[g.members[0]] if len(g.members) == 1 else Button(g.label, f"hc:cg:{i}")
        for i, g in enumerate(groups)
    ]
    listed = [
        {"label": g.label, "members": [short_place(words, m) for m in g.members]}
        for g in groups
        if len(g.members) > 1
    ]
    return grid(buttons, 2), listed


def district_rows(turn: Turn, choices: list[Button], number: int) -> list[list[Button]]:
    """A page of 区县 and 更多区县 (back to the first page after the last)."""
    shown, more = page(choices, number, DISTRICTS_PER_PAGE)
    if not shown:
        raise StaleButton(str(number))
    rows = grid(shown, 2)
    following = number + 1 if more else 0
    rows.append([turn.button("cases.district.more", f"hc:dp:{following}")])
    return rows


def _short_name(typed: str, label: str) -> bool:
    """成都 for 成都市, 武侯 for 武侯区: a typed prefix of the label."""
    return len(typed) >= 2 and label.startswith(typed)
