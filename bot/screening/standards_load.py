"""Loading ``policy_texts/standards.yml`` (see bot.screening.standards for the model):
dated entries with source, confidence, checked date and flags, the derive rule, the
sentences, and the warnings ``sanliang check --warnings`` lists by kind (stale, floor,
derived, inferred, unconfirmed, admin-set, unchecked)."""

from __future__ import annotations

import datetime as dt
import string
from pathlib import Path
from typing import Any

from bot.calendar import china_today
from bot.content import LineDict, LineList, Report, load_yaml_file, parse_date
from bot.manifest import content_path
from bot.screening.facts import AREAS, REGIONS
from bot.screening.standards import (
    CONFIDENCE,
    DEFAULT_TEXTS,
    FLOOR,
    STALE_MONTHS,
    Derive,
    Entry,
    Measure,
    Standards,
)


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
    checked = None
    if "checked" in item:
        checked = parse_date(item.get("checked"))
        if checked is None:
            report.error(
                path, item.line_of("checked"), f"{where}: 'checked' must be a date like 2026-12-01"
            )
            ok = False
        elif checked > china_today():
            report.error(path, item.line_of("checked"), f"{where}: 'checked' is in the future")
            ok = False
    flags = {}
    for key in ("inferred", "admin_set"):
        flags[key] = item.get(key, False)
        if not isinstance(flags[key], bool):
            report.error(path, item.line_of(key), f"{where}: {key} must be true or false")
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
        checked,
        bool(flags["inferred"]),
        bool(flags["admin_set"]),
    )
    if entry.admin_set:
        report.warning(
            path,
            item.line,
            f"admin-set: {where} from {start}: a value the administrator set for the "
            "screening, not from a source — to be confirmed by an administrator",
        )
    elif entry.inferred:
        report.warning(
            path,
            item.line,
            f"inferred: {where} from {start}: inferred, confidence {conf} — "
            "to be confirmed by an administrator",
        )
    elif conf != "H":
        report.warning(
            path,
            item.line,
            f"unconfirmed: {where} from {start}: confidence {conf} — "
            "to be confirmed by an administrator",
        )
    if checked is None:
        report.warning(path, item.line, f"unchecked: {where} from {start}: no 'checked' date")
    elif (china_today() - checked).days > 365:
        report.warning(
            path, item.line, f"unchecked: {where} from {start}: last checked {checked}, "
            "more than a year ago"
        )  # fmt: skip
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
                        f"floor: {m.id} {region}: from {f.start} the provincial floor is above this "
                        f"figure and is used instead — to be confirmed by an administrator",
                    )
                    break


def load_standards(root: Path, report: Report, today: dt.date | None = None) -> Standards | None:
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
        if "derive" in raw:
            m.derive = _derive(raw["derive"], mid, path, raw.line_of("derive"), report)
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
                    continue
                m.regions[region] = _entries(spec, f"{mid} {region}", path, rline, report)
                _warn_overtaken(m, region, path, report)
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
    for mid, m in measures.items():
        if m.derive is not None and m.derive.measure not in measures:
            report.error(path, raw_measures.line_of(mid), f"{mid}: derive from unknown measure "
                         f"{m.derive.measure!r}")  # fmt: skip
            m.derive = None
    standards = Standards(measures, _texts(data.get("texts"), path, data, report))
    _warn_regions(standards, path, raw_measures, report, today or china_today())
    return standards


def _texts(raw: Any, path: Path, data: LineDict, report: Report) -> dict[str, str]:
    texts = dict(DEFAULT_TEXTS)
    if raw is None:
        return texts
    if not isinstance(raw, LineDict):
        report.error(path, data.line_of("texts"), "texts: expected a mapping of sentences")
        return texts
    for key, value in raw.items():
        if key not in DEFAULT_TEXTS:
            report.error(path, raw.line_of(key), f"texts: unknown key {key!r}")
            continue
        if not isinstance(value, str) or not value.strip():
            report.error(path, raw.line_of(key), f"texts {key}: expected a sentence")
            continue
        try:
            names = {n for _l, n, _s, _c in string.Formatter().parse(value) if n is not None}
        except ValueError as exc:
            report.error(path, raw.line_of(key), f"texts {key}: {exc}")
            continue
        allowed = {n for _l, n, _s, _c in string.Formatter().parse(DEFAULT_TEXTS[key]) if n}
        if not names <= allowed:
            bad = ", ".join(sorted(names - allowed))
            report.error(path, raw.line_of(key), f"texts {key}: unknown placeholder {bad}")
            continue
        texts[key] = value.strip()
    return texts


def _derive(raw: Any, mid: str, path: Path, line: int, report: Report) -> Derive | None:
    if not isinstance(raw, LineDict):
        report.error(path, line, f"{mid} derive: expected measure, factor, rule, source")
        return None
    factor = _number(raw.get("factor"))
    ok = True
    if not isinstance(raw.get("measure"), str):
        report.error(path, raw.line_of("measure"), f"{mid} derive: measure must be a measure id")
        ok = False
    if factor is None or factor <= 0:
        report.error(path, raw.line_of("factor"), f"{mid} derive: factor must be a number > 0")
        ok = False
    for key in ("rule", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            report.error(path, raw.line_of(key), f"{mid} derive: missing {key}")
            ok = False
    if raw.get("confidence") not in CONFIDENCE:
        report.error(path, raw.line_of("confidence"), f"{mid} derive: confidence H, M or L")
        ok = False
    if not ok or factor is None:
        return None
    return Derive(raw["measure"], float(factor), raw["rule"].strip(), raw["source"].strip(),
                  raw["confidence"])  # fmt: skip


def _warn_regions(
    standards: Standards, path: Path, raw_measures: LineDict, report: Report, today: dt.date
) -> None:
    """Per region and measure, what is used today: the floor, a derived value, and
    any figure more than 12 months old."""
    for mid, m in standards.measures.items():
        raw = raw_measures.get(mid)
        regions = raw.get("regions") if isinstance(raw, LineDict) else None
        where = (
            [(r, regions.line_of(r)) for r in m.regions] if isinstance(regions, LineDict) else []
        )
        if not m.regional:
            line = raw_measures.line_of(mid)
            s = standards.lookup(mid, None, "urban", today)
            if s is not None and s.stale:
                report.warning(path, line, f"stale: {mid}: the newest figure is from {s.start} "
                               f"({s.title}), more than {STALE_MONTHS} months before {today}")  # fmt: skip
            continue
        for region, line in where:
            used = [standards.lookup(mid, region, a, today) for a in AREAS]
            used = [s for s in used if s is not None]
            if not used:
                continue
            s = used[0]
            if any(u.fallback for u in used):
                report.warning(path, line, f"floor: {mid} {region}: no own figure in force on "
                               f"{today}, the provincial floor is used — to be confirmed by an "
                               "administrator")  # fmt: skip
            elif any(u.derived for u in used):
                report.warning(path, line, f"derived: {mid} {region}: no own figure, derived "
                               f"from the local {m.derive.measure if m.derive else '?'} by the "
                               "rule — to be confirmed by an administrator")  # fmt: skip
            if any(u.stale for u in used):
                report.warning(path, line, f"stale: {mid} {region}: the newest figure is from "
                               f"{s.start} ({s.title}), more than {STALE_MONTHS} months before "
                               f"{today}")  # fmt: skip
