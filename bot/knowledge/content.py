"""The knowledge part of the content snapshot: topics and categories."""

from __future__ import annotations

from pathlib import Path

from bot.content import Content, Report
from bot.knowledge.topics import Topics, load_topics


def load(root: Path, report: Report, content: Content) -> Topics:
    return load_topics(root, report)
