"""Dated standards per region (``policy_texts/standards.yml``), OpenFisca style.

Each value has the date it takes effect, a source and a confidence (H/M/L).
Evaluating on a date picks the value in force then. The provincial floors
(低限) are the default: a region without its own figure uses the floor, and
since no city may pay less than the floor, a city figure that the floor has
overtaken is replaced by the floor too. Both cases are marked unconfirmed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content import LineDict, LineList, Report, load_yaml_file, parse_date
from bot.manifest import content_path
from bot.screening.facts import AREAS, REGIONS

CONFIDENCE = ("H", "M", "L")
AREA_LABEL = {"urban": "城市", "rural": "农村"}
FLOOR = "floor"


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


@dataclass
class Measure:
    id: str
    name: str
    floor_name: str
    regional: bool
    province: list[Entry] = field(default_factory=list)
    # region -> its own dated entries; [] means "no own figure: use the floor"
    regions: dict[str, list[Entry]] = field(default_factory=dict)


@dataclass(frozen=True)
class Standard:
    """The value in force for one measure, region, area and date, and how to cite it."""

    measure: str
    value: float
    low: float
    title: str  # e.g. 成都市 2023 年低保标准
    note: str  # caveats (fallback to the floor, unconfirmed, district differences)
    low_note: str
    year: int
    source: str
    confidence: str
    fallback: bool

    @property
    def confirmed(self) -> bool:
        return self.confidence == "H" and not self.fallback


@dataclass
class Standards:
    measures: dict[str, Measure]

    def lookup(self, measure: str, region: str | None, area: str | None, on: dt.date):
        """The Standard in force, or None; with area None, a value only when both
        areas agree (e.g. 成都's unified standard)."""
        m = self.measures.get(measure)
        if m is None:
            return None
        if area is None:
            both = [self._lookup(m, region, a, on) for a in AREAS]
            if all(both) and len({(s.value, s.low) for s in both}) == 1:  # type: ignore[union-attr]
                s = both[0]
                return s
            return None
        return self._lookup(m, region, area, on)

    def _lookup(self, m: Measure, region: str | None, area: str, on: dt.date) -> Standard | None:
        floor = _in_force(m.province, on)
        if not m.regional:
            if floor is None:
                return None
            return Standard(
                m.id,
                floor.values[area],
                floor.low[area],
                f"四川省 {floor.start.year} 年{m.name}",
                _confidence_note(floor),
                floor.low_note,
                floor.start.year,
                floor.source,
                floor.confidence,
                False,
            )
        if region is None:
            return None
        entries = m.regions.get(region, [])
        own = _in_force(entries, on)
        area_label = ""
        if own is not None and (floor is None or own.values[area] >= floor.values[area]):
            if own.values["urban"] != own.values["rural"]:
                area_label = AREA_LABEL[area]
            low = own.low[area]
            if floor is not None:
                low = max(low, floor.values[area])
            note = _confidence_note(own)
            return Standard(
                m.id,
                own.values[area],
                low,
                f"{region} {own.start.year} 年{area_label}{m.name}",
                note,
                own.low_note,
                own.start.year,
                own.source,
                own.confidence,
                False,
            )
        if floor is None:
            return None
        if floor.values["urban"] != floor.values["rural"]:
            area_label = AREA_LABEL[area]
        if own is not None:
            why = f"{region}已录入的标准比全省最低标准还低，这里按全省最低标准算，待核实"
        elif entries:
            why = f"{region}这个时间还没有本地标准的记录，这里按全省最低标准算，待核实"
        else:
            why = f"还没有录入{region}自己的标准，这里按全省最低标准算，以当地公布的为准"
        return Standard(
            m.id,
            floor.values[area],
            floor.values[area],
            f"四川省 {floor.start.year} 年{area_label}{m.floor_name}",
            f"（{why}）",
            "",
            floor.start.year,
            floor.source,
            floor.confidence,
            True,
        )


def _in_force(entries: list[Entry], on: dt.date) -> Entry | None:
    best = None
    for e in entries:
        if e.start <= on and (best is None or e.start > best.start):
            best = e
    return best


def _confidence_note(e: Entry) -> str:
    return "" if e.confidence == "H" else "（这个数字还待核实，以当地公布的为准）"


# -- loading -------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if value >= 0 else None


def _entry(item: Any, where: str, path: Path, line: int, report: Report) -> Entry | None:
    if not isinstance(item, LineDict):
        report.error(path, line, f"{where}: expected a mapping with from, values, source")
        return None
    ok = True
    start = parse_date(item.get("from"))
    if start is None:
        report.error(path, item.line_of("from"), f"{where}: 'from' must be a date like 2023-07-01")
        ok = False
    values: dict[str, float] = {}
    if "value" in item:
        v = _number(item["value"])
        if v is None:
            report.error(path, item.line_of("value"), f"{where}: value must be a number ≥ 0")
            ok = False
        else:
            values = {a: v for a in AREAS}
    else:
        for a in AREAS:
            v = _number(item.get(a))
            if v is None:
                report.error(
                    path, item.line_of(a), f"{where}: {a} must be a number ≥ 0 (yuan per month)"
                )
                ok = False
            else:
                values[a] = v
    low = dict(values)
    if "low" in item:
        v = _number(item["low"])
        if v is None or (values and v > min(values.values())):
            report.error(
                path, item.line_of("low"), f"{where}: low must be a number not above the value"
            )
            ok = False
        else:
            low = {a: v for a in AREAS}
    source = item.get("source")
    if not isinstance(source, str) or not source.strip():
        report.error(path, item.line_of("source") if "source" in item else item.line,
                     f"{where}: missing source")  # fmt: skip
        ok = False
    conf = item.get("confidence")
    if conf not in CONFIDENCE:
        report.error(
            path,
            item.line_of("confidence"),
            f"{where}: confidence must be one of H, M, L (got {conf!r})",
        )
        ok = False
    if not ok or start is None:
        return None
    entry = Entry(
        start,
        values,
        low,
        str(item.get("low_note") or "").strip(),
        str(source).strip(),
        str(conf),
        str(item.get("note") or "").strip(),
        item.line,
    )
    if conf != "H":
        report.warning(
            path,
            item.line,
            f"{where} from {start}: confidence {conf} — to be confirmed by an administrator",
        )
    return entry


def _entries(raw: Any, where: str, path: Path, line: int, report: Report) -> list[Entry]:
    if not isinstance(raw, LineList) or not raw:
        report.error(path, line, f"{where}: expected a list of dated values")
        return []
    out = []
    seen: set[dt.date] = set()
    for i, item in enumerate(raw):
        e = _entry(item, where, path, raw.line_of(i), report)
        if e is None:
            continue
        if e.start in seen:
            report.error(path, e.line, f"{where}: two values from the same date {e.start}")
            continue
        seen.add(e.start)
        out.append(e)
    return out


def _warn_overtaken(m: Measure, region: str, path: Path, report: Report) -> None:
    """A city figure that a later provincial floor exceeds is replaced by the floor."""
    own = sorted(m.regions[region], key=lambda e: e.start)
    for i, e in enumerate(own):
        until = own[i + 1].start if i + 1 < len(own) else None
        for f in m.province:
            if f.start > e.start and (until is None or f.start < until):
                if any(f.values[a] > e.values[a] for a in AREAS):
                    report.warning(
                        path,
                        e.line,
                        f"{m.id} {region}: from {f.start} the provincial floor is above this "
                        f"figure and is used instead — to be confirmed by an administrator",
                    )
                    break


def load_standards(root: Path, report: Report) -> Standards | None:
    path = content_path(root, "standards")
    if not path.exists():
        report.error(path, 1, "missing: the dated standards")
        return None
    data = load_yaml_file(path, report)
    if data is None:
        return None
    if not isinstance(data, LineDict) or not isinstance(data.get("measures"), LineDict):
        report.error(path, 1, "expected a mapping with 'measures'")
        return None
    measures: dict[str, Measure] = {}
    raw_measures = data["measures"]
    for mid, raw in raw_measures.items():
        line = raw_measures.line_of(mid)
        if not isinstance(mid, str) or not mid.isidentifier():
            report.error(path, line, f"measure id {mid!r}: use letters, digits and '_'")
            continue
        if not isinstance(raw, LineDict) or not isinstance(raw.get("name"), str):
            report.error(path, line, f"{mid}: needs a name")
            continue
        regional = raw.get("regional", False)
        if not isinstance(regional, bool):
            report.error(path, raw.line_of("regional"), f"{mid}: regional must be true or false")
            continue
        m = Measure(mid, raw["name"].strip(), str(raw.get("floor_name") or raw["name"]), regional)
        m.province = _entries(
            raw.get("province"), f"{mid} province", path, raw.line_of("province"), report
        )
        if regional:
            regions = raw.get("regions")
            if not isinstance(regions, LineDict):
                report.error(path, raw.line_of("regions"), f"{mid}: expected 'regions'")
                regions = LineDict()
            for region, spec in regions.items():
                rline = regions.line_of(region)
                if region not in REGIONS:
                    report.error(path, rline, f"{mid}: unknown region {region!r}")
                    continue
                if spec == FLOOR:
                    m.regions[region] = []
                    report.warning(
                        path,
                        rline,
                        f"{mid} {region}: no own figure, the provincial floor is used — "
                        "to be confirmed by an administrator",
                    )
                    continue
                m.regions[region] = _entries(spec, f"{mid} {region}", path, rline, report)
                _warn_overtaken(m, region, path, report)
                first = min((e.start for e in m.regions[region]), default=None)
                if first is not None and m.province and first > min(e.start for e in m.province):
                    report.warning(
                        path,
                        rline,
                        f"{mid} {region}: before {first} the provincial floor is used — "
                        "to be confirmed by an administrator",
                    )
            for region in REGIONS:
                if region not in regions:
                    report.error(
                        path,
                        raw.line_of("regions"),
                        f"{mid}: region {region} missing (write '{region}: floor' "
                        "when it has no own figure)",
                    )
                    m.regions.setdefault(region, [])
        elif "regions" in raw:
            report.error(path, raw.line_of("regions"), f"{mid}: regional is false but has regions")
        measures[mid] = m
    return Standards(measures)
