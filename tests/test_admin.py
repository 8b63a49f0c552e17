"""Admin tools through the engine: admin checks, reload (and SIGHUP), upload, preview,
publish, history, rollback, gaps → example question, subscriptions and announcements.

Every test runs on a copy of the content, so publishing never touches the repository."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from pathlib import Path

import pytest

from bot.admin.reload import install_sighup
from bot.app import open_app
from bot.cli import main
from bot.config import Config
from bot.dialog.events import Document, Event, Reply
from bot.outbox import Sender
from tests.conftest import Chat, ContentCopy

ADMIN = 4242
OTHER_ADMIN = 4343
RESIDENT = 1001


@pytest.fixture
def root(content_copy: ContentCopy) -> Path:
    return content_copy.root  # restored for each test (tests/conftest.py)


@pytest.fixture
async def app(root: Path, db_path: str, content_copy: ContentCopy):
    # db_path: a SQLite file here; on both backends where a module is marked so.
    config = Config(db_path=db_path, content_dir=root, admin_ids=[ADMIN, OTHER_ADMIN])
    # The copy's snapshot, loaded once per worker, while the folder is as restored.
    app = await open_app(config, content_copy.holder(root))
    try:
        yield app
    finally:
        tasks = app.engine.services.tasks
        for task in list(tasks):
            task.cancel()
        await app.close()


class User(Chat):
    """A chat user who can also upload files."""

    async def upload(self, name: str, data: bytes | str) -> list[Reply]:
        if isinstance(data, str):
            data = data.encode("utf-8")
        doc = Document(file_name=name, data=data)
        self.last = await self.app.engine.handle(
            Event(user_id=self.user_id, chat_id=self.user_id, document=doc)
        )
        return self.last


@pytest.fixture
def admin(app) -> User:
    return User(app, ADMIN)


@pytest.fixture
def resident(app) -> User:
    return User(app, RESIDENT)


def read(root: Path, rel: str) -> str:
    return (root / rel).read_text(encoding="utf-8")


# -- admin checks -----------------------------------------------------------------


@pytest.mark.parametrize(
    "command", ["admin", "reload", "history dibao", "rollback dibao 1", "gaps", "announce"]
)
async def test_non_admins_get_the_unknown_command_reply(resident: User, command: str) -> None:
    name = command.split()[0]
    await resident.send(f"/{command}")
    admin_reply = resident.text()
    await resident.send(f"/zz{name}")
    unknown = resident.text().replace(f"/zz{name}", f"/{name}")
    assert admin_reply == unknown
    assert resident.app.engine.content.version == 1


async def test_non_admin_document_and_buttons_change_nothing(
    app, admin: User, resident: User, root
) -> None:
    before = read(root, "policy_texts/dibao.md")
    await resident.upload("dibao.md", before.replace("低保", "X"))
    assert resident.templates() == ["core/unsupported"]
    # A real pending upload of an admin, pressed by a resident: stale, nothing published.
    await admin.upload("dibao.md", before.replace("按月补差", "按月补差额"))
    token = admin.payload("adm:pub:")
    for payload in (token, "adm:bcok:abcdefghij", "adm:gap:0", "adm:zzz"):
        await resident.press(payload)
        assert resident.templates() == ["core/expired"]
    assert read(root, "policy_texts/dibao.md") == before
    # Another admin cannot publish someone else's preview either.
    other = User(app, OTHER_ADMIN)
    await other.press(token)
    assert other.templates() == ["core/expired"]
    assert read(root, "policy_texts/dibao.md") == before


# -- reload -----------------------------------------------------------------------


async def test_reload_of_broken_content_keeps_the_old_version_and_lists_every_error(
    app, admin: User, root: Path
) -> None:
    served = app.engine.content.current
    (root / "policy_texts/dibao.md").write_text(
        read(root, "policy_texts/dibao.md").replace("id: dibao", "id: [dibao"), encoding="utf-8"
    )
    (root / "policy_texts/tekun.md").write_text(
        re.sub(r"(?m)^title: .*\n", "", read(root, "policy_texts/tekun.md")), encoding="utf-8"
    )
    await admin.send("/reload")
    text = admin.text()
    assert set(admin.templates()) == {"admin/reload_failed"}
    assert re.search(r"policy_texts/dibao\.md:\d+: malformed YAML", text)
    assert re.search(r"policy_texts/tekun\.md:\d+: missing field: title", text)
    assert app.engine.content.current is served
    assert app.engine.content.version == 1
    # Residents are still answered from the last good version.
    replies = await app.engine.handle(Event(user_id=56, chat_id=56, text="低保怎么申请"))
    assert replies[0].template == "knowledge/short"
    assert replies[0].text.context["topic"].id == "dibao"


async def test_long_error_lists_are_split_and_complete(app, admin: User, root: Path) -> None:
    for i in range(45):
        (root / f"policy_texts/broken-{i:02d}.md").write_text("no front matter\n", encoding="utf-8")
    await admin.send("/reload")
    assert len(admin.last) >= 2
    text = admin.text()
    for i in range(45):
        assert f"policy_texts/broken-{i:02d}.md:1: missing YAML front matter" in text
    assert all(len(r.text) <= 4096 for r in admin.last)


async def test_reload_picks_up_a_good_edit(app, admin: User, root: Path) -> None:
    path = root / "policy_texts/dibao.md"
    path.write_text(
        read(root, "policy_texts/dibao.md").replace("按月补差", "按月补差额"), encoding="utf-8"
    )
    await admin.send("/reload")
    assert admin.templates() == ["admin/reload_ok"] and admin.context()["version"] == 2
    assert "按月补差额" in app.engine.content.current.knowledge.topics["dibao"].summary


async def test_sighup_reloads(app, root: Path) -> None:
    loop = asyncio.get_running_loop()
    assert install_sighup(app)
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if app.engine.content.version == 2:
                break
        assert app.engine.content.version == 2
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


# -- upload, preview, publish, history, rollback --------------------------------------


@pytest.mark.slow(20)
async def test_upload_preview_publish_history_rollback(app, admin: User, root: Path) -> None:
    rel = "policy_texts/dibao.md"
    original = read(root, rel)
    changed = original.replace(
        "summary: 家里每人每月收入低于当地低保标准",
        "summary: 家里每人每月收入都低于当地低保标准",
    )
    assert changed != original
    await admin.upload("dibao.md", changed)
    text = admin.text()
    assert admin.templates() == ["admin/preview_answer", "admin/preview"]
    assert "都低于当地低保标准" in text  # the rendered answer from the new text
    assert "+summary: 家里每人每月收入都低于" in text and "-summary: 家里每人每月收入低于" in text
    assert read(root, rel) == original  # nothing changes before 发布
    assert app.engine.content.version == 1
    await admin.press(admin.payload("adm:pub:"))
    assert admin.templates() == ["admin/published"]
    assert admin.context()["path"] == rel and admin.context()["version"] == 2
    assert read(root, rel) == changed
    assert "都低于" in app.engine.content.current.knowledge.topics["dibao"].summary
    # A forged token publishes nothing.
    await admin.press("adm:pub:" + "x" * 12)
    assert admin.templates() == ["core/expired"]

    await admin.send("/history dibao")
    assert admin.templates() == ["admin/history"]
    shown = [(v["n"], v["kind"], v["who"]) for v in admin.context()["versions"]]
    assert shown == [(1, "original", None), (2, "upload", ADMIN)]

    await admin.send("/rollback dibao 1")
    assert admin.templates() == ["admin/preview_answer", "admin/preview"]
    assert (admin.context()["kind"], admin.context()["path"], admin.context()["version"]) == (
        "rollback",
        rel,
        1,
    )
    assert read(root, rel) == changed
    await admin.press(admin.payload("adm:pub:"))
    assert read(root, rel) == original
    assert "都低于" not in app.engine.content.current.knowledge.topics["dibao"].summary
    versions = await app.store.admin.versions(rel)
    assert [(v.version, v.kind) for v in versions] == [
        (1, "original"),
        (2, "upload"),
        (3, "rollback"),
    ]
    assert versions[2].text == original and versions[2].author_id == ADMIN

    await admin.send("/rollback dibao 9")
    assert admin.templates() == ["admin/rollback_unknown"] and admin.context()["number"] == "9"
    await admin.send("/rollback dibao")
    assert admin.templates() == ["admin/rollback_usage"]
    await admin.send("/history")
    assert admin.templates() == ["admin/history_usage"]


async def test_a_broken_upload_lists_errors_and_changes_nothing(
    app, admin: User, root: Path
) -> None:
    rel = "policy_texts/dibao.md"
    original = read(root, rel)
    broken = re.sub(r"(?m)^(title|summary): .*\n", "", original)
    await admin.upload("dibao.md", broken)
    text = admin.text()
    assert admin.templates() == ["admin/check_failed"]
    assert "policy_texts/dibao.md:1: missing field: title" in text
    assert "policy_texts/dibao.md:1: missing field: summary" in text
    assert not [p for p in admin.payloads() if p.startswith("adm:pub:")]
    assert read(root, rel) == original
    assert await app.store.admin.versions(rel) == []


@pytest.mark.slow(17)
async def test_yaml_upload_and_a_new_topic(app, admin: User, root: Path) -> None:
    chat = read(root, "intents/chat.yml")
    await admin.upload("chat.yml", chat.replace("[你好, ", "[你好, 你好哇, ", 1))
    assert admin.templates() == ["admin/preview"]
    assert admin.context()["path"] == "intents/chat.yml" and not admin.context()["new_file"]
    await admin.press(admin.payload("adm:pub:"))
    assert "你好哇" in read(root, "intents/chat.yml")
    # A new topic file: validated like the others (here: too few example questions).
    new = read(root, "policy_texts/dibao.md").replace("id: dibao", "id: dibao-copy")
    new = re.sub(r"(?ms)^questions:\n(  - .*?\n)+", "questions: [一个问题]\n", new)
    await admin.upload("dibao-copy.md", new)
    assert "questions: at least" in admin.text()
    assert not (root / "policy_texts/dibao-copy.md").exists()


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("../../etc/passwd.md", b"x", "bad_name"),
        ("dibao.exe", b"x", "bad_type"),
        ("evil.yml", b"a: 1", "unknown_file"),
        ("dibao.md", "低保".encode("gbk") * 3, "not_utf8"),
        ("dibao.md", b"a" * (200 * 1024 + 1), "too_big"),
    ],
)
async def test_bad_uploads_are_refused_kindly(
    app, admin: User, root: Path, name, data, reason
) -> None:
    before = read(root, "policy_texts/dibao.md")
    await admin.upload(name, data)
    assert admin.templates() == ["admin/upload_rejected"] and admin.context()["reason"] == reason
    assert read(root, "policy_texts/dibao.md") == before
    assert not admin.payloads() or all(not p.startswith("adm:pub:") for p in admin.payloads())


@pytest.mark.slow(11)
async def test_cancel_keeps_the_file(app, admin: User, root: Path) -> None:
    original = read(root, "policy_texts/dibao.md")
    await admin.upload("dibao.md", original.replace("按月补差", "按月补差额"))
    await admin.press(admin.payload("adm:drop:"))
    assert admin.templates() == ["admin/dropped"]
    assert read(root, "policy_texts/dibao.md") == original
    await admin.upload("dibao.md", original)
    assert admin.templates() == ["admin/no_change"]


# -- gaps → example question ----------------------------------------------------------


@pytest.mark.slow(8)
async def test_gap_question_added_as_example_takes_effect_at_once(
    app, admin: User, root: Path
) -> None:
    question = "手头紧周转不过来咋整"
    matcher = app.engine.content.current.knowledge.matcher
    assert matcher.match(question).decision == "fallback"
    kb = app.store.knowledge
    for uid, q in (
        (1, question),
        (2, "屋头手头紧周转不过来咋个办"),
        (3, question),
        (4, "火车票怎么买"),
    ):
        result = matcher.match(q)
        await kb.log_question(uid, q, result.decision, [(m.id, m.score) for m in result.matches])
    rel = "policy_texts/temporary-relief.md"
    before = read(root, rel)

    await admin.send("/gaps")
    assert admin.templates() == ["admin/gaps"]
    groups = admin.context()["groups"]
    assert admin.context()["total"] == 2
    assert (groups[0]["representative"], groups[0]["count"]) == (question, 3)
    assert "屋头手头紧周转不过来咋个办" in groups[0]["phrasings"]
    assert question in admin.text() and "屋头手头紧周转不过来咋个办" in admin.text()
    await admin.press("adm:gap:0")
    assert question in admin.text()
    await admin.press("adm:gcat:0")
    cats = app.engine.content.current.knowledge.categories
    k = next(i for i, c in enumerate(cats) if c.id == "basic-living")
    await admin.press(f"adm:gcs:0:{k}")
    assert "adm:gadd:0:temporary-relief" in admin.payloads()
    await admin.press("adm:gadd:0:temporary-relief")
    assert admin.templates() == ["admin/published", "admin/gap_added"]
    added = admin.context()
    assert (added["works"], added["question"], added["title"]) == (True, question, "临时救助")

    after = read(root, rel)
    assert after.replace(f'  - "{question}"\n', "", 1) == before  # the rest byte-identical
    result = app.engine.content.current.knowledge.matcher.match(question)
    assert result.decision == "answer" and result.best.id == "temporary-relief"
    replies = await app.engine.handle(Event(user_id=77, chat_id=77, text=question))
    assert replies[0].template == "knowledge/short"
    assert replies[0].text.context["topic"].id == "temporary-relief"
    versions = await app.store.admin.versions(rel)
    assert [(v.version, v.kind) for v in versions] == [(1, "original"), (2, "example")]
    # The same button again: the group is done.
    await admin.press("adm:gadd:0:temporary-relief")
    assert admin.templates() == ["core/expired"]


async def test_forged_gap_payloads_are_stale(app, admin: User) -> None:
    await admin.send("/gaps")
    for payload in ("adm:gap:0", "adm:gap:x", "adm:gadd:0:dibao", "adm:gcs:0:99"):
        await admin.press(payload)
        assert admin.templates() == ["core/expired"]
    await admin.send("/gaps yesterday")
    assert admin.templates() == ["admin/gaps_usage"]


# -- check --warnings ---------------------------------------------------------------


def test_check_warnings_lists_unconfirmed_figures_and_stale_topics(root: Path, capsys) -> None:
    rel = root / "policy_texts/hotlines.md"
    text = rel.read_text(encoding="utf-8")
    rel.write_text(re.sub(r"(?m)^updated: .*$", "updated: 2020-01-01", text), encoding="utf-8")
    assert main(["check", "--content", str(root)]) == 0
    out = capsys.readouterr()
    assert "warning" not in out.out and "--warnings" in out.err
    assert main(["check", "--warnings", "--content", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(
        re.match(r"policy_texts/hotlines\.md:\d+: warning: not updated for more than a year", ln)
        for ln in lines
    )
    assert any(
        re.match(r"policy_texts/dibao\.md:\d+: warning: unconfirmed figure \(M\)", ln)
        for ln in lines
    )


# -- subscriptions and announcements ---------------------------------------------------


async def test_subscribe_by_region_and_unsubscribe(app, resident: User) -> None:
    await resident.send("/subscribe")
    assert "sub:r:成都市" in resident.payloads() and "sub:all" in resident.payloads()
    await resident.press("sub:r:成都市")
    assert resident.templates() == ["admin/subscribed"] and resident.context()["region"] == "成都市"
    assert "成都市" in resident.text()
    sub = await app.store.admin.subscription(RESIDENT)
    assert sub.subscribed and sub.region == "成都市" and sub.chat_id == RESIDENT
    await resident.press("sub:r:火星市")
    assert resident.templates() == ["core/expired"]
    await resident.press("sub:off")
    assert resident.templates() == ["admin/unsubscribed"] and resident.context()["was"]
    assert not (await app.store.admin.subscription(RESIDENT)).subscribed
    await resident.send("/unsubscribe")
    assert resident.templates() == ["admin/unsubscribed"] and not resident.context()["was"]
    await resident.send("/subscribe 绵阳")
    assert (await app.store.admin.subscription(RESIDENT)).region == "绵阳市"


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[int, Reply]] = []

    async def send(self, chat_id: int, reply: Reply) -> None:
        self.sent.append((chat_id, reply))

    async def deliver(self, chat_id: int, reply: Reply) -> int:
        self.sent.append((chat_id, reply))
        return len(self.sent)


async def test_announce_by_region_runs_in_the_background(app, admin: User) -> None:
    repo = app.store.admin
    await repo.subscribe(1, 11, "成都市")
    await repo.subscribe(2, 12, None)
    await repo.subscribe(3, 13, "绵阳市")
    await repo.subscribe(4, 14, "成都市")
    await repo.unsubscribe(4)
    notifier = RecordingNotifier()
    sender = Sender(app.store, app.renderer, rate=0)
    sender.add_channel("telegram", notifier.deliver)
    app.engine.services.outbox = sender

    await admin.send("/announce")
    await admin.press("adm:bcr:成都市")
    await admin.send("x" * 3001)
    assert admin.templates() == ["admin/announce_too_long"]
    await admin.send("明天有寒潮，<b>请注意</b>保暖。")
    assert "admin/announce_confirm" in admin.templates()
    assert admin.context()["total"] == 2
    assert "&lt;b&gt;请注意&lt;/b&gt;" in admin.text()  # the admin's markup is shown, escaped
    assert notifier.sent == []
    confirm = admin.payload("adm:bcok:")
    await admin.press(confirm)
    assert admin.templates() == ["admin/broadcast_started"] and admin.context()["total"] == 2
    await sender.drain()
    to_residents = [(c, r) for c, r in notifier.sent if c != ADMIN]
    assert sorted(c for c, _ in to_residents) == [11, 12]
    assert all(r.payloads() == ["sub:off"] for _, r in to_residents)
    done = notifier.sent[-1][1]
    assert notifier.sent[-1][0] == ADMIN and done.template == "admin/broadcast_done"
    assert "送达 2" in done.text and done.text.context["finished"]  # via the outbox: plain values
    await admin.press(confirm)  # pressed again: nothing is sent twice
    assert admin.templates() == ["core/expired"]
    await sender.drain()
    assert len([c for c, _ in notifier.sent if c != ADMIN]) == 2


async def test_announce_without_a_channel_says_so(app, admin: User) -> None:
    await app.store.admin.subscribe(1, 11, None)
    await admin.send("/announce")
    await admin.press("adm:bcr:*")
    await admin.send("通知")
    await admin.press(admin.payload("adm:bcok:"))
    assert admin.templates() == ["admin/no_notifier"]
    await admin.send("/announce")
    await admin.press("adm:bcno")
    assert admin.templates() == ["admin/announce_cancelled"]
    await admin.press("adm:bcr:火星")
    assert admin.templates() == ["core/expired"]


async def test_forget_removes_the_subscription(app, resident: User) -> None:
    await resident.press("sub:all")
    handlers = app.engine.hooks.forget
    for handler in handlers:
        await handler(app.store, RESIDENT)
    assert await app.store.admin.subscription(RESIDENT) is None


async def test_admins_see_their_command_list(admin: User, resident: User) -> None:
    await admin.send("/admin")
    assert admin.templates() == ["admin/help"] and "/rollback" in admin.text()
    await resident.send("/admin")
    assert resident.templates() == ["core/unknown_command"]


async def test_a_staff_member_with_the_admin_role_is_an_admin(app) -> None:
    from bot.store.staff import Area

    staff = app.store.staff
    invite = await staff.create_invite("admin", Area(), created_by=ADMIN, ttl_seconds=3600)
    member, why = await staff.redeem(invite.code, 5555)
    assert why == "ok" and member.is_admin
    user = User(app, 5555)
    await user.send("/reload")
    assert user.templates() == ["admin/reload_ok"]
    await staff.revoke(5555, by=ADMIN)
    await user.send("/reload")
    assert user.templates() == ["core/unknown_command"] and "/reload" in user.text()
