"""Wording is content: templates and labels are checked with the rest, the names the
code uses must exist, /reload changes wording atomically, and replies carry the
name of their template."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Config
from bot.content import ContentHolder, load_content
from bot.dialog.events import Reply
from bot.manifest import MANIFEST
from bot.render import Renderer
from bot.wording_names import names_used
from tests.conftest import Chat


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the bundled content to break."""
    for folder in MANIFEST.folders:
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    return tmp_path


def sanliang_check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "check", "--content", str(root)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


@pytest.mark.slow(5)
def test_check_fails_when_a_template_a_flow_uses_is_missing(root: Path) -> None:
    (root / "templates/zh-CN/cases/summary.j2").unlink()
    done = sanliang_check(root)
    assert done.returncode == 1
    # Where the code names it, so the developer finds the flow; the file it expects,
    # so the admin knows what to restore.
    use = next(u for u in names_used() if u.name == "cases/summary")
    rel = use.path.relative_to(PROJECT_ROOT).as_posix()
    assert f"{rel}:{use.line}: 程序要用的模板不存在：cases/summary" in done.stdout
    assert "templates/zh-CN/cases/summary.j2" in done.stdout
    # The line is the one with the literal in the source.
    assert '"cases/summary"' in use.path.read_text(encoding="utf-8").splitlines()[use.line - 1]


def test_names_in_f_strings_loops_and_variables(tmp_path: Path) -> None:
    """The scan on a small package of its own: a literal, a literal kept in a variable,
    an f-string (a pattern: one match is enough) and an f-string over a loop of known
    strings (each name it makes must exist)."""
    from bot.content import Report
    from bot.wording_names import check_names_used

    package = tmp_path / "pkg"
    package.mkdir()
    (package / "consts.py").write_text('KINDS = ("a", "b")\nSIZES = ("s", "m")\n', encoding="utf-8")
    (package / "flow.py").write_text(
        "from pkg.consts import KINDS, SIZES\n"
        "def go(turn, step):\n"
        '    turn.say("demo/hello")\n'
        '    name = "demo/kept"\n'
        "    turn.say(name)\n"
        '    turn.say(f"demo/ask_{step}")\n'
        '    return [turn.button(f"demo.kind.{k}", "p") for k in KINDS]\n'
        'SIZE = labelled("demo.size", SIZES)\n',
        encoding="utf-8",
    )
    templates = tmp_path / "templates" / "zh-CN" / "demo"
    templates.mkdir(parents=True)
    for name in ("hello", "kept", "ask_one"):
        (templates / f"{name}.j2").write_text("好\n", encoding="utf-8")
    labels = tmp_path / "templates" / "zh-CN" / "labels.yml"
    labels.write_text(
        "demo.kind.a: 甲\ndemo.kind.b: 乙\ndemo.size.s: 小\ndemo.size.m: 中\n", encoding="utf-8"
    )

    def problems() -> list[str]:
        report = Report(tmp_path)
        check_names_used(Renderer(tmp_path / "templates"), report, package)
        return [str(p) for p in report.errors]

    assert problems() == []
    (templates / "ask_one.j2").unlink()
    (templates / "kept.j2").unlink()
    labels.write_text("demo.kind.a: 甲\ndemo.size.s: 小\n", encoding="utf-8")
    names_used.cache_clear()
    assert sorted(problems()) == [
        "pkg/flow.py:4: 程序要用的模板不存在：demo/kept（应有文件 templates/zh-CN/demo/kept.j2）",
        "pkg/flow.py:6: 程序要用的模板不存在：demo/ask_*（应有文件 templates/zh-CN/demo/ask_*.j2）",
        "pkg/flow.py:7: 程序要用的按钮文字不存在：demo.kind.b（应写在 templates/zh-CN/labels.yml"
        " 或 labels/*.yml 里）",
        "pkg/flow.py:8: 程序要用的按钮文字不存在：demo.size.m（应写在 templates/zh-CN/labels.yml"
        " 或 labels/*.yml 里）",
    ]


