"""The catalogue and the screening questionnaire, driven through the engine."""

from __future__ import annotations

from bot.app import open_app
from bot.dialog.events import Event
from tests.conftest import Chat


async def _start(chat: Chat) -> None:
    await chat.press("menu:screen")
    assert chat.templates() == ["screening/intro", "screening/whom"]
    await chat.tap(chat.app.engine.renderer.label("screen.for_self"))
    assert asked(chat) == "region" and chat.context()["number"] == 1


def asked(chat: Chat) -> str | None:
    """The fact the last question of the last replies asks for (None: no question)."""
    questions = [r for r in chat.last if r.template == "screening/question"]
    return questions[-1].text.context["fact"] if questions else None


async def answer_unknown_to_everything(chat: Chat) -> None:
    """不清楚 to every question, up to the result."""
    unknown = chat.app.engine.renderer.label("screen.unknown")
    for _ in range(20):
        if "screening/result_short" in chat.templates():
            return
        await chat.tap(unknown)
    assert "screening/result_short" in chat.templates()


def invalid(chat: Chat) -> str | None:
    """Why the last answer was not taken (the kind of screening/invalid), if it was not."""
    said = [r for r in chat.last if r.template == "screening/invalid"]
    return said[-1].text.context["kind"] if said else None


def _state_step(chat: Chat):
    return chat.app.store.load_state(chat.user_id)


async def test_catalogue_browse(chat):
    await chat.press("menu:list")
    assert chat.templates() == ["screening/list_categories"]
    await chat.tap("基本生活")  # a category's name: content, not wording
    assert chat.templates() == ["screening/list_category"] and "lst:t:dibao" in chat.payloads()
    await chat.press("lst:t:dibao")
    text = chat.text()
    for part in (
        "给谁",
        "给什么",
        "要带的材料",
        "到哪里申请",
        "户口簿",
        "乡镇人民政府或街道办事处",
    ):
        assert part in text
    assert "kb:t:dibao" in chat.last[-1].payloads()
    await chat.press("nav:back")
    assert chat.templates() == ["screening/list_category"]
    await chat.press("nav:back")
    assert chat.templates() == ["screening/list_categories"]


async def test_catalogue_rejects_forged_payloads(chat):
    await chat.press("menu:list")
    for bad in ("lst:c:nope", "lst:t:winter-visits", "lst:t:../x", "lst:x:dibao", "lst:t:"):
        await chat.press(bad)
        assert chat.templates() == ["core/expired"], bad


async def test_full_screening_poor_elderly_in_chengdu(chat):
    await _start(chat)
    await chat.tap("成都市")
    await chat.tap("城镇")
    assert asked(chat) == "household_size" and chat.last[-1].expects_number
    await chat.send("1")
    assert asked(chat) == "monthly_income"
    await chat.send("300元")
    assert asked(chat) == "applicant_age"
    await chat.send("72")
    await chat.tap("没有残疾证")
    assert asked(chat) == "has_supporter"
    await chat.tap("没有，或者他们没能力照顾")
    # one person aged 72: no questions about work, pupils or orphans; savings and
    # property are asked because 低保 and 特困 depend on them
    assert asked(chat) == "savings_per_person"
    await chat.tap("没有或不到1万")
    assert asked(chat) == "has_car"
    await chat.tap("都没有")
    assert asked(chat) == "housing"
    await chat.tap("住房没问题")
    await chat.tap("都没有")
    assert asked(chat) == "medical_burden"
    await chat.tap("不算多")
    text = chat.text()
    assert "screening/result_short" in chat.templates()
    assert "您家人均月收入 300 元，低于成都市" in text
    assert "乡镇人民政府或街道办事处核查后决定" in text
    assert len(text) <= 600 and sum(len(row) for r in chat.last for row in r.buttons) <= 8
    await chat.tap("详细结果")
    text = chat.text()
    assert "申请时一般要带" in text and "户口簿" in text
    assert text.count("户口簿") == 1 or "户口簿、" in text
    payloads = [p for r in chat.last for p in r.payloads()]
    assert "scr:read:dibao" in payloads and "scr:read:tekun" in payloads
    assert "menu:channels" in payloads and "menu:help" in payloads
    state = await chat.app.store.load_state(chat.user_id)
    memory = state["memory"]["screening"]
    assert memory["answers"]["region"] == "成都市"
    assert {"program": "dibao", "verdict": "likely"} in memory["results"]
    assert {"program": "tekun", "verdict": "likely"} in memory["results"]
    assert len(memory["results"]) == 14 and memory["date"]
    for key in memory["answers"]:
        assert key not in ("name", "phone", "id_number")


