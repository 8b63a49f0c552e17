"""我要求助 / 我的求助进度 / /forget through the engine."""

from __future__ import annotations

import re

import pytest

from bot.dialog.events import Contact, Event
from tests.conftest import Chat

pytestmark = pytest.mark.both_backends

REF = re.compile(r"SC-\d{4}-[2-9A-HJ-NP-Z]{4}")


def payloads(chat: Chat) -> list[str]:
    return [p for r in chat.last for p in r.payloads()]


def confirm_payload(chat: Chat) -> str:
    found = [p for p in payloads(chat) if p.startswith("hc:ok:")]
    assert len(found) == 1, payloads(chat)
    return found[0]


async def count(app, table: str) -> int:
    row = await app.store.fetchone(f"SELECT COUNT(*) AS n FROM {table}")
    return int(row["n"])


async def fill(
    chat: Chat,
    description: str = "家里没钱交暖气费，老人身体也不好",
    phone: str = "138 0013 8000",
    urgent: bool = False,
    place: bool = True,
    time: str | None = "pm",
) -> None:
    """From the main menu to the summary: for whom, consent, category, area, what
    happened, phone; then, from the summary, the 乡镇/村 (``place``), the contact time
    and 这事很急 (``urgent``)."""
    await chat.press("menu:help")
    assert chat.templates() == ["cases/ask_whom"]
    await chat.choose("hc:who:self")
    assert chat.templates() == ["cases/consent"]
    # The consent text is the requirement itself: it names how to delete (/forget).
    assert "同意" in chat.text() and "/forget" in chat.text()
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:winter")
    await chat.tap("成都市")
    await chat.tap("武侯区")
    assert chat.templates() == ["cases/ask_description"]
    await chat.send(description)
    await chat.send(phone)
    assert chat.templates() == ["cases/summary"]
    if place:
        await edit_place(chat, "玉林街道", "玉林社区")
    if time:
        await chat.choose("hc:edit")
        await chat.choose("hc:ef:time")
        await chat.choose(f"hc:time:{time}")
    if urgent:
        await chat.choose("hc:ux:on")
    assert chat.templates() == ["cases/summary"]


async def open_form(chat: Chat) -> None:
    """我要求助 → 为自己求助: the consent."""
    await chat.press("menu:help")
    await chat.choose("hc:who:self")
    assert chat.templates() == ["cases/consent"]


async def edit_place(chat: Chat, township: str, village: str) -> None:
    """From the summary: 修改 → 地区, the same 市州 and 区县, then 乡镇 and 村."""
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:region")
    await chat.tap("成都市")
    await chat.tap("武侯区")
    assert chat.templates() == ["cases/ask_township"]
    await chat.send(township)
    await chat.send(village)


async def test_full_request_is_stored_after_confirm(app, chat):
    await fill(chat)
    shown = chat.context()["d"]
    pm = chat.app.engine.renderer.label("cases.time.pm")
    assert (shown["township"], shown["phone"], shown["time"]) == ("玉林街道", "13800138000", pm)
    assert "玉林街道" in chat.text() and "13800138000" in chat.text()
    assert await count(app, "cases") == 0  # nothing stored before 确认提交
    await chat.press(confirm_payload(chat))
    assert chat.templates() == ["cases/submitted"]
    refs = REF.findall(chat.text())
    assert refs == [chat.context()["case"].ref]
    assert chat.context()["days"] == 3
    case = await app.store.cases.get_by_ref(refs[0])
    assert case is not None and case.user_id == chat.user_id
    assert case.category == "winter"
    assert (case.region_city, case.region_district) == ("成都市", "武侯区")
    assert (case.region_township, case.region_village) == ("玉林街道", "玉林社区")
    assert case.phone == "13800138000" and case.contact_time == "pm"
    assert case.status == "new" and not case.urgent and case.target_days == 3
    history = await app.store.cases.history(case.id)
    assert [(h.from_status, h.to_status, h.actor_kind) for h in history] == [
        (None, "new", "resident")
    ]


async def test_declining_consent_stores_nothing(app, chat):
    await open_form(chat)
    await chat.choose("hc:consent:no")
    assert chat.templates() == ["cases/channels"] and chat.context()["declined"]
    assert "12345" in chat.text()  # the hotline is always given
    assert await count(app, "cases") == 0
    assert await count(app, "case_history") == 0
    assert await count(app, "conversations") == 0
    assert await app.store.load_state(chat.user_id) is None


