"""What the residents' case flows share: limits, checks of typed text, the channels
content, and the promises made to residents (retention, follow-up target)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.cases.channels import Channels
    from bot.dialog.engine import Engine
    from bot.dialog.flow import Turn

MAX_PLACE_CHARS = 30
MAX_DESCRIPTION_CHARS = 500
MIN_DESCRIPTION_CHARS = 2
MAX_MESSAGE_CHARS = 500
MAX_ATTACHMENT_TEXT = 500
MAX_CASES_SHOWN = 10
DEFAULT_RETENTION_DAYS = 180
_MEANINGFUL = re.compile(r"[0-9A-Za-z\u4e00-\u9fff]")
CASE_ID = re.compile(r"^[1-9]\d{0,11}$")


def channels_of(turn: Turn) -> Channels:
    return turn.content.channels


def retention_days(engine: Engine) -> int:
    """What the consent text promises; the staff feature's retention job enforces the
    same setting ([retention] days, else [cases] retention_days)."""
    staff = engine.services.staff
    if staff is not None:
        return int(staff.settings.retention_days)
    cfg = engine.config
    value = cfg.section("cases").get("retention_days") if cfg is not None else None
    return value if isinstance(value, int) and value > 0 else DEFAULT_RETENTION_DAYS


def follow_up_target(engine: Engine, channels: Channels, category: str, urgent: bool, now: float):
    """(working days, due time) for a new request, set once when it is stored:
    [deadlines] in the config (holidays included) over the targets in channels.yml,
    so the resident is told the same target the workers are held to. An urgent
    request has 0 working days and is due in hours (every day of the week)."""
    targets = channels.targets
    default = targets.days(category, urgent)
    return engine.services.deadlines.for_new_case(
        category, urgent, now, default, default_hours=targets.urgent_hours
    )


def area_covered(engine: Engine, city: str, district: str) -> bool:
    """Whether a staff chat of the area's own (or of its 市州) takes its requests. Not
    covered: the request still goes to the default chat and the admins (the staff
    feature's post), but the resident is not promised a quick call."""
    staff = engine.services.staff
    if staff is None:
        return False
    return staff.settings.own_chat_for(city, district) is not None


async def someone_alerted(engine: Engine) -> bool:
    """Whether a request from an uncovered area reaches anybody: the default staff
    chat or an admin (what the staff feature's post goes to)."""
    staff = engine.services.staff
    if staff is None:
        return False
    if staff.settings.default_chat is not None or staff.settings.admin_ids:
        return True
    return bool(await staff.store.staff.admins())


def clean_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def meaningful(text: str) -> bool:
    return len(_MEANINGFUL.findall(text)) >= MIN_DESCRIPTION_CHARS
