"""Content (policy texts, intents, standards, channels, wording) as one validated snapshot.

``MANIFEST`` (below) is the one list of content files: for each part, which files it
reads, what each holds (in Chinese, for admins), and under which name an admin may
upload a replacement. The part loaders open their files through it
(``content_path``/``content_paths``), ``sanliang check`` reports files it does not
declare, and the admin uploads (bot/admin/files.py) map an uploaded file name to its
place with it.

Each feature contributes a *part* loader: ``load(root, report, content)``
reads its files, reports every problem as ``path:line: message`` and returns
the part, which is stored on the snapshot under the part's name. A snapshot
with any error is never served: ``ContentHolder.reload`` keeps the last good
one, so the running assistant swaps content atomically.
"""

from __future__ import annotations

import datetime as dt
import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FALLBACK_LOCALE = "zh-CN"

# (part name, "module:function"), loaded in this order; later parts may use earlier ones.
PARTS: list[tuple[str, str]] = [
    ("knowledge", "bot.knowledge.content:load"),
    ("screening", "bot.screening.content:load"),
    ("channels", "bot.cases.channels:load"),
    ("wording", "bot.render:load"),
]


# -- the manifest: every content file, once -------------------------------------


@dataclass(frozen=True)
class ContentFile:
    """One file, or one family of files, that a content part reads.

    ``path`` is relative to the content root with ``/``; ``{locale}`` stands for the
    locale, ``*`` for one file name (a family), ``**/`` for any folders in between.
    ``upload`` is the name an admin uploads a replacement as (``*`` = the family
    member's name), None when it is not replaced by upload. ``new`` says whether an
    upload may add a member to a family: "no", "any", or "topic" (only under the id
    of an existing policy topic). ``header`` files are edited by admins and open with
    a short comment in Chinese saying what they hold (``what``) and how to check them."""

    key: str
    path: str
    what: str
    upload: str | None = None
    new: str = "no"
    header: bool = True

    @property
    def family(self) -> bool:
        return "*" in self.path

    @property
    def folder(self) -> str:
        """The top folder of the content root the file is in (policy_texts, intents ...)."""
        return self.path.split("/", 1)[0]

    def resolve(self, locale: str = FALLBACK_LOCALE, name: str | None = None) -> str:
        """The relative path of this file (of the family member ``name``)."""
        path = self.path.replace("{locale}", locale)
        if name is not None:
            path = path.replace("*", name, 1)
        return path

    def paths(self, root: Path, locale: str = FALLBACK_LOCALE) -> list[Path]:
        """The files there are, sorted (one path, existing or not, for a single file)."""
        rel = self.resolve(locale)
        if not self.family:
            return [Path(root) / rel]
        return sorted(p for p in Path(root).glob(rel) if p.is_file())

    def matches(self, rel: str) -> bool:
        return _pattern(self.path).fullmatch(rel) is not None


@dataclass(frozen=True)
class PartFiles:
    part: str
    files: tuple[ContentFile, ...]


@dataclass(frozen=True)
class Manifest:
    parts: tuple[PartFiles, ...]

    def __iter__(self) -> Iterator[ContentFile]:
        for part in self.parts:
            yield from part.files

    def file(self, key: str) -> ContentFile:
        for f in self:
            if f.key == key:
                return f
        raise KeyError(f"no content file {key!r} in the manifest")

    def part_of(self, key: str) -> str:
        return next(p.part for p in self.parts for f in p.files if f.key == key)

    @property
    def folders(self) -> tuple[str, ...]:
        """The folders of the content root that the content is read from."""
        return tuple(dict.fromkeys(f.folder for f in self))

    def owner(self, rel: str) -> ContentFile | None:
        """The declaration a relative path belongs to (any locale)."""
        return next((f for f in self if f.matches(rel)), None)

    def uploadable(self) -> list[ContentFile]:
        return [f for f in self if f.upload is not None]


