"""The ``words`` content part: what people type that means what a button means,
from ``intents/words.yml`` (groups of sayings under a section). Features read
``content.words.group(section, name)``; the file is checked like every content file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.content import Content, LineDict, LineList, Report, load_yaml_file
from bot.manifest import content_path

MAX_SAYING_CHARS = 20
# The groups features read: a missing one is an error, not a silent empty set.
REQUIRED = {
    "screening": ("restart", "back", "unknown"),
    "screening_whom": ("for_self", "for_other", "agreed", "later"),
    "staff_roles": ("worker", "admin"),
}


@dataclass(frozen=True)
class Words:
    groups: dict[tuple[str, str], frozenset[str]] = field(default_factory=dict)

    def group(self, section: str, name: str) -> frozenset[str]:
        return self.groups.get((section, name), frozenset())

    def which(self, section: str, saying: str) -> str | None:
        """The group of ``section`` that ``saying`` belongs to (case-insensitive)."""
        key = saying.strip().lower()
        for (sec, name), sayings in self.groups.items():
            if sec == section and key in sayings:
                return name
        return None


def load(root: Path, report: Report, content: Content) -> Words:
    path = content_path(root, "words")
    if not path.exists():
        report.error(path, 1, "missing: the words that mean what a button means")
        return Words()
    data = load_yaml_file(path, report)
    if data is None:
        return Words()
    if not isinstance(data, LineDict):
        report.error(path, 1, "expected sections of named groups of sayings")
        return Words()
    groups: dict[tuple[str, str], frozenset[str]] = {}
    for section, named in data.items():
        if not isinstance(named, LineDict):
            report.error(path, data.line_of(section), f"{section}: expected named groups")
            continue
        seen: dict[str, str] = {}
        for name, sayings in named.items():
            line = named.line_of(name)
            if not isinstance(sayings, LineList) or not sayings:
                report.error(path, line, f"{section}.{name}: expected a list of sayings")
                continue
            out = set()
            for i, saying in enumerate(sayings):
                text = str(saying).strip().lower() if isinstance(saying, str | int) else ""
                if not text or len(text) > MAX_SAYING_CHARS:
                    report.error(path, sayings.line_of(i), f"{section}.{name}: a short saying")
                elif text in seen:
                    msg = f"{section}: {text!r} is in both {seen[text]} and {name}"
                    report.error(path, sayings.line_of(i), msg)
                else:
                    seen[text] = name
                    out.add(text)
            groups[(str(section), str(name))] = frozenset(out)
    for section, names in REQUIRED.items():
        for name in names:
            if (section, name) not in groups:
                report.error(path, 1, f"missing group {section}.{name}")
    return Words(groups)
