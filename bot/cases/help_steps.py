"""The help form as data: the draft being filled in (``HelpDraft``) and one ``Step``
per question (template, choice buttons, how typed text is read, which field it
fills, what comes next). ``bot.cases.help.HelpFlow`` drives them.

Payloads: ``hc:<code>:<value>`` for a step's choice buttons, ``hc:skip:<step>`` for
a skippable step; the summary and the edit menu have their own (``ok``, ``edit``,
``ef``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from bot.cases.attachments import available_attachments
from bot.cases.common import (
    MAX_DESCRIPTION_CHARS,
    MAX_PLACE_CHARS,
    channels_of,
    clean_line,
    meaningful,
    retention_days,
)
from bot.cases.phone import normalize_phone
from bot.domain.cases import CATEGORIES, CONTACT_TIMES, new_draft_id

if TYPE_CHECKING:
    from bot.dialog.flow import Turn

MAX_DISTRICT_CHARS = 20
OTHER_DISTRICT = "*"  # hc:dist:* — the district is not listed: type it
YES_NO = ("yes", "no")


@dataclass
class HelpDraft:
    """The request being filled in, kept in the conversation's data."""

    draft_id: str | None = None  # set on consent; makes confirming idempotent
    category: str | None = None
    city: str | None = None
    district: str | None = None
    township: str | None = None
    village: str | None = None
    description: str | None = None
    urgent_words: list[str] = field(default_factory=list)  # found in the description
    phone: str | None = None
    contact_time: str | None = None
    urgent: bool = False  # the resident said it is urgent
    attach_offer: bool = False  # there was something to attach
    attach: bool = False
    attachments: list[dict[str, Any]] = field(default_factory=list)
    editing: bool = False  # changing one field from the summary
    # Steps already answered by whoever opened the form (the 冬季自查 fills in the
    # category, the description and the urgency): skipped, changeable from the summary.
    prefilled: list[str] = field(default_factory=list)

    # Keys of drafts stored before the fields had these names.
    _OLD_KEYS = {
        "draft": "draft_id",
        "cat": "category",
        "dist": "district",
        "town": "township",
        "vil": "village",
        "desc": "description",
        "words": "urgent_words",
        "time": "contact_time",
        "urg": "urgent",
        "edit": "editing",
    }

    @classmethod
    def load(cls, data: dict[str, Any]) -> HelpDraft:
        names = {f.name for f in fields(cls)}
        values = {}
        for key, value in data.items():
            key = cls._OLD_KEYS.get(key, key)
            if key in names and value is not None:
                values[key] = value
        return cls(**values)

    def dump(self) -> dict[str, Any]:
        """Only what is set: the conversation state stays small."""
        return {k: v for k, v in asdict(self).items() if v not in (None, False, [], "")}

    @property
    def is_urgent(self) -> bool:
        return bool(self.urgent or self.urgent_words)

    def missing(self) -> list[str]:
        need = ("category", "city", "district", "description", "phone", "contact_time")
        return [name for name in need if not getattr(self, name)]


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


def _consent(turn: Turn, draft: HelpDraft, value: str) -> None:
    draft.draft_id = new_draft_id()  # "no" is handled by the flow (it leaves the form)


def _city(turn: Turn, draft: HelpDraft, value: str) -> None:
    if draft.city != value:
        draft.district = None
    draft.city = value


def _described(turn: Turn, draft: HelpDraft, body: str) -> None:
    draft.description = body
    draft.urgent_words = channels_of(turn).urgent_hits(body)


def _urgency(turn: Turn, draft: HelpDraft, value: str) -> None:
    draft.urgent = value == "yes"


def _attach(turn: Turn, draft: HelpDraft, value: str) -> None:
    draft.attach = value == "yes"
    draft.attachments = available_attachments(turn) if draft.attach else []


def _after_urgency(turn: Turn, draft: HelpDraft) -> str:
    draft.attach_offer = bool(available_attachments(turn))
    if draft.attach_offer:
        return "attach"
    draft.attach = False
    return "summary"


STEPS: dict[str, Step] = {
    "consent": Step(
        "cases/consent",
        next="category",
        code="consent",
        choices=_labelled("cases.consent", YES_NO),
        apply=_consent,
        context=lambda turn, d: {"days": retention_days(turn.engine)},
    ),
    "category": Step(
        "cases/ask_category",
        field="category",
        next="city",
        code="cat",
        choices=_labelled("cases.cat", CATEGORIES),
        per_row=2,
    ),
    "city": Step(
        "cases/ask_city",
        next="district",
        code="city",
        choices=_cities,
        per_row=3,
        apply=_city,
        short_names=True,
    ),
    "district": Step(
        "cases/ask_district",
        field="district",
        next="township",
        code="dist",
        choices=_districts,
        per_row=3,
        other_district=True,
        short_names=True,
        context=lambda turn, d: {"city": d.city or ""},
    ),
    "district_text": Step(
        "cases/ask_district_text",
        field="district",
        next="township",
        parse=_district_text,
        context=lambda turn, d: {"city": d.city or ""},
    ),
    "township": Step(
        "cases/ask_township",
        field="township",
        next="village",
        parse=_place,
        skippable=True,
        context=lambda turn, d: {"limit": MAX_PLACE_CHARS},
    ),
    "village": Step(
        "cases/ask_village",
        field="village",
        next="description",
        parse=_place,
        skippable=True,
        context=lambda turn, d: {"limit": MAX_PLACE_CHARS},
    ),
    "description": Step(
        "cases/ask_description",
        next="phone",
        parse=_description,
        apply=_described,
        context=lambda turn, d: {"limit": MAX_DESCRIPTION_CHARS},
    ),
    "phone": Step("cases/ask_phone", field="phone", next="time", parse=_phone, share_contact=True),
    "time": Step(
        "cases/ask_time",
        field="contact_time",
        next="urgency",
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
# Steps that lead to the next one even while editing (a new 市州 needs its 区县).
REGION_CHAIN = ("city", "district", "district_text", "township")
# What the summary's 修改 offers (hc:ef:<field>), and the step each one opens.
EDITABLE = ("category", "region", "description", "phone", "time", "urgency", "attach")
EDIT_STEP = {"region": "city"}
