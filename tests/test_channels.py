"""亮渠道: the channels content part and the channels flow."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest

from bot.cases.channels import CITIES, Office, load
from bot.config import PROJECT_ROOT
from bot.content import Content, Report
from bot.dialog.events import Event, Location

KNOWN_NUMBERS = {"12345", "12356", "12349", "12333", "12351", "110", "119", "120"}


def load_from(root: Path):
    report = Report(root)
    return load(root, report, Content(root)), report


def content_copy(tmp_path: Path) -> Path:
    for rel in (
        "policy_texts/channels.yml",
        "policy_texts/regions.yml",
        "intents/urgent_words.yml",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / rel, tmp_path / rel)
    return tmp_path


def test_bundled_channels_load_cleanly():
    channels, report = load_from(PROJECT_ROOT)
    assert report.errors == []
    assert list(channels.regions) == list(CITIES)
    assert len(channels.regions) == 21
    assert sum(len(d) for d in channels.regions.values()) == 183
    assert "武侯区" in channels.regions["成都市"] and "西昌市" in channels.regions["凉山彝族自治州"]
    ids = [c.id for c in channels.general]
    assert ids == ["12345", "12356", "12349", "12333", "12351", "one-window", "committee"]
    assert {c.phone for c in channels.general if c.phone} == {
        "12345", "12356", "12349", "12333", "12351"
    }  # fmt: skip
    # Medium-confidence entries are flagged for an administrator.
    warned = {p.line for p in report.warnings if p.path.endswith("channels.yml")}
    assert len(warned) == 3
    assert channels.targets.days("housing", urgent=False) == 3
    assert channels.targets.days("housing", urgent=True) == 1
    assert channels.urgent_hits("家里 断 电了，没得吃") == ["没得吃", "断电"]


@pytest.mark.parametrize(
    ("path", "old", "new", "message"),
    [
        ("policy_texts/regions.yml", "资阳市:", "资阳:", "unknown 市州 '资阳'"),
        (
            "policy_texts/regions.yml",
            "[雁江区, 安岳县, 乐至县]",
            "[雁江区, 雁江区]",
            "duplicate 区县",
        ),
        (
            "policy_texts/channels.yml",
            "  urgent_hours: 24",
            "  urgent_hours: zero",
            "targets.urgent_hours",
        ),
        ("policy_texts/channels.yml", "    living: 3", "    food: 3", "unknown category 'food'"),
        ("policy_texts/channels.yml", 'phone: "12333"', 'phone: "123-x"', "is not a number"),
        ("policy_texts/channels.yml", "confidence: H", "confidence: X", "confidence must be"),
        ("policy_texts/channels.yml", "offices: []", "offices: [[", "malformed YAML"),
        (
            "policy_texts/channels.yml",
            "offices: []",
            "offices:\n  - {name: 某窗口, city: 成都市, district: 西昌市, source: 公告}",
            "is not in 成都市",
        ),
        (
            "policy_texts/channels.yml",
            "offices: []",
            "offices:\n  - {name: 某窗口, city: 成都市, phone: '1234', source: 公告}",
            "not a mainland number",
        ),
        (
            "policy_texts/channels.yml",
            "offices: []",
            "offices:\n  - {name: 某窗口, city: 成都市, lat: 30.6, source: 公告}",
            "both lat and lon",
        ),
        ("intents/urgent_words.yml", "  - 断粮", "  - 断电", "duplicate urgent word"),
    ],
)
def test_malformed_files_are_reported_with_lines(tmp_path, path, old, new, message):
    root = content_copy(tmp_path)
    file = root / path
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")
    _channels, report = load_from(root)
    hits = [p for p in report.errors if message in p.message]
    assert hits, [str(p) for p in report.problems]
    assert hits[0].path == path and hits[0].line >= 1


def test_missing_city_is_an_error(tmp_path):
    root = content_copy(tmp_path)
    file = root / "policy_texts/regions.yml"
    lines = [x for x in file.read_text(encoding="utf-8").splitlines() if not x.startswith("雅安市")]
    file.write_text("\n".join(lines), encoding="utf-8")
    _channels, report = load_from(root)
    assert any("missing 市州 '雅安市'" in p.message for p in report.errors)


def test_offices_with_phone_and_coordinates_load(tmp_path):
    root = content_copy(tmp_path)
    file = root / "policy_texts/channels.yml"
    text = file.read_text(encoding="utf-8").replace(
        "offices: []",
        "offices:\n"
        "  - {name: 甲窗口, city: 成都市, district: 武侯区, phone: '028 8555 1234',"
        " lat: 30.64, lon: 104.04, source: 测试, confidence: H}\n"
        "  - {name: 乙窗口, city: 雅安市, lat: 29.98, lon: 103.0, source: 测试, confidence: H}\n",
    )
    file.write_text(text, encoding="utf-8")
    channels, report = load_from(root)
    assert report.errors == []
    assert channels.offices[0].phone == "028-85551234"
    office, km = channels.nearest(30.66, 104.06)
    assert office.name == "甲窗口" and km < 5
    assert channels.nearest(30.0, 103.0)[0].name == "乙窗口"
    assert [o.name for o in channels.offices_in("成都市", "金牛区")] == []
    assert [o.name for o in channels.offices_in("成都市", "武侯区")] == ["甲窗口"]


def numbers_in(text: str) -> set[str]:
    return set(re.findall(r"\d{3,}", text))


async def test_channels_flow_general_list(app, chat):
    await chat.press("menu:channels")
    text = chat.text()
    for number in ("12345", "12356", "12349", "12333", "12351"):
        assert number in text
    assert "一门受理" in text and "村委会或居委会" in text
    assert numbers_in(text) <= KNOWN_NUMBERS  # no invented phone numbers
    assert chat.last[-1].request_location
    assert await app.store.load_state(chat.user_id) is None  # the flow keeps no state


async def test_channels_by_region_without_local_data(app, chat):
    await chat.press("menu:channels")
    await chat.choose("ch:cities")
    assert chat.templates() == ["cases/channels_cities"]
    # 市州 by 片区: 成都市 directly, the others two taps away (at most 8 buttons)
    assert len([p for p in chat.payloads() if p.startswith("ch:g:")]) == 4
    assert "ch:c:成都市" in chat.payloads()
    await chat.tap("攀西和川西北")
    await chat.tap("甘孜州")
    text = chat.text()
    assert chat.templates() == ["cases/channels_city"]
    assert chat.context()["city"] == "甘孜藏族自治州" and chat.context()["offices"] == []
    assert "12345" in text  # where no local office is known, the hotline always is
    assert numbers_in(text) <= KNOWN_NUMBERS


async def test_location_without_coordinates_is_answered_kindly(app, chat):
    replies = await app.engine.handle(
        Event(user_id=chat.user_id, chat_id=chat.user_id, location=Location(30.66, 104.06))
    )
    text = "\n".join(r.text for r in replies)
    assert [r.template for r in replies] == ["cases/channels_no_position"]
    assert "12345" in text


async def test_location_picks_nearest_office(app, chat):
    channels = app.content.current.channels
    offices = [
        Office(
            "甲窗口", "成都市", "武侯区", phone="028-85551234", lat=30.64, lon=104.04, source="t"
        ),
        Office("乙窗口", "雅安市", lat=29.98, lon=103.0, source="t"),
        Office("丙窗口", "成都市", source="t"),
    ]
    app.content.current.parts["channels"] = dataclasses.replace(channels, offices=offices)
    replies = await app.engine.handle(
        Event(user_id=chat.user_id, chat_id=chat.user_id, location=Location(29.99, 103.01))
    )
    text = "\n".join(r.text for r in replies)
    assert "乙窗口" in text and "甲窗口" not in text
    assert "请问村委会或居委会" in text  # 乙 has no phone
    await chat.press("ch:c:成都市")
    assert "甲窗口" in chat.text() and "028-85551234" in chat.text() and "丙窗口" in chat.text()


async def test_forged_channel_payloads(app, chat):
    for forged in ("ch:c:北京市", "ch:home:x", "ch:cities:1", "ch:"):
        await chat.press(forged)
        assert chat.templates() == ["core/expired"]
