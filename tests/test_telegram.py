"""The Telegram adapter, offline: real Update JSON through ``process_update`` against a
fake Bot API (bot.telegram.offline) that is as strict as Telegram about HTML, message
length and callback_data."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from telegram import Update
from telegram.ext import AIORateLimiter

from bot.dialog.events import Button, Reply
from bot.dialog.flow import Flow, StaleButton, Turn
from bot.outbox import Sender
from bot.render import html_to_plain
from bot.telegram.adapter import build_application, channel_of
from bot.telegram.delivery import telegram_deliver
from bot.telegram.guards import FloodGuard
from bot.telegram.offline import (
    BOT_USERNAME,
    BotAPIStub,
    Call,
    OfflineRequest,
    Updates,
)
from tests.telegram_support import offline_application

GROUP = -100_555


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TG:
    """One Application on the offline API, plus helpers to read what the bot sent."""

    def __init__(self, app, application, stub: BotAPIStub, clock: Clock) -> None:
        self.app = app
        self.application = application
        self.stub = stub
        self.clock = clock
        self.updates = Updates()
        self.sender = Sender(app.store, app.renderer, rate=0)
        self.sender.add_channel("telegram", telegram_deliver(application))
        app.engine.services.outbox = self.sender

    async def feed(self, data: dict[str, Any]) -> list[Call]:
        """Process one update; return the API calls it caused."""
        before = len(self.stub.sent())
        await self.application.process_update(Update.de_json(data, self.application.bot))
        # Messages for other chats went to the outbox: its sender delivers them.
        await self.sender.drain()
        return self.stub.sent()[before:]

    async def send(self, text: str | None, user_id: int = 1001, **kw) -> list[Call]:
        return await self.feed(self.updates.message(text, user_id, **kw))

    async def press(self, data: str, user_id: int = 1001, message=None, **kw) -> list[Call]:
        return await self.feed(self.updates.callback(data, user_id, message=message, **kw))

    async def tap(self, label: str, calls: list[Call], user_id: int = 1001) -> list[Call]:
        """Press the button labelled ``label`` on the last message in ``calls`` that has it."""
        for call in reversed(calls):
            for row in keyboard(call):
                for b in row:
                    if b["text"] == label:
                        return await self.press(b["callback_data"], user_id, message=call.result)
        raise AssertionError(f"no button {label!r} in {labels(calls)}")

    def said(self, template: str, **context: Any) -> str:
        """What the template says with this context: the text expected on the wire."""
        return self.app.engine.renderer.render(template, **context)

    def label(self, key: str) -> str:
        return self.app.engine.renderer.label(key)


def texts(calls: list[Call]) -> list[str]:
    return [c.params["text"] for c in calls if c.method in ("sendMessage", "editMessageText")]


def markup(call: Call) -> dict[str, Any]:
    raw = call.params.get("reply_markup") or {}
    return json.loads(raw) if isinstance(raw, str) else raw


def keyboard(call: Call) -> list[list[dict[str, Any]]]:
    return markup(call).get("inline_keyboard", [])


def labels(calls: list[Call]) -> list[str]:
    return [b["text"] for c in calls for row in keyboard(c) for b in row]


def payloads(calls: list[Call]) -> list[str]:
    return [b["callback_data"] for c in calls for row in keyboard(c) for b in row]


def methods(calls: list[Call]) -> list[str]:
    return [c.method for c in calls]


class ProbeFlow(Flow):
    """A flow of the tests' own, to drive adapter features no shipped flow pins down."""

    name = "probe"
    prefix = "probe"

    async def start(self, turn: Turn, arg: str | None = None) -> None:
        turn.state.enter(self.name, "secret")
        turn.say("core/nothing_to_say", [[Button("编辑", "probe:edit")]])

    async def on_payload(self, turn: Turn, rest: str) -> None:
        if rest == "edit":
            turn.add(Reply("已经<b>改好</b>了", [[Button("再来", "probe:edit")]], edit=True))
        elif rest == "long":
            para = "低保是按月发的生活补助。" * 30
            text = "\n\n".join(f"<b>第{i}段</b> {para}" for i in range(40))
            turn.add(Reply(text, [[Button("好的", "nav:menu")]]))
        elif rest == "phone":
            turn.add(Reply("请留个电话", [[Button("不方便", "nav:menu")]], request_contact=True))
        elif rest == "where":
            turn.add(Reply("您在哪里", request_location=True))
        elif rest == "staff":
            turn.add(Reply("有新的求助", chat_id=-100_777))
            turn.add(Reply("已通知工作人员"))
        else:
            raise StaleButton(rest)

    async def on_text(self, turn: Turn, text: str) -> None:
        turn.add(Reply("SECRET-DATA 138****0000"))

    async def on_contact(self, turn: Turn) -> None:
        c = turn.event.contact
        own = c is not None and c.user_id == turn.user_id
        turn.add(Reply(f"收到号码 {c.phone[-4:] if c else ''} {'本人' if own else '别人'}"))

    async def on_location(self, turn: Turn) -> None:
        loc = turn.event.location
        turn.add(Reply(f"收到位置 {loc.latitude:.2f} {loc.longitude:.2f}" if loc else ""))


