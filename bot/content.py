"""Content (policy texts, intents, standards, channels, wording) as one validated snapshot.

``bot.manifest.MANIFEST`` is the one list of content files: for each part, which
files it reads. The part loaders open their files through it, and every load also
checks the files themselves (undeclared files, admin files without their header).

Each feature contributes a *part* loader: ``load(root, report, content)``
reads its files, reports every problem as ``path:line: message`` and returns
the part, which is stored on the snapshot under the part's name. A snapshot
with any error is never served: ``ContentHolder.reload`` keeps the last good
one, so the running assistant swaps content atomically.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.manifest import FALLBACK_LOCALE, MANIFEST, check_headers, check_undeclared

PartLoader = Callable[[Path, "Report", "Content"], Any]


def part_loaders() -> list[tuple[str, PartLoader]]:
    """(part name, loader), loaded in this order; later parts may use earlier ones.
    Imported here, when content is loaded: the loaders themselves import this module.
    Each part's files are declared in ``bot.manifest.MANIFEST``."""
    from bot.answers.content import load as answers
    from bot.cases.channels import load as channels
    from bot.knowledge.content import load as knowledge
    from bot.render import load as wording
    from bot.safety.content import load as safety
    from bot.screening.content import load as screening
    from bot.words import load as words

    return [
        ("words", words),
        ("knowledge", knowledge),
        ("screening", screening),
        ("channels", channels),
        ("safety", safety),
        ("answers", answers),
        ("wording", wording),
    ]


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {prefix}{self.message}"


@dataclass
class Report:
    root: Path
    problems: list[Problem] = field(default_factory=list)
    # Each path as it is shown, worked out once per path: a content load reports a hundred
    # and more warnings, and resolving the paths (a system call per part) cost 20 ms.
    _shown: dict[Path | str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _root: Path | None = field(default=None, init=False, repr=False, compare=False)

    def _rel(self, path: Path | str) -> str:
        shown = self._shown.get(path)
        if shown is None:
            if self._root is None:
                self._root = self.root.resolve()
            p = Path(path)
            try:
                shown = str(p.resolve().relative_to(self._root))
            except ValueError:
                shown = str(p)
            self._shown[path] = shown
        return shown

    def error(self, path: Path | str, line: int, message: str) -> None:
        self.problems.append(Problem(self._rel(path), max(int(line), 1), message))

    def warning(self, path: Path | str, line: int, message: str) -> None:
        self.problems.append(Problem(self._rel(path), max(int(line), 1), message, "warning"))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]


class Content:
    """One immutable snapshot of all content. Parts are attributes by name."""

    def __init__(self, root: Path, locale: str = FALLBACK_LOCALE) -> None:
        self.root = root
        self.locale = locale
        self.manifest = MANIFEST
        self.parts: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        parts = self.__dict__.get("parts", {})
        if name in parts:
            return parts[name]
        raise AttributeError(name)


def load_content(root: Path, locale: str = FALLBACK_LOCALE) -> tuple[Content, Report]:
    root = Path(root)
    report = Report(root)
    content = Content(root, locale)
    loaders = part_loaders()
    declared = {p.part for p in MANIFEST.parts}
    if declared != {name for name, _load in loaders}:
        raise RuntimeError("every content part needs a loader and its files in MANIFEST")
    for name, load in loaders:
        content.parts[name] = load(root, report, content)
    check_undeclared(root, report)
    check_headers(root, report, locale)
    return content, report


class ContentHolder:
    """The snapshot currently served, replaced only by a snapshot without errors."""

    def __init__(self, root: Path, content: Content) -> None:
        self.root = Path(root)
        self.current = content
        self.version = 1

    @classmethod
    def load(cls, root: Path, locale: str = FALLBACK_LOCALE) -> tuple[ContentHolder, Report]:
        content, report = load_content(root, locale)
        if report.errors:
            raise ContentError(report)
        return cls(root, content), report

    def reload(self) -> Report:
        content, report = load_content(self.root, self.current.locale)
        if not report.errors:
            self.current = content
            self.version += 1
        return report


class ContentError(Exception):
    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__("\n".join(str(p) for p in report.errors))


# -- YAML with line numbers ---------------------------------------------------


