"""亮政策: normalisation, content checks, the ask CLI, the store and the dialog."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time

import pytest

from bot.calendar import fmt_when
from bot.config import PROJECT_ROOT
from bot.content import load_content

# -- normalisation ---------------------------------------------------------------


@pytest.fixture(scope="module")
def kb(bundled_content):
    return bundled_content.knowledge  # loaded once per worker; a load with errors fails


def test_normalise_width_case_punctuation_emoji(kb):
    n = kb.matcher.normalize
    assert n("ＡＢＣ１２３！！💰") == "abc123"
    assert n("低保， 低保。") == n("低保低保")


def test_normalise_traditional_dialect_and_typos(kb):
    n = kb.matcher.normalize
    assert n("條件") == n("条件")
    assert n("底保咋个申请") == n("低保怎么申请")
    assert n("屋头没得钱") == n("家里没有钱")
    assert n("伍保户") == n("五保户") == n("特困人员")


def test_traditional_characters_with_opencc(kb):
    n = kb.matcher.normalize
    # Characters the old hand-written table missed.
    assert n("雖然癱瘓了，報銷不了") == n("虽然瘫痪了，报销不了")
    assert n("關於臨時救助") == n("关于临时救助")


def test_pinyin_typed_in_latin_letters(kb):
    n = kb.matcher.normalize
    assert "低保" in n("dibao zenme shenqing")
    assert "特困供养" in n("te kun gong yang")
    assert n("hello") == "hello"  # not pinyin: left alone
    assert kb.matcher.match("yiliao jiuzhu").matches[0].id == "medical-assistance"


@pytest.mark.parametrize(
    ("slip", "word"),
    [("地宝", "低保"), ("住学金", "助学金"), ("零时救助", "临时救助"), ("惨疾人", "残疾人"),
     ("危方改造", "危房改造")],
)  # fmt: skip
def test_homophone_slips_of_policy_words(kb, slip, word):
    n = kb.matcher.normalize
    assert n(slip) == n(word)


def test_words_of_the_knowledge_base_are_not_respelled(kb):
    phonetic = kb.matcher.normalize.phonetic
    # 救助 and 就业 are both in the knowledge base: neither becomes the other.
    assert phonetic.fix("救助就业") == "救助就业"


def test_the_ask_outweighs_the_story(kb):
    story = (
        "我家娃娃在镇上读初中平时住校我男人在外地工地上做活路上个月从脚手架上摔下来"
        "腰杆断了住了二十多天院钱全部花光了现在屋头米都快买不起了想问一下有没有救急的钱"
    )
    r = kb.matcher.match(story)
    assert r.matches[0].id == "temporary-relief", r.matches[:3]
    assert r.decision == "answer"


def test_naming_a_group_does_not_win_over_what_is_asked(kb):
    r = kb.matcher.match("我是残疾人，想找个工作做，有没有公益性岗位")
    assert r.matches[0].id == "employment-assistance", r.matches[:3]


def test_several_needs_make_a_list(kb):
    r = kb.matcher.match("男人没了工作，大女儿读大学交不起学费，我自己又住院，能申请哪些帮助")
    assert r.decision == "multi", (r.decision, r.matches[:3])
    assert 2 <= len(r.listed) <= 3
    assert set(r.listed) <= {m.id for m in r.matches[:3]}


@pytest.mark.parametrize("text", ["喂喂喂", "在不在嘛", "你好呀", "老师好"])
def test_greetings_alone(kb, text):
    intent = kb.matcher.match_intent(text)
    assert intent is not None and intent.action == "greeting"


@pytest.mark.parametrize("question", ["低保真音箱哪个好", "救急不救穷是啥意思", "春节放几天假"])
def test_near_misses_sharing_a_topic_word_fall_back(kb, question):
    assert kb.matcher.match(question).decision == "fallback"


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("低保咋个申请嘛", "dibao"),
        ("五保户一个月有好多钱", "tekun"),
        ("娃娃读书有啥子资助", "student-aid"),
    ],
)
def test_plain_questions_answered(kb, question, topic):
    r = kb.matcher.match(question)
    assert r.matches[0].id == topic
    assert r.decision in ("answer", "clarify")


@pytest.mark.parametrize("question", ["红烧肉咋个做", "欧冠决赛谁赢了", "？？？", "🙂"])
def test_out_of_scope_falls_back(kb, question):
    r = kb.matcher.match(question)
    assert r.decision == "fallback"
    assert len(r.matches) >= 3


def test_intents(kb):
    m = kb.matcher
    assert m.match_intent("谢谢你").action == "thanks"
    assert m.match_intent("你好").action == "greeting"
    assert m.match_intent("找人工").action == "open:channels"
    assert m.match_intent("我要求助").action == "open:help"
    assert m.match_intent("低保咋个申请") is None
    assert m.match_intent("谢" * 100) is None


# -- content checks ----------------------------------------------------------------


@pytest.fixture
def content_copy(tmp_path):
    for name in ("policy_texts", "intents"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def _errors(root):
    _content, report = load_content(root)
    return [str(p) for p in report.errors]


def test_check_reports_bad_intents(content_copy):
    path = content_copy / "intents" / "chat.yml"
    path.write_text(
        "- id: x\n  action: open:nowhere\n  examples: [a]\n- id: y\n  action: thanks\n  examples: [b]\n",
        encoding="utf-8",
    )
    errors = _errors(content_copy)
    assert any(e.startswith("intents/chat.yml:2: unknown reference") for e in errors), errors


def test_check_reports_malformed_yaml_and_bad_settings(content_copy):
    (content_copy / "intents" / "normalize.yml").write_text("stages: [\n", encoding="utf-8")
    (content_copy / "intents" / "matching.yml").write_text("answer_min: lots\n", encoding="utf-8")
    errors = _errors(content_copy)
    assert any(e.startswith("intents/normalize.yml:") and "malformed" in e for e in errors)
    assert any(e.startswith("intents/matching.yml:1: answer_min") for e in errors)


def test_check_reports_question_under_two_topics_after_normalisation(content_copy):
    path = content_copy / "policy_texts" / "tekun.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("questions:\n", "questions:\n  - 低保咋个申请\n", 1), encoding="utf-8"
    )
    dibao = content_copy / "policy_texts" / "dibao.md"
    text = dibao.read_text(encoding="utf-8")
    dibao.write_text(text.replace("questions:\n", "questions:\n  - 低保怎么申请？\n", 1), "utf-8")
    errors = _errors(content_copy)
    assert any("also listed under" in e for e in errors), errors


def test_check_reports_bad_out_of_scope_groups(content_copy):
    path = content_copy / "intents" / "out_of_scope.yml"
    path.write_text(
        "- examples: [股票涨不涨]\n"
        "- id: cooking\n  examples: [回锅肉咋个炒, 低保咋个申请]\n"
        "- id: cooking\n  examples: [蛋炒饭]\n",
        encoding="utf-8",
    )
    errors = _errors(content_copy)
    assert "intents/out_of_scope.yml:1: missing field: id" in errors, errors
    assert any(
        e.startswith("intents/out_of_scope.yml:3:") and "example question of topic 'dibao'" in e
        for e in errors
    ), errors
    assert any(e.startswith("intents/out_of_scope.yml:4: duplicate group id") for e in errors)


def test_out_of_scope_groups_are_never_offered_as_matches(kb):
    topic_ids = set(kb.topics)
    for q in ("股票明天会涨不", "低保咋个申请", "过年回家的车票"):
        r = kb.matcher.match(q)
        assert {m.id for m in r.matches} <= topic_ids
        assert len(r.matches) >= 3


def test_out_of_scope_score_sends_to_fallback():
    from bot.knowledge.matcher import Match, Settings, decide

    ms = [Match("a", "A", 0.7), Match("b", "B", 0.2)]
    settings = Settings(answer_min=0.5, answer_gap=0.1, clarify_min=0.3, oos_weight=1.2)
    assert decide(ms, settings, out_of_scope=0.3) == "answer"
    assert decide(ms, settings, out_of_scope=0.6) == "fallback"
    off = Settings(answer_min=0.5, answer_gap=0.1, clarify_min=0.3, oos_weight=0.0)
    assert decide(ms, off, out_of_scope=0.9) == "answer"


def test_check_reports_bad_situations(content_copy):
    path = content_copy / "intents" / "situations.yml"
    path.write_text(
        "openers: 想问\ntail_chars: 0\ntopics:\n  no-such-topic: [被偷]\n  dibao: [按月]\n",
        encoding="utf-8",
    )
    content, report = load_content(content_copy)
    errors = [str(p) for p in report.errors]
    warnings = [str(p) for p in report.warnings]
    assert any(e.startswith("intents/situations.yml:1: openers") for e in errors), errors
    assert any(e.startswith("intents/situations.yml:2: tail_chars") for e in errors), errors
    assert any(
        w.startswith("intents/situations.yml:4: warning: unknown reference") for w in warnings
    )


def test_missing_situations_file_still_matches(content_copy):
    (content_copy / "intents" / "situations.yml").unlink()
    content, report = load_content(content_copy)
    assert not [p for p in report.errors if str(p).startswith(("intents/", "policy_texts/"))]
    assert content.knowledge.matcher.match("低保咋个申请").matches[0].id == "dibao"


def test_bundled_content_passes_check():
    assert _errors(PROJECT_ROOT) == []


# -- CLI -----------------------------------------------------------------------------


def _sanliang(*args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )


def test_ask_json_one_question():
    out = _sanliang("ask", "--json", "低保咋个申请")
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout.strip())
    assert obj["question"] == "低保咋个申请"
    assert obj["decision"] in ("answer", "clarify", "fallback")
    assert len(obj["matches"]) >= 3
    assert obj["matches"][0]["id"] == "dibao"
    assert set(obj["matches"][0]) == {"id", "title", "score"}


def test_ask_json_reads_stdin_lines():
    out = _sanliang("ask", "--json", stdin="五保户\n\n红烧肉咋个做\n")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["question"] for x in lines] == ["五保户", "红烧肉咋个做"]
    assert lines[1]["decision"] == "fallback" and len(lines[1]["matches"]) >= 3


def test_ask_json_multi_lists_the_needs():
    out = _sanliang(
        "ask", "--json", "男人没了工作，大女儿读大学交不起学费，我自己又住院，能申请哪些帮助"
    )
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout.strip())
    assert obj["decision"] == "multi"
    ids = [m["id"] for m in obj["matches"]]
    assert 2 <= len(obj["needs"]) <= 3 and set(obj["needs"]) <= set(ids)


# -- store -----------------------------------------------------------------------------


async def test_repo_log_feedback_and_gaps(app):
    repo = app.store.knowledge
    t0 = time.time() - 1
    a = await repo.log_question(7, "低保咋个申请", "answer", [("dibao", 0.8)], "dibao")
    b = await repo.log_question(7, "火车票", "fallback", [("dibao", 0.1)])
    assert await repo.set_feedback(a, 7, False)
    assert not await repo.set_feedback(a, 8, True)  # not this user's question
    gaps = await repo.gaps(t0)
    assert {g.token for g in gaps} == {a, b}
    assert {g.question for g in gaps} == {"低保咋个申请", "火车票"}
    assert (await repo.get(a)).feedback == 0
    assert (await repo.stats(t0))["not_helpful"] == 1
    assert await repo.forget_user(7) == 2


# -- dialog -------------------------------------------------------------------------------


def _payloads(chat):
    return chat.payloads()


async def read_details(chat):
    """详细说明, then 接着看 up to the last page of the details."""
    await chat.tap("详细说明")
    for _ in range(10):
        more = [p for p in _payloads(chat) if p.startswith("kb:d:")]
        if not more:
            return
        await chat.press(more[0])
    raise AssertionError("the details never end")


async def test_answer_feedback_and_related(chat, app):
    await chat.send("低保咋个申请嘛")
    assert chat.templates() == ["knowledge/short"]
    text = chat.text()
    assert "最低生活保障" in text and "更新于" in text and len(text) <= 300
    assert chat.labels() == ["详细说明", "我能办吗", "我要求助", "回主菜单"]
    await read_details(chat)
    assert chat.templates() == ["knowledge/details"]
    answer = chat.context()
    assert answer["topic"].id == "dibao" and answer["feedback"]
    assert answer["sources"] and answer["updated"]  # the source and date are shown
    assert fmt_when(answer["updated"], year=True) in chat.text()  # the one date format
    fb = [p for p in _payloads(chat) if p.startswith("kb:f:")]
    assert len(fb) == 2
    assert any(p.startswith("kb:t:") for p in _payloads(chat))
    token = fb[1].split(":")[2]
    assert fb == [f"kb:f:{token}:1", f"kb:f:{token}:0"]
    await chat.choose(f"kb:f:{token}:0")
    assert chat.templates() == ["knowledge/feedback_sorry"]
    record = await app.store.knowledge.get(token)
    assert record.feedback == 0
    gaps = await app.store.knowledge.gaps(0)
    assert [g.question for g in gaps] == ["低保咋个申请嘛"]
    state = await app.store.load_state(chat.user_id)
    assert state["memory"]["unanswered"]["text"] == "低保咋个申请嘛"


async def test_forged_feedback_is_stale(chat, app):
    await chat.send("低保咋个申请嘛")
    before = await app.store.load_state(chat.user_id)
    for payload in (
        "kb:f:AAAAAAAA:1",
        "kb:f:../etc:1",
        "kb:x:1",
        "kb:t:no-such-topic",
        "kb:p::dibao",
    ):
        await chat.press(payload)
        assert chat.templates() == ["core/expired"]
    assert await app.store.load_state(chat.user_id) == before


async def test_other_users_token_is_stale(app):
    from tests.conftest import Chat

    alice, bob = Chat(app, 1), Chat(app, 2)
    await alice.send("低保咋个申请嘛")
    details = next(p for p in _payloads(alice) if p.startswith("kb:d:"))
    await bob.press(details)  # the details page of alice's question
    assert "已过期" in bob.text()
    await read_details(alice)
    payload = next(p for p in _payloads(alice) if p.startswith("kb:f:"))
    await bob.press(payload)
    assert bob.templates() == ["core/expired"]


async def test_fallback_offers_help_and_remembers_question(chat, app):
    await chat.send("红烧肉咋个做")
    assert chat.templates() == ["knowledge/fallback"]
    assert "12345" in chat.text()  # the hotline is always given
    assert "menu:help" in _payloads(chat)
    state = await app.store.load_state(chat.user_id)
    assert state["memory"]["unanswered"]["text"] == "红烧肉咋个做"
    gaps = await app.store.knowledge.gaps(0)
    assert gaps[0].decision == "fallback"


async def test_clarify_then_pick(chat, app):
    matcher = app.content.current.knowledge.matcher
    # Find a question the matcher clarifies, from the topics' own words.
    question = "低保和特困"
    result = matcher.match(question)
    if result.decision != "clarify":
        pytest.skip(f"not a clarify case with the current thresholds: {result.decision}")
    await chat.send(question)
    picks = [p for p in _payloads(chat) if p.startswith("kb:p:")]
    assert 2 <= len(picks) <= 3
    assert any(p.startswith("kb:n:") for p in _payloads(chat))
    assert chat.templates() == ["knowledge/clarify"]
    await chat.press(picks[0])
    await read_details(chat)
    assert chat.templates() == ["knowledge/details"] and chat.context()["feedback"]
    await chat.press(picks[0].replace(picks[0].split(":")[3], "hotlines"))
    assert chat.templates() in (["core/expired"], ["knowledge/short"])
    if chat.templates() == ["knowledge/short"]:
        assert chat.context()["topic"].id == "hotlines"


async def test_several_needs_offer_their_topics_and_the_screening(chat, app):
    await chat.send("男人没了工作，大女儿读大学交不起学费，我自己又住院，能申请哪些帮助")
    assert "好几件" in chat.text()
    payloads = _payloads(chat)
    picks = [p for p in payloads if p.startswith("kb:p:")]
    assert 2 <= len(picks) <= 3
    assert "menu:screen" in payloads and any(p.startswith("kb:n:") for p in payloads)
    await chat.press(picks[0])
    await read_details(chat)
    assert "这个回答有帮助吗" in chat.text()
    await chat.press("menu:screen")
    assert chat.text()


async def test_a_greeting_alone_gets_a_greeting(chat):
    await chat.send("喂喂喂")
    assert "我是" in chat.text() and "三亮助手" in chat.text()
    assert "menu:ask" in _payloads(chat)


async def test_none_of_these(chat, app):
    token = await app.store.knowledge.log_question(
        chat.user_id, "某个问题", "clarify", [("dibao", 0.4), ("tekun", 0.38)]
    )
    await chat.press(f"kb:n:{token}")
    assert chat.templates() == ["knowledge/fallback"] and chat.context()["nothing_fits"]
    assert "12345" in chat.text()
    assert (await app.store.knowledge.get(token)).decision == "none"


async def test_user_text_is_escaped(chat):
    await chat.send("<b>低保</b> 咋个申请 <script>")
    text = chat.text()
    assert "<script>" not in text
    assert "&lt;script&gt;" in text or "script" not in text


async def test_intents_drive_engine(chat):
    await chat.send("谢谢")
    assert chat.templates() == ["knowledge/thanks"]
    await chat.send("你好")
    assert chat.templates() == ["core/menu"] and chat.context()["greeting"]
    assert "menu:ask" in _payloads(chat)
    await chat.send("问政策")
    assert chat.templates() == ["knowledge/ask"]


async def test_menu_ask_and_deep_link(chat):
    await chat.press("menu:ask")
    assert chat.templates() == ["knowledge/ask"]
    await chat.send("/start tekun")
    assert chat.templates() == ["knowledge/short"] and chat.context()["topic"].id == "tekun"
    assert "更新于" in chat.text()
    await chat.send("/start no-such-topic")
    assert chat.templates() == ["core/menu"] and "menu:ask" in _payloads(chat)


async def test_matcher_service_follows_reload(app):
    get = app.engine.services.matcher
    assert get() is app.content.current.knowledge.matcher


async def test_huge_input_is_handled(chat):
    await chat.send("低保" * 4000)
    assert chat.last and len(chat.text()) < 10_000


async def test_questions_logged_at_once_are_all_kept_with_their_own_tokens(app):
    repo = app.store.knowledge
    asked = [(u, f"问题{u}", "answer" if u % 2 else "fallback") for u in range(40)]
    tokens = await asyncio.gather(
        *(
            repo.log_question(u, q, d, [("dibao", 0.5)], "dibao" if u % 2 else None)
            for u, q, d in asked
        )
    )
    assert len(set(tokens)) == len(asked)
    for token, (u, q, d) in zip(tokens, asked, strict=True):
        record = await repo.get(token)
        assert (record.user_id, record.question, record.decision) == (u, q, d)


async def test_a_question_token_already_taken_is_drawn_again(app, monkeypatch):
    repo = app.store.knowledge
    first = await repo.log_question(1, "低保咋个申请", "answer", [("dibao", 0.8)], "dibao")
    drawn = iter([first, "fresh-token1", "fresh-token2", first, "fresh-token3", "fresh-token4"])
    monkeypatch.setattr("bot.store.knowledge.secrets.token_urlsafe", lambda n: next(drawn))
    # Alone: the taken token is skipped. Together: the shared insert fails as a whole
    # and each question is stored on its own with a fresh token.
    alone = await repo.log_question(2, "特困", "fallback", [])
    assert alone == "fresh-token1"
    both = await asyncio.gather(
        repo.log_question(3, "甲", "fallback", []), repo.log_question(4, "乙", "fallback", [])
    )
    assert sorted(both) == ["fresh-token3", "fresh-token4"]
    assert (await repo.get(first)).user_id == 1
    assert {(await repo.get(t)).user_id for t in both} == {3, 4}


async def test_emoji_only_is_not_a_question(app, chat):
    await chat.send("😀👍")
    assert chat.templates() == ["core/unsupported"]
    assert "unanswered" not in ((await app.store.load_state(chat.user_id)) or {}).get("memory", {})
