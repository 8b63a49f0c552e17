"""Staff at home in the chat: the staff panel above the residents' menu on /start
and /menu (counts: new, mine, overdue; buttons), each staff member's own command
menu (Telegram command scopes, through ``Services.command_menu``), and /admin's list
of every admin command, one line each, from the same table.

The descriptions are labels ``staff.cmd.<name>``; a command shows only when a
feature registered it (``engine.commands``), so a new admin command appears by adding
its name to ``ADMIN_COMMANDS`` and its label.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.dialog.events import Button, Reply
from bot.domain.cases import OPEN_STATUSES, UNCLAIMED, WORKING
from bot.staff.common import service_of

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.dialog.flow import Turn
    from bot.staff.permissions import Actor
    from bot.staff.service import StaffService

log = logging.getLogger(__name__)

# What everyone has (the residents' menu), then per role, in menu order.
RESIDENT_COMMANDS = ("start", "menu", "help", "cancel", "privacy", "forget")
WORKER_COMMANDS = ("queue", "mine", "overdue", "find", "case", "report", "name")
LEAD_COMMANDS = ("open", "workload")
ADMIN_COMMANDS = (
    "admin",
    "open",
    "workload",
    "report",
    "invite",
    "staff",
    "revoke",
    "lead",
    "reload",
    "history",
    "rollback",
    "gaps",
    "announce",
)


def _describe(engine: Engine, name: str) -> str:
    r = engine.renderer
    for key in (f"staff.cmd.{name}", f"telegram.cmd.{name}"):
        if r.has_label(key):
            return r.label(key)
    return name


def command_list(engine: Engine, role: str, lead: bool = False) -> list[tuple[str, str]]:
    """(command, one-line description) for a member's menu: the residents' commands,
    then the worker's, the lead's, the admin's; only commands that exist."""
    names: list[str] = list(RESIDENT_COMMANDS)
    if role in ("worker", "admin"):
        names += WORKER_COMMANDS
    if lead or role == "admin":
        names += LEAD_COMMANDS
    if role == "admin":
        names += ADMIN_COMMANDS
    names = [n for n in dict.fromkeys(names) if n in engine.commands]
    return [(n, _describe(engine, n)) for n in names]


def admin_lines(engine: Engine) -> list[tuple[str, str]]:
    """/admin: every admin command (and the supervision ones), one line each."""
    return [
        (n, _describe(engine, n))
        for n in dict.fromkeys([*ADMIN_COMMANDS, *LEAD_COMMANDS])
        if n in engine.commands and n != "admin"
    ]


async def refresh_menu(engine: Engine, user_id: int) -> None:
    """Set ``user_id``'s own command menu for their role (none for a resident: the
    default menu shows). Failures are logged and never stop a turn."""
    setter = engine.services.command_menu
    svc = engine.services.staff
    if setter is None or svc is None:
        return
    actor = await svc.actor(user_id)
    lead = actor.role == "worker" and user_id in await svc.store.supervision.leads()
    commands = command_list(engine, actor.role, lead) if actor.is_staff else []
    try:
        await setter(user_id, commands)
    except Exception as exc:  # noqa: BLE001 - a menu is a convenience, the turn goes on
        log.warning("staff command menu not set: %s", type(exc).__name__)


async def refresh_all(engine: Engine) -> int:
    """At start: every staff member's menu (configured admins too)."""
    svc = engine.services.staff
    if svc is None or engine.services.command_menu is None:
        return 0
    ids = set(svc.settings.admin_ids) | {m.user_id for m in await svc.store.staff.members()}
    for user_id in sorted(ids):
        await refresh_menu(engine, user_id)
    return len(ids)


async def panel_counts(svc: StaffService, actor: Actor) -> dict[str, int]:
    """new: waiting in the actor's area; mine: held by them; overdue: of those two,
    and for admins every overdue request."""
    now = svc.now()
    wf = svc.store.workflow
    city, district = (None, None) if actor.is_admin else (actor.area.city, actor.area.district)
    waiting = [c for c in await wf.select(UNCLAIMED, city, district) if svc.covers(actor, c)]
    mine = await wf.select(WORKING, assignee_id=actor.user_id)
    if actor.is_admin:
        scope = await wf.select(OPEN_STATUSES)
    else:
        scope = list({c.id: c for c in [*waiting, *mine]}.values())
    overdue = sum(1 for c in scope if c.due_at is not None and c.due_at <= now)
    return {"new": len(waiting), "mine": len(mine), "overdue": overdue}


async def staff_panel(turn: Turn) -> None:
    """Hook ``home`` (bot.menu, on /start and /menu): a staff member's panel first."""
    if turn.event.is_group:
        return
    svc = service_of(turn)
    actor = await svc.actor(turn.user_id)
    if not actor.is_staff:
        return
    lead = actor.role == "worker" and actor.user_id in await svc.store.supervision.leads()
    counts = await panel_counts(svc, actor)
    rows = [
        [
            Button(turn.r.label("staff.panel.new", n=counts["new"]), "sv:l:queue"),
            Button(turn.r.label("staff.panel.mine", n=counts["mine"]), "sv:l:mine"),
        ],
        [Button(turn.r.label("staff.panel.overdue", n=counts["overdue"]), "sv:l:overdue")],
    ]
    if actor.is_admin or lead:
        rows.append(
            [
                Button(turn.r.label("staff.panel.open"), "sv:l:open"),
                Button(turn.r.label("staff.panel.workload"), "sv:l:workload"),
            ]
        )
    turn.add(
        Reply(
            turn.text(
                "staff/panel",
                who=actor.label,
                role=turn.r.label(f"staff.role.{actor.role}"),
                lead=lead,
                admin=actor.is_admin,
                area=str(actor.area) if not actor.is_admin else "",
                **counts,
            ),
            rows,
        )
    )
    await refresh_menu(turn.engine, turn.user_id)
