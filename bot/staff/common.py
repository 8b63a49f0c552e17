"""What the staff flows share: the service, strict payload ids, and replies that go
to the presser's private chat when the press came from a group."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.dialog.flow import StaleButton

if TYPE_CHECKING:
    from bot.dialog.events import Reply
    from bot.dialog.flow import Turn
    from bot.staff.service import StaffService

_ID = re.compile(r"^[1-9]\d{0,11}$")
INDEX = re.compile(r"^\d{1,3}$")
MAX_NAME_CHARS = 20


def service_of(turn: Turn) -> StaffService:
    svc = turn.engine.services.staff
    assert svc is not None, "the staff feature is installed"
    return svc


def regions_of(turn: Turn) -> dict[str, list[str]]:
    channels = getattr(turn.content, "channels", None)
    regions = getattr(channels, "regions", None)
    return regions if isinstance(regions, dict) else {}


def parse_id(raw: str) -> int:
    if not _ID.match(raw):
        raise StaleButton(raw)
    return int(raw)


def private(turn: Turn, reply: Reply) -> Reply:
    """Send to the user's private chat when the turn came from a group."""
    if turn.event.is_group and reply.chat_id is None:
        reply.chat_id = turn.user_id
        # Not deliverable privately (never opened, blocked): the outbox says so here.
        reply.group_chat = turn.event.chat_id
    return turn.add(reply)