@pytest.fixture
async def tg(app):
    clock = Clock()
    app.engine.add_flow(ProbeFlow(app.engine))

    async def probe(turn: Turn, arg: str) -> None:
        await app.engine.flows["probe"].start(turn)

    async def echo(turn: Turn, arg: str) -> None:
        # Echo the user's words through a real autoescaped template.
        turn.say("core/unknown_command", command=arg)

    app.engine.add_command("probe", probe)
    app.engine.add_command("echo", echo)
    async with offline_application(app, FloodGuard(clock=clock)) as (application, stub):
        yield TG(app, application, stub, clock)


# -- start, menu, commands -----------------------------------------------------------------


async def test_start_shows_the_menu_with_inline_buttons(tg: TG):
    calls = await tg.send("/start")
    assert methods(calls) == ["sendMessage"]
    (call,) = calls
    assert call.params["chat_id"] == 1001
    assert call.params["parse_mode"] == "HTML"
    assert call.params["text"] == tg.said("core/menu", greeting=True)
    assert {"menu:ask", "menu:list", "menu:screen", "menu:help"} <= set(payloads(calls))
    assert tg.label("menu.ask") in labels(calls)


async def test_menu_button_is_answered_and_opens_the_item(tg: TG):
    start = await tg.send("/start")
    calls = await tg.tap(tg.label("menu.channels"), start)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1 and answers[0].params["callback_query_id"]
    sent = texts(calls)
    assert sent and "12345" in "".join(sent)
    # Back to the menu from there.
    calls = await tg.tap(tg.label("nav.menu"), calls)
    assert tg.said("core/menu", greeting=False) in texts(calls)


async def test_commands_menu_in_chinese(tg: TG):
    await channel_of(tg.application).setup_commands(tg.application.bot)
    default = {c["command"]: c["description"] for c in tg.stub.commands["default"]}
    assert list(default)[:4] == ["start", "menu", "help", "cancel"]
    assert "forget" in default  # the help-request feature registers /forget
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in d) for d in default.values())
    group = [c["command"] for c in tg.stub.commands["all_group_chats"]]
    assert group == ["start", "menu", "help", "privacy"]
    assert [c["command"] for c in tg.stub.commands["all_private_chats"]] == list(default)


async def test_default_application_limits_outgoing_calls(app):
    stub = BotAPIStub()
    application = build_application(app, "1:T", request=OfflineRequest(stub))
    assert isinstance(application.bot.rate_limiter, AIORateLimiter)


async def test_api_url_is_the_prefix_before_the_token(app):
    stub = BotAPIStub()
    application = build_application(
        app, "1:T", request=OfflineRequest(stub), base_url="http://127.0.0.1:9/bot"
    )
    assert application.bot.base_url == "http://127.0.0.1:9/bot1:T"
    assert application.bot.base_file_url == "http://127.0.0.1:9/file/bot1:T"


# -- questions -----------------------------------------------------------------------------


async def test_a_question_gets_an_answer(tg: TG):
    calls = await tg.send("低保咋个申请")
    sent = texts(calls)
    assert sent, "a question must get a reply"
    assert "低保" in "".join(sent)


async def test_deep_link_opens_a_topic(tg: TG):
    calls = await tg.send("/start dibao")
    text = "".join(texts(calls))
    assert "低保" in text
    assert tg.said("core/menu", greeting=False) not in texts(calls)
    assert "menu:screen" not in payloads(calls)


async def test_deep_link_opens_a_menu_item(tg: TG):
    direct = texts(await tg.send("/start go-help", user_id=2001))
    via_menu = texts(await tg.press("menu:help", user_id=2002))
    assert direct == via_menu
    assert tg.said("core/menu", greeting=False) not in direct


# -- buttons: edits, stale and forged presses ------------------------------------------------