def _pattern(path: str) -> re.Pattern[str]:
    out = []
    for token in re.split(r"(\{locale\}|\*\*/|\*)", path):
        if token == "{locale}":
            out.append(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*")
        elif token == "**/":
            out.append(r"(?:[^/]+/)*")
        elif token == "*":
            out.append(r"[^/]+")
        else:
            out.append(re.escape(token))
    return re.compile("".join(out))


_F = ContentFile
MANIFEST = Manifest(
    (
        PartFiles(
            "knowledge",
            (
                _F(
                    "topics",
                    "policy_texts/*.md",
                    "政策话题：一个文件一个话题（前言里是标题、分类、来源、示例问题，正文是回答）",
                    upload="*.md",
                    new="any",
                ),
                _F(
                    "categories",
                    "policy_texts/categories.yml",
                    "政策话题和清单的分类",
                    upload="categories.yml",
                ),
                _F(
                    "chat",
                    "intents/chat.yml",
                    "寒暄：你好、谢谢之类的说法和回答",
                    upload="chat.yml",
                ),
                _F(
                    "out_of_scope",
                    "intents/out_of_scope.yml",
                    "不归本助手管的问题（示例问题和回答）",
                    upload="out_of_scope.yml",
                ),
                _F(
                    "matching",
                    "intents/matching.yml",
                    "问题匹配的阈值和权重",
                    upload="matching.yml",
                ),
                _F(
                    "normalize",
                    "intents/normalize.yml",
                    "口语、方言、错别字到标准说法的对照表",
                    upload="normalize.yml",
                ),
            ),
        ),
        PartFiles(
            "screening",
            (
                _F(
                    "standards",
                    "policy_texts/standards.yml",
                    "有日期的标准：各地低保、特困等标准（金额和年份）",
                    upload="standards.yml",
                ),
                _F(
                    "eligibility",
                    "policy_texts/eligibility/*.yml",
                    "自助测评的条件：每个项目一个文件",
                    upload="*.yml",
                    new="topic",
                ),
                _F(
                    "questionnaire",
                    "intents/questionnaire.yml",
                    "自助测评的问题、选项和事实名",
                    upload="questionnaire.yml",
                ),
            ),
        ),
        PartFiles(
            "channels",
            (
                _F(
                    "regions",
                    "policy_texts/regions.yml",
                    "四川的21个市州和下面的区县",
                    upload="regions.yml",
                ),
                _F(
                    "channels",
                    "policy_texts/channels.yml",
                    "求助渠道：热线、窗口，各地电话和办结时限",
                    upload="channels.yml",
                ),
                _F(
                    "urgent_words",
                    "intents/urgent_words.yml",
                    "表示情况紧急的说法",
                    upload="urgent_words.yml",
                ),
            ),
        ),
        PartFiles(
            "wording",
            (
                _F(
                    "templates",
                    "templates/{locale}/**/*.j2",
                    "助手说的每一句话（jinja2 模板）",
                    header=False,
                ),
                _F(
                    "labels",
                    "templates/{locale}/labels.yml",
                    "按钮上的文字（公用）",
                    upload="labels.yml",
                ),
                _F(
                    "feature_labels",
                    "templates/{locale}/labels/*.yml",
                    "按钮上的文字（各功能）",
                    upload="labels-*.yml",
                ),
            ),
        ),
    )
)
del _F


def content_path(root: Path, key: str, locale: str = FALLBACK_LOCALE) -> Path:
    """The file ``key`` of the manifest under ``root``."""
    f = MANIFEST.file(key)
    if f.family:
        raise ValueError(f"{key!r} is a family of files: use content_paths")
    return Path(root) / f.resolve(locale)


def content_paths(root: Path, key: str, locale: str = FALLBACK_LOCALE) -> list[Path]:
    """The files of the family ``key`` there are under ``root``, sorted."""
    return MANIFEST.file(key).paths(root, locale)


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

    def _rel(self, path: Path | str) -> str:
        p = Path(path)
        try:
            return str(p.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(p)

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


def _resolve(spec: str) -> Callable[[Path, Report, Content], Any]:
    module, _, func = spec.partition(":")
    return getattr(importlib.import_module(module), func)


def load_content(root: Path, locale: str = FALLBACK_LOCALE) -> tuple[Content, Report]:
    root = Path(root)
    report = Report(root)
    content = Content(root, locale)
    declared = {p.part for p in MANIFEST.parts}
    for name, spec in PARTS:
        if name not in declared:
            raise RuntimeError(f"content part {name!r} declares no files in MANIFEST")
        content.parts[name] = _resolve(spec)(root, report, content)
    _check_undeclared(root, report)
    _check_headers(root, report, locale)
    return content, report


HEADER_CHECK = "sanliang check"
_HAN = re.compile(r"[\u4e00-\u9fff]")


def header_of(text: str, markdown: bool) -> list[str]:
    """The comment lines a file opens with (for Markdown: the front matter's first)."""
    lines = text.splitlines()
    if markdown:
        if not lines or lines[0].strip() != "---":
            return []
        lines = lines[1:]
    out = []
    for line in lines:
        if not line.startswith("#"):
            break
        out.append(line)
    return out


def _check_headers(root: Path, report: Report, locale: str) -> None:
    """Every file an admin edits opens with a short comment in Chinese: what the file
    holds and how to check it (``sanliang check``). A warning: the assistant works
    without it, but the next admin would not know the file."""
    for f in MANIFEST:
        if not f.header:
            continue
        for path in f.paths(root, locale):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue  # the part's loader reports it
            header = header_of(text, path.suffix == ".md")
            if not (
                any(_HAN.search(line) for line in header)
                and any(HEADER_CHECK in line for line in header)
            ):
                where = "前言（第一个 --- 下面）" if path.suffix == ".md" else "文件"
                report.warning(
                    path,
                    1,
                    f"{where}开头缺少中文说明：用 # 开头的注释写明这个文件写的是什么、"
                    f"改完怎么检查（{HEADER_CHECK}），见 docs/管理员手册.md",
                )


def _check_undeclared(root: Path, report: Report) -> None:
    """A file in a content folder that no part reads is almost always a mistake (a
    typo in its name, a wrong folder): say so, since the assistant never sees it."""
    for folder in MANIFEST.folders:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if (
                not path.is_file()
                or path.name.startswith(".")
                or path.suffix not in _CONTENT_SUFFIXES
            ):
                continue
            rel = path.relative_to(root).as_posix()
            if MANIFEST.owner(rel) is None:
                report.warning(
                    path, 1, "这个文件不在内容清单里，助手不会读它（文件名或文件夹写错了吗？）"
                )


_CONTENT_SUFFIXES = {".md", ".yml", ".yaml", ".j2"}


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


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # C parser when built
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
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
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, path: Path | str, report: Report, line_offset: int = 0) -> Any:
    """Parse YAML keeping line numbers; on a syntax error report it and return None."""
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = (mark.line + 1 if mark else 1) + line_offset
        problem = getattr(exc, "problem", None) or str(exc)
        report.error(path, line, f"malformed YAML: {problem}")
        return None
    _shift_lines(data, line_offset)
    return data


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
