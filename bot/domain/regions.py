"""Sichuan's 市州, as the shipped ``policy_texts/regions.yml`` lists them (in FACTS.md's
order). That file is the one place their names are written: the screening's
``region`` fact, the channels and the checks of other content files all derive from
it. Content in another directory (``SANLIANG_CONTENT_DIR``, an admin's upload) is
checked against this list, so a typo in a copy of regions.yml is reported, not
adopted."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import yaml

from bot.config import bundled_content
from bot.content import read_yaml
from bot.manifest import content_path

# The installed package's copy, or the checkout's (not SANLIANG_CONTENT_DIR's).
REGIONS_FILE = content_path(bundled_content(), "regions")


def _shipped_cities() -> tuple[str, ...]:
    """The keys of the shipped regions.yml; empty when it cannot be read (then every
    市州 is reported unknown by ``sanliang check``, and the assistant does not start)."""
    try:
        data = read_yaml(REGIONS_FILE.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return ()
    if not isinstance(data, dict):
        return ()
    return tuple(str(city) for city in data)


CITIES: tuple[str, ...] = _shipped_cities()


# -- areas: 市州 / 区县 / 乡镇街道 ---------------------------------------------------

# A 乡镇/街道 name as staff write it (regions.yml lists no townships): Chinese
# characters ending in one of these.
TOWNSHIP_ENDINGS = ("街道", "镇", "乡", "苏木")
MAX_PART_CHARS = 30


@dataclass(frozen=True)
class Area:
    """市州 / 区县 / 乡镇街道. A missing part means "all of it": Area() is everywhere,
    Area(city) the whole 市州, Area(city, district) the whole 区县.

    The area responsible for a case is exactly such an area (the cases' ``area_*``
    columns; ``CaseQuery.covered_by`` is the same rule in SQL)."""

    city: str | None = None
    district: str | None = None
    township: str | None = None

    def __post_init__(self) -> None:
        # A lower part without the part above it means nothing: drop it.
        if self.city is None:
            object.__setattr__(self, "district", None)
        if self.district is None:
            object.__setattr__(self, "township", None)

    @property
    def level(self) -> int:
        """0 everywhere, 1 a 市州, 2 a 区县, 3 a 乡镇/街道."""
        return len(self.parts())

    def contains(self, other: Area) -> bool:
        """``other`` is this area or inside it."""
        mine, theirs = self.parts(), other.parts()
        return len(theirs) >= len(mine) and theirs[: len(mine)] == mine

    def covers(self, city: str | None, district: str | None, township: str | None = None) -> bool:
        """A worker of this area covers a case of that area: every case of this area
        and below it, and a case filed above this level on this area's own line (a
        district case without a street is the district's workers' and the street
        workers' of that district)."""
        case = Area(city, district, township)
        return self.contains(case) or case.contains(self)

    @property
    def is_everywhere(self) -> bool:
        return self.city is None

    def parts(self) -> list[str]:
        return [p for p in (self.city, self.district, self.township) if p]

    def __str__(self) -> str:
        return "/".join(self.parts())


def clean_part(text: str) -> str:
    """An area name as typed: NFKC (full-width letters, spaces), no spaces inside."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def township_ok(name: str) -> bool:
    """A plausible 乡镇/街道 name: Chinese characters ending in 街道/镇/乡/苏木."""
    return (
        2 <= len(name) <= MAX_PART_CHARS
        and all("\u4e00" <= ch <= "\u9fff" for ch in name)
        and name.endswith(TOWNSHIP_ENDINGS)
        and name not in TOWNSHIP_ENDINGS
    )


def match_name(typed: str, names: list[str]) -> str | None:
    """成都 for 成都市, 武侯 for 武侯区 (a unique start); an exact name wins."""
    if typed in names:
        return typed
    found = [n for n in names if len(typed) >= 2 and n.startswith(typed)]
    return found[0] if len(found) == 1 else None


def suggest(typed: str, names: list[str], limit: int = 3) -> list[str]:
    """The names closest to a typo (rapidfuzz), best first."""
    from rapidfuzz import fuzz, process

    found = process.extract(typed, names, scorer=fuzz.WRatio, limit=limit, score_cutoff=50)
    return [name for name, _score, _i in found]


@dataclass(frozen=True)
class AreaParse:
    """What ``parse_area`` made of a typed area: the area, or what was wrong
    (``bad``: the part not found; ``suggestions``: full areas to write instead)."""

    area: Area | None
    bad: str = ""
    suggestions: tuple[str, ...] = ()


def parse_area(text: str, regions: dict[str, list[str]]) -> AreaParse:
    """``成都市/武侯区[/某某街道]`` checked against regions.yml (市州 and 区县; short
    forms accepted); a 乡镇/街道 must look like one. Typos are refused with the
    nearest names."""
    parts = [clean_part(p) for p in text.replace("／", "/").replace("\\", "/").split("/")]
    parts = [p for p in parts if p]
    if not 1 <= len(parts) <= 3 or any(len(p) > MAX_PART_CHARS for p in parts):
        return AreaParse(None, bad=text.strip()[:40])
    cities = list(regions)
    city = match_name(parts[0], cities)
    if city is None:
        return AreaParse(None, parts[0], tuple(suggest(parts[0], cities)))
    district = township = None
    if len(parts) > 1:
        district = match_name(parts[1], regions[city])
        if district is None:
            near = suggest(parts[1], regions[city])
            return AreaParse(None, parts[1], tuple(f"{city}/{d}" for d in near))
    if len(parts) > 2:
        township = parts[2]
        if not township_ok(township):
            return AreaParse(None, township)
    return AreaParse(Area(city, district, township))
