"""Loading and checking ``intents/chat.yml`` (non-policy intents),
``intents/out_of_scope.yml`` (subjects the assistant does not cover) and
``intents/matching.yml`` (matching weights and decision thresholds)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from bot.content import LineDict, LineList, Report, load_yaml_file
from bot.knowledge.matcher import Doc, Intent, Settings
from bot.manifest import content_path

MENU_ITEMS = ("ask", "list", "screen", "channels", "help", "progress")
ACTIONS = ("greeting", "thanks", "menu")


def load_intents(root: Path, report: Report) -> list[Intent]:
    path = content_path(root, "chat")
    if not path.exists():
        report.error(path, 1, "missing: the non-policy intents")
        return []
    data = load_yaml_file(path, report)
    if data is None:
        return []
    if not isinstance(data, LineList):
        report.error(path, 1, "expected a list of intents")
        return []
    out: list[Intent] = []
    seen: set[str] = set()
    owner: dict[str, str] = {}
    for i, item in enumerate(data):
        line = data.line_of(i)
        if not isinstance(item, LineDict):
            report.error(path, line, "an intent needs id, action and examples")
            continue
        iid, action, examples = item.get("id"), item.get("action"), item.get("examples")
        if not isinstance(iid, str) or not iid:
            report.error(path, line, "missing field: id")
            continue
        if iid in seen:
            report.error(path, line, f"duplicate intent id {iid!r}")
            continue
        seen.add(iid)
        if not isinstance(action, str):
            report.error(path, item.line_of("action"), "missing field: action")
            continue
        kind, _, target = action.partition(":")
        if not (action in ACTIONS or (kind == "open" and target in MENU_ITEMS)):
            report.error(path, item.line_of("action"), f"unknown reference in action: {action!r}")
            continue
        if not isinstance(examples, LineList) or not examples:
            report.error(path, item.line_of("examples"), "examples: expected a list of texts")
            continue
        texts = []
        for j, ex in enumerate(examples):
            ex = str(ex).strip()
            if not ex:
                continue
            if ex in owner and owner[ex] != iid:
                report.error(
                    path, examples.line_of(j), f"example {ex!r} is also listed under {owner[ex]!r}"
                )
                continue
            owner[ex] = iid
            texts.append(ex)
        out.append(Intent(iid, action, tuple(texts)))
    return out


def load_out_of_scope(root: Path, report: Report) -> list[tuple[Doc, list[int]]]:
    """Out-of-scope groups as documents (examples only), each with its examples' lines.

    The file is optional: without it every question is matched against the topics only.
    """
    path = content_path(root, "out_of_scope")
    if not path.exists():
        return []
    data = load_yaml_file(path, report)
    if data is None:
        return []
    if not isinstance(data, LineList):
        report.error(path, 1, "expected a list of groups with id, keywords and examples")
        return []
    out: list[tuple[Doc, list[int]]] = []
    seen: set[str] = set()
    owner: dict[str, str] = {}
    for i, item in enumerate(data):
        line = data.line_of(i)
        if not isinstance(item, LineDict):
            report.error(path, line, "a group needs id and examples")
            continue
        gid, examples = item.get("id"), item.get("examples")
        if not isinstance(gid, str) or not gid:
            report.error(path, line, "missing field: id")
            continue
        if gid in seen:
            report.error(path, line, f"duplicate group id {gid!r}")
            continue
        seen.add(gid)
        if not isinstance(examples, LineList) or not examples:
            report.error(path, item.line_of("examples"), "examples: expected a list of texts")
            continue
        texts: list[str] = []
        lines: list[int] = []
        for j, ex in enumerate(examples):
            ex = str(ex).strip() if isinstance(ex, str | int | float) else ""
            if not ex:
                report.error(path, examples.line_of(j), "examples: expected a non-empty text")
                continue
            if ex in owner:
                report.error(
                    path, examples.line_of(j), f"example {ex!r} is also listed under {owner[ex]!r}"
                )
                continue
            owner[ex] = gid
            texts.append(ex)
            lines.append(examples.line_of(j))
        keywords = item.get("keywords") or []
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            report.error(path, item.line_of("keywords"), "keywords: expected a list of words")
            keywords = []
        if texts:
            doc = Doc(
                id=gid,
                title=gid,
                fields={"keywords": " ".join(keywords), "questions": " ".join(texts)},
                examples=tuple(texts),
                keywords=tuple(keywords),
            )
            out.append((doc, lines))
    return out


def load_settings(root: Path, report: Report) -> Settings:
    path = content_path(root, "matching")
    settings = Settings()
    if not path.exists():
        report.error(path, 1, "missing: the matching settings")
        return settings
    data = load_yaml_file(path, report)
    if data is None:
        return settings
    if not isinstance(data, LineDict):
        report.error(path, 1, "expected a mapping of settings")
        return settings
    known = {f.name: f for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        line = data.line_of(key)
        if key not in known:
            report.error(path, line, f"unknown setting {key!r}")
            continue
        default = getattr(settings, key)
        if isinstance(default, dict):
            if not isinstance(value, dict) or not all(
                isinstance(v, int | float) and v >= 0 for v in value.values()
            ):
                report.error(path, line, f"{key}: expected field: weight (numbers >= 0)")
                continue
            values[key] = {str(k): float(v) for k, v in value.items()}
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                report.error(path, line, f"{key}: expected true or false")
                continue
            values[key] = value
        elif isinstance(default, int):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 1_000_000:
                report.error(path, line, f"{key}: expected a whole number from 1 to 1000000")
                continue
            values[key] = value
        else:
            if (
                not isinstance(value, int | float)
                or isinstance(value, bool)
                or not 0 <= value <= 100
            ):
                report.error(path, line, f"{key}: expected a number from 0 to 100")
                continue
            values[key] = float(value)
    return dataclasses.replace(settings, **values)
