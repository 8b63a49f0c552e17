"""Admin tools in the conversation, and announcement subscriptions for residents.

Admin commands (checked on the server every time; anyone else gets the ordinary
unknown-command reply): /admin (this list), /reload, /history TOPIC, /rollback TOPIC VERSION,
/gaps [YYYY-MM-DD], /announce. A content file sent by an admin is checked and
previewed; nothing changes until 发布.

Payloads (prefix ``adm``, admins only; anything else is a stale button):
  adm:pub:<token>         publish a previewed change (stored in the DB)
  adm:drop:<token>        drop it
  adm:gap:<n>             add gap group n's question: choose the topic
  adm:gcat:<n>            ... from the categories
  adm:gcs:<n>:<k>         ... category k's topics
  adm:gadd:<n>:<topic>    add it to the topic's example questions and publish
  adm:bcr:*|<市州>         announcement: to all subscribers, or one region's
  adm:bcok:<token>        send the previewed announcement
  adm:bccw:<token>        send it as a cold-wave warning (寒潮预警: flagged areas first,
                          冬季自查 button, workers get their flagged households)
  adm:bcno                cancel it
  adm:bcstop:<id>         stop a running announcement
Residents (prefix ``sub``): sub:pick, sub:all, sub:r:<市州>, sub:off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.admin import files
from bot.admin.announce import (
    announce_region,
    announce_send,
    announce_stop,
    announce_text,
    cmd_announce,
)
from bot.admin.auth import is_admin
from bot.admin.gap_examples import (
    cmd_gaps,
    gap_add,
    gap_categories,
    gap_category,
    gap_topics,
    picked_gap,
)
from bot.admin.publish import publisher_of
from bot.admin.subscribe import SubscribeFlow, unsubscribe
from bot.admin.uploads import cmd_history, cmd_reload, cmd_rollback, decide, on_document
from bot.dialog.flow import Flow, StaleButton, Turn

if TYPE_CHECKING:
    from bot.dialog.engine import Engine


class AdminFlow(Flow):
    name = "admin"
    prefix = "adm"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await self.engine.show_menu(turn)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group or not await is_admin(self.engine, turn.user_id):
            raise StaleButton(rest)
        action, _, arg = rest.partition(":")
        if action in ("pub", "drop"):
            await decide(turn, action, arg)
        elif action == "gap":
            await gap_topics(turn, picked_gap(turn, arg))
        elif action == "gcat":
            await gap_categories(turn, arg)
        elif action == "gcs":
            await gap_category(turn, arg)
        elif action == "gadd":
            await gap_add(turn, arg)
        elif action == "bcr":
            await announce_region(turn, arg)
        elif action == "bcok":
            await announce_send(turn, arg)
        elif action == "bccw":
            await announce_send(turn, arg, cold_wave=True)
        elif action == "bcstop":
            await announce_stop(turn, arg)
        elif action == "bcno" and not arg:
            if turn.state.flow != self.name or not (turn.state.step or "").startswith("bc_"):
                raise StaleButton(rest)
            turn.state.leave()
            turn.say("admin/announce_cancelled", [[turn.button("nav.menu", "nav:menu")]])
        else:
            raise StaleButton(rest)

    async def on_text(self, turn: Turn, text: str) -> None:
        if turn.state.step == "bc_text" and await is_admin(self.engine, turn.user_id):
            await announce_text(turn, text)
        else:
            await self.engine.free_text(turn, text)


# -- installation ------------------------------------------------------------------


def _admin_only(engine: Engine, name: str, handler):
    async def guarded(turn: Turn, arg: str) -> None:
        if turn.event.is_group or not await is_admin(engine, turn.user_id):
            # Exactly what an unknown command gets: admin commands are not revealed.
            turn.say("core/unknown_command", [[turn.button("nav.menu", "nav:menu")]], command=name)
            return
        await handler(turn, arg)

    return guarded


async def cmd_admin(turn: Turn, arg: str) -> None:
    from bot.staff.home import admin_lines  # the one table of staff and admin commands

    turn.say(
        "admin/help", [[turn.button("nav.menu", "nav:menu")]], commands=admin_lines(turn.engine)
    )


ADMIN_COMMANDS = {
    "admin": cmd_admin,
    "reload": cmd_reload,
    "history": cmd_history,
    "rollback": cmd_rollback,
    "gaps": cmd_gaps,
    "announce": cmd_announce,
}


def install(engine: Engine) -> None:
    publisher_of(engine)
    engine.add_flow(AdminFlow(engine))
    subscribe = engine.add_flow(SubscribeFlow(engine))
    for name, handler in ADMIN_COMMANDS.items():
        engine.add_command(name, _admin_only(engine, name, handler))
    engine.add_command("subscribe", subscribe.start)
    engine.add_command("unsubscribe", unsubscribe)
    # Only admins' files are fetched at all (content uploads), up to the upload limit.
    engine.set_document_handler(
        on_document,
        accepts=lambda user_id: is_admin(engine, user_id),
        max_bytes=files.MAX_UPLOAD_BYTES,
    )

    async def forget(store: Any, user_id: int) -> None:
        await store.admin.forget_subscriber(user_id)

    engine.hooks.forget.append(forget)
