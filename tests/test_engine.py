"""The dialog engine: routing, commands, stale buttons, de-duplication, restarts."""

from __future__ import annotations

import asyncio

import pytest

from bot.app import open_app
from bot.dialog.engine import split_text
from bot.dialog.events import Event
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.menu import MENU_ITEMS

pytestmark = pytest.mark.both_backends


async def test_start_shows_greeting_and_every_menu_item(chat):
    await chat.send("/start")
    assert chat.templates() == ["core/menu"] and chat.context()["greeting"]
    assert chat.payloads() == [f"menu:{item}" for item in MENU_ITEMS]
    for item in ("ask", "list", "screen", "channels", "help", "progress"):
        assert f"menu:{item}" in chat.payloads()


async def test_menu_help_and_unknown_command(chat):
    await chat.send("/menu")
    assert chat.templates() == ["core/menu"]
    assert len(chat.labels()) == len(MENU_ITEMS)
    await chat.send("/help")
    assert chat.templates() == ["core/help"]
    assert "/cancel" in chat.text() and "12345" in chat.text()
    await chat.send("/nosuchthing")
    assert chat.templates() == ["core/unknown_command"] and "/nosuchthing" in chat.text()


async def test_every_menu_item_answers(chat):
    for item in MENU_ITEMS:
        replies = await chat.press(f"menu:{item}")
        assert replies and all(r.text for r in replies)


async def test_forged_payloads_get_expired_message_and_change_nothing(app, chat):
    await chat.send("/start")
    before = await app.store.load_state(chat.user_id)
    for payload in ("garbage", "menu:nosuch", "zz:1", "nav:sideways", ":", "menu:"):
        await chat.press(payload)
        assert chat.templates() == ["core/expired"]
    assert await app.store.load_state(chat.user_id) == before


async def test_duplicate_update_is_handled_once(app):
    event = Event(user_id=5, chat_id=5, text="/start", update_id=777)
    first = await app.engine.handle(event)
    second = await app.engine.handle(event)
    assert first and second == []


class TwoSteps(Flow):
    """A minimal flow with steps, to exercise state, back and restarts."""

    name = "twosteps"
    prefix = "ts"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        turn.state.enter(self.name, "first")
        await self.prompt(turn, "first")

    async def prompt(self, turn: Turn, step: str) -> None:
        turn.say("core/nothing_to_say", [turn.nav_row()])
        turn.replies[-1].text = f"step {step}"

    async def on_text(self, turn: Turn, text: str) -> None:
        if turn.state.step == "first":
            turn.state.data["first"] = text
            turn.state.push("second")
            await self.prompt(turn, "second")
        else:
            turn.say("core/nothing_to_say")
            turn.replies[-1].text = f"done {turn.state.data['first']} {text}"
            turn.state.leave()

    async def on_payload(self, turn: Turn, rest: str) -> None:
        raise StaleButton(rest)


async def test_back_goes_to_previous_step_then_menu(app, chat):
    flow = app.engine.add_flow(TwoSteps(app.engine))

    async def cmd(turn, arg):
        await flow.start(turn)

    app.engine.add_command("twosteps", cmd)
    await chat.send("/twosteps")
    assert chat.text() == "step first"
    await chat.send("alpha")
    assert chat.text() == "step second"
    await chat.press("nav:back")
    assert chat.text() == "step first"
    await chat.press("nav:back")
    assert chat.templates() == ["core/menu"]


async def test_a_flow_resumes_after_a_restart(config):
    app = await open_app(config)
    flow = app.engine.add_flow(TwoSteps(app.engine))

    async def cmd(turn, arg):
        await flow.start(turn)

    app.engine.add_command("twosteps", cmd)
    await app.engine.handle(Event(9, 9, text="/twosteps"))
    await app.engine.handle(Event(9, 9, text="alpha"))
    await app.close()

    app2 = await open_app(config)
    try:
        app2.engine.add_flow(TwoSteps(app2.engine))
        replies = await app2.engine.handle(Event(9, 9, text="beta"))
        assert replies[0].text == "done alpha beta"
    finally:
        await app2.close()