async def test_pressed_buttons_message_is_edited(tg: TG):
    await tg.send("/probe")
    msg = tg.updates.callback("x")["callback_query"]["message"]
    calls = await tg.press("probe:edit", message=msg)
    assert methods(calls) == ["answerCallbackQuery", "editMessageText"]
    edit = calls[1]
    assert edit.params["message_id"] == msg["message_id"]
    assert edit.params["chat_id"] == 1001
    assert edit.params["text"] == "已经<b>改好</b>了"
    assert payloads([edit]) == ["probe:edit"]


async def test_edit_that_fails_sends_a_new_message(tg: TG):
    await tg.send("/probe")
    tg.stub.fail_next["editMessageText"] = [(400, "Bad Request: message can't be edited")]
    calls = await tg.press("probe:edit")
    assert methods(calls) == ["answerCallbackQuery", "editMessageText", "sendMessage"]
    assert calls[-1].params["text"] == "已经<b>改好</b>了"


async def test_edit_to_the_same_text_is_not_repeated(tg: TG):
    await tg.send("/probe")
    tg.stub.fail_next["editMessageText"] = [(400, "Bad Request: message is not modified")]
    calls = await tg.press("probe:edit")
    assert methods(calls) == ["answerCallbackQuery", "editMessageText"]


@pytest.mark.parametrize(
    "data,says",
    [
        ("menu:nonexistent", "该按钮已过期"),
        ("zzz:1", "该按钮已过期"),
        ("nocolon", "该按钮已过期"),
        ("probe:../../etc", "该按钮已过期"),
        ("hc:cat:" + "9" * 50, "该按钮已过期"),
        ("st:view:1", "没有这个权限"),  # a staff button pressed by a resident
    ],
)
async def test_forged_callback_is_answered_and_changes_nothing(tg: TG, data: str, says: str):
    await tg.send("/probe")
    before = await tg.app.store.load_state(1001)
    calls = await tg.press(data)
    assert methods(calls) == ["answerCallbackQuery", "sendMessage"]
    assert says in texts(calls)[0]
    assert await tg.app.store.load_state(1001) == before


async def test_stale_button_after_leaving_the_flow(tg: TG):
    await tg.send("/probe")
    await tg.send("/menu")
    calls = await tg.press("probe:edit?")
    assert tg.said("core/expired") in texts(calls)
    assert await tg.app.store.load_state(1001) is None


async def test_redelivered_update_is_handled_once(tg: TG):
    data = tg.updates.message("/start")
    first = await tg.feed(data)
    again = await tg.feed(json.loads(json.dumps(data)))
    assert len(first) == 1 and again == []


# -- formatting ------------------------------------------------------------------------------


async def test_long_answer_is_split_under_the_limit(tg: TG):
    await tg.send("/probe")
    calls = await tg.press("probe:long")
    sent = [c for c in calls if c.method == "sendMessage"]
    assert len(sent) >= 3
    assert all(len(c.params["text"]) <= 4096 for c in sent)
    # Every part is valid Telegram HTML (the fake API would have refused it), the
    # buttons sit on the last part only, and nothing was lost.
    assert [bool(keyboard(c)) for c in sent] == [False] * (len(sent) - 1) + [True]
    joined = "\n\n".join(c.params["text"] for c in sent)
    assert joined.count("<b>第") == 40 and "第39段" in joined
    assert all(c.params["text"].startswith("<b>第") for c in sent)


async def test_user_text_is_escaped(tg: TG):
    evil = '<b>x</b><script>alert(1)</script> & <a href="http://evil">'
    calls = await tg.send(f"/echo {evil}")
    (text,) = texts(calls)
    assert "<script>" not in text and 'href="http://evil"' not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;a" in text


async def test_user_text_in_a_question_cannot_inject_markup(tg: TG):
    calls = await tg.send('<a href="tg://user?id=1">点我</a><script> 低保 &bogus;')
    sent = texts(calls)
    assert sent  # the fake API refuses any text Telegram could not parse
    joined = "".join(sent)
    assert "<script>" not in joined and '<a href="tg:' not in joined
    # The fallback repeats the question: as text, not markup.
    assert "&lt;script&gt;" in joined and "&amp;bogus;" in joined


async def test_template_html_rejected_by_telegram_still_reaches_the_user(tg: TG):
    tg.stub.fail_next["sendMessage"] = [(400, "Bad Request: can't parse entities: x")]
    calls = await tg.send("/start")
    assert methods(calls) == ["sendMessage", "sendMessage"]
    assert "parse_mode" not in calls[1].params
    # The same words, without the markup Telegram refused.
    assert calls[1].params["text"] == html_to_plain(tg.said("core/menu", greeting=True))


