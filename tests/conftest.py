"""Shared fixtures: an app on a temporary database with the bundled content."""

from __future__ import annotations

from pathlib import Path

import pytest
from pg_support import pg_server, pg_url, pytest_configure, pytest_generate_tests  # noqa: F401

from bot.app import App, open_app
from bot.config import PROJECT_ROOT, Config
from bot.content import Content, ContentHolder
from bot.dialog.events import Event, Reply


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
    own holder, so a test that reloads changes only its own app."""
    holder, _ = ContentHolder.load(PROJECT_ROOT)
    return holder.current


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
