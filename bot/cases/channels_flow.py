"""亮渠道 in the conversation (payload prefix ``ch``): general channels, per-region
offices, the nearest office to a shared location."""

from __future__ import annotations

from bot.answers.picker import groups_for, short_place
from bot.cases.common import channels_of
from bot.dialog.events import Button
from bot.dialog.flow import Flow, StaleButton, Turn, grid


class ChannelsFlow(Flow):
    """亮渠道: general channels, per-region offices, nearest office by location.
    It keeps no state: every step is a button or a shared location."""

    name = "channels"
    prefix = "ch"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await self.show_general(turn)

    async def show_general(self, turn: Turn, declined: bool = False) -> None:
        rows = [
            [turn.button("cases.ch.by_region", "ch:cities")],
            [turn.button("menu.help", "menu:help")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        reply = turn.say(
            "cases/channels", rows, channels=channels_of(turn).general, declined=declined
        )
        reply.request_location = True

    async def on_payload(self, turn: Turn, rest: str) -> None:
        kind, _, value = rest.partition(":")
        if kind == "home" and not value:
            await self.show_general(turn)
        elif kind == "cities" and not value:
            self.show_cities(turn)
        elif kind == "g" and value.isdigit() and len(value) <= 2:
            self.show_cities(turn, int(value))
        elif kind == "c" and value in channels_of(turn).regions:
            self.show_city(turn, value)
        else:
            raise StaleButton(rest)

    def show_cities(self, turn: Turn, group: int | None = None) -> None:
        """The 市州 by 片区 (at most 8 buttons): the groups, or one group's 市州."""
        words = turn.content.answers
        groups = groups_for(words, list(channels_of(turn).regions))
        if group is not None:
            if group >= len(groups):
                raise StaleButton(str(group))
            cities = [Button(short_place(words, c), f"ch:c:{c}") for c in groups[group].members]
            rows = [*grid(cities, 2), [turn.button("cases.city.groups", "ch:cities")]]
            turn.say("cases/channels_cities", rows, groups=[])
            return
        buttons = [
            Button(g.label, f"ch:c:{g.members[0]}" if len(g.members) == 1 else f"ch:g:{i}")
            for i, g in enumerate(groups)
        ]
        rows = grid(buttons, 2)
        rows.append([turn.button("nav.back", "ch:home"), turn.button("nav.menu", "nav:menu")])
        listed = [
            {"label": g.label, "members": [short_place(words, m) for m in g.members]}
            for g in groups
            if len(g.members) > 1
        ]
        turn.say("cases/channels_cities", rows, groups=listed)

    def show_city(self, turn: Turn, city: str) -> None:
        offices = channels_of(turn).offices_in(city)
        rows = [
            [turn.button("cases.ch.other_city", "ch:cities")],
            [turn.button("menu.help", "menu:help"), turn.button("nav.menu", "nav:menu")],
        ]
        turn.say("cases/channels_city", rows, city=city, offices=offices)

    async def on_location(self, turn: Turn) -> None:
        loc = turn.event.location
        rows = [
            [turn.button("cases.ch.by_region", "ch:cities")],
            [turn.button("nav.menu", "nav:menu")],
        ]
        found = None
        if loc is not None and -90 <= loc.latitude <= 90 and -180 <= loc.longitude <= 180:
            found = channels_of(turn).nearest(loc.latitude, loc.longitude)
        if found is None:
            turn.say("cases/channels_no_position", rows)
            return
        office, km = found
        turn.say("cases/channels_nearest", rows, office=office, km=round(km, 1))
