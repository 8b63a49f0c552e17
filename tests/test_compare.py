"""Questions that ask how programs differ (低保和特困有什么区别) get the programs they name as
a short list to compare, in the matcher, in `sanliang ask --json` and in the chat; one
program named, or no program at all, is not a comparison."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from bot.config import PROJECT_ROOT
from bot.content import load_content


@pytest.fixture(scope="module")
def kb(bundled_content):
    return bundled_content.knowledge


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("低保和特困有什么区别", {"dibao", "tekun"}),
        ("临时救助跟低保有啥子不一样", {"temporary-relief", "dibao"}),
        ("低保边缘和低保有什么不同", {"dibao-edge", "dibao"}),
        ("五保和低保是不是一回事", {"tekun", "dibao"}),
    ],
)
def test_two_programs_and_a_word_of_difference_are_compared(kb, question, named):
    r = kb.matcher.match(question)
    assert r.decision == "multi" and r.compare, (r.decision, r.matches[:3])
    assert set(r.listed) == named


@pytest.mark.parametrize(
    "question",
    [
        "残疾人两项补贴有什么不同",  # one program: its answer says what the two are
        "低保是什么",
        "低保咋个申请",
    ],
)
def test_one_program_is_answered(kb, question):
    r = kb.matcher.match(question)
    assert r.decision == "answer" and not r.compare, r.matches[:3]


def test_no_program_is_not_a_comparison(kb):
    r = kb.matcher.match("苹果和香蕉有什么区别")
    assert r.decision == "fallback" and not r.compare


def test_switched_off_it_answers_one_program(tmp_path):
    for name in ("policy_texts", "intents"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    path = tmp_path / "intents" / "matching.yml"
    path.write_text(
        re.sub(r"(?m)^compare_plain:.*$", "compare_plain: 0", path.read_text("utf-8")), "utf-8"
    )
    content, _report = load_content(tmp_path)
    r = content.knowledge.matcher.match("低保和特困有什么区别")
    assert r.decision != "multi" and not r.compare


def test_ask_json_says_compare():
    out = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "低保和特困有什么区别"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout.strip())
    assert obj["decision"] == "multi" and obj["compare"] is True
    assert set(obj["needs"]) == {"dibao", "tekun"}
    assert set(obj["needs"]) <= {m["id"] for m in obj["matches"]}


async def test_compare_in_the_chat_lists_both_and_opens_one(chat, app):
    await chat.send("低保和特困有什么区别")
    assert chat.templates() == ["knowledge/multi"]
    assert chat.context()["compare"] is True
    assert "比一比" in chat.text()
    picks = [p for p in chat.payloads() if p.startswith("kb:p:")]
    assert {p.rsplit(":", 1)[1] for p in picks} == {"dibao", "tekun"}
    assert "menu:screen" in chat.payloads()
    tekun = next(p for p in picks if p.endswith(":tekun"))
    await chat.press(tekun)
    assert "特困" in chat.text()


async def test_several_needs_in_the_chat_are_not_a_comparison(chat):
    await chat.send("男人没了工作，大女儿读大学交不起学费，我自己又住院，能申请哪些帮助")
    assert chat.templates() == ["knowledge/multi"]
    assert chat.context()["compare"] is False
    assert "好几件难处" in chat.text()