class LineDict(dict):
    """A mapping from YAML that remembers the line of itself and of each key."""

    line: int = 1
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 1
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


# The C parser when PyYAML was built with libyaml.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[valid-type,misc]  # chosen at import time
    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # An alias is the same node met a second time. Refused in every content file:
        # nested aliases (a "billion laughs" bomb) would blow up whatever reads them.
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _alias_error(node)
        return super().construct_object(node, deep=deep)

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        # Called for every node. ``BaseResolver.resolve`` joins the lists of implicit
        # resolvers for the first character again for each plain scalar: joined once here.
        if kind is yaml.ScalarNode and implicit[0] and not self.yaml_path_resolvers:
            for tag, regexp in _IMPLICIT.get(value[:1], _ANY_FIRST):
                if regexp.match(value):
                    return tag
            return self.DEFAULT_SCALAR_TAG
        return super().resolve(kind, value, implicit)


_ANY_FIRST = _LineLoader.yaml_implicit_resolvers.get(None, [])
_IMPLICIT = {
    first: [*resolvers, *_ANY_FIRST]
    for first, resolvers in _LineLoader.yaml_implicit_resolvers.items()
    if first is not None
}


def _alias_error(node: yaml.Node) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(
        None, None, "anchors and aliases (& and *) are not allowed", node.start_mark
    )


_STR_TAG = "tag:yaml.org,2002:str"


def _construct_child(loader: _LineLoader, node: yaml.Node) -> Any:
    """``loader.construct_object(node, deep=True)``: a plain text (most of the nodes of
    a content file) is its value, taken without the constructor's bookkeeping (a third of
    the time of a content load's YAML)."""
    if node.tag == _STR_TAG and type(node) is yaml.ScalarNode:
        if node in loader.constructed_objects or node in loader.recursive_objects:
            raise _alias_error(node)
        loader.constructed_objects[node] = node.value
        return node.value
    return loader.construct_object(node, deep=True)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    for key_node, _value in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # << merges copy aliased mappings
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases (& and *) are not allowed", key_node.start_mark
            )
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = _construct_child(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = _construct_child(loader, value_node)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList([_construct_child(loader, child) for child in node.value])
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_yaml(text: str) -> Any:
    """YAML as the content files are read (line numbers kept; anchors, aliases and
    merges, duplicate keys and unhashable keys refused), for callers without a
    ``Report``: raises ``yaml.YAMLError``."""
    if "&" in text or "*" in text:
        _refuse_anchors(text)
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass


def parse_yaml(text: str, path: Path | str, report: Report, line_offset: int = 0) -> Any:
    """Parse YAML keeping line numbers; on a syntax error report it and return None."""
    try:
        data = read_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = (mark.line + 1 if mark else 1) + line_offset
        problem = getattr(exc, "problem", None) or str(exc)
        report.error(path, line, f"malformed YAML: {problem}")
        return None
    _shift_lines(data, line_offset)
    return data


def _refuse_anchors(text: str) -> None:
    """An anchor (&name) or alias (*name) anywhere: a ConstructorError at its line."""
    for event in yaml.parse(text, Loader=_LineLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "anchors and aliases (& and *) are not allowed",
                event.start_mark,  # type: ignore[arg-type]  # the C parser's Mark
            )


def _shift_lines(data: Any, offset: int) -> None:
    if not offset:
        return
    if isinstance(data, LineDict):
        data.line += offset
        data.key_lines = {k: v + offset for k, v in data.key_lines.items()}
        for v in data.values():
            _shift_lines(v, offset)
    elif isinstance(data, LineList):
        data.line += offset
        data.item_lines = [v + offset for v in data.item_lines]
        for v in data:
            _shift_lines(v, offset)


def load_yaml_file(path: Path, report: Report) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.error(path, 1, f"cannot read file: {exc}")
        return None
    return parse_yaml(text, path, report)


def parse_date(value: Any) -> dt.date | None:
    """A date from YAML (which parses ISO dates itself) or an ISO string; None if neither."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def split_front_matter(text: str) -> tuple[str | None, str, int]:
    """Split ``---``-fenced front matter from a Markdown text.

    Returns (front matter or None, body, line number where the body starts)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None, text, 1
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :]), i + 2
    return None, text, 1