async def test_skip_back_and_bad_input(chat):
    await _start(chat)
    await chat.tap(chat.app.engine.renderer.label("screen.unknown"))  # region unknown
    assert asked(chat) == "area" and chat.context()["number"] == 2
    await chat.tap("农村")
    await chat.send("abc")
    assert invalid(chat) == "not_number" and asked(chat) == "household_size"
    await chat.send("-3")
    assert invalid(chat) == "negative"
    await chat.send("2.5")
    assert invalid(chat) == "not_integer"
    await chat.send("３")
    assert invalid(chat) is None and asked(chat) == "monthly_income"
    await chat.send("1000000000000")
    assert invalid(chat) == "too_large"
    await chat.send("1,500")
    assert chat.context()["number"] == 5
    # back to income: its answer is cleared and asked again
    await chat.press("nav:back")
    assert asked(chat) == "monthly_income" and chat.context()["number"] == 4
    state = await chat.app.store.load_state(chat.user_id)
    assert "monthly_income" not in state["data"]["answers"]
    assert state["data"]["answers"]["household_size"] == 3
    assert state["data"]["skipped"] == ["region"]
    await chat.send("一千五")
    state = await chat.app.store.load_state(chat.user_id)
    assert state["data"]["answers"]["monthly_income"] == 1500


async def test_typed_words_for_buttons(chat):
    await _start(chat)
    await chat.send("成都")
    assert asked(chat) == "area"
    await chat.send("火星")
    assert invalid(chat) == "choose" and asked(chat) == "area"
    await chat.send("不清楚")
    assert asked(chat) == "household_size"
    await chat.send("返回上一步")
    assert asked(chat) == "area"


async def test_buttons_for_another_question_are_stale(chat):
    await _start(chat)
    before = await chat.app.store.load_state(chat.user_id)
    for bad in ("scr:a:area:0", "scr:a:region:99", "scr:a:region:x", "scr:u:area",
                "scr:a:region", "scr:zzz", "scr:a:region:0:1"):  # fmt: skip
        await chat.press(bad)
        assert chat.templates() == ["core/expired"], bad
        assert await chat.app.store.load_state(chat.user_id) == before
    await chat.press("scr:a:region:0")  # 成都市
    await chat.press("scr:a:region:0")  # the region button again, now stale
    assert chat.templates() == ["core/expired"]


async def test_back_from_the_first_question_leaves(chat):
    await _start(chat)
    await chat.press("nav:back")
    assert chat.templates() == ["screening/whom"]
    await chat.press("nav:back")
    assert "menu:screen" in [p for r in chat.last for p in r.payloads()]


async def test_restart_mid_questionnaire_after_a_process_restart(config):
    app = await open_app(config)
    chat = Chat(app)
    await _start(chat)
    await chat.tap("成都平原")  # 市州 are picked by group first
    await chat.tap("资阳市")
    await chat.tap("农村")
    await chat.send("4")
    assert asked(chat) == "monthly_income"
    await app.close()

    app2 = await open_app(config)
    try:
        chat2 = Chat(app2)
        await chat2.send("2000")  # carries on where the resident was
        assert chat2.context()["number"] == 5
        state = await app2.store.load_state(chat2.user_id)
        assert state["data"]["answers"]["monthly_income"] == 2000
        await chat2.choose("scr:restart")
        assert asked(chat2) == "region" and chat2.context()["number"] == 1
        state = await app2.store.load_state(chat2.user_id)
        assert state["data"]["answers"] == {} and state["step"] == "region"
        await chat2.send("重新开始")  # typed: intents/words.yml says it means the button
        assert asked(chat2) == "region" and chat2.context()["number"] == 1
    finally:
        await app2.close()


async def test_results_after_skipping_everything(chat):
    await _start(chat)
    await answer_unknown_to_everything(chat)
    result = [r for r in chat.last if r.template == "screening/result_short"][-1].text.context
    assert result["possible"] and not result["likely"]  # nothing known: nothing is likely
    assert result["unknown"]  # it says that 不清楚 was chosen
    # never more than about 15 questions even when nothing is known
    state = await chat.app.store.load_state(chat.user_id)
    assert len(state["stack"]) <= 16
    assert state["memory"]["screening"]["answers"] == {}