async def test_a_failing_turn_keeps_the_state_and_says_sorry(app, chat):
    class Broken(TwoSteps):
        name = "broken"
        prefix = "br"

        async def on_text(self, turn, text):
            turn.state.data["half"] = "written"
            raise RuntimeError("boom")

    flow = app.engine.add_flow(Broken(app.engine))

    async def cmd(turn, arg):
        await flow.start(turn)

    app.engine.add_command("broken", cmd)
    await chat.send("/broken")
    before = await app.store.load_state(chat.user_id)
    await chat.send("anything")
    assert chat.templates() == ["core/error"]
    assert await app.store.load_state(chat.user_id) == before


def test_split_text_keeps_paragraphs_and_tags_intact():
    paragraphs = [f"<b>第{i}段</b> " + "字" * 900 for i in range(12)]
    parts = split_text("\n\n".join(paragraphs), 4096)
    assert len(parts) > 1
    assert all(len(p) <= 4096 for p in parts)
    assert "\n\n".join(parts).count("<b>") == 12
    for p in parts:
        assert p.count("<b>") == p.count("</b>")


def test_split_text_of_one_huge_line_never_cuts_an_entity_or_tag():
    text = "<i>" + "&amp;x" * 3000 + "</i>"
    parts = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in parts)
    for p in parts:
        assert p.count("<i>") == p.count("</i>")
        assert "&am" not in p.replace("&amp;", "")


async def test_a_state_that_cannot_be_stored_fails_the_turn_and_keeps_the_state(app, chat):
    class Unstorable(TwoSteps):
        name = "unstorable"
        prefix = "us"

        async def on_text(self, turn, text):
            turn.state.data["when"] = object()  # not JSON
            turn.say("core/unsupported")

    flow = app.engine.add_flow(Unstorable(app.engine))

    async def cmd(turn, arg):
        await flow.start(turn)

    app.engine.add_command("unstorable", cmd)
    await chat.send("/unstorable")
    before = await app.store.load_state(chat.user_id)
    await chat.send("anything", update_id=4242)
    assert chat.templates() == ["core/error"]
    assert await app.store.load_state(chat.user_id) == before
    assert not await app.store.update_seen(4242)  # a redelivery may try again


async def test_a_stale_button_records_the_update_and_changes_nothing(app, chat):
    await chat.send("/start", update_id=1)
    before = await app.store.load_state(chat.user_id)
    chat.last = await app.engine.handle(
        Event(chat.user_id, chat.user_id, payload="menu:nosuch", update_id=2)
    )
    assert chat.templates() == ["core/expired"]
    assert await app.store.load_state(chat.user_id) == before
    assert await app.store.update_seen(2)
    assert (
        await app.engine.handle(Event(chat.user_id, chat.user_id, text="/start", update_id=2)) == []
    )


async def test_concurrent_users_each_keep_their_own_conversation(app):
    flow = app.engine.add_flow(TwoSteps(app.engine))

    async def cmd(turn, arg):
        await flow.start(turn)

    app.engine.add_command("twosteps", cmd)
    users = range(100, 160)

    async def visit(u: int) -> list[str]:
        texts = []
        for i, text in enumerate(("/twosteps", f"a{u}", f"b{u}")):
            replies = await app.engine.handle(Event(u, u, text=text, update_id=u * 10 + i))
            texts.append(replies[0].text)
        # The same update again (a redelivery) is ignored.
        assert await app.engine.handle(Event(u, u, text="x", update_id=u * 10 + 2)) == []
        return texts

    results = await asyncio.gather(*(visit(u) for u in users))
    for u, texts in zip(users, results, strict=True):
        assert texts[2] == f"done a{u} b{u}"
        assert await app.store.load_state(u) is None  # left the flow: a fresh start


async def test_typed_navigation_words_work_like_the_buttons(app, chat):
    flow = app.engine.add_flow(TwoSteps(app.engine))

    async def cmd(turn, arg):
        await flow.start(turn)

    app.engine.add_command("twosteps", cmd)
    await chat.send("/twosteps")
    await chat.send("alpha")
    assert chat.text() == "step second"
    label = app.engine.renderer.label
    await chat.send(label("nav.back"))  # the button's words, typed
    assert chat.text() == "step first"  # not taken as the answer to the step
    await chat.send(label("nav.menu"))
    assert chat.templates() == ["core/menu"]
