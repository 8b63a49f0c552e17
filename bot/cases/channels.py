"""Content part loader (filled in by its feature)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.content import Content, Report


def load(root: Path, report: Report, content: Content) -> Any:
    return None
