"""Content validation reports path:line problems; reload keeps the last good version."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from bot.config import PROJECT_ROOT
from bot.content import ContentHolder, Report
from bot.knowledge.topics import load_topics

CATEGORIES = "- {id: basic-living, name: 基本生活}\n"


def topic(
    tid: str, questions: list[str], related: str = "[]", body: str = "## 这是什么\n\n说明。"
) -> str:
    qs = "".join(f"  - {q}\n" for q in questions)
    return (
        "---\n"
        f"id: {tid}\n"
        f"title: 标题{tid}\n"
        "summary: 一句话\n"
        "category: basic-living\n"
        "keywords: [甲, 乙]\n"
        f"questions:\n{qs}"
        f"related: {related}\n"
        "program: false\n"
        "who: 谁\n"
        "gives: 什么\n"
        "documents: []\n"
        "apply_at: 乡镇\n"
        "source:\n  - name: 社会救助暂行办法\n    number: 国务院令第649号\n"
        "updated: 2026-01-01\n"
        "---\n"
        f"{body}\n"
    )


def make_root(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "policy_texts").mkdir(parents=True)
    (tmp_path / "policy_texts" / "categories.yml").write_text(CATEGORIES, encoding="utf-8")
    for name, text in files.items():
        (tmp_path / "policy_texts" / name).write_text(text, encoding="utf-8")
    return tmp_path


QS = [f"问题{i}" for i in range(6)]


def problems(root: Path) -> list[str]:
    report = Report(root)
    load_topics(root, report, today=dt.date(2026, 11, 28))
    return [str(p) for p in report.problems]


def test_a_valid_topic_has_no_problems(tmp_path):
    root = make_root(tmp_path, {"a.md": topic("a", QS)})
    assert problems(root) == []


def test_each_kind_of_problem_names_its_file_and_line(tmp_path):
    root = make_root(
        tmp_path,
        {
            "a.md": topic("a", QS, related="[nosuch]"),
            "b.md": topic("b", [*QS[:5], "别的", "问题0"]),
            "c.md": topic("c", QS[:2] + ["x1", "x2", "x3", "x4"], body=""),
            "d.md": "---\nid: d\ntitle: [unclosed\n---\n正文\n",
            "e.md": topic("e", ["e1", "e2", "e3", "e4", "e5", "e6"]).replace("title: 标题e\n", ""),
        },
    )
    found = problems(root)
    assert "policy_texts/a.md:14: unknown reference in related: 'nosuch'" in found
    assert any(p.startswith("policy_texts/b.md:14: example question '问题0'") for p in found)
    assert any(p.startswith("policy_texts/c.md:") and "empty body" in p for p in found)
    # The unclosed list opens on line 3; the C parser reports where it gave up (line 4).
    assert any(re.match(r"policy_texts/d\.md:[34]: malformed YAML", p) for p in found)
    assert "policy_texts/e.md:1: missing field: title" in found


def test_stale_topics_and_unconfirmed_figures_are_warnings(tmp_path):
    text = topic("a", QS).replace("updated: 2026-01-01", "updated: 2024-01-01")
    text = text.replace(
        "---\n## ", "unconfirmed:\n  - {figure: 每月100元, confidence: M}\n---\n## ", 1
    )
    root = make_root(tmp_path, {"a.md": text})
    report = Report(root)
    load_topics(root, report, today=dt.date(2026, 11, 28))
    assert not report.errors
    messages = [p.message for p in report.warnings]
    assert any("more than a year" in m for m in messages)
    assert any("每月100元" in m for m in messages)


def test_reload_keeps_the_last_good_content(tmp_path):
    for part in ("policy_texts", "intents", "templates"):
        if (PROJECT_ROOT / part).exists():
            shutil.copytree(PROJECT_ROOT / part, tmp_path / part)
    holder, _ = ContentHolder.load(tmp_path)
    good = holder.current
    victim = tmp_path / "policy_texts" / "dibao.md"
    victim.write_text(
        victim.read_text(encoding="utf-8").replace("id: dibao", "id: [", 1), encoding="utf-8"
    )
    report = holder.reload()
    assert report.errors
    assert all(str(p).startswith("policy_texts/") and ":" in str(p) for p in report.errors)
    assert holder.current is good
    assert "dibao" in holder.current.knowledge.topics
