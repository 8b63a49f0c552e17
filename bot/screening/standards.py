"""Dated standards per region (``policy_texts/standards.yml``), OpenFisca style.

Each value has the date it takes effect, a source, a confidence (H/M/L), whether it
is inferred, and the date someone last checked it (``checked``). Evaluating on a
date picks the value in force then. The provincial floors (低限) are the default:
a region without its own figure uses the floor, and since no city may pay less than
the floor, a city figure that the floor has overtaken is replaced by the floor too.

A measure may be *derived* from another by a rule (特困 = at least 1.3 × 低保): where
a region has its own figure of the base measure but none of its own for this one,
the value used is the larger of the floor and the factor times the local base.

A value is *stale* on a date more than 12 months after it took effect: the bot then
says its year and that it may have been raised since.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from bot.screening.facts import AREAS

CONFIDENCE = ("H", "M", "L")
AREA_LABEL = {"urban": "城市", "rural": "农村"}
FLOOR = "floor"
STALE_MONTHS = 12
# Sentences the standards add to reasons; standards.yml `texts:` may override each.
DEFAULT_TEXTS = {
    "stale": "{title}是 {since}起执行的，已经一年多了，现在可能已经调高，请向乡镇（街道）问清楚。",
    "unconfirmed": "（这个数字还待核实，以当地公布的为准）",
    "inferred": "（这是推算的数，待核实）",
    "below_floor": "（{region}已录入的标准比全省最低标准还低，这里按全省最低标准算，待核实）",
    "no_entry_yet": "（{region}这个时间还没有本地标准的记录，这里按全省最低标准算，待核实）",
    "no_own": "（还没有{region}自己的标准，按全省最低标准算，当地的可能更高）",
    "derived": "（{region}没有单独公布的数字，按{rule}推算：{base_title} {base} 元 × {factor}，至少 {value} 元）",
    "admin_set": "（这是管理员设定的测评用数字，不是政策规定）",
    # A figure in an answer to 好多钱 (bot.screening.dates.figure_lines); {caveats}: the
    # notes above, the district low and the age, in one bracket.
    "figure": "{title}：每人每月 {value} 元{caveats}",
    "figure_floor": "{title}：城市每人每月 {urban} 元、农村 {rural} 元{caveats}；各市州按本地标准发，不低于这个数",
    "figure_low": "部分区县 {low} 元",
    "figure_age": "{since}起执行，现在可能已经调高",
}


def months_later(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    day = min(d.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28,
                      31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1])  # fmt: skip
    return dt.date(year, month, day)


def is_stale(start: dt.date, on: dt.date) -> bool:
    """More than 12 months between the value taking effect and the date asked."""
    return on > months_later(start, STALE_MONTHS)


@dataclass(frozen=True)
class Entry:
    start: dt.date
    values: dict[str, float]  # area -> value (a province-wide measure: both areas equal)
    low: dict[str, float]  # area -> lowest value within the region (districts may differ)
    low_note: str
    source: str
    confidence: str
    note: str
    line: int
    checked: dt.date | None = None
    inferred: bool = False
    admin_set: bool = False


@dataclass(frozen=True)
class Derive:
    measure: str
    factor: float
    rule: str  # how to name the rule in a sentence
    source: str
    confidence: str


@dataclass
class Measure:
    id: str
    name: str
    floor_name: str
    regional: bool
    province: list[Entry] = field(default_factory=list)
    # region -> its own dated entries; [] means "no own figure: use the floor"
    regions: dict[str, list[Entry]] = field(default_factory=dict)
    derive: Derive | None = None


@dataclass(frozen=True)
class Standard:
    """The value in force for one measure, region, area and date, and how to cite it."""

    measure: str
    value: float
    low: float
    title: str  # e.g. 成都市 2023 年低保标准
    note: str  # caveats (fallback to the floor, unconfirmed, derived, district differences)
    low_note: str
    year: int
    source: str
    confidence: str
    fallback: bool  # no own local figure: the provincial floor is used
    start: dt.date = dt.date(1970, 1, 1)
    stale: bool = False
    stale_note: str = ""
    derived: bool = False
    inferred: bool = False
    checked: dt.date | None = None
    admin_set: bool = False

    @property
    def confirmed(self) -> bool:
        return self.confidence == "H" and not self.fallback and not self.inferred


@dataclass(frozen=True)
class KnownHigh:
    """The highest own local figure in force anywhere in Sichuan (for one area)."""

    value: float
    region: str
    year: int
    title: str


@dataclass
class Standards:
    measures: dict[str, Measure]
    texts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_TEXTS))

    def text(self, key: str, **kw: Any) -> str:
        template = self.texts.get(key) or DEFAULT_TEXTS[key]
        try:
            return template.format(**kw)
        except (KeyError, IndexError, ValueError):
            return DEFAULT_TEXTS[key].format(**kw)

    def lookup(self, measure: str, region: str | None, area: str | None, on: dt.date):
        """The Standard in force, or None; with area None, a value only when both
        areas agree (e.g. 成都's unified standard)."""
        m = self.measures.get(measure)
        if m is None:
            return None
        if area is None:
            both = [self._lookup(m, region, a, on) for a in AREAS]
            if all(both) and len({(s.value, s.low) for s in both}) == 1:  # type: ignore[union-attr]
                return both[0]
            return None
        return self._lookup(m, region, area, on)

    def known_high(self, measure: str, area: str, on: dt.date) -> KnownHigh | None:
        """The highest own figure of any region in force on that date: what local
        standards in Sichuan are known to reach."""
        m = self.measures.get(measure)
        if m is None or not m.regional:
            return None
        best: KnownHigh | None = None
        for region in m.regions:
            s = self._lookup(m, region, area, on)
            if s is None or s.fallback:
                continue
            if best is None or s.value > best.value:
                best = KnownHigh(s.value, region, s.year, s.title)
        return best

    def _finish(self, s: Standard, on: dt.date) -> Standard:
        if s.admin_set or not is_stale(s.start, on):
            return s
        from dataclasses import replace

        return replace(
            s,
            stale=True,
            stale_note=self.text(
                "stale", title=s.title, year=s.year, since=f"{s.start.year} 年 {s.start.month} 月"
            ),
        )

    def _lookup(self, m: Measure, region: str | None, area: str, on: dt.date) -> Standard | None:
        floor = _in_force(m.province, on)
        if not m.regional:
            if floor is None:
                return None
            title = f"四川省 {floor.start.year} 年{m.name}"
            note = self._confidence_note(floor)
            return self._finish(_of_entry(m, floor, area, floor.low[area], title, note), on)
        if region is None:
            return None
        entries = m.regions.get(region, [])
        own = _in_force(entries, on)
        derived = self._derived(m, region, area, on)
        floor_value = floor.values[area] if floor is not None else None
        if (
            own is not None
            and (floor_value is None or own.values[area] >= floor_value)
            and (derived is None or own.values[area] >= derived.value)
        ):
            area_label = AREA_LABEL[area] if own.values["urban"] != own.values["rural"] else ""
            low = own.low[area]
            if floor_value is not None:
                low = max(low, floor_value)
            title = f"{region} {own.start.year} 年{area_label}{m.name}"
            note = self._confidence_note(own)
            return self._finish(_of_entry(m, own, area, low, title, note), on)
        if derived is not None and (floor_value is None or derived.value >= floor_value):
            return self._finish(derived, on)
        if floor is None:
            return None
        area_label = AREA_LABEL[area] if floor.values["urban"] != floor.values["rural"] else ""
        if own is not None:
            why = self.text("below_floor", region=region)
        elif entries:
            why = self.text("no_entry_yet", region=region)
        else:
            why = self.text("no_own", region=region)
        if floor.inferred:
            why += self.text("inferred")
        title = f"四川省 {floor.start.year} 年{area_label}{m.floor_name}"
        fallback = _of_entry(m, floor, area, floor.values[area], title, why, fallback=True)
        return self._finish(fallback, on)

    def _derived(self, m: Measure, region: str, area: str, on: dt.date) -> Standard | None:
        d = m.derive
        if d is None or d.measure not in self.measures:
            return None
        base = self._lookup(self.measures[d.measure], region, area, on)
        if base is None or base.fallback:
            return None
        value: float = math.ceil(round(base.value * d.factor, 6))
        low: float = math.ceil(round(base.low * d.factor, 6))
        floor = _in_force(m.province, on)
        if floor is not None:
            low = max(low, floor.values[area])
        note = self.text(
            "derived",
            region=region,
            rule=d.rule,
            base_title=base.title,
            base=_fmt(base.value),
            factor=_fmt(d.factor),
            value=_fmt(value),
        )
        area_label = AREA_LABEL[area] if AREA_LABEL[area] in base.title else ""
        return Standard(
            m.id,
            value,
            low,
            f"{region} {base.year} 年{area_label}{m.name}（推算）",
            note,
            base.low_note,
            base.year,
            f"{d.source}；{base.source}",
            "H" if d.confidence == "H" and base.confidence == "H" else "M",
            False,
            start=base.start,
            derived=True,
            inferred=base.inferred,
            checked=base.checked,
        )

    def _confidence_note(self, e: Entry) -> str:
        if e.admin_set:
            return self.text("admin_set")
        if e.inferred:
            return self.text("inferred")
        return "" if e.confidence == "H" else self.text("unconfirmed")


def _of_entry(
    m: Measure, e: Entry, area: str, low: float, title: str, note: str, fallback: bool = False
) -> Standard:
    """The standard an entry sets for one area (the fallback to the provincial floor
    gives no separate low-income line of its own)."""
    return Standard(
        m.id,
        e.values[area],
        low,
        title,
        note,
        "" if fallback else e.low_note,
        e.start.year,
        e.source,
        e.confidence,
        fallback,
        start=e.start,
        inferred=e.inferred,
        checked=e.checked,
        admin_set=e.admin_set,
    )


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _in_force(entries: list[Entry], on: dt.date) -> Entry | None:
    best = None
    for e in entries:
        if e.start <= on and (best is None or e.start > best.start):
            best = e
    return best
