"""Sichuan's 市州, as the shipped ``policy_texts/regions.yml`` lists them (in FACTS.md's
order). That file is the one place their names are written: the screening's
``region`` fact, the channels and the checks of other content files all derive from
it. Content in another directory (``SANLIANG_CONTENT_DIR``, an admin's upload) is
checked against this list, so a typo in a copy of regions.yml is reported, not
adopted."""

from __future__ import annotations

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