async def test_urgent_words_and_button_flag_the_request(app, chat):
    await fill(chat, description="家里断电了，老人病倒了没人管")
    assert chat.context()["d"]["urgent"] and not chat.context()["d"]["urgent_by_resident"]
    await chat.press(confirm_payload(chat))
    case = await app.store.cases.get_by_ref(REF.findall(chat.text())[0])
    assert case.urgent and not case.urgent_by_resident
    assert "断电" in case.urgent_words and "病倒" in case.urgent_words
    # Urgent: counted in hours, every day of the week (0 working days).
    assert case.target_days == 0 and chat.context()["hours"] == 24
    assert case.due_at - case.created_at == 24 * 3600

    other = Chat(app, user_id=2002)
    await fill(other, description="房子漏雨，想问问能不能帮忙修", urgent=True)
    await other.press(confirm_payload(other))
    case = await app.store.cases.get_by_ref(REF.findall(other.text())[0])
    assert case.urgent and case.urgent_by_resident and not case.urgent_words


@pytest.mark.parametrize(
    "bad",
    ["12345", "1380013800", "23800138000", "138001380001", "abc", "028-123", "+1 650 555 0100"],
)
async def test_bad_phone_gets_a_clear_retry(app, chat, bad):
    await open_form(chat)
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:living")
    await chat.send("资阳市")  # typed: the pickers show groups and pages
    await chat.send("雁江区")  # typed: the pickers show groups and pages
    await chat.send("没有收入，吃饭都成问题")
    state = await app.store.load_state(chat.user_id)
    await chat.send(bad)
    assert chat.templates() == ["cases/ask_phone"] and chat.context()["retry"] == "phone"
    assert await app.store.load_state(chat.user_id) == state  # still asking for the phone
    await chat.send("+86 138-0013-8000")
    assert chat.templates() == ["cases/summary"]
    assert "13800138000" in chat.text()


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("028-85551234", "028-85551234"),
        ("(0813) 8123456", "0813-8123456"),
        ("0086 13912345678", "13912345678"),
    ],
)
async def test_landline_and_prefixes(app, chat, typed, stored):
    await fill(chat, phone=typed)
    await chat.press(confirm_payload(chat))
    case = await app.store.cases.get_by_ref(REF.findall(chat.text())[0])
    assert case.phone == stored


async def test_blank_and_over_long_description_retry(app, chat):
    await open_form(chat)
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:medical")
    await chat.send("凉山彝族自治州")  # typed: the pickers show groups and pages
    await chat.send("西昌市")  # typed: the pickers show groups and pages
    state = await app.store.load_state(chat.user_id)
    await chat.send("。。。 ！")
    assert chat.templates() == ["cases/ask_description"] and chat.context()["retry"] == "blank"
    await chat.send("病" * 501)
    assert chat.context()["retry"] == "long" and chat.context()["limit"] == 500
    assert "500" in chat.text()
    assert await app.store.load_state(chat.user_id) == state
    await chat.send("病" * 500)
    assert chat.templates() == ["cases/ask_phone"]


async def test_over_long_place_name_retries(app, chat):
    await open_form(chat)
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:housing")
    await chat.tap("成都市")
    await chat.choose("hc:dist:*")
    await chat.send("天府新区")
    assert chat.templates() == ["cases/ask_description"]
    await chat.send("想申请公租房，不知道怎么办")
    await chat.send("13800138000")
    # The 乡镇 and 村 from the summary: 修改 → 地区.
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:region")
    await chat.tap("成都市")
    await chat.choose("hc:dist:*")
    await chat.send("天府新区")
    assert chat.templates() == ["cases/ask_township"]
    await chat.send("镇" * 31)
    assert chat.templates() == ["cases/ask_township"]
    assert chat.context()["retry"] == "place_long"
    await chat.send("华阳街道")
    await chat.choose("hc:skip:village")
    assert chat.templates() == ["cases/summary"]
    await chat.press(confirm_payload(chat))
    case = await app.store.cases.get_by_ref(REF.findall(chat.text())[0])
    assert case.region_district == "天府新区" and case.region_village is None
    assert case.region_township == "华阳街道" and case.contact_time == "any"


async def test_typed_city_short_name_counts_as_button(app, chat):
    await open_form(chat)
    await chat.choose("hc:consent:yes")
    await chat.send("生活困难")
    await chat.send("凉山")
    assert chat.templates() == ["cases/ask_district"]
    assert chat.context()["city"] == "凉山彝族自治州"
    await chat.send("火星")
    assert chat.templates() == ["cases/ask_district"] and chat.context()["retry"] == "buttons"


