"""The help form as data: the draft being filled in (``HelpDraft``) and one ``Step``
per question (template, choice buttons, how typed text is read, which field it
fills, what comes next). ``bot.cases.help.HelpFlow`` drives them.

The path is short: for whom (skipped when the screening just said), consent, then
only what is not known yet — category, 市州/区县 (one typed line such as “昭觉县”
gives both), what happened, a phone — and the summary. The 乡镇/村, the contact time
(都可以 unless changed), urgency (from the words, or 这事很急 on the summary) and the
attachments (on, removable) are changed from the summary. From the emergency reply
(``fast``): a short consent, the area, the phone, confirm; the description is what
they wrote. For someone else (代办): the relation, and the helper's confirmation that
the person agrees, instead of the consent; questions say 他（她）.

Payloads: ``hc:<code>:<value>`` for a step's choice buttons, ``hc:skip:<step>`` for
a skippable step; the summary and the edit menu have their own (``ok``, ``edit``,
``ef``, ``ux``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.cases.areas import Area, read_area
from bot.cases.attachments import available_attachments
from bot.cases.categories import STORY_MIN_CHARS, Story, story_category
from bot.cases.common import (
    MAX_DESCRIPTION_CHARS,
    MAX_PLACE_CHARS,
    channels_of,
    clean_line,
    meaningful,
    retention_days,
)
from bot.cases.help_draft import MAIN_FIELDS, MAIN_STEPS, HelpDraft
from bot.cases.phone import normalize_phone
from bot.domain.cases import CATEGORIES, CONTACT_TIMES, new_draft_id

if TYPE_CHECKING:
    from bot.dialog.flow import Turn

MAX_DISTRICT_CHARS = 20
OTHER_DISTRICT = "*"  # hc:dist:* — the district is not listed: type it
YES_NO = ("yes", "no")
WHOM = ("self", "proxy")
RELATIONS = ("family", "neighbour", "worker", "other")  # 家人 / 邻居 / 村社区干部网格员 / 其他
# 第 N 步: the 区县 is part of the 地区 question.
PLAN_GROUP = {"district": "city", "district_text": "city"}


class Retry(Exception):
    """Typed text that does not answer the step: ask again, saying why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Choices = Callable[["Turn", HelpDraft], list[tuple[str, str]]]  # (label, value)
Parser = Callable[["Turn", HelpDraft, str], Any]
Apply = Callable[["Turn", HelpDraft, Any], None]
Context = Callable[["Turn", HelpDraft], dict[str, Any]]
Next = Callable[["Turn", HelpDraft], str]


@dataclass(frozen=True)
class Step:
    template: str  # the question (templates/<locale>/cases/...)
    field: str | None = None  # the draft field the answer fills
    next: str | Next = "summary"  # the step after it
    code: str | None = None  # payload kind of the choice buttons: hc:<code>:<value>
    choices: Choices | None = None
    per_row: int = 1
    parse: Parser | None = None  # typed text -> value, or Retry
    # A choice step's reading of typed text that is no button's label (or None).
    parse_fallback: Parser | None = None
    apply: Apply | None = None  # instead of setting ``field``
    context: Context | None = None  # more for the template
    skippable: bool = False  # a 不清楚，跳过 button (hc:skip:<step>)
    other_district: bool = False  # the 其他区县 button
    share_contact: bool = False  # offer the phone's own number
    short_names: bool = False  # 成都 for 成都市 when typed


# -- choices ------------------------------------------------------------------------


def _labelled(key: str, values: tuple[str, ...]) -> Choices:
    def choices(turn: Turn, draft: HelpDraft) -> list[tuple[str, str]]:
        return [(turn.r.label(f"{key}.{v}"), v) for v in values]

    return choices


def _consent_choices(turn: Turn, draft: HelpDraft) -> list[tuple[str, str]]:
    """同意 / 不同意, and 我是帮别人求助 when nobody asked for whom (the screening said)."""
    values = YES_NO if draft.whom_asked else ("yes", "proxy", "no")
    return [(turn.r.label(f"cases.consent.{v}"), v) for v in values]


def _cities(turn: Turn, draft: HelpDraft) -> list[tuple[str, str]]:
    return [(c, c) for c in channels_of(turn).regions]


def _districts(turn: Turn, draft: HelpDraft) -> list[tuple[str, str]]:
    return [(d, d) for d in channels_of(turn).regions.get(draft.city or "", [])]


# -- typed answers ------------------------------------------------------------------


def _district_text(turn: Turn, draft: HelpDraft, text: str) -> str:
    name = clean_line(text)
    if not meaningful(name) or len(name) > MAX_DISTRICT_CHARS:
        raise Retry("place")
    return name


def _place(turn: Turn, draft: HelpDraft, text: str) -> str:
    name = clean_line(text)
    if not meaningful(name) or len(name) > MAX_PLACE_CHARS:
        raise Retry("place_long" if name else "place")
    return name


def _description(turn: Turn, draft: HelpDraft, text: str) -> str:
    body = text.strip()
    if len(body) > MAX_DESCRIPTION_CHARS:
        raise Retry("long")
    if not meaningful(body):
        raise Retry("blank")
    return body


