"""Hostile content files: YAML anchors and aliases (a "billion laughs" bomb) are refused
in every content file, every check of an uploaded file has a time limit, and a publish
interrupted at any point leaves the files, the versions and the pending upload
consistent (the version is recorded before the swap; the upload stays until the end)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from bot.admin import files
from bot.admin.publish import check_with_limit, publisher_of
from bot.app import open_app
from bot.config import Config
from bot.content import Report, parse_yaml
from tests.test_admin import ADMIN, OTHER_ADMIN, User, admin, app, read, root  # noqa: F401

NO_CHANGE = "和现在用的内容一模一样"
BOMB = """\
lol1: &l1 [lol, lol, lol, lol, lol, lol, lol, lol, lol]
lol2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]
lol3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]
lol4: &l4 [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]
lol5: &l5 [*l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4]
lol6: &l6 [*l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5]
lol7: &l7 [*l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6, *l6]
lol8: &l8 [*l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7, *l7]
lol9: [*l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8, *l8]
"""


def test_anchors_and_aliases_are_refused_with_their_line():
    for text, line in (
        (BOMB, 1),
        ("a: 1\nb: &x 2\n", 2),
        ("a: {b: 1}\nc:\n  <<: {d: 2}\n", 3),
    ):
        report = Report(Path("."))
        assert parse_yaml(text, "x.yml", report) is None
        (problem,) = report.errors
        assert "anchors and aliases" in problem.message and problem.line == line, problem
    # The characters themselves are fine inside values.
    report = Report(Path("."))
    assert parse_yaml('a: "&x *y"\nb: 5 * 3\n', "x.yml", report) == {"a": "&x *y", "b": "5 * 3"}
    assert not report.errors


def test_a_bomb_as_an_unused_key_of_standards_is_refused(root: Path):  # noqa: F811
    rel = "policy_texts/standards.yml"
    text = read(root, rel) + "\n" + BOMB.replace("lol", "unused_lol")
    start = time.monotonic()
    _content, report = files.check_change(root, rel, text)
    assert time.monotonic() - start < 10
    assert any("anchors and aliases" in str(p) for p in report.errors)


async def test_a_bomb_upload_is_refused_in_the_chat_and_changes_nothing(
    app,  # noqa: F811
    admin: User,  # noqa: F811
    root: Path,  # noqa: F811
):
    rel = "policy_texts/dibao.md"
    original = read(root, rel)
    hostile = original.replace("---\n", "---\n" + BOMB.replace("lol", "x_lol"), 1)
    start = time.monotonic()
    await admin.upload("dibao.md", hostile)
    assert time.monotonic() - start < 15
    assert "没有通过检查" in admin.text() and "anchors and aliases" in admin.text()
    assert not [p for p in admin.payloads() if p.startswith("adm:pub:")]
    assert read(root, rel) == original
    await admin.send("/start")  # the admin's chat is not stuck
    assert admin.last


def slow_part(base: Path, report: Report, content) -> None:
    """A content part that never finishes in time (stands for any pathological input)."""
    time.sleep(30)


def test_every_check_has_a_time_limit(root: Path, monkeypatch, tmp_path: Path):  # noqa: F811
    import bot.content

    shipped = bot.content.part_loaders
    monkeypatch.setattr(
        bot.content, "part_loaders", lambda: [(n, slow_part) for n, _load in shipped()]
    )
    rel = "policy_texts/dibao.md"
    # Temporary folders of this test (and of the child it forks) go in one place.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    start = time.monotonic()
    content, report = check_with_limit(root, rel, read(root, rel), seconds=1.5)
    assert time.monotonic() - start < 8
    assert content is None
    assert any("did not finish within 1.5 s" in str(p) for p in report.errors), report.errors
    # The killed child's copy of the content is removed by the parent.
    assert list(scratch.iterdir()) == []
    # Without the slow part the same check passes, and returns the checked snapshot.
    monkeypatch.undo()
    content, report = check_with_limit(root, rel, read(root, rel), seconds=30)
    assert not report.errors and content is not None
    assert "dibao" in content.knowledge.topics


async def reopen(base: Path, tmp_path: Path):
    config = Config(
        db_path=str(tmp_path / "admin.db"), content_dir=base, admin_ids=[ADMIN, OTHER_ADMIN]
    )
    return await open_app(config)


class Crash(BaseException):
    """Stands for the process dying at this point (nothing after it runs)."""


@pytest.mark.slow(15)
@pytest.mark.parametrize("where", ["before_swap", "after_swap"])
async def test_a_publish_interrupted_anywhere_completes_on_the_next_press(
    root: Path,  # noqa: F811
    tmp_path: Path,
    monkeypatch,
    where: str,
):
    rel = "policy_texts/dibao.md"
    original = read(root, rel)
    changed = original.replace("summary: 家里每人每月收入低于", "summary: 家里每人每月收入都低于")
    first = await reopen(root, tmp_path)
    admin1 = User(first, ADMIN)
    await admin1.upload("dibao.md", changed)
    publish = admin1.payload("adm:pub:")
    token = publish.rsplit(":", 1)[1]
    repo = first.store.admin
    if where == "before_swap":

        def crash(*args, **kwargs):
            raise Crash

        monkeypatch.setattr(files, "write_atomic", crash)
    else:

        async def crash_after(*args, **kwargs):
            raise Crash

        monkeypatch.setattr(repo, "delete_pending", crash_after)
    with pytest.raises(Crash):
        await admin1.press(publish)
    monkeypatch.undo()
    await first.close()

    # The version was recorded before the swap, and the upload is still pending.
    again = await reopen(root, tmp_path)
    try:
        versions = await again.store.admin.versions(rel)
        assert [v.kind for v in versions] == ["original", "upload"]
        assert await again.store.admin.get_pending(token) is not None
        assert read(root, rel) == (original if where == "before_swap" else changed)
        admin2 = User(again, ADMIN)
        await admin2.press(publish)
        expected = "已发布" if where == "before_swap" else NO_CHANGE
        assert expected in admin2.text(), admin2.text()
        assert read(root, rel) == changed
        assert "都低于" in again.engine.content.current.knowledge.topics["dibao"].summary
        versions = await again.store.admin.versions(rel)
        assert [v.kind for v in versions] == ["original", "upload"]  # not recorded twice
        assert await again.store.admin.get_pending(token) is None
        await admin2.press(publish)
        assert "过期" in admin2.text()
    finally:
        await again.close()


async def test_a_publish_whose_reload_fails_leaves_no_version(
    app,  # noqa: F811
    root: Path,  # noqa: F811
    monkeypatch,
):
    rel = "policy_texts/dibao.md"
    original = read(root, rel)
    changed = original.replace("summary: 家里每人每月收入低于", "summary: 家里每人每月收入都低于")
    holder = app.engine.content

    def broken_reload():
        report = Report(root)
        report.error("policy_texts/other.md", 1, "broken meanwhile")
        return report

    monkeypatch.setattr(holder, "reload", broken_reload)
    result = await publisher_of(app.engine).publish(rel, changed, ADMIN, "upload")
    assert not result.ok
    assert read(root, rel) == original
    # Only the shipped text (recorded for rollback) stays; the upload that did not go
    # live is not a version.
    assert [v.kind for v in await app.store.admin.versions(rel)] == ["original"]