async def test_double_confirm_gives_one_request(app, chat):
    await fill(chat)
    payload = confirm_payload(chat)
    await chat.press(payload)
    ref = REF.findall(chat.text())[0]
    await chat.press(payload)
    assert chat.templates() == ["cases/already"] and ref in chat.text()
    assert await count(app, "cases") == 1


async def test_redelivered_update_gives_one_request(app, chat):
    await fill(chat)
    payload = confirm_payload(chat)
    ev = Event(user_id=chat.user_id, chat_id=chat.user_id, payload=payload, update_id=777)
    first = await app.engine.handle(ev)
    again = await app.engine.handle(ev)
    assert REF.search(first[0].text) and again == []
    # Even if the update id was lost (crash between the case commit and the state save).
    await app.store.execute("DELETE FROM processed_updates")
    third = await app.engine.handle(ev)
    assert third[0].template == "cases/already"
    assert await count(app, "cases") == 1


async def test_concurrent_confirms_give_one_request(app, chat):
    import asyncio

    await fill(chat)
    payload = confirm_payload(chat)
    ev = Event(user_id=chat.user_id, chat_id=chat.user_id, payload=payload)
    results = await asyncio.gather(*(app.engine.handle(ev) for _ in range(5)))
    refs = {REF.search(r[0].text).group(0) for r in results}
    assert len(refs) == 1
    assert await count(app, "cases") == 1


async def test_forged_payloads_are_refused(app, chat):
    await fill(chat)
    state = await app.store.load_state(chat.user_id)
    for forged in [
        "hc:ok:AAAAAAAAAAAA",  # someone else's / unknown draft
        "hc:ok:../../x",
        "hc:cat:living",  # not the current step
        "hc:city:北京市",
        "hc:ef:nonsense",
        "hc:time:midnight",
        "hc",
        "pg:v:999",
        "pg:w:abc",
        "pg:wy:-1",
        "ch:c:北京市",
        "fg:maybe",
    ]:
        await chat.press(forged)
        assert chat.templates() == ["core/expired"], forged
        assert await app.store.load_state(chat.user_id) == state, forged
    assert await count(app, "cases") == 0


async def test_other_users_cases_are_never_visible(app, chat):
    await fill(chat)
    await chat.press(confirm_payload(chat))
    ref = REF.findall(chat.text())[0]
    case = await app.store.cases.get_by_ref(ref)
    draft = case.draft_id

    mallory = Chat(app, user_id=6666)
    await mallory.press("menu:progress")
    assert ref not in mallory.text()
    assert mallory.templates() == ["cases/progress_list"] and mallory.context()["cases"] == []
    for forged in (f"pg:v:{case.id}", f"pg:m:{case.id}", f"pg:w:{case.id}", f"pg:wy:{case.id}"):
        await mallory.press(forged)
        assert mallory.templates() == ["core/expired"] and ref not in mallory.text()
    await mallory.press(f"hc:ok:{draft}")
    assert mallory.templates() == ["core/expired"] and ref not in mallory.text()
    assert (await app.store.cases.get(case.id)).status == "new"


async def test_edit_a_field_then_back_to_summary(app, chat):
    await fill(chat)
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:phone")
    await chat.send("13912345678")
    assert chat.templates() == ["cases/summary"] and chat.context()["d"]["phone"] == "13912345678"
    assert "13912345678" in chat.text()
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:region")
    await chat.send("雅安市")  # typed: the pickers show groups and pages
    await chat.send("雨城区")  # typed: the pickers show groups and pages
    assert chat.templates() == ["cases/ask_township"]  # editing the area goes on to the 乡镇
    await chat.send("某某镇")
    await chat.choose("hc:skip:village")
    assert chat.templates() == ["cases/summary"]
    shown = chat.context()["d"]
    assert (shown["city"], shown["district"], shown["township"]) == ("雅安市", "雨城区", "某某镇")
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:category")
    await chat.choose("hc:cat:safety")
    await chat.press(confirm_payload(chat))
    case = await app.store.cases.get_by_ref(REF.findall(chat.text())[0])
    assert case.category == "safety" and case.phone == "13912345678"
    assert (case.region_city, case.region_district, case.region_village) == (
        "雅安市",
        "雨城区",
        None,
    )