def test_check_fails_when_a_label_the_code_uses_is_missing(root: Path) -> None:
    path = root / "templates/zh-CN/labels.yml"
    text = path.read_text(encoding="utf-8")
    assert "\nnav.back:" in "\n" + text
    path.write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("nav.back:")) + "\n",
        encoding="utf-8",
    )
    _content, report = load_content(root)
    found = [str(p) for p in report.errors if "nav.back" in str(p)]
    assert found and all("程序要用的按钮文字不存在：nav.back" in p for p in found)
    flow = PROJECT_ROOT / "bot/dialog/flow.py"
    line = line_of(flow, '"nav.back"')
    assert f"bot/dialog/flow.py:{line}:" in "\n".join(found)


@pytest.mark.slow(5)
def test_a_template_that_does_not_compile_is_an_error_at_its_line(root: Path) -> None:
    path = root / "templates/zh-CN/core/menu.j2"
    path.write_text("第一行\n{% if x %}\n没有结束\n", encoding="utf-8")
    (root / "templates/zh-CN/core/help.j2").write_text(
        '{% include "core/nosuch.j2" %}\n', encoding="utf-8"
    )
    done = sanliang_check(root)
    assert done.returncode == 1
    assert "templates/zh-CN/core/menu.j2:" in done.stdout
    assert "模板写法有误，无法编译" in done.stdout
    assert "templates/zh-CN/core/help.j2:1: 引用的模板不存在：core/nosuch.j2" in done.stdout


def test_a_broken_or_duplicated_label_file_is_reported_with_its_line(root: Path) -> None:
    (root / "templates/zh-CN/labels/zz.yml").write_text(
        "# 测试\nextra.key: 好\nnav.back: 又一个\n", encoding="utf-8"
    )
    (root / "templates/zh-CN/labels/yy.yml").write_text("a: [unclosed\n", encoding="utf-8")
    _content, report = load_content(root)
    problems = [str(p) for p in report.errors]
    assert any(
        p.startswith("templates/zh-CN/labels/zz.yml:3: 按钮文字 'nav.back' 重复") for p in problems
    )
    # The C parser reports where it gave up (line 1 or 2).
    assert any(
        re.match(r"templates/zh-CN/labels/yy\.yml:[12]: malformed YAML", p) for p in problems
    )


def test_a_file_no_part_reads_is_a_warning(root: Path) -> None:
    (root / "intents/synonym.yml").write_text("# 测试\na: b\n", encoding="utf-8")
    _content, report = load_content(root)
    assert not report.errors
    assert any(
        str(p).startswith("intents/synonym.yml:1: warning: 这个文件不在内容清单里")
        for p in report.warnings
    )


def test_bundled_code_and_wording_agree() -> None:
    uses = names_used()
    assert len({u.name for u in uses if u.kind == "template"}) > 100
    assert len({u.name for u in uses if u.kind == "label"}) > 50
    _content, report = load_content(PROJECT_ROOT)
    assert [str(p) for p in report.errors] == []


def test_a_rendered_text_and_its_reply_carry_the_template_name() -> None:
    r = Renderer(PROJECT_ROOT / "templates")
    text = r.render("core/expired")
    assert text.template == "core/expired"
    assert Reply(text).template == "core/expired"
    assert Reply("typed by hand").template is None
    assert Reply(text, template="other/name").template == "other/name"


# -- reload changes wording, atomically -----------------------------------------