async def test_result_back_returns_to_the_last_question(chat):
    await _start(chat)
    await answer_unknown_to_everything(chat)
    await chat.press("nav:back")
    assert chat.templates() == ["screening/question"]


async def test_number_question_letters_the_buttons_in_the_terminal(app):
    from io import StringIO

    from bot.console import ConsoleChannel

    out = StringIO()
    channel = ConsoleChannel(app.engine, 7, out=out)
    await channel.send("/start")
    await channel.send("3")  # 自助测评
    await channel.send("1")  # 为自己测
    await channel.send("1")  # 成都市
    await channel.send("1")  # 城镇
    assert channel.lettered
    await channel.send("2")  # two people, not the second button
    state = await app.engine.store.load_state(7)
    assert state["data"]["answers"]["household_size"] == 2


async def test_duplicate_update_is_ignored(chat):
    await _start(chat)
    ev = Event(user_id=chat.user_id, chat_id=chat.user_id, payload="scr:a:region:0", update_id=5)
    first = await chat.app.engine.handle(ev)
    second = await chat.app.engine.handle(ev)
    assert first and second == []


async def test_a_policy_opened_from_the_result_leads_back_to_it(app, chat):
    await _start(chat)
    await answer_unknown_to_everything(chat)
    read = [p for p in chat.payloads() if p.startswith("scr:read:")]
    assert read, chat.labels()
    await chat.press(read[0])
    assert chat.templates() == ["knowledge/short"] and "更新于" in chat.text()
    assert chat.app.engine.renderer.label("screen.back_to_result") in chat.labels()
    await chat.choose("nav:back")
    assert "screening/result_short" in chat.templates()
    await chat.press("scr:read:nosuch")
    assert chat.templates() == ["core/expired"]


# -- honest dates in answers (issue #13 point 4) ------------------------------------------


def test_figure_notes_follow_the_date_and_the_area():
    import datetime as dt

    from bot.config import PROJECT_ROOT
    from bot.content import load_content

    content, _report = load_content(PROJECT_ROOT)
    sc = content.screening
    dibao = content.knowledge.topics["dibao"]
    on = dt.date(2026, 12, 1)
    # no area known: the newest provincial floor (2024-07) is more than 12 months old
    assert sc.date_notes(dibao, on) == [
        "四川省 2024 年低保最低标准是 2024 年 7 月起执行的，已经一年多了，"
        "现在可能已经调高，请向乡镇（街道）问清楚。"
    ]
    assert sc.date_notes(dibao, dt.date(2025, 6, 1)) == []
    # 成都's 2026 figure is 11 months old on 2026-12-01, 泸州's 2024 figure is not fresh
    assert sc.date_notes(dibao, on, "成都市", None) == []
    assert any("泸州市 2024 年城市低保标准" in n for n in sc.date_notes(dibao, on, "泸州市"))
    assert any("成都市 2026 年" in n for n in sc.date_notes(dibao, dt.date(2027, 2, 1), "成都市"))
    disability = content.knowledge.topics["disability-subsidies"]
    notes = sc.date_notes(disability, on)
    assert any("一级重度残疾人护理补贴标准是 2025 年 3 月起执行的" in n for n in notes)
    assert content.knowledge.topics["hotlines"].meta.get("figures") is None


async def test_answer_warns_about_an_old_floor(chat):
    await chat.send("低保咋个申请")
    text = chat.text()
    assert "最低生活保障" in text
    assert "四川省 2024 年低保最低标准是 2024 年 7 月起执行的" in text
    assert "💰" not in text  # no amount asked: no figures


async def test_a_question_of_amount_gets_the_figures_with_their_age(chat):
    await chat.send("低保一个月好多钱")
    text = chat.text()
    assert "💰 四川省 2024 年低保最低标准：城市每人每月 788 元、农村 580 元" in text
    assert "这是推算的数，待核实；2024 年 7 月起执行，现在可能已经调高" in text
    assert "不低于这个数" in text
    assert "⚠️" not in text  # the age is said with the figure, once
    assert len(text) <= 300
    # A 市州 named in the question: its own figures, 城市 and 农村.
    await chat.send("泸州特困供养一个月多少")
    text = chat.text()
    assert "特困人员救助供养" in text
    assert "💰 泸州市 2024 年城市特困人员基本生活标准：每人每月 1025 元" in text
    assert "💰 泸州市 2024 年农村特困人员基本生活标准：每人每月 754 元" in text
    await chat.send("重度残疾人护理补贴每月有没有100块")
    text = chat.text()
    assert "一级重度残疾人护理补贴标准：每人每月 120 元" in text
    assert "二级重度残疾人护理补贴标准：每人每月 90 元" in text