def _phone(turn: Turn, draft: HelpDraft, text: str) -> str:
    phone = normalize_phone(text)
    if phone is None:
        raise Retry("phone")
    return phone


# -- what an answer does besides filling its field -------------------------------------


def _whom(turn: Turn, draft: HelpDraft, value: str) -> None:
    draft.for_other = value == "proxy"
    draft.whom_asked = True


def _after_whom(turn: Turn, draft: HelpDraft) -> str:
    return "relation" if draft.for_other else draft.consent_step


def _consent(turn: Turn, draft: HelpDraft, value: str) -> None:
    """ "yes": the form starts; "proxy": it is for someone else after all (the consent
    of a helper comes next). "no" is handled by the flow (it leaves the form)."""
    if value == "proxy":
        draft.for_other = True
        draft.whom_asked = True
        return
    if draft.for_other is None:
        draft.for_other = False
    draft.draft_id = new_draft_id()
    draft.plan = [q for q in MAIN_STEPS if q != "district" and not _known(draft, q)]


def _known(draft: HelpDraft, step: str) -> bool:
    if step == "city":
        return bool(draft.city and draft.district)
    return bool(getattr(draft, MAIN_FIELDS[step]))


def _after_consent(turn: Turn, draft: HelpDraft) -> str:
    return "relation" if draft.draft_id is None else draft.next_question()


def _next_question(turn: Turn, draft: HelpDraft) -> str:
    return draft.next_question()


def _city(turn: Turn, draft: HelpDraft, value: str | Area) -> None:
    """A 市州 (its button), or an ``Area`` typed in one line (“昭觉县竹核乡”)."""
    area = value if isinstance(value, Area) else Area(value)
    if draft.city != area.city:
        draft.district = None
    draft.city = area.city
    if area.district:
        draft.district = area.district
    if area.township:
        draft.township = area.township


def _area_text(turn: Turn, draft: HelpDraft, text: str) -> Area:
    """A typed area at the 市州 step: a 区县 with or without its 市州 (“昭觉县”,
    “凉山州昭觉县”, “凉山 昭觉”), or a 市州 alone; Retry("area") otherwise."""
    found = read_area(turn.content.answers, channels_of(turn).regions, text)
    if found is None:
        raise Retry("area")
    return found


def _district_typed(turn: Turn, draft: HelpDraft, text: str) -> str:
    """A typed 区县 at the 区县 step, also written with its 市州 (“凉山州昭觉县”)."""
    found = read_area(turn.content.answers, channels_of(turn).regions, text)
    if found is None or found.city != draft.city or not found.district:
        raise Retry("buttons")
    if found.township:
        draft.township = found.township
    return found.district


def _story(turn: Turn, draft: HelpDraft, text: str) -> Story:
    """家里没得吃的了两天没吃饭了 at the category step (bot.cases.categories). Short text
    (a label, 住房) or an area is no story: Retry, and the buttons are read."""
    body = text.strip()
    squashed = turn.content.answers.squash(body)
    if len(squashed) < STORY_MIN_CHARS or len(body) > MAX_DESCRIPTION_CHARS:
        raise Retry("buttons")
    area = read_area(turn.content.answers, channels_of(turn).regions, body)
    if area is not None and len(squashed) <= MAX_PLACE_CHARS:
        raise Retry("buttons")
    return Story(body, story_category(turn, body))


def _category(turn: Turn, draft: HelpDraft, value: str | Story) -> None:
    """A button, or a story: the description (unless there is one) and, if clear, the category."""
    if isinstance(value, Story):
        if not draft.description:
            _described(turn, draft, value.body)
            draft.plan = [q for q in draft.plan if q != "description"]  # 第 N 步 of fewer
        if value.category is not None:
            draft.category = value.category
        return
    draft.category = value


def _described(turn: Turn, draft: HelpDraft, body: str) -> None:
    draft.description = body
    draft.urgent_words = channels_of(turn).urgent_hits(body)


def _urgency(turn: Turn, draft: HelpDraft, value: str) -> None:
    draft.urgent = value == "yes"


def _attach(turn: Turn, draft: HelpDraft, value: str) -> None:
    draft.attach = value == "yes"
    draft.attachments = available_attachments(turn) if draft.attach else []


def _after_urgency(turn: Turn, draft: HelpDraft) -> str:
    """(A form stored before the short path: time and urgency were steps.)"""
    draft.attach_offer = bool(available_attachments(turn))
    draft.prepared = True
    if draft.attach_offer:
        return "attach"
    draft.attach = False
    return "summary"


def _after_village(turn: Turn, draft: HelpDraft) -> str:
    return "summary" if draft.description else "description"


def _after_description(turn: Turn, draft: HelpDraft) -> str:
    if not draft.phone:
        return "phone"
    return draft.next_question()


def _after_time(turn: Turn, draft: HelpDraft) -> str:
    # A form stored before the short path still asks its urgency question.
    return "summary" if draft.prepared else "urgency"


