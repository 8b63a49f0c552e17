"""Who is an admin. Checked on the server for every admin command and button."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.dialog.engine import Engine


async def is_admin(engine: Engine, user_id: int) -> bool:
    """An id in ``config.admin_ids`` (SANLIANG_ADMIN_IDS), or an active staff member
    with the admin role (bot.store.staff)."""
    config = engine.config
    if config is not None and user_id in (config.admin_ids or []):
        return True
    staff = getattr(engine.store, "staff", None)
    member_of = getattr(staff, "member", None)
    if member_of is None:
        return False
    member = await member_of(user_id)
    return bool(member is not None and getattr(member, "is_admin", False))