def test_figure_lines_by_place_and_date():
    import datetime as dt

    from bot.config import PROJECT_ROOT
    from bot.content import load_content

    content, _report = load_content(PROJECT_ROOT)
    sc = content.screening
    dibao = content.knowledge.topics["dibao"]
    (floor,) = sc.figure_lines(dibao, dt.date(2024, 8, 1))
    assert floor.startswith("四川省 2024 年低保最低标准：城市每人每月 788 元、农村 580 元")
    assert "调高" not in floor  # one month old
    (older,) = sc.figure_lines(dibao, dt.date(2024, 6, 1))
    assert "2023 年低保最低标准：城市每人每月 740 元、农村 533 元" in older
    (chengdu,) = sc.figure_lines(dibao, dt.date(2026, 12, 1), "成都市")  # one standard
    assert chengdu.startswith("成都市 2026 年低保标准：每人每月 1120 元")
    (rural,) = sc.figure_lines(content.knowledge.topics["tekun"], dt.date(2026, 12, 1),
                               "泸州市", "rural")  # fmt: skip
    assert rural.startswith("泸州市 2024 年农村特困人员基本生活标准：每人每月 754 元")
    assert sc.figure_lines(content.knowledge.topics["hotlines"], dt.date(2026, 12, 1)) == []


async def test_check_rejects_an_unknown_figure_in_a_topic(tmp_path):
    import shutil

    from bot.config import PROJECT_ROOT
    from bot.content import load_content

    for d in ("policy_texts", "intents", "templates"):
        shutil.copytree(PROJECT_ROOT / d, tmp_path / d)
    path = tmp_path / "policy_texts" / "dibao.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("figures: [dibao_standard]", "figures: [dibao]"),
        encoding="utf-8",
    )
    _content, report = load_content(tmp_path)
    assert any(
        p.path == "policy_texts/dibao.md" and "unknown measure 'dibao'" in p.message
        for p in report.errors
    )


# -- screening for someone else (代办) -------------------------------------------------------


async def test_screening_for_a_neighbour_says_his_or_her_household(chat):
    await chat.press("menu:screen")
    await chat.tap("帮家人或邻居测")
    assert "同意" in chat.text() and "不问姓名" in chat.text()
    await chat.send("要得")  # typed consent words count
    assert "第 1 题" in chat.text() and "他（她）家的户口" in chat.text()
    await chat.tap("成都市")
    await chat.tap("城镇")
    assert "他（她）家一共有几口人" in chat.text()
    await chat.send("1")
    await chat.send("500")
    await chat.send("80")
    await chat.tap("没有残疾证")
    await chat.tap("没有，或者他们没能力照顾")
    await chat.tap("没有或不到1万")
    await chat.tap("都没有")
    await chat.tap("住房没问题")
    await chat.tap("都没有")
    await chat.tap("不算多")
    text = chat.text()
    assert "测评结果（" in text
    assert "他（她）家人均月收入 500 元" in text and "您家" not in text
    state = await chat.app.store.load_state(chat.user_id)
    assert state["memory"]["screening"]["for_other"] is True
    # 重新开始 keeps who it is for: straight to the first question, still 他（她）家
    await chat.send("重新开始")
    assert "第 1 题" in chat.text() and "他（她）家的户口" in chat.text()


async def test_helper_without_the_persons_agreement_stops(chat):
    await chat.press("menu:screen")
    await chat.send("帮别人")
    assert "同意" in chat.text()
    await chat.tap("还没问过")
    assert "先问问他（她）" in chat.text()
    state = await chat.app.store.load_state(chat.user_id)
    assert state is None or state.get("flow") != "screening"
    # an answer button from before is stale now
    await chat.press("scr:w:agreed")
    assert "过期" in chat.text()


async def test_typed_for_myself_starts_the_questions(chat):
    await chat.press("menu:screen")
    await chat.send("自己")
    assert "第 1 题" in chat.text() and "您家的户口" in chat.text()
