"""Voice messages, stickers, photos without words, whitespace: a kind reply that says
what to do, through the real Telegram adapter (offline Bot API) and the engine."""

from __future__ import annotations

import pytest

from bot.dialog.events import Event
from tests.test_telegram import texts, tg  # noqa: F401 - the fixture

VOICE = {"file_id": "v1", "file_unique_id": "uv1", "duration": 4}
STICKER = {"file_id": "s1", "file_unique_id": "us1", "type": "regular", "width": 512,
           "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
PHOTO = [{"file_id": "p1", "file_unique_id": "up1", "width": 90, "height": 90}]


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"voice": VOICE}, "听不了语音"),
        ({"sticker": STICKER}, "收到您的表情"),
        ({"photo": PHOTO}, "看不了图片"),
    ],
)
async def test_media_without_words_gets_a_kind_reply(tg, extra, words):  # noqa: F811
    calls = await tg.send(None, **extra)
    sent = "".join(texts(calls))
    assert words in sent and "打几个字" in sent and "12345" in sent


async def test_photo_with_a_caption_is_read_as_text(tg):  # noqa: F811
    calls = await tg.send(None, photo=PHOTO, caption="着火了")
    assert "119" in "".join(texts(calls))


@pytest.mark.parametrize("blank", ["   ", "\u3000\n", ""])
async def test_whitespace_only_gets_a_reply(app, blank):
    replies = await app.engine.handle(Event(user_id=5, chat_id=5, text=blank))
    assert replies and "消息是空的" in replies[0].text


async def test_media_inside_a_form_keeps_the_step(app, chat):
    await chat.press("menu:screen")
    await chat.tap("为自己测")
    await chat.send("凉山州")
    replies = await app.engine.handle(Event(user_id=chat.user_id, chat_id=1, media="voice"))
    assert "听不了语音" in replies[0].text
    await chat.send("农村")
    assert "第 3 题" in chat.text()
