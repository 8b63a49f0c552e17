"""Community workers in the chat, as a feature: staff-chat buttons and case cards
(bot.staff.flow), cards and lists (bot.staff.cards), roles (bot.staff.roles) and
the resident's 回访 rating (bot.staff.followup).

Payloads: ``st:<action>:<case id>[:...]`` for staff, ``rv:r:<case id>:<s|b|u>`` and
``rv:skip:<case id>`` for the resident's rating. A payload is only a request: the role,
the area and the case's status are checked against the store every time, and a
refusal is written to the audit log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.dialog.flow import Turn
from bot.staff import supervision_flow
from bot.staff.cards import cmd_case, cmd_list
from bot.staff.flow import StaffFlow
from bot.staff.followup import FollowupFlow
from bot.staff.home import staff_panel
from bot.staff.pending import on_command
from bot.staff.roles import RevokeFlow, cmd_invite, cmd_join, cmd_name, cmd_revoke, cmd_staff
from bot.staff.service import StaffService
from bot.staff.settings import StaffSettings

if TYPE_CHECKING:
    from bot.dialog.engine import Engine


def install(engine: Engine) -> None:
    settings = StaffSettings.from_config(engine.config)
    svc = StaffService(engine.store, engine.renderer, settings, clock=engine.services.now)
    engine.services.staff = svc
    engine.services.deadlines = settings.deadlines
    engine.add_flow(StaffFlow(engine))
    engine.add_flow(FollowupFlow(engine))
    engine.add_flow(RevokeFlow(engine))

    # Staff buttons are pressed in staff groups: let the Telegram adapter pass them.
    engine.services.group_safe_prefixes.add("st")

    # Hooks the help-request feature calls (bot/cases/dialog.py).
    async def case_created(turn: Turn, case: Any) -> None:
        turn.replies.extend(await svc.on_case_created(case.id))

    async def case_message(turn: Turn, case: Any, message: Any = None) -> None:
        body = getattr(message, "body", None)
        turn.replies.extend(await svc.on_resident_message(case.id, body))

    async def case_changed(turn: Turn, case: Any) -> None:
        turn.replies.extend(await svc.on_case_changed(case.id))

    engine.hooks.case_created.append(case_created)
    engine.hooks.case_message.append(case_message)
    engine.hooks.case_changed.append(case_changed)
    # Any command cancels a staff text step waiting for its text (bot.staff.pending).
    engine.hooks.command.append(on_command)

    async def forget(store: Any, user_id: int) -> None:
        await store.workflow.forget_user(user_id)

    engine.hooks.forget.append(forget)

    for kind in ("queue", "mine", "overdue", "find"):

        async def handler(turn: Turn, arg: str, kind: str = kind) -> None:
            await cmd_list(turn, kind, arg)

        engine.add_command(kind, handler)
    engine.add_command("case", cmd_case)
    engine.add_command("invite", cmd_invite)
    engine.add_command("join", cmd_join)
    engine.add_command("name", cmd_name)
    engine.add_command("staff", cmd_staff)
    engine.add_command("revoke", cmd_revoke)
    # /open, /workload, /lead and the sv: buttons (改派, 退回, 延期, 复核, 联系记录).
    supervision_flow.install(engine)
    # The staff panel above the residents' menu (bot.staff.home).
    engine.hooks.home.append(staff_panel)