# -- contact, location, other chats ------------------------------------------------------------


async def test_request_contact_uses_a_one_time_keyboard(tg: TG):
    await tg.send("/probe")
    calls = await tg.press("probe:phone")
    sent = [c for c in calls if c.method == "sendMessage"]
    assert len(sent) == 2
    assert payloads([sent[0]]) == ["nav:menu"]  # the inline buttons stay with the text
    kb = markup(sent[1])
    assert kb["one_time_keyboard"] is True
    assert kb["keyboard"][0][0]["request_contact"] is True
    assert kb["keyboard"][0][0]["text"] == tg.label("telegram.share_contact")
    calls = await tg.feed(tg.updates.contact("+86 138 0000 1234"))
    assert texts(calls) == ["收到号码 1234 本人"]


async def test_request_location_without_buttons_sends_one_message(tg: TG):
    await tg.send("/probe")
    calls = await tg.press("probe:where")
    (sent,) = [c for c in calls if c.method == "sendMessage"]
    assert markup(sent)["keyboard"][0][0]["request_location"] is True
    calls = await tg.feed(tg.updates.location(30.66, 104.06))
    assert texts(calls) == ["收到位置 30.66 104.06"]


async def test_reply_for_another_chat_goes_there(tg: TG):
    await tg.send("/probe")
    calls = await tg.press("probe:staff")
    sent = [(c.params["chat_id"], c.params["text"]) for c in calls if c.method == "sendMessage"]
    # The resident's own reply in the turn, the staff notice through the outbox.
    assert sent == [(1001, "已通知工作人员"), (-100_777, "有新的求助")]


async def test_a_photo_gets_a_kind_answer(tg: TG):
    calls = await tg.feed(
        tg.updates.message(
            None, photo=[{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}]
        )
    )
    assert "看不了图片" in "".join(texts(calls))


async def test_blocked_user_is_not_an_error(tg: TG, caplog):
    tg.stub.fail_next["sendMessage"] = [(403, "Forbidden: bot was blocked by the user")]
    with caplog.at_level(logging.INFO):
        calls = await tg.send("/start")
    assert methods(calls) == ["sendMessage"]
    assert "update failed" not in caplog.text


# -- flood guard and errors ------------------------------------------------------------------


async def test_flood_guard_calms_one_user_and_spares_others(tg: TG):
    flood_texts = []
    for _ in range(20):
        calls = await tg.send("/help")
        assert texts(calls) == [tg.said("core/help")]
    for _ in range(10):
        flood_texts += texts(await tg.send("/help"))
    assert flood_texts == [tg.said("telegram/flood")]
    # Button presses are answered (with the calm word once) but not handled.
    calls = await tg.press("nav:menu")
    assert methods(calls) == ["answerCallbackQuery"]
    # Someone else is not slowed down.
    calls = await tg.send("/help", user_id=1002)
    assert texts(calls) == [tg.said("core/help")]
    # After a quiet while, the first user is served again.
    tg.clock.now += 10.5
    calls = await tg.send("/help")
    assert texts(calls) == [tg.said("core/help")]


def test_flood_guard_window_and_memory():
    clock = Clock()
    guard = FloodGuard(limit=3, window=10, clock=clock)
    assert [guard.check(1) for _ in range(5)] == ["ok", "ok", "ok", "warn", "drop"]
    clock.now += 5
    assert guard.check(1) == "drop"
    clock.now += 5.1
    assert guard.check(1) == "ok"
    for user in range(5000):
        guard.check(10_000 + user)
    clock.now += 20
    for _ in range(4096):
        guard.check(7)
    assert len(guard) < 10


async def test_failed_send_is_logged_without_personal_data_and_told(tg: TG, caplog):
    tg.stub.fail_next["sendMessage"] = [(500, "Internal Server Error")]
    with caplog.at_level(logging.DEBUG, logger="bot"):
        calls = await tg.send("/echo 我叫王秀英 电话13812345678")
    assert methods(calls) == ["sendMessage", "sendMessage"]
    assert calls[1].params["text"] == tg.said("core/error")
    assert "update failed" in caplog.text
    assert "王秀英" not in caplog.text and "13812345678" not in caplog.text


