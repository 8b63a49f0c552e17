"""#13 through the chat: urgent requests in five turns and deadlines in hours every
day; help for someone else (代办); honest words where no staff chat covers the
area; the elderly resident's whole conversation in at most 15 turns."""

from __future__ import annotations

import json

import pytest

from bot.calendar import Deadlines, hours_of, local_datetime
from bot.dialog.events import Event
from bot.render import html_to_plain
from tests.conftest import Chat
from tests.staff_support import (
    CHAT_DEFAULT,
    RESIDENT,
    WUHOU_A,
    add_worker,
    delivered,
    open_staff_app,
    press,
    text_to,
    ts,
)
from tests.test_cases_flow import REF, confirm_payload

pytestmark = pytest.mark.both_backends

MAX_MESSAGE_CHARS = 600


@pytest.fixture
async def sapp(tmp_path, db_path):
    app, _clock = await open_staff_app(tmp_path, db=db_path)
    try:
        yield app
    finally:
        await app.close()


async def case_of(app, chat: Chat):
    (ref,) = REF.findall(chat.text())
    return await app.store.cases.get_by_ref(ref)


# -- 2. urgent requests fast ---------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "category"),
    [
        ("我两天没吃东西了", "living"),
        ("寒潮来了，家里没得取暖的，老人冻得发抖", "winter"),
        ("房东把我赶出来了，今晚没得地方住", "housing"),
        ("降温了屋头没有暖气，冷得很", "winter"),
    ],
)
async def test_an_urgent_need_is_a_committed_urgent_request_in_five_turns(sapp, message, category):
    """Hunger, no heating in a cold wave, no shelter tonight: the reply offers an
    urgent request; then short consent, area (one typed line), phone, confirm."""
    chat = Chat(sapp, user_id=RESIDENT)
    await chat.send(message)
    assert chat.templates() == ["safety/alert"]
    turns = 0
    for step in ("sf:help", "同意", "武侯区", "13812345678", "confirm"):
        turns += 1
        if step == "confirm":
            await chat.press(confirm_payload(chat))
        elif ":" in step:
            await chat.choose(step)
        else:
            await chat.send(step)
        if turns == 1:
            assert chat.templates() == ["cases/consent_urgent"]
            assert "/forget" in chat.text() and message[:8] in chat.text()
        if turns == 4:
            assert chat.templates() == ["cases/summary"]
            assert chat.context()["d"]["description"] == message  # pre-filled
    assert turns <= 5 and chat.templates() == ["cases/submitted"]
    case = await case_of(sapp, chat)
    assert case.urgent and case.urgent_by_resident and case.category == category
    assert (case.region_city, case.region_district) == ("成都市", "武侯区")
    assert case.description == message
    # Covered by a staff chat: the resident is told the hours.
    assert chat.context()["covered"] and chat.context()["hours"] == 24
    assert "24 个小时" in html_to_plain(chat.text())


async def test_urgent_deadline_counts_hours_over_the_weekend(sapp):
    """An urgent request on Saturday morning is due on Sunday morning, not Tuesday."""
    sapp.engine.services.clock.set(ts(2025, 1, 11, 9))  # Saturday
    chat = Chat(sapp, user_id=RESIDENT)
    await chat.send("两天没吃东西了")
    await chat.choose("sf:help")
    await chat.choose("hc:cu:yes")
    await chat.send("成都市武侯区")
    await chat.send("13812345678")
    await chat.press(confirm_payload(chat))
    case = await case_of(sapp, chat)
    due = local_datetime(case.due_at)
    assert (due.weekday(), due.hour) == (6, 9)  # Sunday 09:00
    assert case.target_days == 0 and hours_of(0, case.created_at, case.due_at) == 24
    # The progress screen says hours too.
    await chat.press(f"pg:v:{case.id}")
    assert chat.context()["hours"] == 24


def test_urgent_hours_from_the_configuration():
    dl = Deadlines.from_config({"urgent_hours": 6, "urgent_claim_hours": 2})
    now = ts(2025, 1, 11, 20)  # Saturday evening
    assert dl.for_new_case("living", True, now) == (0, now + 6 * 3600)
    assert dl.claim_due_at(now, True) == now + 2 * 3600
    # An older [deadlines] urgent = N (working days) now means N × 24 hours.
    assert Deadlines.from_config({"urgent": 2}).target_hours() == 48
    assert Deadlines().target_hours(fallback=12) == 12
    with pytest.raises(ValueError, match="urgent_hours"):
        Deadlines.from_config({"urgent_hours": 0})


