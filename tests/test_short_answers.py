"""Short answers first (长辈友好): every topic's first message and the screening result
are short, with few buttons; details on demand; labels that fit a phone."""

from __future__ import annotations

import pytest

from bot.knowledge.short import PAGE_LIMIT, SHORT_LIMIT, detail_pages, detail_reply, short_answer
from tests.conftest import Chat

MAX_BUTTONS = 8


def count(reply) -> int:
    return sum(len(row) for row in reply.buttons)


def test_every_topic_answers_short_first(app, bundled_content):
    kb = bundled_content.knowledge
    for topic in kb.topics.values():
        reply = short_answer(app.renderer, topic, token="abcdefgh", screenable=topic.program)
        assert len(reply.text) <= SHORT_LIMIT, (topic.id, len(reply.text))
        assert count(reply) <= 4, topic.id
        assert topic.title in reply.text and "去哪办" in reply.text, topic.id
        for page in range(len(detail_pages(topic))):
            details = detail_reply(app.renderer, kb, topic, page, token="abcdefgh")
            assert details is not None and count(details) <= MAX_BUTTONS, topic.id
            assert all(len(b.label) <= 12 for row in details.buttons for b in row), topic.id
            assert len(details.text) <= PAGE_LIMIT + 400, (topic.id, page)
        assert detail_reply(app.renderer, kb, topic, len(detail_pages(topic))) is None


def test_short_answer_keeps_the_notes_within_the_limit(app, bundled_content):
    topic = bundled_content.knowledge.topics["dibao"]
    note = "这是 2023 年的标准，现在可能已经调高，请向乡镇（街道）问清楚。"
    reply = short_answer(app.renderer, topic, notes=[note, note])
    assert note in reply.text and len(reply.text) <= SHORT_LIMIT


async def test_details_in_pages_end_with_source_and_feedback(chat):
    await chat.send("低保咋个申请嘛")
    assert chat.labels() == ["详细说明", "我能办吗", "我要求助", "回主菜单"]
    await chat.tap("详细说明")
    seen = [chat.text()]
    while any(label.startswith("接着看") for label in chat.labels()):
        await chat.tap(next(lab for lab in chat.labels() if lab.startswith("接着看")))
        seen.append(chat.text())
    assert len(seen) >= 2
    assert "来源" in seen[-1] and "这个回答有帮助吗" in seen[-1]
    assert "👍 有帮助" in chat.labels()


@pytest.mark.parametrize("payload", ["kb:d:99:dibao", "kb:d:x:dibao", "kb:d:0:nope", "kb:s:nope",
                                     "kb:s:hotlines", "kb:d:0:dibao:AAAAAAAA"])  # fmt: skip
async def test_forged_detail_payloads_are_stale(chat, payload):
    await chat.press(payload)
    assert "该按钮已过期" in chat.text()


async def test_can_i_screens_for_that_program_only(chat):
    await chat.send("低保咋个申请嘛")
    await chat.tap("我能办吗")
    await chat.tap("为自己测")
    turns = 0
    while "测评结果（" not in chat.text() and turns < 12:
        text = chat.text()
        if "市（州）" in text:
            await chat.send("成都")
        elif "城镇" in text:
            await chat.send("城里")
        elif "几口人" in text:
            await chat.send("2")
        elif "收入" in text:
            await chat.send("600")
        else:  # any other question 低保 needs: its first answer
            answer = [p for r in chat.last for p in r.payloads() if p.startswith("scr:a:")]
            await chat.press(answer[0] if answer else "scr:u:" + text)
        turns += 1
    # 低保 needs a few facts, not the whole questionnaire (about 13 questions)
    assert turns <= 6
    text = chat.text()
    assert "您问的<b>低保</b>" in text and "1120" in text and len(text) <= 600


async def test_no_screen_has_more_than_eight_buttons(chat: Chat):
    """Walk the resident's main screens (menu, every menu item, the 市州 pickers)."""
    screens = []
    await chat.send("/start")
    screens.append(chat.last)
    for item in ("ask", "list", "screen", "channels", "help", "progress"):
        await chat.press(f"menu:{item}")
        screens.append(chat.last)
    await chat.press("menu:screen")
    await chat.tap("为自己测")
    for payload in ("scr:g:region:1", "scr:g:region:4"):
        await chat.press(payload)
        screens.append(chat.last)
    for replies in screens:
        for reply in replies:
            assert count(reply) <= MAX_BUTTONS, (
                reply.text[:40],
                [b.label for r in reply.buttons for b in r],
            )