async def test_engine_error_keeps_the_place_in_the_flow(tg: TG, caplog):
    await tg.send("/probe")
    before = await tg.app.store.load_state(1001)

    async def broken(turn: Turn, arg: str) -> None:
        turn.state.leave()
        raise RuntimeError("王秀英 13812345678")

    tg.app.engine.add_command("broken", broken)
    calls = await tg.send("/broken")
    assert tg.said("core/error") in texts(calls)
    assert await tg.app.store.load_state(1001) == before
    assert "王秀英" not in caplog.text


# -- groups ----------------------------------------------------------------------------------


async def test_group_ignores_chatter_and_other_bots(tg: TG):
    assert await tg.send("今天天气好", chat_id=GROUP, group=True) == []
    assert await tg.send("@someone_else 低保", chat_id=GROUP, group=True) == []
    assert await tg.send("/menu@other_bot", chat_id=GROUP, group=True) == []


async def test_group_answers_commands_and_mentions(tg: TG):
    calls = await tg.send(f"/menu@{BOT_USERNAME}", chat_id=GROUP, group=True)
    assert [c.params["chat_id"] for c in calls] == [GROUP]
    assert texts(calls)[0] == tg.said("core/menu", greeting=False)
    msg_id = tg.updates._message_ids  # noqa: SLF001 - just to show it replies in thread
    assert msg_id
    assert json.loads(json.dumps(calls[0].params["reply_parameters"]))["message_id"]
    calls = await tg.feed(tg.updates.mention("低保咋个申请", 1001, GROUP))
    assert calls and all(c.params["chat_id"] == GROUP for c in calls)
    assert "低保" in "".join(texts(calls))
    # A reply to the bot's message counts as talking to it.
    bot_msg = calls[-1].result
    calls = await tg.send("特困呢", chat_id=GROUP, group=True, reply_to=bot_msg)
    assert texts(calls)


async def test_group_sends_personal_matters_to_a_private_chat(tg: TG):
    for item in ("help", "progress", "screen"):
        calls = await tg.press(f"menu:{item}", chat_id=GROUP, group=True)
        (sent,) = [c for c in calls if c.method == "sendMessage"]
        assert sent.params["chat_id"] == GROUP
        assert sent.params["text"] == tg.said("telegram/private_only")
        (button,) = [b for row in keyboard(sent) for b in row]
        assert button["url"] == f"https://t.me/{BOT_USERNAME}?start=go-{item}"
    for data in ("hc:consent:yes", "pg:v:1", "fg:yes", "scr:a:x", "rv:skip:1"):
        calls = await tg.press(data, chat_id=GROUP, group=True)
        assert tg.said("telegram/private_only") in texts(calls), data
    assert await tg.app.store.load_state(1001) is None
    # Public items work in the group.
    calls = await tg.press("menu:channels", chat_id=GROUP, group=True)
    assert tg.said("telegram/private_only") not in texts(calls)
    assert "12345" in "".join(texts(calls))


async def test_group_commands_for_personal_data_point_to_a_private_chat(tg: TG):
    calls = await tg.send("/forget", chat_id=GROUP, group=True)
    sent = texts(calls)
    assert sent and all(c.params["chat_id"] == GROUP for c in calls)
    assert tg.said("cases/private_only") in sent
    # No deep links in groups: /start shows the public menu.
    calls = await tg.send("/start go-help", chat_id=GROUP, group=True)
    assert tg.said("core/menu", greeting=True) in texts(calls)


async def test_group_text_never_reaches_a_private_step(tg: TG):
    await tg.send("/probe")  # private: the probe flow waits for text, and would echo secrets
    assert "SECRET" in "".join(texts(await tg.send("随便")))
    calls = await tg.feed(tg.updates.mention("低保", 1001, GROUP))
    assert calls and "SECRET" not in "".join(texts(calls))
    state = await tg.app.store.load_state(1001)
    assert state and state["flow"] == "probe"


async def test_bare_mention_shows_the_menu(tg: TG):
    calls = await tg.feed(tg.updates.mention("", 1001, GROUP))
    assert tg.said("core/menu", greeting=False) in texts(calls)


# -- whole flows through Telegram --------------------------------------------------------------


