"""Emergency triage (bot/safety): the quality floor on the labelled set, the words file's
checks, and the emergency reply through whole conversations."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from bot.content import load_content
from bot.safety.evaluate import load_set, score
from tests.conftest import Chat

DATA = PROJECT_ROOT / "tests" / "data" / "emergency"
RECALL_FLOOR = 0.98
FALSE_ALARM_CEILING = 0.02
ALERT_BUTTONS = ["我要紧急求助", "返回"]


def first_line(chat: Chat) -> str:
    return chat.last[0].text.splitlines()[0]


# -- quality ------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["test", "train"])
def test_labelled_set_meets_the_floor(bundled_content, split):
    """``test`` is the held-out split: the word lists were never tuned on it."""
    examples = load_set(DATA / f"{split}.yml")
    emergencies = [e for e in examples if e.label not in ("urgent", "none")]
    assert len(emergencies) >= 90 and len(examples) - len(emergencies) >= 70
    s = score(examples, bundled_content.safety.classify)
    assert s.recall >= RECALL_FLOOR, [e.text for e in s.missed]
    assert s.number_accuracy >= RECALL_FLOOR, [(e.text, v.numbers) for e, v in s.wrong_number]
    assert s.false_alarm_rate <= FALSE_ALARM_CEILING, [e.text for e, _ in s.alarms]


def test_the_whole_set_is_big_enough():
    examples = load_set(DATA / "train.yml") + load_set(DATA / "test.yml")
    kinds = {e.label for e in examples}
    assert {"fire", "collapse", "medical", "police", "crisis", "none", "urgent"} <= kinds
    assert sum(e.label not in ("urgent", "none") for e in examples) >= 150
    assert sum(e.label in ("urgent", "none") for e in examples) >= 150
    texts = [e.text for e in examples]
    assert len(texts) == len(set(texts)), "a message is labelled twice"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("著火了 快來人", "119"),  # traditional characters
        ("ＣＯ中毒 一氧化碳", "119"),  # full-width letters
        ("我 妈 摔 倒 了 起 不 来", "120"),  # spaces between characters
        ("有人撬门！！！", "110"),
        ("活起没得意思", "12356"),
    ],
)
def test_normalised_forms(bundled_content, text, number):
    assert number in bundled_content.safety.classify(text).numbers


@pytest.mark.parametrize(
    "text", ["笑死我了", "急死了", "气死我了", "火锅", "吃火锅去", "没着火", "烤火费啥时候发"]
)
def test_idioms_and_other_senses_are_not_emergencies(bundled_content, text):
    assert not bundled_content.safety.classify(text).emergency


def test_crisis_in_immediate_danger_adds_110_and_120(bundled_content):
    v = bundled_content.safety.classify("我站在楼顶上 不想活了")
    assert v.immediate and {"110", "12356"} <= set(v.numbers)
    assert v.numbers[-1] == "12356"  # the emergency numbers first
    assert bundled_content.safety.classify("我不想活了").numbers == ("12356",)


# -- the words file is checked -----------------------------------------------------------------


def broken_copy(tmp_path: Path, old: str, new: str) -> Path:
    root = tmp_path / "content"
    for part in ("policy_texts", "intents", "templates"):
        shutil.copytree(PROJECT_ROOT / part, root / part)
    path = root / "intents" / "emergency.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('numbers: ["120"]', 'numbers: ["12399"]', "not one of the emergency numbers"),
        ('      - "血(流|喷|冒)"', '      - "血(流|喷"', "not a valid pattern"),
        ("      - 摔倒\n", "      - 摔倒\n      - 摔倒\n", "listed twice"),
        ("      - 摔倒\n", "      - '！！'\n", "empty or unreadable"),
        ('      - "血(流|喷|冒)"', '      - "(血)?"', "matches empty text"),
        (
            "contexts: [story]\n    # 有生命危险",
            "contexts: [nowhere]\n    # 有生命危险",
            "contexts",
        ),
        ("    category: medical\n", "    category: hospital\n", "category"),
    ],
)
def test_broken_words_file_is_reported_with_its_line(tmp_path, old, new, message):
    root = broken_copy(tmp_path, old, new)
    _, report = load_content(root)
    errors = [p for p in report.errors if p.path.endswith("emergency.yml")]
    assert errors and any(message in p.message for p in errors), report.errors
    assert all(p.line > 1 for p in errors)


# -- in the conversation -------------------------------------------------------------------


async def test_a_question_about_a_fall_gets_120_first(app, chat):
    await chat.send("我妈摔倒了起不来")
    assert first_line(chat) == "<b>请马上打 120（急救）</b>"
    assert chat.labels() == ALERT_BUTTONS
    rows = await app.store.fetchall("SELECT * FROM kb_questions")
    assert rows == []  # never a policy question, never a gap


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("着火了", "<b>请马上打 119（火警）</b>"),
        ("救命 雪把房顶压垮了 今晚没得地方住", "<b>请马上打 119（火警）</b>"),
        ("有人拿刀在门口", "<b>请马上打 110（报警）</b>"),
        ("不想活了", "<b>请打心理援助热线 12356</b>"),
        ("两天没吃东西了", "<b>这是急事，可以马上登记紧急求助</b>"),
    ],
)
async def test_first_line_is_the_number(chat, text, line):
    await chat.send(text)
    assert first_line(chat) == line
    assert len(chat.last) == 1 and len(chat.text()) <= 300


async def test_crisis_reply_does_not_promise_round_the_clock(chat):
    await chat.send("活着没意思 想一了百了")
    text = chat.text()
    assert "12356" in text and "24" not in text and "小时" not in text


async def test_idiom_is_answered_as_usual(chat):
    await chat.send("笑死我了")
    assert "马上打" not in chat.text()


async def test_triage_interrupts_a_form_step_and_back_resumes_it(chat):
    await chat.press("menu:screen")
    await chat.tap("为自己测")
    question = chat.last[-1].text.splitlines()[-2]  # 第 1 题 ...
    await chat.send("我老汉儿晕倒了 叫不醒")
    assert first_line(chat) == "<b>请马上打 120（急救）</b>"
    await chat.tap("返回")
    assert question in chat.text()  # the same step asked again


async def test_back_outside_any_flow_shows_the_menu(chat):
    await chat.send("屋头进贼了")
    await chat.tap("返回")
    assert "请选择您要办的事" in chat.text()
    await chat.press("sf:back")  # pressed twice: nothing kept, nothing changes
    assert "该按钮已过期" in chat.text()


async def test_forged_safety_payload_is_refused(chat):
    await chat.press("sf:call119")
    assert "该按钮已过期" in chat.text()


async def test_emergency_in_the_help_description_keeps_the_draft(app, chat):
    await chat.press("menu:help")
    for label in ("为自己求助", "同意，开始填写", "就医", "成都市", "武侯区"):
        await chat.tap(label)
    await chat.send("我爸胸口痛得很 喘不过气")
    assert first_line(chat) == "<b>请马上打 120（急救）</b>"
    await chat.tap("我要紧急求助")
    assert "电话" in chat.text()  # the description was taken; on to the phone number
    state = await app.store.load_state(chat.user_id)
    assert "胸口痛" in state["data"]["description"] and "triage" not in state["memory"]


async def test_message_to_a_worker_is_triaged(app, chat):
    from tests.test_cases_flow import confirm_payload, fill

    await fill(chat)
    await chat.press(confirm_payload(chat))
    cases = await app.store.cases.for_user(chat.user_id)
    await chat.press(f"pg:m:{cases[0].id}")
    await chat.send("刚才屋头燃起来了")
    assert first_line(chat) == "<b>请马上打 119（火警）</b>"
    assert await app.store.cases.messages(cases[0].id, include_private=True) == []


async def test_group_texts_are_not_triaged(app):
    from bot.dialog.events import Event

    replies = await app.engine.handle(Event(user_id=7, chat_id=-100, text="着火了", is_group=True))
    assert all("马上打" not in r.text for r in replies)


async def test_forget_erases_what_the_alert_kept(app, chat):
    await chat.send("我想自杀")
    state = await app.store.load_state(chat.user_id)
    assert "自杀" in state["memory"]["triage"]["text"]
    await chat.send("/forget")
    await chat.tap("确定删除")
    state = await app.store.load_state(chat.user_id)
    assert state is None or "triage" not in state.get("memory", {})


async def test_a_workers_note_about_a_fall_is_not_triaged(tmp_path):
    from tests.staff_support import WUHOU_A, add_worker, new_case, open_staff_app, press, send

    sapp, _ = await open_staff_app(tmp_path)
    try:
        await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
        case, _ = await new_case(sapp)
        await press(sapp, WUHOU_A, f"st:claim:{case.id}")
        await press(sapp, WUHOU_A, f"st:note:{case.id}")
        replies = await send(sapp, WUHOU_A, "老人昨晚摔倒了起不来，已送医院")
        assert all("马上打" not in r.text for r in replies)
        msgs = await sapp.store.cases.messages(case.id, include_private=True)
        assert [m.body for m in msgs] == ["老人昨晚摔倒了起不来，已送医院"]
    finally:
        await sapp.close()
