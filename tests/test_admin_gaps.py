"""The gap report: grouping phrasings of one need, counts and dates, the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from bot.admin.gaps import GapItem, group_gaps, similar
from bot.calendar import CHINA_TZ
from bot.cli import main
from bot.store import Store


@pytest.fixture(scope="module")
def normalize(bundled_content):
    return bundled_content.knowledge.normalize  # loaded once per worker


def ts(day: str, hour: int = 12) -> float:
    return dt.datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=CHINA_TZ).timestamp()


def test_phrasings_of_one_need_sit_together_and_others_apart(normalize) -> None:
    items = [
        GapItem("家里揭不开锅了咋整", "fallback", ts("2026-03-01"), ("temporary-relief",)),
        GapItem(
            "屋头揭不开锅了咋个办", "fallback", ts("2026-03-05"), ("temporary-relief", "dibao")
        ),
        GapItem("家里揭不开锅了咋整", "unhelpful", ts("2026-03-02"), ("dibao",)),
        GapItem("火车票怎么买", "fallback", ts("2026-03-03")),
        GapItem("火车票咋个买？", "fallback", ts("2026-03-04")),
        GapItem("飞机票怎么买", "fallback", ts("2026-03-04")),
        GapItem("低保怎么申请", "unhelpful", ts("2026-02-01"), ("dibao",)),
        GapItem("咋个申请低保", "unhelpful", ts("2026-02-02"), ("dibao",)),
        GapItem("特困怎么申请", "fallback", ts("2026-02-03"), ("tekun",)),
        GapItem("   ", "fallback", ts("2026-02-03")),
    ]
    groups = group_gaps(items, normalize)
    by_rep = {g.representative: g for g in groups}
    pot = by_rep["家里揭不开锅了咋整"]
    assert pot.count == 3 and pot.fallback == 2 and pot.unhelpful == 1
    assert set(pot.phrasings) == {"家里揭不开锅了咋整", "屋头揭不开锅了咋个办"}
    assert pot.to_json()["first"] == "2026-03-01" and pot.to_json()["last"] == "2026-03-05"
    assert pot.candidates[0] == "temporary-relief"
    assert by_rep["火车票怎么买"].count == 2  # 火车票咋个买 joins, 飞机票 does not
    assert by_rep["飞机票怎么买"].count == 1
    dibao = next(g for g in groups if "低保怎么申请" in g.phrasings)
    assert "咋个申请低保" in dibao.phrasings and dibao.unhelpful == 2
    assert by_rep["特困怎么申请"].count == 1
    assert sum(g.count for g in groups) == 9  # the blank one is left out
    assert groups[0] is pot  # biggest first


def test_similarity_thresholds_on_raw_texts() -> None:
    assert similar("养老金时候发", "养老金时候到账")
    assert similar("申低保", "低保申")
    assert not similar("低保申", "特困申")
    assert not similar("医保", "低保")  # too short for anything but equality


def test_grouping_is_stable_for_many_items(normalize) -> None:
    items = [GapItem(f"问题{i % 7}号怎么办", "fallback", ts("2026-01-01") + i) for i in range(700)]
    groups = group_gaps(items, normalize)
    assert sum(g.count for g in groups) == 700


async def _log_questions(db: str) -> None:
    store = await Store.open(db)
    try:
        kb = store.knowledge
        now = dt.datetime.now(CHINA_TZ).timestamp()
        await kb.log_question(
            7, "家里揭不开锅了咋整", "fallback", [("temporary-relief", 0.2)], at=now - 3600
        )
        await kb.log_question(
            8, "屋头揭不开锅了咋个办", "fallback", [("social-work-care", 0.1)], at=now - 60
        )
        token = await kb.log_question(
            9, "低保怎么申请", "answer", [("dibao", 0.9)], "dibao", at=now
        )
        await kb.set_feedback(token, 9, helpful=False)
        await kb.log_question(9, "低保一个月多少钱", "answer", [("dibao", 0.9)], "dibao", at=now)
        await kb.log_question(9, "很久以前", "fallback", [], at=now - 90 * 86400)
    finally:
        await store.close()


def test_cli_gaps_json_groups_logged_questions(tmp_path, capsys) -> None:
    db = str(tmp_path / "gaps.db")
    asyncio.run(_log_questions(db))
    since = (dt.datetime.now(CHINA_TZ).date() - dt.timedelta(days=10)).isoformat()
    assert main(["gaps", "--db", db, "--since", since, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["since"] == since
    reps = {g["representative"]: g for g in out["groups"]}
    assert set(reps) == {"家里揭不开锅了咋整", "低保怎么申请"} or set(reps) == {
        "屋头揭不开锅了咋个办",
        "低保怎么申请",
    }
    pot = next(g for g in out["groups"] if g["count"] == 2)
    assert pot["fallback"] == 2 and pot["unhelpful"] == 0
    assert reps["低保怎么申请"]["unhelpful"] == 1
    # The plain listing, all of the time.
    assert main(["gaps", "--db", db, "--since", "2000-01-01"]) == 0
    text = capsys.readouterr().out
    assert "3 group(s), 4 question(s)" in text and "很久以前" in text
