"""``sanliang db copy``: a SQLite deployment moved to PostgreSQL, every count checked."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from bot.config import PROJECT_ROOT
from bot.dialog.events import Reply
from bot.domain.cases import NewCase
from bot.store import Store
from bot.store.copy import copy_database
from bot.store.outbox import Outgoing

TELEGRAM_ID = 6_543_210_987  # above 2^31


def request(n: int) -> NewCase:
    return NewCase(
        draft_id=f"copy{n:04d}",
        user_id=TELEGRAM_ID + n,
        category="living",
        region_city="成都市",
        region_district="武侯区",
        description=f"家里有困难{n}",
        phone="13800138000",
        contact_time="am",
        target_days=3,
    )


def db_copy(source: str, target: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "db", "copy", "--from", source, "--to", target],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def fill(path: str) -> tuple[int, int]:
    store = await Store.open(path)
    try:
        for n in range(30):
            case, _ = await store.cases.create(request(n), now=1_780_000_000.5 + n)
            await store.cases.add_message(case.id, "resident", case.user_id, f"补充{n}")
            await store.cases.change_status(case.id, "claimed", "staff", 42, expect_from=["new"])
        web_user = await store.identities.resolve("web", "device-abc")
        await store.identities.resolve("telegram", str(TELEGRAM_ID))
        await store.save_turn(TELEGRAM_ID, {"flow": "help", "data": {"a": "低保"}}, update_id=77)
        await store.admin.subscribe(TELEGRAM_ID, TELEGRAM_ID, "成都市")
        # Main's migrations 0011 (areas, card edits) and 0012 (supervision).
        await store.execute(
            "UPDATE cases SET area_township = ?, from_city = ?, transferred_by = ? WHERE id = ?",
            ("玉林街道", "成都市", 42, case.id),
        )
        await store.outbox.enqueue([Outgoing(Reply("卡片"), "case_post", -100, case_id=case.id)])
        (posted,) = await store.outbox.cards(case.id)
        await store.outbox.enqueue(
            [Outgoing(Reply("卡片改"), "card_edit", -100, case_id=case.id, edit_of=posted.id)]
        )
        await store.supervision.set_lead(42, True, by=1)
        await store.supervision.open_request(case.id, "extend", 42, "等材料", days=2)
        await store.supervision.add_contact(case.id, 42, "reached", at=1_780_000_100.0)
        return web_user, await store.cases.count()
    finally:
        await store.close()


async def test_sqlite_to_postgres_keeps_every_row_and_numbering(tmp_path, pg_url):
    source = str(tmp_path / "old.db")
    web_user, cases = await fill(source)
    lines: list[str] = []
    result = await copy_database(source, pg_url, say=lines.append)
    assert result.ok and result.rows > 90
    counted = {name: (a, b) for name, a, b in result.tables}
    assert counted["cases"] == (cases, cases)
    assert counted["case_history"] == (60, 60)
    assert "schema_version" not in counted
    assert len(lines) == len(result.tables)

    store = await Store.open(pg_url)
    try:
        assert await store.load_state(TELEGRAM_ID) == {"flow": "help", "data": {"a": "低保"}}
        assert await store.update_seen(77)
        mine = await store.cases.for_user(TELEGRAM_ID + 3)
        assert [c.description for c in mine] == ["家里有困难3"]
        assert await store.identities.resolve("web", "device-abc") == web_user
        # New rows are numbered after the copied ones, web ids stay above 10^16.
        case, created = await store.cases.create(request(99))
        assert created and case.id == cases + 1
        other = await store.identities.resolve("web", "device-new")
        assert other > web_user > 10**16
        last = await store.workflow.get(cases)
        assert (last.area_township, last.from_city, last.transferred_by) == (
            "玉林街道",
            "成都市",
            42,
        )
        (posted,) = await store.outbox.cards(cases)
        (edit,) = await store.outbox.messages(kind="card_edit")
        assert edit.edit_of == posted.id and not await store.outbox.superseded(edit.id, posted.id)
        assert counted["staff_leads"] == (1, 1)
        (asked,) = await store.supervision.pending(cases)
        assert (asked.kind, asked.reason, asked.days) == ("extend", "等材料", 2)
        (called,) = await store.supervision.contacts(cases)
        assert called.outcome == "reached"
        # Their ids continue after the copied ones too.
        check = await store.supervision.open_request(cases, "invalid", 42, "核实")
        assert check is not None and check.id == asked.id + 1
        again = await store.supervision.add_contact(cases, 42, "no_answer", at=1_780_000_200.0)
        assert again.id == called.id + 1
    finally:
        await store.close()

    # A second copy into the now filled target is refused, and changes nothing.
    again = await asyncio.to_thread(db_copy, source, pg_url)
    assert again.returncode == 1
    assert "not empty" in again.stderr


async def test_the_command_copies_and_reports(tmp_path, pg_url):
    source = str(tmp_path / "old.db")
    await fill(source)
    done = await asyncio.to_thread(db_copy, source, pg_url)
    assert done.returncode == 0, done.stderr
    assert "every count matches" in done.stdout
    assert "cases: 30 → 30" in done.stdout
    # Back again, PostgreSQL to a new SQLite file: the same counts.
    back = str(tmp_path / "back.db")
    result = await copy_database(pg_url, back)
    assert result.ok and dict((t, a) for t, a, _ in result.tables)["cases"] == 30
