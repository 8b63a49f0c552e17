"""Retention as promised, checked on the disk: after /forget and after the daily
purge, neither the database file nor its WAL holds any of the erased values."""

from __future__ import annotations

import time
from pathlib import Path

from bot.staff.jobs import IDLE_FORM_DAYS, run_maintenance
from tests.conftest import Chat
from tests.staff_support import RESIDENT, WUHOU_A, add_worker, press, send
from tests.test_privacy import (
    R_COMMENT,
    R_DESC,
    R_MESSAGE,
    R_PHONE,
    R_QUESTION,
    R_TOWN,
    R_VILLAGE,
    W_NOTE,
    W_REPLY,
    file_request,
    fill_form,
    sapp,  # noqa: F401 - the staff app fixture
)

# SQLite only: these read the database file and its WAL (PRAGMA secure_delete). What
# /forget erases is checked on both backends, through SQL, by tests/test_privacy.py
# (test_forget_leaves_nothing_personal_in_any_table).

PAGE_SECRETS = [R_PHONE, R_TOWN, R_VILLAGE, R_DESC, R_MESSAGE, R_COMMENT, R_QUESTION, W_REPLY]


def on_disk(db_path: str) -> bytes:
    """The database file and its WAL, as bytes (what someone with the disk could read)."""
    data = Path(db_path).read_bytes()
    wal = Path(db_path + "-wal")
    if wal.exists():
        data += wal.read_bytes()
    return data


def found(data: bytes, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s.encode("utf-8") in data]


async def test_secure_delete_is_set_by_the_store(sapp):  # noqa: F811
    row = await sapp.store.fetchone("PRAGMA secure_delete")
    assert row[0] == 1


async def test_forget_leaves_no_erased_value_in_the_file_or_the_wal(sapp):  # noqa: F811
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    resident = Chat(sapp, user_id=RESIDENT)
    await resident.send(R_QUESTION)
    ref = await file_request(sapp, RESIDENT)
    case = await sapp.store.cases.get_by_ref(ref)
    await resident.press(f"pg:m:{case.id}")
    await resident.send(R_MESSAGE)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    for action, text in (("reply", W_REPLY), ("note", W_NOTE)):
        await press(sapp, WUHOU_A, f"st:{action}:{case.id}")
        await send(sapp, WUHOU_A, text)
    await press(sapp, WUHOU_A, f"st:res:{case.id}")
    await send(sapp, WUHOU_A, "已处理")
    await resident.press(f"rv:r:{case.id}:b")
    await resident.send(R_COMMENT)
    # A form half filled again, with the same street and phone in the conversation state.
    await fill_form(sapp, RESIDENT, "第二次填写的困难ZXQ9", R_PHONE)
    secrets = [*PAGE_SECRETS, W_NOTE, "ZXQ9"]
    assert found(on_disk(sapp.store.path), secrets) == secrets  # the test data is on disk

    await resident.send("/forget")
    await resident.tap("确定删除")
    assert "已经删除" in resident.text()
    assert found(on_disk(sapp.store.path), secrets) == []
    # And it stays gone after more turns write to the WAL again.
    await resident.send("/start")
    assert found(on_disk(sapp.store.path), secrets) == []


async def test_daily_purge_erases_idle_forms_and_old_questions(sapp):  # noqa: F811
    stays = Chat(sapp, user_id=RESIDENT + 1)
    idle = await fill_form(sapp, RESIDENT, "没人管的半张表ZXQ7", "13800001111")
    await idle.send("/start")  # leaves the form; the question below is logged
    await idle.send("我想问问残疾人补贴QQW怎么办")
    await fill_form(sapp, RESIDENT, "没填完的困难ZXQ8", "13800002222")
    secrets = ["ZXQ8", "13800002222", "QQW"]
    assert found(on_disk(sapp.store.path), secrets) == secrets
    svc = sapp.engine.services.staff
    now = time.time()

    # Not yet idle long enough: nothing goes.
    await run_maintenance(svc, None, lambda: now + (IDLE_FORM_DAYS - 1) * 86400)
    assert await sapp.store.load_state(RESIDENT) is not None

    # After the idle limit the half-filled form is gone (the resident starts over);
    # the question log waits for the retention period.
    await stays.press("menu:help")  # someone with a form open lately
    later = now + (IDLE_FORM_DAYS + 1) * 86400
    await sapp.store.execute(
        "UPDATE conversations SET updated_at = ? WHERE user_id = ?", (later, RESIDENT + 1)
    )
    await run_maintenance(svc, None, lambda: later)
    assert await sapp.store.load_state(RESIDENT) is None
    assert await sapp.store.load_state(RESIDENT + 1) is not None  # active: kept
    assert found(on_disk(sapp.store.path), ["ZXQ8", "13800002222"]) == []
    assert found(on_disk(sapp.store.path), ["QQW"]) == ["QQW"]
    await idle.press("menu:help")
    assert idle.templates() == ["cases/ask_whom"]  # an unfinished form simply starts over

    await run_maintenance(svc, None, lambda: now + (svc.settings.retention_days + 1) * 86400)
    assert found(on_disk(sapp.store.path), secrets) == []
    rows = await sapp.store.fetchall("SELECT * FROM kb_questions")
    assert rows == []
