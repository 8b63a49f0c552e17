"""Residents' announcement subscriptions (payload prefix ``sub``): /subscribe,
/unsubscribe; announcements themselves are bot.admin.announce and
bot.admin.broadcast."""

from __future__ import annotations

from bot.admin.announce import REGIONS_PER_ROW
from bot.admin.uploads import regions_of
from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn


class SubscribeFlow(Flow):
    name = "subscribe"
    prefix = "sub"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        if turn.event.is_group:
            turn.say("admin/subscribe_private")
            return
        regions = regions_of(turn.content)
        if arg:
            region = _match_region(arg, regions)
            if region is not None:
                await self._subscribe(turn, region)
                return
        rows = [[turn.button("admin.subscribe_all", "sub:all")]]
        for i in range(0, len(regions), REGIONS_PER_ROW):
            rows.append([Button(r, f"sub:r:{r}") for r in regions[i : i + REGIONS_PER_ROW]])
        rows.append([turn.button("nav.menu", "nav:menu")])
        turn.say("admin/subscribe_pick", rows)

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if turn.event.is_group:
            raise StaleButton(rest)
        if rest == "pick":
            await self.start(turn)
        elif rest == "all":
            await self._subscribe(turn, None)
        elif rest == "off":
            await unsubscribe(turn, "")
        elif rest.startswith("r:") and rest[2:] in regions_of(turn.content):
            await self._subscribe(turn, rest[2:])
        else:
            raise StaleButton(rest)

    async def _subscribe(self, turn: Turn, region: str | None) -> None:
        await turn.store.admin.subscribe(turn.user_id, turn.event.chat_id, region)
        turn.say(
            "admin/subscribed",
            [[turn.button("admin.unsubscribe", "sub:off"), turn.button("nav.menu", "nav:menu")]],
            region=region,
        )


def _match_region(text: str, regions: list[str]) -> str | None:
    text = text.strip()
    for r in regions:
        if text == r or (len(text) >= 2 and r.startswith(text)):
            return r
    return None


async def unsubscribe(turn: Turn, arg: str) -> None:
    if turn.event.is_group:
        turn.say("admin/subscribe_private")
        return
    was = await turn.store.admin.unsubscribe(turn.user_id)
    turn.say(
        "admin/unsubscribed",
        [[turn.button("admin.resubscribe", "sub:pick"), turn.button("nav.menu", "nav:menu")]],
        was=was,
    )
