"""/announce: an admin picks a region (or all), types the text, sees a preview and
sends it: one outbox row per subscriber, delivered by the outbox sender; ``/announce
stop`` (or the 停止发送 button) stops a running one (bot.admin.broadcast)."""

from __future__ import annotations

import re
import secrets

from bot.admin.broadcast import announcement_reply
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
    rows = [[turn.button("admin.send", f"adm:bcok:{token}")]]
    cold_wave = turn.engine.services.visits is not None
    if cold_wave:
        rows.append([turn.button("admin.send_cold_wave", f"adm:bccw:{token}")])
    rows.append([turn.button("admin.cancel", "adm:bcno")])
    turn.say("admin/announce_confirm", rows, total=total, cold_wave=cold_wave)


async def announce_send(turn: Turn, token: str, cold_wave: bool = False) -> None:
    """Send the previewed announcement. As a cold-wave warning (寒潮预警, with home
    visits set up): the 市州 with flagged households first, most first; a 冬季自查
    button for residents; each worker with flagged households there gets their list
    for a re-visit, queued in the same transaction."""
    data = turn.state.data
    if (
        turn.state.flow != FLOW
        or turn.state.step != "bc_confirm"
        or not _TOKEN.match(token)
        or data.get("token") != token
        or not isinstance(data.get("text"), str)
    ):
        raise StaleButton(token)
    sender = turn.engine.services.outbox
    if sender is None:
        turn.state.leave()
        turn.say("admin/no_notifier", [[turn.button("nav.menu", "nav:menu")]])
        return
    region, text = data.get("region"), data["text"]
    repo = turn.store.admin
    visits = turn.engine.services.visits if cold_wave else None
    if cold_wave and visits is None:
        raise StaleButton(token)
    first: list[str] = []
    lists: list = []
    if visits is not None:
        from bot.visits.coldwave import first_regions, revisit_lists

        first = await first_regions(visits)
        lists = await revisit_lists(visits, region, token)
    recipients = await repo.recipients(region, first=first)
    # The run and one outbox row per recipient, in one transaction: the sender
    # delivers them (paced, resumed after a restart, each at most once).
    broadcast_id = await repo.start_broadcast(
        token,
        turn.user_id,
        turn.event.chat_id,
        region,
        text,
        recipients,
        announcement_reply(turn.engine, text, region, cold_wave=visits is not None),
        also=lists,
    )
    if broadcast_id is None:
        raise StaleButton(token)
    turn.state.leave()
    sender.wake()
    if not recipients:
        await sender.broadcast_progress(broadcast_id)
    if lists:
        await turn.store.staff.audit(
            turn.user_id, "admin", "visits_flagged", detail=f"coldwave workers={len(lists)}"
        )
    turn.say(
        "admin/broadcast_started",
        [
            [turn.button("admin.stop_broadcast", f"adm:bcstop:{broadcast_id}")],
            [turn.button("nav.menu", "nav:menu")],
        ],
        total=len(recipients),
        workers=len(lists),
        cold_wave=visits is not None,
    )


async def announce_stop(turn: Turn, arg: str) -> None:
    if not arg.isdigit() or len(arg) > 12:
        raise StaleButton(arg)
    await stop_broadcast(turn, int(arg))


async def stop_broadcast(turn: Turn, broadcast_id: int | None) -> None:
    """Stop a running announcement: recipients not reached yet are left out; the
    messages already on their way finish; the admin gets the final counts."""
    repo = turn.store.admin
    if broadcast_id is None:
        broadcast_id = await repo.running_broadcast()
    run = await repo.broadcast(broadcast_id) if broadcast_id is not None else None
    if run is None or run.status != "running":
        turn.say("admin/broadcast_not_running", [[turn.button("nav.menu", "nav:menu")]])
        return
    cancelled = await turn.store.outbox.cancel_broadcast(run.id)
    sender = turn.engine.services.outbox
    if sender is not None:
        await sender.broadcast_progress(run.id)
    turn.say(
        "admin/broadcast_stopping",
        [[turn.button("nav.menu", "nav:menu")]],
        cancelled=cancelled,
    )


async def cmd_announce(turn: Turn, arg: str) -> None:
    if arg.strip() in ("stop", "停止"):
        await stop_broadcast(turn, None)
        return
    regions = regions_of(turn.content)
    turn.state.enter("admin", "bc_region", {})
    rows = [[turn.button("admin.all_regions", "adm:bcr:*")]]
    for i in range(0, len(regions), REGIONS_PER_ROW):
        rows.append([Button(r, f"adm:bcr:{r}") for r in regions[i : i + REGIONS_PER_ROW]])
    rows.append([turn.button("admin.cancel", "adm:bcno")])
    turn.say("admin/announce_region", rows)
