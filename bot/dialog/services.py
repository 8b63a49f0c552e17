"""What features share, typed: ``Services`` (things one process has, set at
install or start-up) and ``Hooks`` (lists features append to, called by the feature
that owns the moment), plus ``ScheduledJob``, a job a feature runs outside any turn.

A feature sets the services it provides in its ``install(engine)`` (the staff
feature sets ``staff`` and ``deadlines``); a channel sets ``notifier`` when it
starts. Nothing here is looked up by a string.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.calendar import Deadlines

if TYPE_CHECKING:
    from bot.admin.broadcast import Pacer
    from bot.admin.publish import Publisher
    from bot.dialog.events import Reply
    from bot.dialog.flow import Flow, Turn
    from bot.domain.cases import Case, Message
    from bot.knowledge.matcher import Matcher
    from bot.outbox import Sender
    from bot.staff.service import StaffService
    from bot.store import Store
    from bot.visits.service import VisitService

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class Notifier(Protocol):
    """Sends a reply to a chat outside any user's turn (the channel implements it).
    Returns False (or raises) when the chat cannot be reached."""

    async def send(self, chat_id: int, reply: Reply) -> Any: ...


@dataclass
class Services:
    clock: Clock = time.time  # tests put a fake clock here
    notifier: Notifier | None = None  # set by the channel that runs (sanliang run)
    # The outbox sender (bot/outbox.py): delivers what turns and jobs queue; set by
    # the channel that runs (sanliang run), None in the terminal and in most tests.
    outbox: Sender | None = None
    staff: StaffService | None = None  # set by the staff feature
    visits: VisitService | None = None  # home visits (走访), set by the visits feature
    deadlines: Deadlines = field(default_factory=Deadlines)  # [deadlines], set by staff
    publisher: Publisher | None = None  # content uploads, set by the admin feature
    # Payload prefixes the Telegram adapter lets through in groups (staff buttons).
    group_safe_prefixes: set[str] = field(default_factory=set)
    # The question matcher of the snapshot being served (a reload swaps it).
    matcher: Callable[[], Matcher] | None = None
    # How announcements are paced (tests pass a fast one); None: the default pace.
    pacer: Callable[[], Pacer] | None = None
    # A staff member's own command menu: (user id, [(command, description)]; empty:
    # back to the default menu). Set by the Telegram channel; None elsewhere.
    command_menu: Callable[[int, list[tuple[str, str]]], Awaitable[None]] | None = None
    # Background work started from a turn (announcements, reloads), kept referenced.
    tasks: set[asyncio.Task] = field(default_factory=set)

    def now(self) -> float:
        return float(self.clock())


CaseHook = Callable[["Turn", "Case"], Awaitable[None]]
MessageHook = Callable[["Turn", "Case", "Message"], Awaitable[None]]
ForgetHook = Callable[["Store", int], Awaitable[None]]
StartHook = Callable[["Turn", str], Awaitable[bool]]
CommandHook = Callable[["Turn", str], Awaitable[None]]
# (turn, typed text, the flow it would go to or None) -> True when it took the turn.
TextGuard = Callable[["Turn", str, "Flow | None"], Awaitable[bool]]


@dataclass
class Hooks:
    """Called by the feature named in each comment; others append to them."""

    case_created: list[CaseHook] = field(default_factory=list)  # by the help form
    case_changed: list[CaseHook] = field(default_factory=list)  # withdrawn by the resident
    case_message: list[MessageHook] = field(default_factory=list)  # resident's 补充说明
    # What /forget also erases (question log, subscriptions, ratings ...).
    forget: list[ForgetHook] = field(default_factory=list)
    # By the menu on /start and /menu, before the menu (the staff panel).
    home: list[Callable[[Turn], Awaitable[None]]] = field(default_factory=list)
    # /start <arg> deep links: the first handler that returns True took it.
    start: list[StartHook] = field(default_factory=list)
    # Before any command runs, by the engine (the staff feature cancels a pending
    # text step there, so a command never leaves a reply waiting for the next text).
    command: list[CommandHook] = field(default_factory=list)
    # By the engine, on every typed text before any flow sees it, in order (the
    # emergency triage first, then 我的求助办得咋样了 and typed references): the
    # first that returns True took the turn.
    text_guards: list[TextGuard] = field(default_factory=list)


async def call_listeners(name: str, listeners: list[Any], *args: Any) -> None:
    """Call each listener; one that fails is logged (by type only) and the rest still
    run: what the caller did is already stored."""
    for listener in listeners:
        try:
            await listener(*args)
        except Exception as exc:  # noqa: BLE001 - the change is stored; tell the others
            log.error("%s listener failed: %s", name, type(exc).__name__)


@dataclass(frozen=True)
class ScheduledJob:
    """A job a feature runs outside any turn. ``run`` gets the notifier to send with.
    Either ``every_seconds`` (first run after ``first_seconds``) or ``daily_at``."""

    name: str
    run: Callable[[Notifier], Awaitable[object]]
    every_seconds: float | None = None
    first_seconds: float = 30
    daily_at: dt.time | None = None
