"""The help request being filled in (``HelpDraft``), kept in the conversation's data;
drafts stored with older keys load too."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# The main questions in order, and the draft field each one fills.
MAIN_STEPS = ("category", "city", "district", "description", "phone")
MAIN_FIELDS = {
    "category": "category",
    "city": "city",
    "district": "district",
    "description": "description",
    "phone": "phone",
}


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
    # For whom: None not asked yet, False oneself, True someone else (代办).
    for_other: bool | None = None
    whom_asked: bool = False  # asked at the first step (else known from the screening)
    relation: str | None = None  # the helper's relation to the person (RELATIONS)
    fast: bool = False  # the urgent request started from the emergency reply
    plan: list[str] = field(default_factory=list)  # the questions asked, for 第 N 步
    prepared: bool = False  # the summary's defaults (contact time, attachments) are set
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

    def next_question(self) -> str:
        """The first main question not answered yet, else the summary."""
        for step in MAIN_STEPS:
            if not getattr(self, MAIN_FIELDS[step]):
                return step
        return "summary"

    @property
    def consent_step(self) -> str:
        if self.for_other:
            return "consent_other"
        return "consent_urgent" if self.fast else "consent"