async def test_back_returns_to_previous_question(app, chat):
    await fill(chat, place=False, time=None)
    await chat.press("nav:back")
    assert chat.templates() == ["cases/ask_phone"]
    await chat.press("nav:back")
    assert chat.templates() == ["cases/ask_description"]
    await chat.send("屋头冷，想问问有没有过冬的棉被")
    assert chat.templates() == ["cases/summary"]  # the phone is known: straight to the summary
    assert chat.context()["d"]["description"] == "屋头冷，想问问有没有过冬的棉被"
    assert chat.context()["d"]["time"] == chat.app.engine.renderer.label("cases.time.any")


async def test_contact_share_only_own_number(app, chat):
    await open_form(chat)
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:jobs")
    await chat.send("广安市")  # typed: the pickers show groups and pages
    await chat.send("岳池县")  # typed: the pickers show groups and pages
    await chat.send("失业半年了，想找个工作")
    assert chat.last[-1].request_contact
    await chat.send(None, contact=Contact("+8613700001111", user_id=4242))
    assert chat.templates() == ["cases/ask_phone"] and chat.context()["retry"] == "not_own"
    await chat.send(None, contact=Contact("+8613700001111", user_id=None))
    assert chat.templates() == ["cases/ask_phone"] and chat.context()["retry"] == "not_own"
    await chat.send(None, contact=Contact("+8613700001111", user_id=chat.user_id))
    assert chat.templates() == ["cases/summary"]
    assert "13700001111" in chat.text()


async def test_attachments_offered_shown_and_stored(app, chat):
    await app.store.save_turn(
        chat.user_id,
        {
            "memory": {
                "unanswered": {"text": "我娃儿在外地读书能不能领补助"},
                "screening": {
                    "answers": {"household_size": 3},
                    "verdicts": [{"title": "低保", "verdict": "possible"}],
                },
            }
        },
    )
    await open_form(chat)
    await chat.choose("hc:consent:yes")
    await chat.choose("hc:cat:school")
    await chat.send("南充市")  # typed: the pickers show groups and pages
    await chat.send("阆中市")  # typed: the pickers show groups and pages
    await chat.send("娃儿上学的钱凑不齐")
    await chat.send("13800138000")
    # What can be attached is attached, shown on the summary, and can be taken off.
    assert chat.templates() == ["cases/summary"]
    attached = chat.context()["d"]["attachments"]
    assert [item["kind"] for item in attached] == ["unanswered", "screening"]
    assert "我娃儿在外地读书能不能领补助" in chat.text()
    assert attached[1]["lines"] == [
        "低保：" + chat.app.engine.renderer.label("cases.verdict.possible")
    ]
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:attach")
    assert chat.templates() == ["cases/ask_attach"]
    await chat.choose("hc:att:no")
    assert chat.context()["d"]["attachments"] == []
    await chat.choose("hc:edit")
    await chat.choose("hc:ef:attach")
    await chat.choose("hc:att:yes")
    assert chat.templates() == ["cases/summary"]
    assert len(chat.context()["d"]["attachments"]) == 2
    await chat.press(confirm_payload(chat))
    case = await app.store.cases.get_by_ref(REF.findall(chat.text())[0])
    kinds = [a["kind"] for a in case.attachments]
    assert kinds == ["unanswered", "screening"]
    assert case.attachments[1]["verdicts"] == [{"title": "低保", "verdict": "possible"}]


async def test_progress_lists_history_message_and_withdraw(app, chat):
    await fill(chat)
    await chat.press(confirm_payload(chat))
    ref = REF.findall(chat.text())[0]
    case = await app.store.cases.get_by_ref(ref)
    await app.store.cases.change_status(case.id, "claimed", "staff", 9, expect_from=["new"])

    label = chat.app.engine.renderer.label
    await chat.press("menu:progress")
    assert chat.templates() == ["cases/progress_list"] and ref in chat.text()
    listed = chat.context()["cases"]
    assert [(c["ref"], c["status"]) for c in listed] == [(ref, label("status.claimed"))]
    await chat.press(f"pg:v:{case.id}")
    assert chat.templates() == ["cases/progress_case"]
    steps = [s["status"] for s in chat.context()["steps"]]
    assert steps == [label("status.new"), label("status.claimed")]
    await chat.choose(f"pg:m:{case.id}")
    await chat.send("  ")
    await chat.send("电话白天可能打不通，晚上打")
    assert chat.templates() == ["cases/message_added"] and chat.context()["ref"] == ref
    msgs = await app.store.cases.messages(case.id)
    assert [(m.author_kind, m.body) for m in msgs] == [("resident", "电话白天可能打不通，晚上打")]

    await chat.press(f"pg:v:{case.id}")
    await chat.choose(f"pg:w:{case.id}")
    assert chat.templates() == ["cases/withdraw_confirm"]
    assert (await app.store.cases.get(case.id)).status == "claimed"
    await chat.choose(f"pg:wy:{case.id}")
    assert chat.templates() == ["cases/withdrawn"]
    case = await app.store.cases.get(case.id)
    assert case.status == "withdrawn" and case.closed_at is not None
    history = await app.store.cases.history(case.id)
    assert [(h.from_status, h.to_status) for h in history][-1] == ("claimed", "withdrawn")
    # A withdrawn request takes no more messages and cannot be withdrawn twice.
    await chat.press(f"pg:m:{case.id}")
    assert chat.templates() == ["cases/progress_case"] and chat.context()["notice"] == "closed"
    await chat.press(f"pg:wy:{case.id}")
    assert chat.templates() == ["cases/progress_case"] and chat.context()["notice"] == "closed"
    assert len(await app.store.cases.history(case.id)) == len(history)