async def test_urgent_consent_declined_stores_nothing(app, chat):
    await chat.send("今晚没得地方住了")
    await chat.choose("sf:help")
    await chat.choose("hc:cu:no")
    assert chat.templates() == ["cases/channels"]
    assert await app.store.cases.for_user(chat.user_id) == []
    state = await app.store.load_state(chat.user_id)
    assert state is None or state.get("flow") is None


async def test_an_urgent_description_in_the_form_skips_nothing_but_flags(app, chat):
    """The ordinary form: urgent words in the description flag it (no 这事很急 button)."""
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:living")
    await chat.send("凉山州昭觉县")  # one typed line: 市州 and 区县
    assert chat.templates() == ["cases/ask_description"]
    await chat.send("家里断粮了，两天没吃饭")
    await chat.send("13812345678")
    assert chat.context()["d"]["urgent"] and "hc:ux:on" not in chat.payloads()


async def test_a_story_typed_at_the_category_step_is_kept_and_read(app, chat):
    """An elderly resident types what happened instead of pressing a category: the text
    becomes the description (not asked again), the category is read from it when the
    matcher is sure, and the urgent words flag it."""
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.send("家里没得吃的了两天没吃饭了")
    assert chat.templates() == ["cases/ask_city"]  # category and description known
    await chat.send("凉山州昭觉县")
    await chat.send("13812345678")
    d = chat.context()["d"]
    assert (d["category"], d["description"]) == ("生活困难", "家里没得吃的了两天没吃饭了")
    assert d["urgent"]


async def test_an_unclear_story_at_the_category_step_is_kept_and_the_question_comes_again(
    app, chat
):
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.send("我也说不清楚是啥子情况，反正就是很麻烦")
    assert chat.templates() == ["cases/ask_category"]
    assert "已经记下您说的情况：“我也说不清楚是啥子情况" in chat.text()
    await chat.choose("hc:cat:other")
    assert chat.templates() == ["cases/ask_city"]
    await chat.send("凉山州昭觉县")
    assert chat.templates() == ["cases/ask_phone"]  # the story is the description
    # A label typed is still the button; a short word is no story.
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.send("住房")
    assert chat.templates() == ["cases/ask_city"]
    await chat.send("凉山州昭觉县")
    assert chat.templates() == ["cases/ask_description"]  # nothing kept from 住房


# -- 8. never promise what is not set up ---------------------------------------------


async def test_an_uncovered_area_is_told_the_quicker_ways_and_the_admins_are_alerted(sapp):
    """资阳 has no staff chat of its own: stored, the admins and the default chat get
    it, and the resident is told so, with 12345 and the committee."""
    chat = Chat(sapp, user_id=RESIDENT)
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:living")
    await chat.send("资阳市安岳县")
    await chat.send("没有收入，吃饭都成问题")
    await chat.send("13812345678")
    await chat.press(confirm_payload(chat))
    context = chat.context()
    assert context["covered"] is False and context["alerted"] is True
    text = html_to_plain(chat.text())
    assert "12345" in text and "村委会" in text and "不一定" in text
    assert "工作人员会看到" not in text and "个工作日内" not in text
    posts = await delivered(sapp)
    assert CHAT_DEFAULT in {r.chat_id for r in posts}  # the default chat
    assert any(r.chat_id not in (CHAT_DEFAULT, None) for r in posts)  # and the admins


async def test_nobody_to_alert_is_not_claimed(app, chat):
    """No staff set up at all (the terminal demo): nobody is said to be told."""
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:living")
    await chat.send("武侯区")
    await chat.send("没有收入，吃饭都成问题")
    await chat.send("13812345678")
    await chat.press(confirm_payload(chat))
    assert chat.context()["covered"] is False and chat.context()["alerted"] is False
    assert "管理员" not in chat.text() and "12345" in chat.text()


async def test_a_covered_area_is_told_the_working_days(sapp):
    chat = Chat(sapp, user_id=RESIDENT)
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:living")
    await chat.send("武侯区")
    await chat.send("想问问低保怎么申请")
    await chat.send("13812345678")
    await chat.press(confirm_payload(chat))
    assert chat.context()["covered"] and chat.context()["hours"] is None
    assert "3 个工作日" in html_to_plain(chat.text())


