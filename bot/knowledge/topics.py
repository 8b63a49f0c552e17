"""Policy topics: one Markdown file per topic in ``policy_texts/`` with YAML front matter.

Loading validates every file and reports problems as ``path:line: message``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.calendar import china_today
from bot.content import (
    LineDict,
    LineList,
    Report,
    load_yaml_file,
    parse_date,
    parse_yaml,
    split_front_matter,
)
from bot.manifest import content_path, content_paths

REQUIRED = (
    "id", "title", "summary", "category", "keywords", "questions", "related", "program",
    "who", "gives", "documents", "apply_at", "source", "updated",
)  # fmt: skip
MIN_QUESTIONS = 6
STALE_AFTER_DAYS = 365
_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")
_HTML = re.compile(r"</?[a-zA-Z][^>]*>")


@dataclass(frozen=True)
class Source:
    name: str
    number: str = ""
    note: str = ""

    def cite(self) -> str:
        return f"{self.name}（{self.number}）" if self.number else self.name


@dataclass(frozen=True)
class Section:
    heading: str  # "" for text before the first heading
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    summary: str
    category: str
    keywords: tuple[str, ...]
    questions: tuple[str, ...]
    related: tuple[str, ...]
    program: bool
    who: str
    gives: str
    documents: tuple[str, ...]
    apply_at: str
    sources: tuple[Source, ...]
    updated: dt.date
    unconfirmed: tuple[dict[str, Any], ...]
    body: str
    sections: tuple[Section, ...]
    path: Path
    line: int = 1
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    key_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    question_lines: tuple[int, ...] = ()

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    intro: str = ""


@dataclass
class Topics:
    topics: dict[str, Topic]
    categories: list[Category]

    def in_category(self, category_id: str) -> list[Topic]:
        return [t for t in self.topics.values() if t.category == category_id]


def parse_body(body: str) -> tuple[Section, ...]:
    """``## heading`` lines start sections; blank lines separate paragraphs;
    ``- item`` lines stay together in one paragraph."""
    sections: list[Section] = []
    heading = ""
    paragraphs: list[str] = []
    current: list[str] = []

    def flush_para() -> None:
        if current:
            paragraphs.append("\n".join(current))
            current.clear()

    for raw in body.splitlines():
        line = raw.strip()
        if line.startswith("## "):
            flush_para()
            if heading or paragraphs:
                sections.append(Section(heading, tuple(paragraphs)))
            heading, paragraphs = line[3:].strip(), []
        elif not line:
            flush_para()
        else:
            current.append(line)
    flush_para()
    if heading or paragraphs:
        sections.append(Section(heading, tuple(paragraphs)))
    return tuple(sections)


def _str_list(meta: LineDict, key: str, path: Path, report: Report) -> tuple[str, ...]:
    value = meta.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        report.error(path, meta.line_of(key), f"{key}: expected a list of texts")
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def _sources(meta: LineDict, path: Path, report: Report) -> tuple[Source, ...]:
    raw = meta.get("source")
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for i, item in enumerate(items):
        line = items.line_of(i) if isinstance(items, LineList) else meta.line_of("source")
        if isinstance(item, str) and item.strip():
            source = Source(item.strip())
        elif isinstance(item, dict) and str(item.get("name") or "").strip():
            source = Source(
                str(item["name"]).strip(),
                str(item.get("number") or "").strip(),
                str(item.get("note") or "").strip(),
            )
        else:
            report.error(path, line, "source: each entry needs a document name")
            continue
        if source.note:
            report.warning(path, line, f"source {source.name!r}: {source.note}")
        elif not source.number:
            report.warning(path, line, f"source {source.name!r}: no document number given")
        out.append(source)
    return tuple(out)


def load_categories(root: Path, report: Report) -> list[Category]:
    path = content_path(root, "categories")
    if not path.exists():
        report.error(path, 1, "missing: the list of categories")
        return []
    data = load_yaml_file(path, report)
    if data is None:
        return []
    if not isinstance(data, LineList):
        report.error(path, 1, "expected a list of categories")
        return []
    out, seen = [], set()
    for i, item in enumerate(data):
        line = data.line_of(i)
        if not isinstance(item, dict) or not item.get("id") or not item.get("name"):
            report.error(path, line, "a category needs an id and a name")
            continue
        if item["id"] in seen:
            report.error(path, line, f"duplicate category id {item['id']!r}")
            continue
        seen.add(item["id"])
        out.append(Category(str(item["id"]), str(item["name"]), str(item.get("intro") or "")))
    return out


def load_topic(path: Path, report: Report, today: dt.date) -> Topic | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        report.error(path, 1, f"cannot read file: {exc}")
        return None
    front, body, body_line = split_front_matter(text)
    if front is None:
        report.error(path, 1, "missing YAML front matter between '---' lines")
        return None
    meta = parse_yaml(front, path, report, line_offset=1)
    if meta is None:
        return None
    if not isinstance(meta, LineDict):
        report.error(path, 2, "front matter must be a mapping of fields")
        return None
    ok = True
    for key in REQUIRED:
        if key not in meta or meta[key] in (None, "") and key != "documents":
            report.error(path, meta.line_of(key) if key in meta else 1, f"missing field: {key}")
            ok = False
    for key in ("id", "title", "summary", "category", "who", "gives", "apply_at"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            report.error(path, meta.line_of(key), f"{key}: expected a text")
            ok = False
    topic_id = str(meta.get("id") or "")
    if topic_id and not _ID.match(topic_id):
        report.error(
            path, meta.line_of("id"), f"id {topic_id!r}: use lowercase letters, digits and '-'"
        )
        ok = False
    elif topic_id and topic_id != path.stem:
        report.error(
            path, meta.line_of("id"), f"id {topic_id!r} differs from the file name {path.stem!r}"
        )
        ok = False
    if "summary" in meta and isinstance(meta["summary"], str) and "\n" in meta["summary"].strip():
        report.error(path, meta.line_of("summary"), "summary: keep it to one line")
    if "program" in meta and not isinstance(meta["program"], bool):
        report.error(path, meta.line_of("program"), "program: expected true or false")
        ok = False
    questions = _str_list(meta, "questions", path, report)
    if "questions" in meta and len(questions) < MIN_QUESTIONS:
        report.error(
            path,
            meta.line_of("questions"),
            f"questions: at least {MIN_QUESTIONS} example questions",
        )
    updated = parse_date(meta.get("updated"))
    if "updated" in meta and updated is None:
        report.error(path, meta.line_of("updated"), "updated: expected a date like 2024-07-01")
        ok = False
    elif updated and updated > today:
        report.error(path, meta.line_of("updated"), "updated: a date in the future")
    elif updated and (today - updated).days > STALE_AFTER_DAYS:
        report.warning(
            path, meta.line_of("updated"), f"not updated for more than a year (updated {updated})"
        )
    unconfirmed = meta.get("unconfirmed") or []
    if not isinstance(unconfirmed, LineList):
        if unconfirmed:
            report.error(path, meta.line_of("unconfirmed"), "unconfirmed: expected a list")
        unconfirmed = LineList()
    for i, item in enumerate(unconfirmed):
        figure = item.get("figure") if isinstance(item, dict) else item
        conf = item.get("confidence", "") if isinstance(item, dict) else ""
        report.warning(
            path,
            unconfirmed.line_of(i),
            f"unconfirmed figure ({conf or '?'}): {figure} — to be confirmed by an administrator",
        )
    if _HTML.search(body):
        report.error(path, body_line, "the body is plain text: no HTML tags")
    sections = parse_body(body)
    if not body.strip():
        report.error(path, body_line, "empty body")
        ok = False
    sources = _sources(meta, path, report) if "source" in meta else ()
    if not ok:
        return None
    return Topic(
        id=topic_id,
        title=meta["title"].strip(),
        summary=meta["summary"].strip(),
        category=meta["category"].strip(),
        keywords=_str_list(meta, "keywords", path, report),
        questions=questions,
        related=_str_list(meta, "related", path, report),
        program=bool(meta["program"]),
        who=meta["who"].strip(),
        gives=meta["gives"].strip(),
        documents=_str_list(meta, "documents", path, report),
        apply_at=meta["apply_at"].strip(),
        sources=sources,
        updated=updated or today,
        unconfirmed=tuple(
            dict(u) if isinstance(u, dict) else {"figure": str(u)} for u in unconfirmed
        ),
        body=body.strip(),
        sections=sections,
        path=path,
        line=meta.line,
        meta=dict(meta),
        key_lines=dict(meta.key_lines),
        question_lines=tuple(
            meta["questions"].line_of(i) for i, q in enumerate(meta["questions"]) if str(q).strip()
        )
        if isinstance(meta.get("questions"), list)
        else (),
    )


def load_topics(root: Path, report: Report, today: dt.date | None = None) -> Topics:
    today = today or china_today()
    categories = load_categories(root, report)
    category_ids = {c.id for c in categories}
    topics: dict[str, Topic] = {}
    first_seen: dict[str, Path] = {}
    question_owner: dict[str, str] = {}
    for path in content_paths(root, "topics"):
        topic = load_topic(path, report, today)
        if topic is None:
            continue
        if topic.id in topics:
            report.error(
                path, topic.line, f"duplicate id {topic.id!r} (also in {first_seen[topic.id].name})"
            )
            continue
        if categories and topic.category not in category_ids:
            report.error(path, topic.line_of("category"), f"unknown category {topic.category!r}")
        for i, q in enumerate(topic.questions):
            key = re.sub(r"\s+", "", q)
            if key in question_owner and question_owner[key] != topic.id:
                line = topic.question_lines[i] if i < len(topic.question_lines) else topic.line
                report.error(
                    path,
                    line,
                    f"example question {q!r} is also listed under {question_owner[key]!r}",
                )
            question_owner.setdefault(key, topic.id)
        topics[topic.id] = topic
        first_seen[topic.id] = path
    for topic in topics.values():
        for ref in topic.related:
            if ref not in topics:
                report.error(
                    topic.path, topic.line_of("related"), f"unknown reference in related: {ref!r}"
                )
    if not topics:
        report.error(content_path(root, "categories").parent, 1, "no policy topics found")
    return Topics(topics, categories)