@pytest.mark.slow(5)
async def test_reload_changes_wording_and_keeps_the_last_good_on_error(root: Path, tmp_path):
    from bot.admin.reload import reload_content
    from bot.app import open_app

    app = await open_app(Config(db_path=str(tmp_path / "t.db"), content_dir=root))
    try:
        chat = Chat(app)
        await chat.send("/start")
        assert chat.templates() == ["core/menu"]
        before = chat.text()
        menu = root / "templates/zh-CN/core/menu.j2"
        menu.write_text("菜单已改：{{ '请选' }}\n", encoding="utf-8")
        labels = root / "templates/zh-CN/labels.yml"
        labels.write_text(
            labels.read_text(encoding="utf-8").replace("nav.menu: ", "nav.menu: 新", 1),
            encoding="utf-8",
        )
        report = await reload_content(app.engine)
        assert not report.errors
        await chat.send("/start")
        assert chat.text() == "菜单已改：请选"
        # The engine's own renderer (notices, jobs) follows the served snapshot too.
        assert app.engine.renderer.label("nav.menu").startswith("新")

        # A broken template: the reload is refused and the wording stays as it was.
        menu.write_text("{% if %}\n", encoding="utf-8")
        labels.write_text(
            labels.read_text(encoding="utf-8").replace("nav.menu: 新", "nav.menu: 再", 1),
            encoding="utf-8",
        )
        report = await reload_content(app.engine)
        assert any(str(p).startswith("templates/zh-CN/core/menu.j2:1:") for p in report.errors)
        await chat.send("/start")
        assert chat.text() == "菜单已改：请选"
        assert app.engine.renderer.label("nav.menu").startswith("新")
        assert before != chat.text()
    finally:
        await app.close()


def test_holder_reload_keeps_the_last_good_wording(root: Path) -> None:
    holder, _ = ContentHolder.load(root)
    good = holder.current
    (root / "templates/zh-CN/core/error.j2").write_text("{{ unclosed\n", encoding="utf-8")
    report = holder.reload()
    assert report.errors and holder.current is good
    assert holder.current.wording.has_template("core/error")


# -- headers of the files admins edit --------------------------------------------


def test_every_file_an_admin_edits_opens_with_a_chinese_header() -> None:
    _content, report = load_content(PROJECT_ROOT)
    assert [str(p) for p in report.warnings if "开头缺少中文说明" in p.message] == []
    edited = [p for f in MANIFEST if f.header for p in f.paths(PROJECT_ROOT)]
    assert len(edited) > 40  # topics, eligibility, intents, labels


def test_a_file_without_a_header_is_a_warning_and_headers_change_no_meaning(root: Path) -> None:
    from bot.admin.files import add_question

    dibao = root / "policy_texts/dibao.md"
    with_header = dibao.read_text(encoding="utf-8")
    assert with_header.splitlines()[1].startswith("# 说明：")
    good, _ = load_content(root)
    # The header is a comment inside the front matter: parsers skip it, and an added
    # example question leaves it as it is.
    edited = add_question(with_header, "低保的钱啥时候发")
    assert edited.splitlines()[:3] == with_header.splitlines()[:3]
    without = (
        "\n".join(line for line in with_header.splitlines() if not line.startswith("# ")) + "\n"
    )
    dibao.write_text(without, encoding="utf-8")
    (root / "intents/urgent_words.yml").write_text("words:\n  - 没有吃的\n", encoding="utf-8")
    content, report = load_content(root)
    assert not report.errors
    missing = sorted(
        str(p).split(":")[0] for p in report.warnings if "开头缺少中文说明" in p.message
    )
    assert missing == ["intents/urgent_words.yml", "policy_texts/dibao.md"]
    before, after = good.knowledge.topics["dibao"], content.knowledge.topics["dibao"]
    assert (before.title, before.questions, before.body) == (
        after.title,
        after.questions,
        after.body,
    )


# -- an admin changes a button's wording through the chat -------------------------