# -- 10. for someone else (代办) ------------------------------------------------------


async def proxy_request(chat: Chat, relation: str = "family") -> None:
    await chat.press("menu:help")
    assert chat.templates() == ["cases/ask_whom"]
    await chat.send("帮家人")  # typed, as the button
    assert chat.templates() == ["cases/ask_relation"]
    await chat.choose(f"hc:rel:{relation}")
    assert chat.templates() == ["cases/consent_other"]
    assert "他（她）同意" in chat.text() and "/forget" in chat.text()
    await chat.send("他同意了")
    assert chat.templates() == ["cases/ask_category"] and chat.context()["other"]
    assert "他（她）" in chat.text()
    await chat.choose("hc:cat:medical")
    assert "他（她）住在" in chat.text()
    await chat.send("武侯区")
    assert "他（她）遇到" in chat.text()
    await chat.send("我爸一个人住，腿脚不方便，想申请护理补贴")
    assert "可以留您自己的" in chat.text()
    await chat.send("13812345678")
    assert chat.templates() == ["cases/summary"] and chat.context()["d"]["other"]


async def test_asking_for_a_parent_shows_the_helper_to_the_workers(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    chat = Chat(sapp, user_id=RESIDENT)
    await proxy_request(chat)
    assert "家里人" in chat.text()
    await chat.press(confirm_payload(chat))
    assert chat.context()["other"] and chat.templates() == ["cases/submitted"]
    case = await case_of(sapp, chat)
    assert case.attachments[0] == {"kind": "proxy", "relation": "family"}
    await delivered(sapp)
    card = text_to(await press(sapp, WUHOU_A, f"st:view:{case.id}"), None)
    assert "代办" in card and "家里人" in card


async def test_not_asked_yet_keeps_nothing(app, chat):
    await chat.press("menu:help")
    await chat.choose("hc:who:proxy")
    await chat.choose("hc:rel:neighbour")
    await chat.choose("hc:co:no")
    assert chat.templates() == ["cases/helper_later"]
    assert await app.store.cases.for_user(chat.user_id) == []


async def test_forget_by_the_helper_erases_the_request_for_the_other_person(app, chat):
    await proxy_request(chat, relation="worker")
    await chat.press(confirm_payload(chat))
    case = await case_of(app, chat)
    await chat.send("/forget")
    await chat.choose("fg:yes")
    erased = await app.store.cases.get(case.id)
    assert erased.phone is None and erased.description is None
    assert erased.attachments == () and erased.user_id is None


async def test_screening_for_someone_else_leads_to_the_helper_questions(app, chat):
    """After a screening done for someone else, 我要求助 asks the relation (not whom)."""
    today = local_datetime(app.engine.services.now()).date().isoformat()
    memory = {"screening": {"answers": {"region": "成都市"}, "date": today, "for_other": True}}
    await app.store.save_turn(chat.user_id, {"memory": memory})
    await chat.press("menu:help")
    assert chat.templates() == ["cases/ask_relation"]
    await chat.choose("hc:rel:family")
    await chat.choose("hc:co:yes")
    # The 市州 came from the screening: on to its 区县.
    assert chat.templates() == ["cases/ask_category"]
    await chat.choose("hc:cat:living")
    assert chat.templates() == ["cases/ask_district"] and chat.context()["city"] == "成都市"


async def test_a_self_screening_offers_help_for_another_at_consent(app, chat):
    today = local_datetime(app.engine.services.now()).date().isoformat()
    memory = {"screening": {"answers": {}, "date": today, "for_other": False}}
    await app.store.save_turn(chat.user_id, {"memory": memory})
    await chat.press("menu:help")
    assert chat.templates() == ["cases/consent"] and "hc:consent:proxy" in chat.payloads()
    await chat.choose("hc:consent:proxy")
    assert chat.templates() == ["cases/ask_relation"]


# -- forms saved by an older version --------------------------------------------------


@pytest.mark.parametrize(
    ("step", "then"),
    [
        ("township", ["玉林街道", "玉林社区", "家里没得吃的了", "13812345678"]),
        ("village", ["hc:skip:village", "家里没得吃的了", "13812345678"]),
        ("description", ["家里没得吃的了", "13812345678"]),
        ("phone", ["13812345678"]),
    ],
)
async def test_older_forms_at_removed_steps_still_finish(app, chat, step, then):
    """A form saved with the old keys at a step the short path no longer asks."""
    data = {"draft": "oldDraft5678", "cat": "living", "city": "成都市", "dist": "武侯区"}
    if step in ("village", "description", "phone"):
        data["town"] = "玉林街道"
    if step == "phone":
        data["desc"] = "家里没得吃的了"
    old = {"flow": "help", "step": step, "data": data, "stack": ["consent"], "memory": {}}
    await app.store.save_turn_json(chat.user_id, json.dumps(old, ensure_ascii=False), None)
    for item in then:
        if item.startswith("hc:"):
            await chat.press(item)
        else:
            await chat.send(item)
    assert chat.templates() == ["cases/summary"]
    await chat.press("hc:ok:oldDraft5678")
    case = await case_of(app, chat)
    assert case.region_township == "玉林街道" and case.contact_time == "any"


async def test_an_older_form_at_consent_finishes(app, chat):
    old = {"flow": "help", "step": "consent", "data": {}, "stack": [], "memory": {}}
    await app.store.save_turn_json(chat.user_id, json.dumps(old, ensure_ascii=False), None)
    await chat.press("hc:consent:yes")
    assert chat.templates() == ["cases/ask_category"]


# -- Done when: the elderly resident's conversation ------------------------------------

SCRIPT = [
    ("text", "我一个人住，没得收入，低保咋个申请", "knowledge/short"),
    ("payload", "kb:s:dibao", "screening/whom"),  # 我能办吗
    ("text", "为自己", "screening/question"),
    ("text", "凉山", "screening/question"),
    ("text", "农村", "screening/question"),
    ("text", "就我一个", "screening/question"),
    ("text", "0", "screening/question"),
    ("text", "没得", "screening/question"),
    ("label", "都没有", "screening/result_short"),
    ("payload", "menu:help", "cases/consent"),  # 我要求助
    ("text", "同意", "cases/ask_district"),  # 凉山州 and 生活困难 known from the screening
    ("text", "昭觉县", "cases/ask_description"),
    ("text", "一个人住，没得收入，想申请低保", "cases/ask_phone"),
    ("text", "13812345678", "cases/summary"),
    ("confirm", "", "cases/submitted"),
]


async def test_the_elderly_residents_conversation_takes_at_most_15_turns(app, chat):
    """question → short answer → 我能办吗 → result → 我要求助 → reference: ≤ 15 turns,
    no message over 600 characters."""
    longest = 0
    for kind, value, expected in SCRIPT:
        if kind == "text":
            await chat.send(value)
        elif kind == "payload":
            await chat.choose(value)
        elif kind == "label":
            await chat.tap(value)
        else:
            await chat.press(confirm_payload(chat))
        assert chat.templates()[-1] == expected, (value, chat.templates())
        for reply in chat.last:
            longest = max(longest, len(html_to_plain(reply.text)))
    assert len(SCRIPT) <= 15 and longest <= MAX_MESSAGE_CHARS
    case = await case_of(app, chat)
    assert case.category == "living"
    assert (case.region_city, case.region_district) == ("凉山彝族自治州", "昭觉县")
    # The screening went with it, in the words the resident saw, every program.
    (screening,) = [a for a in case.attachments if a["kind"] == "screening"]
    programs = app.content.current.screening.programs
    assert len(screening["lines"]) == len(programs)
    assert "低保：可能符合" in screening["lines"]
    assert not any(line.startswith(("dibao", "tekun")) for line in screening["lines"])


async def test_the_conversation_over_the_event_api_counts_updates(app):
    """The same script counted as the channel sees it: one update per turn."""
    handled = 0
    chat = Chat(app, user_id=4321)
    original = app.engine.handle

    async def counting(event: Event):
        nonlocal handled
        handled += 1
        return await original(event)

    app.engine.handle = counting  # type: ignore[method-assign]
    try:
        await test_the_elderly_residents_conversation_takes_at_most_15_turns(app, chat)
    finally:
        app.engine.handle = original  # type: ignore[method-assign]
    assert handled <= 15