async def test_forget_erases_personal_data(app):
    chat = Chat(app, user_id=918273645)  # a distinctive id, to search the tables for
    await chat.send("低保怎么申请")  # a question, which the knowledge feature may log
    await fill(chat)
    await chat.press(confirm_payload(chat))
    ref = REF.findall(chat.text())[0]
    case = await app.store.cases.get_by_ref(ref)
    await app.store.cases.add_message(case.id, "resident", chat.user_id, "补充：我家在三楼")
    await chat.send("/forget")
    assert chat.templates() == ["cases/forget_ask"] and chat.context()["n_cases"] == 1
    await chat.choose("fg:no")
    assert (await app.store.cases.get(case.id)).phone == "13800138000"
    await chat.send("/forget")
    await chat.choose("fg:yes")
    assert chat.templates() == ["cases/forget_done"]
    case = await app.store.cases.get(case.id)
    assert case.phone is None and case.description is None
    assert case.region_township is None and case.region_village is None
    assert case.contact_time is None and case.attachments == () and case.urgent_words == ()
    assert case.user_id is None and case.chat_id is None and case.erased_at is not None
    assert (case.category, case.region_city, case.region_district) == ("winter", "成都市", "武侯区")
    assert case.status == "withdrawn" and case.created_at > 0
    assert all(m.body is None for m in await app.store.cases.messages(case.id, True))
    assert await app.store.load_state(chat.user_id) is None
    row = await app.store.fetchone(
        "SELECT COUNT(*) AS n FROM kb_questions WHERE user_id = ?", (chat.user_id,)
    )
    assert row["n"] == 0
    # Nothing personal left anywhere in the cases tables.
    for table in ("cases", "case_history", "case_messages"):
        rows = await app.store.fetchall(f"SELECT * FROM {table}")
        dump = repr([tuple(r) for r in rows])
        for secret in ("13800138000", "玉林", "暖气费", "三楼", str(chat.user_id)):
            assert secret not in dump, (table, secret)
    await chat.press("menu:progress")
    assert ref not in chat.text()


async def test_help_flow_refuses_group_chats(app):
    ev = Event(user_id=5, chat_id=-100, payload="menu:help", is_group=True)
    replies = await app.engine.handle(ev)
    assert [r.template for r in replies] == ["cases/private_only"]
    assert await app.store.load_state(5) is None


async def test_message_step_for_a_vanished_case_starts_over(app, chat):
    await app.store.save_turn(
        chat.user_id, {"flow": "progress", "step": "message", "data": {"case": 12345}}
    )
    await chat.send("还有一件事")
    assert chat.templates() == ["cases/progress_list"] and chat.context()["cases"] == []
    assert await app.store.load_state(chat.user_id) is None


async def test_configured_deadlines_are_what_the_resident_is_told(db_path, bundled_content):
    from bot.app import open_app
    from bot.config import PROJECT_ROOT, Config
    from bot.content import ContentHolder

    config = Config(
        db_path=db_path, extra={"deadlines": {"ordinary": 5}, "retention": {"days": 90}}
    )
    app = await open_app(config, ContentHolder(PROJECT_ROOT, bundled_content))
    try:
        chat = Chat(app)
        await open_form(chat)
        # The consent promises what the retention job enforces.
        assert chat.context()["days"] == 90 and "90 天" in chat.text()
        await fill(chat)
        await chat.press(confirm_payload(chat))
        assert chat.context()["days"] == 5
        case = await app.store.cases.get_by_ref(REF.findall(chat.text())[0])
        assert case.target_days == 5
        assert case.due_at - case.created_at >= 5 * 86400  # at least five working days out
    finally:
        await app.close()