@pytest.mark.slow(8)
async def test_an_uploaded_label_file_is_checked_previewed_and_published(root: Path, tmp_path):
    from bot.app import open_app
    from bot.dialog.events import Document, Event

    admin_id = 4242
    config = Config(db_path=str(tmp_path / "a.db"), content_dir=root, admin_ids=[admin_id])
    app = await open_app(config)
    try:
        admin, resident = Chat(app, admin_id), Chat(app, 1001)

        async def upload(name: str, text: str) -> None:
            doc = Document(file_name=name, data=text.encode("utf-8"))
            admin.last = await app.engine.handle(
                Event(user_id=admin_id, chat_id=admin_id, document=doc)
            )

        rel = "templates/zh-CN/labels/cases.yml"
        original = (root / rel).read_text(encoding="utf-8")
        label = app.engine.renderer.label("cases.consent.yes")
        # Dropping a label the code uses is refused, naming the code that needs it.
        await upload(
            "labels-cases.yml",
            "\n".join(x for x in original.splitlines() if not x.startswith("cases.ch.by_region:")),
        )
        assert admin.templates()[0] == "admin/check_failed"
        assert "程序要用的按钮文字不存在：cases.ch.by_region" in admin.text()
        assert not admin.has_payload("adm:pub:")
        # A new wording: previewed as a diff, published on 发布, used at once.
        await upload("labels-cases.yml", original.replace(f": {label}", ": 好的，开始填", 1))
        assert admin.templates() == ["admin/preview"]
        assert "+cases.consent.yes: 好的，开始填" in admin.text()
        assert (root / rel).read_text(encoding="utf-8") == original
        await admin.press(admin.payload("adm:pub:"))
        assert admin.templates() == ["admin/published"]
        assert "好的，开始填" in (root / rel).read_text(encoding="utf-8")
        await resident.press("menu:help")
        await resident.choose("hc:who:self")
        assert resident.templates() == ["cases/consent"]
        assert "好的，开始填" in resident.labels()
    finally:
        await app.close()


# -- the admin manual covers every file and every fact ---------------------------

MANUAL = PROJECT_ROOT / "docs" / "管理员手册.md"


def test_the_admin_manual_names_every_content_file_and_every_fact() -> None:
    from bot.screening.facts import FACTS

    text = MANUAL.read_text(encoding="utf-8")
    missing_files = [f.path for f in MANIFEST if f"`{f.path}`" not in text]
    assert missing_files == [], "add these files to docs/管理员手册.md, section 二"
    uploads = [f.upload for f in MANIFEST.uploadable() if f.upload and "*" not in f.upload]
    assert [u for u in uploads if f"`{u}`" not in text] == []
    missing_facts = [name for name in FACTS if f"`{name}`" not in text]
    assert missing_facts == [], "add these fact names to docs/管理员手册.md, section 三"


def test_labels_named_by_a_loop_over_known_values_are_each_checked(root: Path) -> None:
    # f"cases.cat.{c}" for c in CATEGORIES: every category needs its label.
    path = root / "templates/zh-CN/labels/cases.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        "\n".join(x for x in text.splitlines() if not x.startswith("cases.cat.winter:")) + "\n",
        encoding="utf-8",
    )
    _content, report = load_content(root)
    assert any("程序要用的按钮文字不存在：cases.cat.winter" in str(p) for p in report.errors)
    assert {u.name for u in names_used()} >= {f"cases.cat.{c}" for c in ("living", "winter")}


def test_the_features_content_parts_are_the_manifests() -> None:
    from bot.content import part_loaders
    from bot.features import FEATURES

    declared = {p.part for p in MANIFEST.parts}
    assert {name for name, _load in part_loaders()} == declared
    read = {part for f in FEATURES for part in f.content_parts}
    assert read <= declared
    assert declared - read == {"wording"}  # read by every feature


def test_the_wheel_carries_the_folders_the_manifest_reads() -> None:
    import ast as python_ast

    from bot.config import CONTENT_FOLDERS

    tree = python_ast.parse((PROJECT_ROOT / "setup.py").read_text(encoding="utf-8"))
    (listed,) = [
        python_ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, python_ast.Assign)
        and any(getattr(t, "id", None) == "CONTENT_FOLDERS" for t in node.targets)
    ]
    assert set(listed) == set(CONTENT_FOLDERS) == set(MANIFEST.folders)
