"""``/report`` in the chat: the report of the sender's scope as an HTML file, and a
button for the .xlsx workbook of the same requests. Admins see every area (or the one
they name); a worker sees their own area only. Private chats only; both files are
marked 内部资料, phones masked, and every export is audited.

    /report                          everything in my scope
    /report 2026-11-01 2026-11-30    filed in these days (China time, both included)
    /report 2026-11-01 成都市/武侯区   from a day on, one area (within my scope)

The button's payload ``rp:x:<from>:<to>:<city>:<district>`` (dates as YYYYMMDD or
``-``, indexes into the regions list or ``-``) is only a request: the role and the
area are checked again when it is pressed.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.calendar import local_date
from bot.dialog.events import Attachment, Reply
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.reports.build import audit_detail, build
from bot.reports.kpi import Figures
from bot.reports.output import XLSX_MIME
from bot.reports.scope import (
    Period,
    Scope,
    ScopeError,
    looks_like_date,
    parse_area,
)
from bot.staff.cards import staff_actor
from bot.staff.common import regions_of, service_of
from bot.store.staff import Area

if TYPE_CHECKING:
    from bot.dialog.engine import Engine
    from bot.staff.permissions import Actor

MAX_ARGS_CHARS = 100
_TOKEN = re.compile(r"^(-|\d{8})$")
_INDEX = re.compile(r"^(-|\d{1,3})$")


def install(engine: Engine) -> None:
    engine.add_flow(ReportFlow(engine))
    engine.add_command("report", cmd_report)


def _within(outer: Area, inner: Area) -> bool:
    """``inner`` lies inside ``outer`` (the whole of it, not just a part)."""
    if outer.city is None:
        return True
    if inner.city != outer.city:
        return False
    if outer.district is None:
        return True
    if inner.district != outer.district:
        return False
    return outer.township is None or inner.township == outer.township


def _area_tokens(turn: Turn, area: Area) -> str:
    regions = regions_of(turn)
    cities = list(regions)
    if area.city is None or area.city not in regions:
        return "-:-"
    ci = cities.index(area.city)
    if area.district is None or area.district not in regions[area.city]:
        return f"{ci}:-"
    return f"{ci}:{regions[area.city].index(area.district)}"


def _area_from_tokens(turn: Turn, ci: str, di: str) -> Area:
    regions = regions_of(turn)
    cities = list(regions)
    if ci == "-":
        if di != "-":
            raise StaleButton(di)
        return Area()
    if int(ci) >= len(cities):
        raise StaleButton(ci)
    city = cities[int(ci)]
    if di == "-":
        return Area(city)
    if int(di) >= len(regions[city]):
        raise StaleButton(di)
    return Area(city, regions[city][int(di)])


def _kpi(f: Figures) -> dict[str, str]:
    return {
        "claim": f.claim_rate.percent,
        "resolve": f.resolve_rate.percent,
        "satisfaction": f.satisfaction.percent,
        "first_time": f.first_time.percent,
    }


async def cmd_report(turn: Turn, arg: str) -> None:
    actor = await staff_actor(turn)
    if actor is None:
        return
    now = turn.engine.services.now()
    dates: list[str] = []
    area_text = ""
    for token in (arg or "")[:MAX_ARGS_CHARS].split():
        if looks_like_date(token) and len(dates) < 2:
            dates.append(token)
        elif not area_text:
            area_text = token
        else:
            turn.say("reports/usage", problem="extra")
            return
    try:
        period = Period.parse(
            dates[0] if dates else None, dates[1] if len(dates) > 1 else None, now
        )
    except ScopeError as exc:
        turn.say(
            "reports/usage",
            problem="date",
            date=turn.text("reports/bad_date", code=exc.code, value=exc.value),
        )
        return
    area = actor.area
    if area_text:
        asked = parse_area(area_text, regions_of(turn))
        if asked is None:
            turn.say("reports/usage", problem="area", value=area_text[:40])
            return
        area = asked
    await send_report(turn, actor, Scope(period, area))


async def send_report(turn: Turn, actor: Actor, scope: Scope) -> None:
    svc = service_of(turn)
    if not _within(actor.area, scope.area):
        await svc.audit(actor, "report", allowed=False, detail=f"outside area={scope.area}")
        turn.say("reports/outside", mine=str(actor.area), asked=str(scope.area))
        return
    now = svc.now()
    built = await build(
        svc.store, turn.r, svc.settings.deadlines, scope, now, by=actor.label, html=True
    )
    await svc.audit(actor, "report", detail=audit_detail(scope, "html", built.cases))
    assert built.html is not None and built.stats is not None
    stamp = f"{local_date(now):%Y%m%d}"
    doc = Attachment(
        f"{turn.r.label('reports.file.html')}-{stamp}.html",
        built.html.encode("utf-8"),
        "text/html",
    )
    payload = f"rp:x:{scope.period.tokens}:{_area_tokens(turn, scope.area)}"
    rows = [[turn.button("reports.btn.xlsx", payload)]] if built.cases else []
    text = turn.text(
        "reports/sent",
        kind="html",
        n=built.cases,
        first=_cn(scope.period.first),
        last=_cn(scope.period.last),
        area=str(scope.area),
        kpi=_kpi(built.stats.overall),
    )
    turn.add(Reply(text, rows, document=doc))


def _cn(day) -> str:
    from bot.calendar import fmt_when

    return fmt_when(day, year=True)


class ReportFlow(Flow):
    """The report's button: ``rp:x:...`` sends the .xlsx of the same scope."""

    name = "reports"
    prefix = "rp"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        await cmd_report(turn, "")

    async def on_payload(self, turn: Turn, rest: str) -> None:
        parts = rest.split(":")
        if len(parts) != 5 or parts[0] != "x":
            raise StaleButton(rest)
        _, a, b, ci, di = parts
        if not (_TOKEN.match(a) and _TOKEN.match(b) and _INDEX.match(ci) and _INDEX.match(di)):
            raise StaleButton(rest)
        try:
            period = Period.from_tokens(a, b)
        except ScopeError:
            raise StaleButton(rest) from None
        area = _area_from_tokens(turn, ci, di)
        actor = await staff_actor(turn)
        if actor is None:
            return
        svc = service_of(turn)
        scope = Scope(period, area)
        if not _within(actor.area, scope.area):
            await svc.audit(actor, "export", allowed=False, detail=f"outside area={scope.area}")
            turn.say("reports/outside", mine=str(actor.area), asked=str(scope.area))
            return
        now = svc.now()
        built = await build(
            svc.store,
            turn.r,
            svc.settings.deadlines,
            scope,
            now,
            by=actor.label,
            html=False,
            xlsx=True,
        )
        await svc.audit(actor, "export", detail=audit_detail(scope, "xlsx", built.cases))
        assert built.xlsx is not None
        doc = Attachment(
            f"{turn.r.label('reports.file.xlsx')}-{local_date(now):%Y%m%d}.xlsx",
            built.xlsx,
            XLSX_MIME,
        )
        text = turn.text(
            "reports/sent",
            kind="xlsx",
            n=built.cases,
            first=_cn(scope.period.first),
            last=_cn(scope.period.last),
            area=str(scope.area),
            kpi={},
        )
        turn.add(Reply(text, document=doc))