def prepare_summary(turn: Turn, draft: HelpDraft) -> None:
    """The summary's defaults, set once: contact time 都可以, and what can be attached
    (the last unanswered question, the last screening) attached, removable."""
    if draft.prepared:
        return
    draft.prepared = True
    if not draft.contact_time:
        draft.contact_time = "any"
    available = available_attachments(turn)
    draft.attach_offer = bool(available)
    draft.attach = bool(available)
    draft.attachments = available


def relation_word(turn: Turn, relation: str | None) -> str:
    """The relation as said in a sentence (您是他（她）的邻居或朋友)."""
    value = relation if relation in RELATIONS else "other"
    return turn.r.label(f"cases.relation_word.{value}")


def _relation(turn: Turn, draft: HelpDraft, value: str) -> None:
    draft.relation = value


def _place_step(template: str, field: str, next: str | Next) -> Step:
    """A 乡镇/村 question: a short typed name, or 不清楚，跳过."""
    return Step(
        template,
        field=field,
        next=next,
        parse=_place,
        skippable=True,
        context=lambda turn, d: {"limit": MAX_PLACE_CHARS},
    )


STEPS: dict[str, Step] = {
    "whom": Step(
        "cases/ask_whom",
        next=_after_whom,
        code="who",
        choices=_labelled("cases.whom", WHOM),
        apply=_whom,
    ),
    "relation": Step(
        "cases/ask_relation",
        field="relation",
        next="consent_other",
        code="rel",
        choices=_labelled("cases.relation", RELATIONS),
        per_row=2,
        apply=_relation,
    ),
    "consent": Step(
        "cases/consent",
        next=_after_consent,
        code="consent",
        choices=_consent_choices,
        apply=_consent,
        context=lambda turn, d: {"days": retention_days(turn.engine)},
    ),
    "consent_urgent": Step(
        "cases/consent_urgent",
        next=_next_question,
        code="cu",
        choices=_labelled("cases.consent_urgent", YES_NO),
        apply=_consent,
        context=lambda turn, d: {"days": retention_days(turn.engine), "text": d.description},
    ),
    "consent_other": Step(
        "cases/consent_other",
        next=_next_question,
        code="co",
        choices=_labelled("cases.consent_other", YES_NO),
        apply=_consent,
        context=lambda turn, d: {
            "days": retention_days(turn.engine),
            "relation": relation_word(turn, d.relation),
        },
    ),
    "category": Step(
        "cases/ask_category",
        field="category",
        next=_next_question,
        code="cat",
        choices=_labelled("cases.cat", CATEGORIES),
        per_row=2,
        parse_fallback=_story,
        apply=_category,
        context=lambda turn, d: {"noted": d.description or ""},
    ),
    "city": Step(
        "cases/ask_city",
        next=_next_question,
        code="city",
        choices=_cities,
        per_row=3,
        parse_fallback=_area_text,
        apply=_city,
        short_names=True,
    ),
    "district": Step(
        "cases/ask_district",
        field="district",
        next=_next_question,
        code="dist",
        choices=_districts,
        per_row=3,
        other_district=True,
        short_names=True,
        parse_fallback=_district_typed,
        context=lambda turn, d: {"city": d.city or ""},
    ),
    "district_text": Step(
        "cases/ask_district_text",
        field="district",
        next=_next_question,
        parse=_district_text,
        context=lambda turn, d: {"city": d.city or ""},
    ),
    "township": _place_step("cases/ask_township", "township", next="village"),
    "village": _place_step("cases/ask_village", "village", next=_after_village),
    "description": Step(
        "cases/ask_description",
        next=_after_description,
        parse=_description,
        apply=_described,
        context=lambda turn, d: {"limit": MAX_DESCRIPTION_CHARS},
    ),
    "phone": Step(
        "cases/ask_phone",
        field="phone",
        next=_next_question,
        parse=_phone,
        share_contact=True,
    ),
    "time": Step(
        "cases/ask_time",
        field="contact_time",
        next=_after_time,
        code="time",
        choices=_labelled("cases.time", CONTACT_TIMES),
        per_row=2,
    ),
    "urgency": Step(
        "cases/ask_urgency",
        next=_after_urgency,
        code="urg",
        choices=_labelled("cases.urgent", YES_NO),
        apply=_urgency,
        context=lambda turn, d: {"words": d.urgent_words},
    ),
    "attach": Step(
        "cases/ask_attach",
        code="att",
        choices=_labelled("cases.attach", YES_NO),
        apply=_attach,
        context=lambda turn, d: {"items": available_attachments(turn)},
    ),
}
BY_CODE = {step.code: name for name, step in STEPS.items() if step.code}
# While editing the area from the summary: 市州 → 区县 → 乡镇 → 村 → the summary.
EDIT_CHAIN = {
    "city": "district",
    "district": "township",
    "district_text": "township",
    "township": "village",
}
REGION_CHAIN = tuple(EDIT_CHAIN)
# What the summary's 修改 offers (hc:ef:<field>), and the step each one opens; 急不急
# is the summary's own 这事很急 button (older forms' hc:ef:urgency still works).
EDITABLE = ("category", "region", "description", "phone", "time", "attach")
EDIT_FIELDS = (*EDITABLE, "urgency")
EDIT_STEP = {"region": "city"}
