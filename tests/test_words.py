"""intents/words.yml: typed sayings that mean what a button means."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.content import Content, Report
from bot.words import load


def load_from(root: Path):
    report = Report(root)
    return load(root, report, Content(root)), report


def copy(tmp_path: Path, old: str | None = None, new: str = "") -> Path:
    (tmp_path / "intents").mkdir()
    shutil.copy(PROJECT_ROOT / "intents/words.yml", tmp_path / "intents/words.yml")
    if old is not None:
        file = tmp_path / "intents/words.yml"
        text = file.read_text(encoding="utf-8")
        assert old in text
        file.write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path


def test_bundled_words_load_without_problems(tmp_path):
    words, report = load_from(copy(tmp_path))
    assert report.problems == []
    assert words.which("screening", "上一题") == "back"
    assert words.which("staff_roles", "Worker") == "worker"
    assert words.which("screening", "随便") is None


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("back: [返回,", "back: [重来,", "is in both"),
        ("  admin: [admin, 管理员]", "  boss: [admin, 管理员]", "missing group staff_roles.admin"),
        ("unknown: [不清楚", "unknown: [[", "malformed YAML"),
        ("  worker: [worker, 工作人员]", "  worker: []", "expected a list of sayings"),
    ],
)
def test_broken_words_are_reported_with_lines(tmp_path, old, new, message):
    _words, report = load_from(copy(tmp_path, old, new))
    hits = [p for p in report.errors if message in p.message]
    assert hits, [str(p) for p in report.problems]
    assert hits[0].path == "intents/words.yml" and hits[0].line >= 1


async def test_typed_words_drive_the_screening(chat):
    await chat.press("menu:screen")
    first = chat.text()
    await chat.send("重新开始")
    assert chat.text() == first
