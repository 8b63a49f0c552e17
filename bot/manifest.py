"""The content manifest: every content file, declared once.

For each content part (``bot.content``), the files it reads: their path, what they
hold (in Chinese, for admins), whether an admin edits them (then they open with a
Chinese header) and under which name an admin uploads a replacement. The part loaders
open their files through ``content_path``/``content_paths``; ``sanliang check`` reports
files in the content folders that no part declares (``check_undeclared``) and admin
files without their header (``check_headers``); the admin uploads
(``bot/admin/files.py``) map an uploaded file name to its place and choose the folders
a change is checked on from it; ``docs/管理员手册.md`` lists the same files (a test
keeps the two in step).

A Python table rather than a data file: the keys loaders ask for are checked by the
tests and by the first load, there is no second parser to trust, and a part's files
sit next to the upload rules that use them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.content import Report

FALLBACK_LOCALE = "zh-CN"


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


@lru_cache(maxsize=256)
def _pattern(path: str) -> re.Pattern[str]:
    """The paths a declared path (with ``{locale}``, ``*`` and ``**/``) stands for; kept:
    a content load asks for each declaration's pattern for every file it finds."""
    out = []
    for piece in re.split(r"(\{locale\}|\*\*/|\*)", path):
        if piece == "{locale}":
            out.append(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*")
        elif piece == "**/":
            out.append(r"(?:[^/]+/)*")
        elif piece == "*":
            out.append(r"[^/]+")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out))


_F = ContentFile
MANIFEST = Manifest(
    (
        PartFiles(
            "words",
            (
                _F(
                    "words",
                    "intents/words.yml",
                    "打字时和按钮一样的说法（重新开始、返回、不清楚，邀请码的身份）",
                    upload="words.yml",
                ),
            ),
        ),
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
                _F(
                    "scope_model",
                    "intents/scope_model.json",
                    "判断问题归不归本助手管的模型（sanliang train-scope 生成，不要手改）",
                    header=False,
                ),
                _F(
                    "situations",
                    "intents/situations.yml",
                    "问题里的提问部分、情况说法、日常说法和求助说法",
                    upload="situations.yml",
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
            "safety",
            (
                _F(
                    "emergency",
                    "intents/emergency.yml",
                    "紧急情况识别：着火、摔倒、被打、想不开……要先告诉居民打 119/120/110/12356 的说法",
                    upload="emergency.yml",
                ),
            ),
        ),
        PartFiles(
            "answers",
            (
                _F(
                    "answers",
                    "intents/answers.yml",
                    "打字回答：同意、没得、就我一个、退出、市州简称、片区分组、问进度的说法",
                    upload="answers.yml",
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


# -- checks of the files themselves ----------------------------------------------


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


def check_headers(root: Path, report: Report, locale: str = FALLBACK_LOCALE) -> None:
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


def check_undeclared(root: Path, report: Report) -> None:
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
