"""Loading and checking ``intents/answers.yml`` (typed answers and navigation words)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.answers.answers import Answers, squash
from bot.content import Content, LineDict, LineList, Report, load_yaml_file
from bot.manifest import content_path

GROUPS = ("yes", "no", "unknown", "restart", "alone")


def load(root: Path, report: Report, content: Content) -> Answers:
    path = content_path(Path(root), "answers")
    if not path.exists():
        report.error(path, 1, "missing: the typed answers and navigation words")
        return Answers()
    data = load_yaml_file(path, report)
    if not isinstance(data, LineDict):
        if data is not None:
            report.error(path, 1, "expected a mapping (navigation, yes, no, ...)")
        return Answers()
    words: dict[str, frozenset[str]] = {}
    nav = data.get("navigation")
    if not isinstance(nav, LineDict):
        report.error(path, data.line_of("navigation"), "navigation: expected back and menu")
        nav = LineDict()
    for key in ("back", "menu"):
        words[key] = _words(nav, key, path, report)
    for key in GROUPS:
        words[key] = _words(data, key, path, report)
    # One word, one meaning: 返回 cannot be both back and menu, 没有 both yes and no.
    for a, b in (("back", "menu"), ("yes", "no"), ("yes", "unknown"), ("no", "unknown")):
        for w in sorted(words[a] & words[b]):
            report.error(
                path,
                data.line_of(b if b in data else "navigation"),
                f"{w!r} is in both {a} and {b}",
            )
    values: dict[str, frozenset[str]] = {}
    raw_values = data.get("values", LineDict())
    if not isinstance(raw_values, LineDict):
        report.error(path, data.line_of("values"), "values: expected value: [words]")
    else:
        for value in raw_values:
            values[str(value)] = _words(raw_values, value, path, report)
    suffixes = _words(data, "place_suffixes", path, report)
    progress = _patterns(data, "progress", path, report)
    amount = _patterns(data, "amount", path, report)
    groups = []
    raw_groups = data.get("region_groups", LineList())
    if not isinstance(raw_groups, LineList):
        report.error(path, data.line_of("region_groups"), "region_groups: expected a list")
        raw_groups = LineList()
    for i, item in enumerate(raw_groups):
        label = item.get("label") if isinstance(item, LineDict) else None
        members = item.get("members") if isinstance(item, LineDict) else None
        if not isinstance(label, str) or not label.strip() or len(label) > 8:
            report.error(path, raw_groups.line_of(i), "region_groups: a label of 1–8 characters")
            continue
        if not isinstance(members, list) or not members:
            report.error(path, raw_groups.line_of(i), "region_groups: members: a list of names")
            continue
        groups.append((label.strip(), tuple(str(m).strip() for m in members)))
    return Answers(
        back=words["back"],
        menu=words["menu"],
        yes=words["yes"],
        no=words["no"],
        unknown=words["unknown"],
        restart=words["restart"],
        alone=words["alone"],
        values=values,
        place_suffixes=tuple(sorted(suffixes, key=len, reverse=True)),
        progress=progress,
        amount=amount,
        region_groups=tuple(groups),
    )


def _patterns(data: LineDict, key: str, path: Path, report: Report) -> tuple[re.Pattern[str], ...]:
    """A list of regular expressions; a broken one, or one that matches empty text, is
    reported and left out."""
    raw = data.get(key, LineList())
    if not isinstance(raw, LineList):
        report.error(path, data.line_of(key), f"{key}: expected a list of patterns")
        return ()
    out = []
    for i, value in enumerate(raw):
        try:
            pattern = re.compile(str(value))
        except re.error as exc:
            report.error(path, raw.line_of(i), f"{key}: not a valid pattern: {exc}")
            continue
        if not str(value).strip() or pattern.search(""):
            report.error(path, raw.line_of(i), f"{key}: pattern matches empty text")
            continue
        out.append(pattern)
    return tuple(out)


def _words(data: LineDict, key: str, path: Path, report: Report) -> frozenset[str]:
    raw = data.get(key)
    if raw is None:
        return frozenset()
    if not isinstance(raw, LineList):
        report.error(path, data.line_of(key), f"{key}: expected a list of words")
        return frozenset()
    out: set[str] = set()
    for i, value in enumerate(raw):
        word = squash(str(value)) if isinstance(value, str | int) else ""
        if not word:
            report.error(path, raw.line_of(i), f"{key}: empty entry")
        elif word in out:
            report.error(path, raw.line_of(i), f"{key}: {value!r} is listed twice")
        else:
            out.add(word)
    return frozenset(out)
