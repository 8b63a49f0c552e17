"""Admin content files: where uploads go, what is refused, atomic writes, diffs and
adding an example question without touching the rest of the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.admin import files
from bot.admin.files import EditFailed, UploadRejected
from bot.config import PROJECT_ROOT
from bot.content import split_front_matter


@pytest.fixture
def root(tmp_path: Path) -> Path:
    for folder in files.CONTENT_DIRS:
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    return tmp_path


TOPICS = {"dibao", "tekun"}


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("dibao.md", "policy_texts/dibao.md"),
        ("new-topic.md", "policy_texts/new-topic.md"),
        ("channels.yml", "policy_texts/channels.yml"),
        ("regions.yaml", "policy_texts/regions.yml"),
        ("standards.yml", "policy_texts/standards.yml"),
        ("categories.yml", "policy_texts/categories.yml"),
        ("chat.yml", "intents/chat.yml"),
        ("normalize.yml", "intents/normalize.yml"),
        ("dibao.yml", "policy_texts/eligibility/dibao.yml"),
    ],
)
def test_file_names_map_to_their_place(root: Path, name: str, path: str) -> None:
    assert files.target_for(root, name, TOPICS) == path


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../dibao.md", "bad_name"),
        ("..%2Fdibao.md", "bad_name"),
        ("policy_texts/dibao.md", "bad_name"),
        ("..\\dibao.md", "bad_name"),
        (".hidden.md", "bad_name"),
        ("", "bad_name"),
        ("Dibao Topic.md", "bad_name"),
        ("1dibao.md", "bad_name"),
        ("dibao.txt", "bad_type"),
        ("dibao", "bad_type"),
        ("evil.yml", "unknown_file"),
        ("nosuchtopic.yml", "unknown_file"),
    ],
)
def test_unknown_or_dangerous_names_are_refused(root: Path, name: str, reason: str) -> None:
    with pytest.raises(UploadRejected) as err:
        files.target_for(root, name, TOPICS)
    assert err.value.reason == reason


def test_safe_path_refuses_leaving_the_content_folders(root: Path) -> None:
    for rel in ("policy_texts/../../etc/passwd", "bot/app.py", "/etc/passwd", "intents/../x"):
        with pytest.raises(UploadRejected):
            files.safe_path(root, rel)


def test_decode_refuses_big_binary_and_empty_files() -> None:
    with pytest.raises(UploadRejected) as err:
        files.decode_upload(b"a" * (files.MAX_UPLOAD_BYTES + 1))
    assert err.value.reason == "too_big"
    with pytest.raises(UploadRejected) as err:
        files.decode_upload("低保".encode("gbk"))
    assert err.value.reason == "not_utf8"
    with pytest.raises(UploadRejected) as err:
        files.decode_upload(b"\x00\x01")
    assert err.value.reason == "not_utf8"
    with pytest.raises(UploadRejected) as err:
        files.decode_upload(b" \n\n")
    assert err.value.reason == "empty"
    # A BOM and Windows line ends are tolerated.
    assert files.decode_upload("\ufeffa: 1\r\nb: 2".encode()) == "a: 1\nb: 2\n"


def test_check_change_uses_a_copy_and_reports_paths_relative_to_the_root(root: Path) -> None:
    path = "policy_texts/dibao.md"
    before = (root / path).read_text(encoding="utf-8")
    _content, report = files.check_change(root, path, "---\nid: dibao\n---\n")
    assert report.errors
    assert any(p.path == path for p in report.errors)
    assert all(not p.path.startswith(("/", "..")) for p in report.errors)
    assert (root / path).read_text(encoding="utf-8") == before


def test_write_atomic_replaces_and_leaves_no_temporary_file(root: Path) -> None:
    files.write_atomic(root, "policy_texts/x-test.md", "hello\n")
    assert (root / "policy_texts/x-test.md").read_text(encoding="utf-8") == "hello\n"
    files.write_atomic(root, "policy_texts/x-test.md", "again\n")
    assert (root / "policy_texts/x-test.md").read_text(encoding="utf-8") == "again\n"
    assert not [p for p in (root / "policy_texts").iterdir() if p.name.endswith(".tmp")]
    files.write_atomic(root, "policy_texts/x-test.md", None)
    assert not (root / "policy_texts/x-test.md").exists()


def test_short_diff_is_trimmed() -> None:
    old = "".join(f"line {i}\n" for i in range(200))
    new = "".join(f"LINE {i}\n" for i in range(200))
    diff = files.short_diff(old, new, "x.md")
    assert diff.startswith("--- a/x.md")
    assert len(diff.splitlines()) <= files.MAX_DIFF_LINES + 1
    assert len(diff) <= files.MAX_DIFF_CHARS + 50
    assert diff.splitlines()[-1].startswith("… (+")
    assert files.short_diff("same\n", "same\n", "x.md") == ""


def _only_insertion(old: str, new: str) -> str:
    """The one inserted piece, asserting that everything else is byte-identical."""
    i = 0
    while i < len(old) and old[i] == new[i]:
        i += 1
    tail = len(old) - i
    assert new[len(new) - tail :] == old[i:]
    return new[i : len(new) - tail]


def test_add_question_block_style_changes_nothing_else(root: Path) -> None:
    text = (root / "policy_texts/dibao.md").read_text(encoding="utf-8")
    new = files.add_question(text, "家里揭不开锅了: 咋整 #1")
    inserted = _only_insertion(text, new)
    assert inserted == '  - "家里揭不开锅了: 咋整 #1"\n'
    front, body, _ = split_front_matter(new)
    assert body == split_front_matter(text)[1]
    assert files._questions(front)[-1] == "家里揭不开锅了: 咋整 #1"


def test_add_question_flow_style_and_refusals() -> None:
    text = "---\nid: x\nquestions: [一, 二]  # examples\nupdated: 2024-01-01\n---\nbody\n"
    new = files.add_question(text, '说 "三"')
    assert (
        new
        == '---\nid: x\nquestions: [一, 二, "说 \\"三\\""]  # examples\nupdated: 2024-01-01\n---\nbody\n'
    )
    with pytest.raises(EditFailed):
        files.add_question(text, "一")  # already listed
    with pytest.raises(EditFailed):
        files.add_question(text, "x" * (files.MAX_EXAMPLE_CHARS + 1))
    with pytest.raises(EditFailed):
        files.add_question("no front matter\n", "问")
    with pytest.raises(EditFailed):
        files.add_question("---\nid: x\n---\nbody\n", "问")


def test_add_question_block_with_continuation_lines() -> None:
    text = (
        "---\nquestions:\n- 一\n- >-\n  很长的\n  问题\n# a comment\nupdated: 2024-01-01\n---\nb\n"
    )
    new = files.add_question(text, "三")
    assert _only_insertion(text, new) == '- "三"\n'
    assert files._questions(split_front_matter(new)[0]) == ["一", "很长的 问题", "三"]
