"""Property tests: no input breaks the engine, replies fit a message, forged buttons change nothing."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import open_app
from bot.config import PROJECT_ROOT, Config
from bot.content import ContentHolder
from bot.dialog.events import MAX_REPLY_CHARS, Event
from bot.menu import MENU_ITEMS
from tests.staff_support import _bundled

KNOWN_PREFIXES = [
    "nav",
    "menu",
    "kb",
    "scr",
    "cat",
    "help",
    "case",
    "ch",
    "fg",
    "staff",
    "adm",
    "zz",
]


@pytest.fixture
def running(tmp_path):
    loop = asyncio.new_event_loop()
    app = loop.run_until_complete(
        open_app(
            Config(db_path=str(tmp_path / "p.db"), content_dir=PROJECT_ROOT),
            ContentHolder(PROJECT_ROOT, _bundled()),
        )
    )
    offered: set[str] = set()
    yield loop, app, offered
    loop.run_until_complete(app.close())
    loop.close()


def check_replies(replies, offered: set[str]) -> None:
    assert replies, "every turn answers"
    for reply in replies:
        assert reply.text.strip()
        assert len(reply.text) <= MAX_REPLY_CHARS
        for row in reply.buttons:
            for button in row:
                assert len(button.payload.encode()) <= 64
                offered.add(button.payload)


inputs = st.one_of(
    st.text(max_size=10_000).map(lambda t: ("text", t)),
    st.sampled_from(
        ["/start", "/menu", "/cancel", "/help", "/forget", "1", "低保", "返回上一步"]
    ).map(lambda t: ("text", t)),
    st.tuples(st.sampled_from(KNOWN_PREFIXES), st.text(max_size=80)).map(
        lambda p: ("payload", f"{p[0]}:{p[1]}")
    ),
    st.text(max_size=200).map(lambda t: ("payload", t)),
    st.just(("pick", 0)),
    st.integers(min_value=0, max_value=12).map(lambda i: ("pick", i)),
)


@pytest.mark.slow(12)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(inputs, min_size=1, max_size=12), st.integers(min_value=1, max_value=3))
def test_any_sequence_of_inputs_is_answered_safely(running, steps, user):
    loop, app, offered = running
    last_buttons: list[str] = []
    for kind, value in steps:
        if kind == "pick":
            if not last_buttons:
                continue
            event = Event(user, user, payload=last_buttons[value % len(last_buttons)])
        elif kind == "payload":
            event = Event(user, user, payload=value)
        else:
            event = Event(user, user, text=value)
        replies = loop.run_until_complete(app.engine.handle(event))
        check_replies(replies, offered)
        payloads = [b.payload for r in replies for row in r.buttons for b in row]
        if payloads:
            last_buttons = payloads


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(st.sampled_from(["/start", "1", "2", "3"]), max_size=4),
    st.one_of(
        st.tuples(st.sampled_from(KNOWN_PREFIXES), st.text(max_size=60)).map(
            lambda p: f"{p[0]}:{p[1]}"
        ),
        st.text(max_size=100),
    ),
)
def test_forged_payloads_change_no_state(running, warmup, forged):
    loop, app, offered = running
    user = 42
    last: list[str] = []
    for step in warmup:  # put the user somewhere in a flow first
        if step.isdigit() and last:
            event = Event(user, user, payload=last[(int(step) - 1) % len(last)])
        else:
            event = Event(user, user, text=step)
        replies = loop.run_until_complete(app.engine.handle(event))
        check_replies(replies, offered)
        last = [b.payload for r in replies for row in r.buttons for b in row] or last
    real = {"nav:back", "nav:menu", *(f"menu:{i}" for i in MENU_ITEMS)}
    if forged in offered or forged in real:
        return  # a real button, not a forgery
    before = loop.run_until_complete(app.store.load_state(user))
    replies = loop.run_until_complete(app.engine.handle(Event(user, user, payload=forged)))
    check_replies(replies, offered)
    assert loop.run_until_complete(app.store.load_state(user)) == before
