"""The ``channels`` content part: channels directory, regions, follow-up targets and
the words that flag a help request as urgent.

Files: ``policy_texts/channels.yml`` (general channels, per-region offices, targets),
``policy_texts/regions.yml`` (the 21 市州 and their 区县) and
``intents/urgent_words.yml``. Every problem is reported as ``path:line: message``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.cases.phone import normalize_phone
from bot.content import Content, LineDict, LineList, Report, load_yaml_file
from bot.domain.cases import CATEGORIES
from bot.domain.regions import CITIES
from bot.manifest import content_path

CONFIDENCE = ("H", "M", "L")
OFFICE_KINDS = ("one-window", "committee", "civil-affairs", "other")
MAX_TARGET_DAYS = 60
_SHORT_NUMBER = re.compile(r"^\d{5}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
# Roughly Sichuan; a coordinate outside is most likely a typo (lat/lon swapped).
_LAT_RANGE, _LON_RANGE = (25.5, 34.8), (97.0, 108.8)


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    purpose: str
    phone: str | None = None
    hours: str | None = None
    place: str | None = None
    note: str | None = None
    confidence: str = "H"


@dataclass(frozen=True)
class Office:
    name: str
    city: str
    district: str | None = None
    township: str | None = None
    kind: str = "other"
    phone: str | None = None
    address: str | None = None
    hours: str | None = None
    lat: float | None = None
    lon: float | None = None
    source: str = ""
    confidence: str = "H"

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class Targets:
    default: int = 3
    urgent: int = 1  # working days (older files); urgent_hours is what counts now
    categories: dict[str, int] = field(default_factory=dict)
    urgent_hours: int = 24  # every day of the week, weekends and holidays included

    def days(self, category: str, urgent: bool) -> int:
        if urgent:
            return self.urgent
        return self.categories.get(category, self.default)


@dataclass
class Channels:
    general: list[Channel]
    offices: list[Office]
    regions: dict[str, list[str]]  # 市州 -> 区县, in order
    targets: Targets
    urgent_words: tuple[str, ...]

    def offices_in(self, city: str, district: str | None = None) -> list[Office]:
        return [
            o
            for o in self.offices
            if o.city == city and (district is None or o.district in (None, district))
        ]

    def nearest(self, lat: float, lon: float) -> tuple[Office, float] | None:
        """The office with coordinates closest to (lat, lon), with the distance in km."""
        best: tuple[Office, float] | None = None
        for office in self.offices:
            if not office.has_position:
                continue
            km = haversine_km(lat, lon, office.lat, office.lon)  # type: ignore[arg-type]
            if best is None or km < best[1]:
                best = (office, km)
        return best

    def urgent_hits(self, text: str) -> list[str]:
        """The urgent words found in ``text`` (spaces ignored), in file order."""
        squashed = re.sub(r"\s+", "", text or "")
        return [w for w in self.urgent_words if w in squashed]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


# -- loading ---------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        return text or None
    return None


def _line(data: Any, key: str | int) -> int:
    if isinstance(data, LineDict):
        return data.line_of(str(key))
    if isinstance(data, LineList) and isinstance(key, int):
        return data.line_of(key)
    return getattr(data, "line", 1)


def load(root: Path, report: Report, content: Content) -> Channels:
    regions = load_regions(content_path(root, "regions"), report)
    general, offices, targets = load_channels(content_path(root, "channels"), regions, report)
    words = load_urgent_words(content_path(root, "urgent_words"), report)
    return Channels(general, offices, regions, targets, words)


def load_regions(path: Path, report: Report) -> dict[str, list[str]]:
    if not path.exists():
        report.error(path, 1, "missing: the list of 市州 and 区县")
        return {}
    data = load_yaml_file(path, report)
    if data is None:
        return {}
    if not isinstance(data, dict):
        report.error(path, 1, "expected a mapping of 市州 to a list of 区县")
        return {}
    out: dict[str, list[str]] = {}
    for city, districts in data.items():
        line = _line(data, city)
        if city not in CITIES:
            report.error(
                path, line, f"unknown 市州 {city!r}: use the names of the shipped regions.yml"
            )
            continue
        if not isinstance(districts, list) or not districts:
            report.error(path, line, f"{city}: expected a non-empty list of 区县")
            continue
        names: list[str] = []
        for i, d in enumerate(districts):
            name = _text(d)
            if name is None or len(name) > 20:
                report.error(path, _line(districts, i), f"{city}: a 区县 must be a short name")
            elif name in names:
                report.error(path, _line(districts, i), f"{city}: duplicate 区县 {name!r}")
            else:
                names.append(name)
        out[city] = names
    for city in CITIES:
        if city not in data:
            report.error(path, 1, f"missing 市州 {city!r}")
    return {c: out[c] for c in CITIES if c in out}


def _confidence(item: dict[str, Any], path: Path, report: Report, what: str) -> str:
    conf = _text(item.get("confidence")) or ""
    if conf not in CONFIDENCE:
        report.error(path, _line(item, "confidence"), f"{what}: confidence must be H, M or L")
        return "L"
    if conf != "H":
        confirm = _text(item.get("confirm"))
        msg = f"{what}: confidence {conf}, to be confirmed by an administrator"
        report.warning(path, _line(item, "confidence"), msg + (f" ({confirm})" if confirm else ""))
    return conf


def load_channels(
    path: Path, regions: dict[str, list[str]], report: Report
) -> tuple[list[Channel], list[Office], Targets]:
    if not path.exists():
        report.error(path, 1, "missing: the channels directory")
        return [], [], Targets()
    data = load_yaml_file(path, report)
    if data is None:
        return [], [], Targets()
    if not isinstance(data, dict):
        report.error(path, 1, "expected a mapping with targets, general and offices")
        return [], [], Targets()
    for key in data:
        if key not in ("targets", "general", "offices"):
            report.error(path, _line(data, key), f"unknown section {key!r}")
    targets = _load_targets(data.get("targets"), path, report, _line(data, "targets"))
    general = _load_general(data.get("general"), path, report, _line(data, "general"))
    offices = _load_offices(data.get("offices"), regions, path, report, _line(data, "offices"))
    return general, offices, targets


def _days(value: Any, path: Path, report: Report, line: int, what: str) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TARGET_DAYS:
        report.error(path, line, f"{what}: expected whole working days from 1 to {MAX_TARGET_DAYS}")
        return None
    return value


def _load_targets(raw: Any, path: Path, report: Report, line: int) -> Targets:
    if not isinstance(raw, dict):
        report.error(path, line, "targets: expected default, urgent and categories")
        return Targets()
    default = _days(raw.get("default"), path, report, _line(raw, "default"), "targets.default")
    urgent = None
    if "urgent" in raw:
        urgent = _days(raw.get("urgent"), path, report, _line(raw, "urgent"), "targets.urgent")
    hours = None
    if "urgent_hours" in raw:
        value = raw.get("urgent_hours")
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 240:
            report.error(path, _line(raw, "urgent_hours"), "targets.urgent_hours: 1 to 240 hours")
        else:
            hours = value
    cats: dict[str, int] = {}
    raw_cats = raw.get("categories") or {}
    if not isinstance(raw_cats, dict):
        report.error(path, _line(raw, "categories"), "targets.categories: expected a mapping")
        raw_cats = {}
    for cat, value in raw_cats.items():
        if cat not in CATEGORIES:
            report.error(
                path,
                _line(raw_cats, cat),
                f"targets.categories: unknown category {cat!r} (known: {', '.join(CATEGORIES)})",
            )
            continue
        days = _days(value, path, report, _line(raw_cats, cat), f"targets.categories.{cat}")
        if days is not None:
            cats[cat] = days
    if hours is None:
        hours = (urgent or 1) * 24
    return Targets(default or 3, urgent or 1, cats, hours)


def _load_general(raw: Any, path: Path, report: Report, line: int) -> list[Channel]:
    if not isinstance(raw, list) or not raw:
        report.error(path, line, "general: expected a list of channels")
        return []
    out: list[Channel] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        item_line = _line(raw, i)
        if not isinstance(item, dict):
            report.error(path, item_line, "a channel must be a mapping")
            continue
        cid, name, purpose = _text(item.get("id")), _text(item.get("name")), _text(item.get("for"))
        if not cid or not _ID.match(cid) or not name or not purpose:
            report.error(path, item_line, "a channel needs id (lowercase/digits), name and for")
            continue
        if cid in seen:
            report.error(path, _line(item, "id"), f"duplicate channel id {cid!r}")
            continue
        seen.add(cid)
        phone = _text(item.get("phone"))
        if phone is not None and not (_SHORT_NUMBER.match(phone) or normalize_phone(phone)):
            report.error(path, _line(item, "phone"), f"{cid}: phone {phone!r} is not a number")
            continue
        conf = _confidence(item, path, report, cid)
        out.append(
            Channel(
                cid,
                name,
                purpose,
                phone=phone,
                hours=_text(item.get("hours")),
                place=_text(item.get("place")),
                note=_text(item.get("note")),
                confidence=conf,
            )
        )
    return out


def _coordinate(item: dict[str, Any], key: str, bounds: tuple[float, float], path, report) -> Any:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        report.error(path, _line(item, key), f"{key}: expected a number")
        return False
    if not bounds[0] <= float(value) <= bounds[1]:
        report.warning(path, _line(item, key), f"{key} {value} lies outside Sichuan")
    return float(value)


def _load_offices(
    raw: Any, regions: dict[str, list[str]], path: Path, report: Report, line: int
) -> list[Office]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        report.error(path, line, "offices: expected a list (may be empty: [])")
        return []
    out: list[Office] = []
    for i, item in enumerate(raw):
        item_line = _line(raw, i)
        if not isinstance(item, dict):
            report.error(path, item_line, "an office must be a mapping")
            continue
        name, city = _text(item.get("name")), _text(item.get("city"))
        source = _text(item.get("source"))
        if not name or not city or not source:
            report.error(path, item_line, "an office needs name, city and source")
            continue
        if city not in regions:
            report.error(path, _line(item, "city"), f"{name}: unknown 市州 {city!r}")
            continue
        district = _text(item.get("district"))
        if district is not None and district not in regions[city]:
            report.error(path, _line(item, "district"), f"{name}: {district!r} is not in {city}")
            continue
        kind = _text(item.get("kind")) or "other"
        if kind not in OFFICE_KINDS:
            report.error(path, _line(item, "kind"), f"{name}: kind must be one of {OFFICE_KINDS}")
            continue
        phone = _text(item.get("phone"))
        if phone is not None:
            normal = normalize_phone(phone)
            if normal is None:
                report.error(
                    path, _line(item, "phone"), f"{name}: {phone!r} is not a mainland number"
                )
                continue
            phone = normal
        lat = _coordinate(item, "lat", _LAT_RANGE, path, report)
        lon = _coordinate(item, "lon", _LON_RANGE, path, report)
        if lat is False or lon is False:
            continue
        if (lat is None) != (lon is None):
            report.error(path, item_line, f"{name}: give both lat and lon, or neither")
            continue
        conf = _confidence(item, path, report, name)
        out.append(
            Office(
                name,
                city,
                district=district,
                township=_text(item.get("township")),
                kind=kind,
                phone=phone,
                address=_text(item.get("address")),
                hours=_text(item.get("hours")),
                lat=lat,
                lon=lon,
                source=source,
                confidence=conf,
            )
        )
    return out


def load_urgent_words(path: Path, report: Report) -> tuple[str, ...]:
    if not path.exists():
        report.error(path, 1, "missing: the words that flag a help request as urgent")
        return ()
    data = load_yaml_file(path, report)
    if data is None:
        return ()
    words = data.get("words") if isinstance(data, dict) else None
    if not isinstance(words, list) or not words:
        report.error(path, 1, "expected 'words:' with a list of words")
        return ()
    out: list[str] = []
    for i, w in enumerate(words):
        text = _text(w)
        if text is None or len(text) > 20:
            report.error(path, _line(words, i), "an urgent word must be a short text")
        elif text in out:
            report.error(path, _line(words, i), f"duplicate urgent word {text!r}")
        else:
            out.append(re.sub(r"\s+", "", text))
    return tuple(out)
