"""The resident's own words: typed answers wherever buttons offer them, navigation
words, progress in plain words and typed reference numbers."""

from __future__ import annotations

import pytest

from bot.answers.answers import find_reference, simple_number
from tests.conftest import Chat
from tests.test_cases_flow import REF, confirm_payload, fill


@pytest.fixture
def words(bundled_content):
    return bundled_content.answers


@pytest.mark.parametrize(
    ("typed", "city"),
    [
        ("凉山州", "凉山彝族自治州"),
        ("凉山", "凉山彝族自治州"),
        ("凉山彝族自治州", "凉山彝族自治州"),
        ("阿坝州", "阿坝藏族羌族自治州"),
        ("成都", "成都市"),
        ("成都市", "成都市"),
        ("甘孜", "甘孜藏族自治州"),
    ],
)
def test_places_with_or_without_suffixes(words, bundled_content, typed, city):
    assert words.pick_place(typed, bundled_content.channels.regions) == city


def test_districts_with_or_without_suffixes(words, bundled_content):
    districts = bundled_content.channels.regions["凉山彝族自治州"]
    assert words.pick_place("西昌", districts) == "西昌市"
    chengdu = bundled_content.channels.regions["成都市"]
    assert words.pick_place("武侯", chengdu) == "武侯区"
    assert words.pick_place("武侯区", chengdu) == "武侯区"
    assert words.pick_place("北京", chengdu) is None


@pytest.mark.parametrize(
    ("typed", "span"),
    [("两三千", (2000, 3000)), ("七八百", (700, 800)), ("2000到3000", (2000, 3000)),
     ("两千到三千块", (2000, 3000)), ("两到三千", (2000, 3000)), ("三千", None), ("1500", None)],
)  # fmt: skip
def test_amount_ranges(words, typed, span):
    assert words.amount_range(typed) == span


@pytest.mark.parametrize(("typed", "value"), [("一千五", 1500), ("两千", 2000), ("三千五", 3500)])
def test_chinese_amounts(typed, value):
    assert simple_number(typed) == value


@pytest.mark.parametrize(
    ("typed", "ref"),
    [("SC-2611-7KQ9", "SC-2611-7KQ9"), ("sc 2611 7kq9", "SC-2611-7KQ9"),
     ("我的编号是sc26117kq9，办到哪了", "SC-2611-7KQ9"), ("SC-2611-7KQ", None)],
)  # fmt: skip
def test_references_in_any_case(typed, ref):
    assert find_reference(typed) == ref


def test_yes_no_words(words):
    for w in ("同意", "要得", "好", "可以", "行", "是", "有"):
        assert words.yes_no(w) is True, w
    for w in ("不同意", "没得", "没有", "不是", "莫得"):
        assert words.yes_no(w) is False, w


# -- through the chat -----------------------------------------------------------------------


async def test_navigation_words_are_never_questions(app, chat):
    for word in ("返回", "退出", "算了", "不弄了"):
        await chat.send(word)
        assert "请选择您要办的事" in chat.text(), word
    rows = await app.store.fetchall("SELECT * FROM kb_questions")
    assert rows == []


async def test_back_word_inside_the_screening_goes_back_one_question(chat):
    await chat.press("menu:screen")
    await chat.tap("为自己测")
    await chat.send("凉山州")
    assert "第 2 题" in chat.text()
    await chat.send("返回")
    assert "第 1 题" in chat.text()


async def test_screening_takes_typed_words(chat):
    await chat.press("menu:screen")
    await chat.tap("为自己测")
    await chat.send("凉山州")
    assert "第 2 题" in chat.text()
    await chat.send("农村户口")
    assert "第 3 题" in chat.text()
    await chat.send("就我一个")
    assert "第 4 题" in chat.text()
    await chat.send("两三千")
    assert "2000 到 3000 元" in chat.text()
    assert chat.labels()[:3] == ["2000", "2500", "3000"]
    await chat.tap("2500")
    assert "第 5 题" in chat.text()


async def test_forged_amount_button_is_refused(chat):
    await chat.press("menu:screen")
    await chat.tap("为自己测")
    await chat.press("scr:n:monthly_income:2500")  # not the question being asked
    assert "该按钮已过期" in chat.text()


async def test_progress_in_plain_words_and_by_reference(app, chat):
    await fill(chat)
    await chat.press(confirm_payload(chat))
    ref = REF.findall(chat.text())[0]
    waiting = app.engine.renderer.label("status.new")  # the one name of the status
    await chat.send("我昨天交的那个求助办得咋样了")
    assert ref in chat.text() and waiting in chat.text()
    await chat.send(ref.lower().replace("-", " "))
    assert ref in chat.text() and waiting in chat.text()

    other = Chat(app, user_id=2002)
    await other.send(ref)
    assert "没有找到" in other.text() and waiting not in other.text()
    await other.send("SC-2001-2222")  # never issued: the same words
    assert "没有找到" in other.text()
    rows = await app.store.fetchall("SELECT * FROM kb_questions")
    assert rows == []
