"""Shared fixtures: an app on a temporary database with the bundled content."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from pg_support import pg_server, pg_url, pytest_generate_tests  # noqa: F401
from pg_support import pytest_configure as _pg_configure

from bot.app import App, open_app
from bot.config import PROJECT_ROOT, Config
from bot.content import Content, ContentHolder
from bot.dialog.events import Event, Reply
from tests.staff_support import _bundled

# -- scheduling on xdist workers (make test: -n 4 on 2 cores) ---------------------------
# The run ends when its last test does, so the long ones are started first, longest
# first: a test marked ``@pytest.mark.slow(seconds)`` (its usual time on a 2-core machine
# under make test) comes before every unmarked test. The modules below keep all their
# tests on one worker, because a module-scoped fixture (a browser, a server) is costly
# to set up on each of the workers that would run one of them; every other test is dealt
# out on its own. (xdist's own ``--dist loadgroup`` does that with ``xdist_group`` marks,
# but it renames the node ids, which pytest 9 ignores: the groups are not kept.)
ONE_WORKER_MODULES = frozenset({"tests/test_web_browser.py", "tests/test_matching_quality.py"})


def pytest_configure(config: pytest.Config) -> None:
    _pg_configure(config)
    config.addinivalue_line(
        "markers", "slow(seconds): a long test, started before the others (longest first)"
    )


def _slow_seconds(item: pytest.Item) -> float:
    mark = item.get_closest_marker("slow")
    return float(mark.args[0]) if mark is not None and mark.args else 0.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_slow_seconds, reverse=True)  # stable: the others keep their order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    if config.getoption("dist") != "load":
        return None  # an explicit --dist keeps xdist's own scheduler
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        """Each test is a unit of its own, except the tests of ONE_WORKER_MODULES (one
        unit per module). Units go out in collection order; a worker is given the next
        one when it has two tests or fewer left, so a long test holds back few others."""

        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER_MODULES else nodeid

    config.option.loadscopereorder = False  # keep the collection order (slow first)
    return Scheduling(config, log)


@pytest.fixture
def db_path(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A SQLite file; in a module marked both_backends, also a PostgreSQL schema."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "test.db")


@pytest.fixture
def config(db_path: str) -> Config:
    return Config(db_path=db_path, content_dir=PROJECT_ROOT)


@pytest.fixture(scope="session")
def bundled_content() -> Content:
    """The bundled content, loaded once: snapshots are immutable, and each app gets its
    own holder, so a test that reloads changes only its own app. (The same snapshot as
    the staff apps' and the helpers' without fixtures: staff_support._bundled.)"""
    return _bundled()


class ContentCopy:
    """A writable copy of the bundled content (policy_texts and intents copied, templates
    linked), for tests that publish into it. It is always the same folder on a worker and
    restored before each test, so its snapshot is loaded once per worker: a snapshot
    knows its folder (content.root, every topic's path), and a copy elsewhere would need
    a load of its own (~1 s)."""

    FOLDERS = ("policy_texts", "intents")

    def __init__(self, root: Path) -> None:
        self.root = root
        self.restore()
        holder, _ = ContentHolder.load(root)
        self.snapshot = holder.current
        self._digest = self.digest()

    def restore(self) -> Path:
        """The folder as the bundled content, whatever the last test did to it."""
        shutil.rmtree(self.root, ignore_errors=True)
        for folder in self.FOLDERS:
            shutil.copytree(PROJECT_ROOT / folder, self.root / folder)
        (self.root / "templates").symlink_to(PROJECT_ROOT / "templates")
        return self.root

    def digest(self) -> str:
        """Every name in the folder, and every byte of the copied files."""
        h = hashlib.sha256()
        for path in sorted(self.root.iterdir()):
            h.update(path.name.encode() + b"\0")
        for folder in self.FOLDERS:
            for path in sorted((self.root / folder).rglob("*")):
                h.update(str(path.relative_to(self.root)).encode() + b"\0")
                if path.is_file():
                    h.update(path.read_bytes())
        return h.hexdigest()

    def holder(self, root: Path) -> ContentHolder | None:
        """A holder of the loaded snapshot when ``root`` is this folder and unchanged
        since it was restored; otherwise None (the app then loads the folder itself)."""
        if Path(root) != self.root or self.digest() != self._digest:
            return None
        return ContentHolder(self.root, self.snapshot)


@pytest.fixture(scope="session")
def _content_copy(tmp_path_factory: pytest.TempPathFactory) -> ContentCopy:
    return ContentCopy(tmp_path_factory.mktemp("content-copy") / "content")


@pytest.fixture
def content_copy(_content_copy: ContentCopy) -> ContentCopy:
    """The writable copy of the bundled content, restored for this test (its folder:
    ``content_copy.root``; ``content_copy.holder(root)`` for open_app)."""
    _content_copy.restore()
    return _content_copy


@pytest.fixture
async def app(config: Config, bundled_content: Content):
    holder = None
    if config.content_dir == PROJECT_ROOT:
        holder = ContentHolder(PROJECT_ROOT, bundled_content)
    app = await open_app(config, holder)
    try:
        yield app
    finally:
        await app.close()


class Chat:
    """Drive whole conversations through the engine as one user."""

    def __init__(self, app: App, user_id: int = 1001) -> None:
        self.app = app
        self.user_id = user_id
        self.last: list[Reply] = []
        self._update = 0

    async def send(self, text: str, **kw) -> list[Reply]:
        self.last = await self.app.engine.handle(
            Event(user_id=self.user_id, chat_id=self.user_id, text=text, **kw)
        )
        return self.last

    async def press(self, payload: str) -> list[Reply]:
        self.last = await self.app.engine.handle(
            Event(user_id=self.user_id, chat_id=self.user_id, payload=payload)
        )
        return self.last

    async def tap(self, label: str) -> list[Reply]:
        """Press the button with this label among the last replies' buttons."""
        for reply in self.last:
            for row in reply.buttons:
                for b in row:
                    if b.label == label:
                        return await self.press(b.payload)
        raise AssertionError(f"no button {label!r} in {self.labels()}")

    async def choose(self, payload: str) -> list[Reply]:
        """Press the button with this payload, which the last replies must offer."""
        assert payload in self.payloads(), f"no button {payload!r} in {self.payloads()}"
        return await self.press(payload)

    def labels(self) -> list[str]:
        return [b.label for r in self.last for row in r.buttons for b in row]

    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    # What the last replies were, by name rather than by wording: the template each was
    # rendered from, and the payloads of their buttons. Assert these (and the facts a
    # reply carries: a figure, a reference, a masked phone), not template sentences.

    def templates(self) -> list[str | None]:
        """The template of each of the last replies, in order."""
        return templates_of(self.last)

    def template(self) -> str | None:
        """The template of the last reply."""
        assert self.last, "no reply"
        return self.last[-1].template

    def context(self, index: int = -1) -> dict:
        """The values the reply ``index`` (default: the last) was rendered with."""
        assert self.last, "no reply"
        return context_of(self.last[index])

    def payloads(self) -> list[str]:
        """The payloads of every button of the last replies, in order."""
        return payloads_of(self.last)

    def has_payload(self, prefix: str) -> bool:
        return any(p.startswith(prefix) for p in self.payloads())

    def payload(self, prefix: str) -> str:
        """The one payload starting with ``prefix`` (fails if none or several)."""
        found = [p for p in self.payloads() if p.startswith(prefix)]
        assert len(found) == 1, f"{len(found)} payloads {prefix!r}* in {self.payloads()}"
        return found[0]


def templates_of(replies: list[Reply]) -> list[str | None]:
    return [r.template for r in replies]


def context_of(reply: Reply) -> dict:
    """The values a reply's template was rendered with ({} for a text built by hand)."""
    return dict(getattr(reply.text, "context", {}))


def payloads_of(replies: list[Reply]) -> list[str]:
    return [p for r in replies for p in r.payloads()]


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app)
