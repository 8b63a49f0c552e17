"""/announce: an admin picks a region (or all), types the text, sees a preview and
sends it to the subscribers in the background (bot.admin.broadcast)."""

from __future__ import annotations

import re
import secrets

from bot.admin.broadcast import announcement_reply, run_broadcast, start_broadcast
from bot.admin.uploads import regions_of
from bot.dialog.events import Button, Reply
from bot.dialog.flow import StaleButton, Turn

FLOW = "admin"
MAX_ANNOUNCE_CHARS = 3000
REGIONS_PER_ROW = 3
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,20}$")


# -- announcements


async def announce_region(turn: Turn, arg: str) -> None:
    if turn.state.flow != FLOW or turn.state.step != "bc_region":
        raise StaleButton(arg)
    if arg == "*":
        region = None
    elif arg in regions_of(turn.content):
        region = arg
    else:
        raise StaleButton(arg)
    turn.state.data["region"] = region
    turn.state.push("bc_text")
    turn.say(
        "admin/announce_text",
        [[turn.button("admin.cancel", "adm:bcno")]],
        region=region,
        limit=MAX_ANNOUNCE_CHARS,
    )


async def announce_text(turn: Turn, text: str) -> None:
    if len(text) > MAX_ANNOUNCE_CHARS:
        turn.say(
            "admin/announce_too_long",
            [[turn.button("admin.cancel", "adm:bcno")]],
            limit=MAX_ANNOUNCE_CHARS,
            length=len(text),
        )
        return
    region = turn.state.data.get("region")
    token = secrets.token_urlsafe(9)
    turn.state.data.update(text=text, token=token)
    turn.state.push("bc_confirm")
    total = await turn.store.admin.count_recipients(region)
    sample = announcement_reply(turn.engine, text, region)
    turn.say("admin/announce_preview_head", region=region, total=total)
    turn.add(Reply(sample.text))
    turn.say(
        "admin/announce_confirm",
        [
            [
                turn.button("admin.send", f"adm:bcok:{token}"),
                turn.button("admin.cancel", "adm:bcno"),
            ]
        ],
        total=total,
    )


async def announce_send(turn: Turn, token: str) -> None:
    data = turn.state.data
    if (
        turn.state.flow != FLOW
        or turn.state.step != "bc_confirm"
        or not _TOKEN.match(token)
        or data.get("token") != token
        or not isinstance(data.get("text"), str)
    ):
        raise StaleButton(token)
    notifier = turn.engine.services.notifier
    if notifier is None:
        turn.state.leave()
        turn.say("admin/no_notifier", [[turn.button("nav.menu", "nav:menu")]])
        return
    region, text = data.get("region"), data["text"]
    repo = turn.store.admin
    recipients = await repo.recipients(region)
    broadcast_id = await repo.create_broadcast(token, turn.user_id, region, text, len(recipients))
    if broadcast_id is None:
        raise StaleButton(token)
    turn.state.leave()
    pacer_factory = turn.engine.services.pacer
    start_broadcast(
        turn.engine,
        run_broadcast(
            turn.engine,
            notifier,
            broadcast_id,
            turn.event.chat_id,
            recipients,
            text,
            region,
            pacer=pacer_factory() if pacer_factory is not None else None,
        ),
    )
    turn.say(
        "admin/broadcast_started",
        [[turn.button("nav.menu", "nav:menu")]],
        total=len(recipients),
    )


async def cmd_announce(turn: Turn, arg: str) -> None:
    regions = regions_of(turn.content)
    turn.state.enter("admin", "bc_region", {})
    rows = [[turn.button("admin.all_regions", "adm:bcr:*")]]
    for i in range(0, len(regions), REGIONS_PER_ROW):
        rows.append([Button(r, f"adm:bcr:{r}") for r in regions[i : i + REGIONS_PER_ROW]])
    rows.append([turn.button("admin.cancel", "adm:bcno")])
    turn.say("admin/announce_region", rows)
