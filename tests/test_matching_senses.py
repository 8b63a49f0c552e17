"""Matching v2.1 (issue #16): words used in another sense, out-of-scope subjects named where
the message asks, programs named beside the generic topics, the weight of an asking clause
that names nothing, and the n-gram and homophone repairs behind them. Each mechanism is
switched off in a copy of the content to show the test depends on it."""

from __future__ import annotations

import re
import shutil

import pytest

from bot.config import PROJECT_ROOT
from bot.content import load_content


@pytest.fixture(scope="module")
def kb(bundled_content):
    return bundled_content.knowledge  # loaded once per worker; a load with errors fails


def _with_settings(tmp_path, extra: str):
    for name in ("policy_texts", "intents"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    path = tmp_path / "intents" / "matching.yml"
    text = path.read_text(encoding="utf-8")
    for line in extra.splitlines():
        key = line.split(":")[0]
        text = re.sub(rf"(?m)^{key}:.*$", line, text)
        if not re.search(rf"(?m)^{key}:", text):
            text += "\n" + line + "\n"
    path.write_text(text, encoding="utf-8")
    content, report = load_content(tmp_path)
    return content, [str(p) for p in report.errors if p.path.startswith("intents/")]


@pytest.mark.parametrize(
    "question",
    # 走访, 流程, 物价: words of a topic that everyday life uses too (``everyday``).
    [
        "春节是哪一天",
        "电热毯开一晚上费不费电",
        "棉被晒了还是潮",
        "走访客户有什么技巧",
        "给学校捐图书要走啥子流程",
        "物价指数是咋个算出来的",
    ],
)
def test_everyday_words_alone_fall_back(kb, question):
    r = kb.matcher.match(question)
    assert r.decision == "fallback", r.matches[:3]


def test_everyday_words_with_a_word_of_need_are_answered(kb):
    r = kb.matcher.match("过年的补助今年啥时候发")
    assert r.matches[0].id == "holiday-payment"
    assert r.decision == "answer"
    r = kb.matcher.match("冬天没有被子盖，村上能不能发一床")
    assert r.matches[0].id == "winter-visits"
    assert r.decision != "fallback"


def test_a_phrase_of_another_topic_keeps_the_message_in_scope(kb):
    # 电话 alone is an everyday word (hotlines leads on it), but 申诉 is a phrase of
    # appeals that is not: the message asks about help, so it is not sent to fallback.
    r = kb.matcher.match("复核申诉电话是多少")
    assert r.decision != "fallback"
    assert {"appeals", "hotlines"} & {m.id for m in r.matches[:2]}
    assert r.matches[0].features["everyday"] == 0.0


def test_sense_check_is_what_sends_them_to_fallback(tmp_path):
    content, errors = _with_settings(tmp_path, "sense_check: false\nthin_coverage: 0\nscope_min: 0")
    assert not errors
    assert content.knowledge.matcher.match("棉被晒了还是潮").decision != "fallback"


@pytest.mark.parametrize(
    "question", ["公租房楼下的快递柜打不开", "寒潮来了股市会不会跌", "娃娃读书用的书包哪个牌子好"]
)
def test_out_of_scope_subject_where_the_message_asks(kb, question):
    r = kb.matcher.match(question)
    assert r.decision == "fallback", r.matches[:3]


def test_a_full_policy_name_is_not_out_of_scope(kb):
    # 什么意思 is a subject of the writing group, but the message names the policy in full.
    r = kb.matcher.match("低保边缘家庭是什么意思")
    assert r.matches[0].id == "dibao-edge"
    assert r.decision == "answer"


@pytest.mark.parametrize("question", ["危房改造那个施工队的师傅电话", "临时救助这部电影讲的什么"])
def test_a_policy_named_in_full_beside_another_subject_falls_back(kb, question):
    # Only a question of meaning (是什么意思) keeps a policy named in full in scope.
    r = kb.matcher.match(question)
    assert r.decision == "fallback", r.matches[:3]


def test_other_check_is_what_sends_them_to_fallback(tmp_path):
    content, errors = _with_settings(tmp_path, "other_check: false\noos_weight: 0\nscope_min: 0")
    assert not errors
    assert content.knowledge.matcher.match("公租房楼下的快递柜打不开").decision != "fallback"


def test_a_named_program_comes_before_how_to_apply(kb):
    r = kb.matcher.match("医疗救助申请要带些啥子材料")
    assert r.matches[0].id == "medical-assistance", r.matches[:3]
    r = kb.matcher.match("申请救助要带些啥子材料")
    assert r.matches[0].id == "how-to-apply", r.matches[:3]


def test_an_asking_clause_that_names_nothing_leaves_the_story_to_speak(kb):
    story = (
        "前天晚上刮大风把我家房顶的瓦全部掀翻了屋里到处漏水我跟老伴都七十多了自己修不来"
        "我想问问到底该咋办才好"
    )
    r = kb.matcher.match(story)
    best = r.matches[0]
    assert 0 < best.features["ask_share"] < kb.matcher.settings.ask_weight
    assert best.id == "disaster-relief", r.matches[:3]


def test_junction_bigrams_are_not_words(kb):
    cues = kb.matcher.index.cues
    assert "保钱" in cues.junctions("低保钱")
    # A compound the knowledge base has is kept: 低保申请 reaches dibao.
    terms = kb.matcher.index.query_terms(kb.matcher.normalize("低保申请"))
    assert "保申" in terms


def test_a_group_word_inside_a_program_name_is_not_damped(kb):
    cues = kb.matcher.index.cues
    assert "残疾" in cues.group_grams(kb.matcher.normalize("我是残疾人想问问过年的钱"))
    assert "残疾" not in cues.group_grams(kb.matcher.normalize("残疾人补贴一个月好多钱"))


def test_homophone_repair_does_not_break_a_word(kb):
    n = kb.matcher.normalize
    assert "成都" in n("成都地铁几点停")  # 都地 reads like 兜底, but 成都 is a word
    assert n("地宝咋个申请") == n("低保咋个申请")


@pytest.mark.parametrize("text", ["在吗在吗", "喂喂喂", "你好你好"])
def test_a_repeated_greeting_is_a_greeting(kb, text):
    intent = kb.matcher.match_intent(text)
    assert intent is not None and intent.action == "greeting"


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("嗯嗯好的", "thanks"),
        ("好嘞，晓得了", "thanks"),
        ("多谢多谢，帮了大忙了", "thanks"),
        ("在吗？在吗", "greeting"),
        # Examples of one intent run together: 好的 + 晓得了.
        ("好的晓得了，再见", "thanks"),
        ("晓得了谢谢", "thanks"),
    ],
)
def test_a_reply_of_several_clauses_of_one_kind_is_that_intent(kb, text, action):
    intent = kb.matcher.match_intent(text)
    assert intent is not None and intent.action == action


