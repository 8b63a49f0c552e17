"""Loading and checking ``intents/emergency.yml`` (the emergency triage's words).

Every problem is reported as ``path:line: message``; a file with errors is never
served (the running assistant keeps its last good content)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.content import Content, LineDict, LineList, Report, load_yaml_file
from bot.domain.cases import CATEGORIES
from bot.manifest import content_path
from bot.safety.triage import Kind, Triage, normalize

# The only numbers the triage may tell a resident to call (FACTS_2026_UPDATE.md §10):
# fire, medical emergency, police, and the national psychological assistance line.
KNOWN_NUMBERS = ("119", "120", "110", "12356")
MAX_PATTERN_CHARS = 300


def load(root: Path, report: Report, content: Content) -> Triage:
    path = content_path(Path(root), "emergency")
    if not path.exists():
        report.error(path, 1, "missing: the emergency words (safety triage)")
        return Triage()
    data = load_yaml_file(path, report)
    if data is None:
        return Triage()
    if not isinstance(data, LineDict):
        report.error(path, 1, "expected a mapping with safe, negations, now, contexts, kinds")
        return Triage()
    safe = _texts(data, "safe", path, report)
    negations = _texts(data, "negations", path, report)
    now = _texts(data, "now", path, report)
    contexts: dict[str, tuple[str, ...]] = {}
    raw_contexts = data.get("contexts")
    if not isinstance(raw_contexts, LineDict):
        report.error(path, data.line_of("contexts"), "contexts: expected named lists of words")
    else:
        for name in raw_contexts:
            contexts[str(name)] = _texts(raw_contexts, name, path, report)
    kinds: list[Kind] = []
    raw_kinds = data.get("kinds")
    if not isinstance(raw_kinds, LineList) or not raw_kinds:
        report.error(path, data.line_of("kinds"), "kinds: expected a list")
        raw_kinds = LineList()
    seen: set[str] = set()
    for i, item in enumerate(raw_kinds):
        kind = _kind(item, raw_kinds.line_of(i), path, report, contexts)
        if kind is None:
            continue
        if kind.id in seen:
            report.error(path, raw_kinds.line_of(i), f"duplicate kind id {kind.id!r}")
            continue
        seen.add(kind.id)
        kinds.append(kind)
    return Triage(kinds=kinds, safe=safe, negations=negations, now=now, contexts=contexts)


def _texts(data: LineDict, key: str, path: Path, report: Report) -> tuple[str, ...]:
    """A list of words, each normalised the way messages are; empty and duplicate
    entries are errors (a word that normalises to nothing would match everything)."""
    raw = data.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        report.error(path, data.line_of(key), f"{key}: expected a list of words")
        return ()
    out: list[str] = []
    for j, value in enumerate(raw):
        word = normalize(str(value)) if isinstance(value, str | int) else ""
        if not word:
            report.error(path, raw.line_of(j), f"{key}: empty or unreadable entry")
            continue
        if word in out:
            report.error(path, raw.line_of(j), f"{key}: {value!r} is listed twice")
            continue
        out.append(word)
    return tuple(out)


def _patterns(data: LineDict, key: str, path: Path, report: Report) -> tuple[re.Pattern, ...]:
    raw = data.get(key)
    if raw is None:
        return ()
    if not isinstance(raw, LineList):
        report.error(path, data.line_of(key), f"{key}: expected a list of patterns")
        return ()
    out = []
    for j, value in enumerate(raw):
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_PATTERN_CHARS:
            report.error(path, raw.line_of(j), f"{key}: expected a pattern (1–300 characters)")
            continue
        try:
            pattern = re.compile(value)
        except re.error as exc:
            report.error(path, raw.line_of(j), f"{key}: not a valid pattern: {exc}")
            continue
        if pattern.search(""):
            report.error(path, raw.line_of(j), f"{key}: pattern {value!r} matches empty text")
            continue
        out.append(pattern)
    return tuple(out)


def _numbers(item: LineDict, key: str, path: Path, report: Report) -> tuple[str, ...] | None:
    raw = item.get(key, [])
    if not isinstance(raw, list):
        report.error(path, item.line_of(key), f"{key}: expected a list of numbers")
        return None
    out = []
    for value in raw:
        number = str(value).strip()
        if number not in KNOWN_NUMBERS:
            report.error(
                path,
                item.line_of(key),
                f"{key}: {number!r} is not one of the emergency numbers {', '.join(KNOWN_NUMBERS)}",
            )
            return None
        out.append(number)
    return tuple(out)


def _kind(
    item: Any, line: int, path: Path, report: Report, contexts: dict[str, tuple[str, ...]]
) -> Kind | None:
    if not isinstance(item, LineDict):
        report.error(path, line, "a kind needs id, numbers and words or patterns")
        return None
    kid = item.get("id")
    if not isinstance(kid, str) or not re.fullmatch(r"[a-z_]{2,20}", kid):
        report.error(path, item.line_of("id"), "id: expected a short name (a-z, _)")
        return None
    numbers = _numbers(item, "numbers", path, report)
    immediate_numbers = _numbers(item, "immediate_numbers", path, report)
    if numbers is None or immediate_numbers is None:
        return None
    emergency = item.get("emergency", True)
    if not isinstance(emergency, bool):
        report.error(path, item.line_of("emergency"), "emergency: expected true or false")
        return None
    if emergency and not numbers:
        report.error(path, item.line_of("numbers"), f"kind {kid!r}: an emergency needs a number")
        return None
    category = item.get("category", "other")
    if category not in CATEGORIES:
        report.error(
            path, item.line_of("category"), f"category: expected one of {', '.join(CATEGORIES)}"
        )
        return None
    names = item.get("contexts", [])
    if not isinstance(names, list) or any(str(n) not in contexts for n in names):
        report.error(
            path, item.line_of("contexts"), f"contexts: expected names from {sorted(contexts)}"
        )
        return None
    words = _texts(item, "words", path, report)
    patterns = _patterns(item, "patterns", path, report)
    if not words and not patterns:
        report.error(path, line, f"kind {kid!r}: needs words or patterns")
        return None
    return Kind(
        id=kid,
        numbers=numbers,
        category=category,
        words=words,
        patterns=patterns,
        contexts=tuple(str(n) for n in names),
        immediate=_texts(item, "immediate", path, report),
        immediate_patterns=_patterns(item, "immediate_patterns", path, report),
        immediate_numbers=immediate_numbers,
        fallback=bool(item.get("fallback", False)),
        emergency=emergency,
    )
