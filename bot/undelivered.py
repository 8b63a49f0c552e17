"""A message to a case's resident that did not arrive (blocked, never opened, given
up): the case's history notes it, and the worker who sent it (else the assignee,
else the admins) is told in plain words to phone the resident. Called by the outbox
sender (bot/outbox.py)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.dialog.events import Button, Reply
from bot.store.outbox import Message, Outgoing

if TYPE_CHECKING:
    from bot.domain.cases import Case
    from bot.outbox import Sender

log = logging.getLogger("bot.outbox")

# Failures the case history records ("interrupted" is only uncertain).
UNDELIVERED = ("blocked", "chat_not_found", "rejected", "gave_up")


async def resident_missed(sender: Sender, msg: Message, case: Case, reason: str) -> None:
    """A message to a case's resident did not arrive: noted in the case's history,
    and the worker who sent it (else the assignee, else the admins) is told in
    plain words to phone the resident."""
    if reason in UNDELIVERED:
        note = sender.renderer.label(f"outbox.missed.{reason}")
        await sender.store.workflow.log_event(case.id, note, now=sender.clock())
    if msg.cause is not None:
        targets = [msg.cause]
    elif case.assignee_id is not None:
        targets = [case.assignee_id]
    else:
        targets = await sender._admin_ids()
    text = sender.renderer.render("outbox/resident_missed", reason=reason, ref=case.ref)
    view = [[Button(sender.renderer.label("staff.btn.view"), f"st:view:{case.id}")]]
    items = [
        Outgoing(
            Reply(text, view, case_id=case.id),
            "failure",
            recipient=target,
            channel=msg.channel,
            dedup=f"fail:{msg.id}:{target}",
            case_id=case.id,
        )
        for target in targets
        if target != msg.recipient
    ]
    if items:
        await sender.enqueue(items)
    else:
        log.warning("outbox: nobody to tell of an undelivered message")