@pytest.mark.parametrize("text", ["你好，我想问低保", "你好，谢谢", "谢谢，低保好多钱"])
def test_a_clause_that_is_not_an_intent_keeps_the_message_a_question(kb, text):
    assert kb.matcher.match_intent(text) is None


def test_a_phrase_said_with_de_inside_is_the_phrase(kb):
    cues = kb.matcher.index.cues
    assert "残疾人的补贴" in cues.scan("残疾人的补贴一个月多少")
    assert cues.named_slots("残疾人的补贴") == cues.named_slots("残疾人补贴") != frozenset()
    # The group word alone (残疾人) used to leave the story's 每月领 to 低保.
    r = kb.matcher.match("那个残疾人的补贴，我屋娃娃是二级，一个月拿得到好多")
    assert r.matches[0].id == "disability-subsidies", r.matches[:3]


STORY = "我男人在工地上摔断了腿包工头不认账，家里现在一点钱都没有了，两个娃还要吃饭，政府能不能先帮我们一把"


def test_a_hardship_told_with_everyday_words_is_not_sent_away(kb, tmp_path):
    # 工地, 包工头: the labour-disputes group scores high on the story; a word of need
    # (政府, 帮) and two phrases of 临时救助 (摔断了腿, 一点钱都没有) keep it in scope.
    r = kb.matcher.match(STORY)
    assert r.decision == "answer" and r.matches[0].id == "temporary-relief", r.matches[:3]
    content, errors = _with_settings(tmp_path, "oos_need_weight: 0")
    assert not errors
    assert content.knowledge.matcher.match(STORY).decision == "fallback"


def test_switches_must_be_true_or_false(tmp_path):
    content, errors = _with_settings(tmp_path, "junctions: 1")
    assert any("junctions: expected true or false" in e for e in errors), errors


def test_generic_topics_must_exist(tmp_path):
    for name in ("policy_texts", "intents"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    path = tmp_path / "intents" / "situations.yml"
    text = path.read_text(encoding="utf-8").replace(
        "generic: [how-to-apply, hotlines]", "generic: [how-to-apply, no-such-topic]"
    )
    path.write_text(text, encoding="utf-8")
    content, report = load_content(tmp_path)
    assert any("unknown reference in generic: 'no-such-topic'" in str(p) for p in report.warnings)