async def test_screening_with_buttons(tg: TG):
    calls = await tg.tap(tg.label("menu.screen"), await tg.send("/start"))
    calls = await tg.tap(tg.label("screen.for_self"), calls)
    assert any(p.startswith("scr:a:") for p in payloads(calls))  # the first question's buttons
    script = [
        "成都市", "城镇", "3", "900", "68", "没有残疾证", "有", "有人在工作", "1", "没有",
        "没有或不到1万", "都没有", "住房没问题", "都没有", "不算多",
    ]  # fmt: skip
    for answer in script:
        if answer.isdigit():
            calls = await tg.send(answer)
        else:
            calls = await tg.tap(answer, calls)
            assert methods(calls)[0] == "answerCallbackQuery"
    result = "".join(texts(calls))
    assert "1120" in result  # 成都 2026 低保 standard, from the content
    calls = await tg.tap("详细结果", calls)
    result = "".join(texts(calls))
    # The result always says the township or street office decides.
    assert "乡镇人民政府或街道办事处" in result


async def test_help_request_with_contact_share_is_logged(tg: TG):
    calls = await tg.tap(tg.label("menu.help"), await tg.send("/start"))
    labels = (
        tg.label("cases.whom.self"),
        tg.label("cases.consent.yes"),
        tg.label("cases.cat.living"),
    )
    for label in (*labels, "成都市", "锦江区"):
        calls = await tg.tap(label, calls)
    calls = await tg.send("家里老人病了<b>没人</b>照顾 & 没钱")
    # The phone step offers Telegram's "share my phone number" keyboard.
    share = [c for c in calls if "keyboard" in markup(c)]
    assert share and share[-1].params["chat_id"] == 1001
    assert markup(share[-1])["keyboard"][0][0]["request_contact"] is True
    calls = await tg.feed(tg.updates.contact("+86 138 1234 5678"))
    calls = await tg.tap(tg.label("cases.urgent_toggle.on"), calls)  # 这事很急, on the summary
    summary = "".join(texts(calls))
    assert "&lt;b&gt;没人&lt;/b&gt;照顾 &amp; 没钱" in summary  # echoed, not markup
    assert "5678" in summary  # the shared number
    calls = await tg.tap(tg.label("cases.confirm"), calls)
    done = "".join(texts(calls))
    assert re.search(r"SC-\d{4}-[2-9A-HJ-NP-Z]{4}", done)  # the reference number
    cases = await tg.app.store.cases.for_user(1001)
    assert len(cases) == 1


# -- admins' content uploads -------------------------------------------------------------------


async def test_an_admin_upload_is_fetched_validated_and_previewed(tg):
    tg.app.config.admin_ids = [1001]
    text = (tg.app.config.content_dir / "policy_texts" / "dibao.md").read_text(encoding="utf-8")
    changed = text.replace("summary:", "summary: （新）", 1).encode()
    tg.stub.files["F1"] = changed
    calls = await tg.feed(tg.updates.document("dibao.md", "F1", len(changed), user_id=1001))
    assert "download" in methods(calls)
    assert any(p.startswith("adm:pub:") for p in payloads(calls))
    assert any("（新）" in t for t in texts(calls))


async def test_files_from_residents_and_oversized_files_are_never_downloaded(tg):
    tg.app.config.admin_ids = [1001]
    tg.stub.files["F2"] = b"x"
    calls = await tg.feed(tg.updates.document("dibao.md", "F2", 1, user_id=2002))
    assert "download" not in methods(calls) and "getFile" not in methods(calls)
    assert texts(calls)  # the resident is told kindly what the assistant can read
    calls = await tg.feed(tg.updates.document("dibao.md", "F2", 5_000_000, user_id=1001))
    assert "download" not in methods(calls) and "getFile" not in methods(calls)
    assert any(str(200) in t for t in texts(calls))  # the limit in KB


# -- keyboards made once (issue 6) ---------------------------------------------------


def test_keyboards_are_reused_and_serialise_as_python_telegram_bot_would(tg: TG):
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup

    channel = channel_of(tg.application)
    rows = [[Button("回主菜单", "nav:menu")], [Button('a<b&"', "kb:f:abc:1"), Button("x", "y:z")]]
    keyboard = channel._inline(rows)
    plain = InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row] for row in rows]
    )
    assert keyboard == plain
    assert keyboard.to_dict() == plain.to_dict()
    assert json.loads(keyboard.to_json()) == json.loads(plain.to_json())
    assert channel._inline([list(r) for r in rows]) is keyboard  # same buttons: same object
    other = channel._inline([[Button("返回主菜单", "nav:menu")]])
    assert other is not keyboard
    assert other.to_dict()["inline_keyboard"][0][0]["text"] == "返回主菜单"
    assert channel._inline([]) is None


async def test_the_same_menu_sent_twice_carries_the_same_buttons(tg: TG):
    first = await tg.send("/start")
    second = await tg.send("/start")
    assert payloads(first) == payloads(second) and labels(first) == labels(second)
