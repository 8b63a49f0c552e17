"""Announcements to the residents who opted in.

A confirmed announcement is one ``broadcasts`` row and one outbox row per recipient,
written in one transaction (``AdminRepo.start_broadcast``). The outbox sender
(bot/outbox.py) delivers them paced within Telegram's limits, resumes exactly where
it stopped after a restart (each row is delivered at most once), marks residents who
blocked the assistant, and tells the admin the progress and the final counts. The
admin can stop a run (``/announce stop`` or the 停止发送 button): rows not claimed yet
are cancelled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialog.events import Button, Reply
from bot.outbox import Pacer

if TYPE_CHECKING:
    from bot.dialog.engine import Engine


def announcement_reply(
    engine: Engine, text: str, region: str | None, cold_wave: bool = False
) -> Reply:
    """What a resident receives: the notice and a one-button 退订; a cold-wave
    warning also offers the 冬季自查 (被子、取暖、吃的、身体: any 不够 leads to an
    urgent help request)."""
    r = engine.renderer
    rows = [[Button(r.label("admin.unsubscribe"), "sub:off")]]
    if cold_wave and "winter" in engine.menu_targets:
        rows.insert(0, [Button(r.label("admin.winter_check"), "menu:winter")])
    return Reply(r.render("admin/announcement", text=text, region=region), rows)


__all__ = ["Pacer", "announcement_reply"]
