"""#13 point 7: after a worker writes, the resident's next texts go to the case (and
can be taken back); a resolved request is rated from 我的求助进度."""

from __future__ import annotations

import pytest

from tests.staff_support import (
    RESIDENT,
    WUHOU_A,
    add_worker,
    delivered,
    new_case,
    open_staff_app,
    press,
    said,
    send,
    text_to,
    write,
)

pytestmark = pytest.mark.both_backends

REPLY = "您好，我们明天上午上门看看。"
ANSWER = "好的谢谢，我明天上午都在家"


@pytest.fixture
async def sapp(tmp_path, db_path):
    app, _clock = await open_staff_app(tmp_path, db=db_path)
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    try:
        yield app
    finally:
        await app.close()


async def gaps(app) -> int:
    return int(await app.store.fetchval("SELECT COUNT(*) FROM kb_questions"))


async def replied_case(app):
    case, _ = await new_case(app)
    await press(app, WUHOU_A, f"st:claim:{case.id}")
    await write(app, WUHOU_A, case.id, "reply", REPLY)
    await delivered(app)
    return case


async def test_the_residents_answer_reaches_the_worker(sapp):
    case = await replied_case(sapp)
    before = await gaps(sapp)
    replies = await send(sapp, RESIDENT, ANSWER)
    assert said(replies) == ["cases/forwarded"]
    assert case.ref in text_to(replies, None)
    # The worker gets it privately, with the text.
    assert ANSWER in text_to(replies, WUHOU_A)
    messages = await sapp.store.cases.messages(case.id)
    assert [(m.author_kind, m.body) for m in messages][-1] == ("resident", ANSWER)
    assert await gaps(sapp) == before  # not a policy question, not a gap


async def test_taking_it_back_answers_it_as_a_question_and_stops_forwarding(sapp):
    case = await replied_case(sapp)
    replies = await send(sapp, RESIDENT, "低保咋个申请")
    undo = [p for r in replies for p in r.payloads() if p.startswith("pg:u:")]
    assert len(undo) == 1
    replies = await press(sapp, RESIDENT, undo[0])
    templates = said(replies)
    assert templates[0] == "cases/taken_back" and len(templates) >= 2  # then the answer
    messages = await sapp.store.cases.messages(case.id)
    assert messages[-1].author_kind == "resident" and messages[-1].body is None
    # Pressed again: nothing left to take back.
    assert said(await press(sapp, RESIDENT, undo[0])) == ["core/expired"]
    # The next text is a question again, until the worker writes again.
    assert said(await send(sapp, RESIDENT, "特困怎么申请")) != ["cases/forwarded"]
    await write(sapp, WUHOU_A, case.id, "reply", "还有别的困难吗？")
    await delivered(sapp)
    assert said(await send(sapp, RESIDENT, "没有了，谢谢")) == ["cases/forwarded"]


async def test_an_emergency_is_still_triaged_first(sapp):
    await replied_case(sapp)
    replies = await send(sapp, RESIDENT, "救命 屋头着火了")
    assert said(replies) == ["safety/alert"]


async def test_nothing_is_forwarded_without_a_worker_message_or_after_resolving(sapp):
    case, _ = await new_case(sapp)
    assert said(await send(sapp, RESIDENT, ANSWER)) != ["cases/forwarded"]
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await write(sapp, WUHOU_A, case.id, "reply", REPLY)
    await write(sapp, WUHOU_A, case.id, "res", "已送去棉被")
    await delivered(sapp)
    assert said(await send(sapp, RESIDENT, ANSWER)) != ["cases/forwarded"]


async def test_a_resolved_request_is_rated_from_progress_and_unsatisfied_reopens(sapp):
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await write(sapp, WUHOU_A, case.id, "res", "已送去棉被")
    await delivered(sapp)
    replies = await press(sapp, RESIDENT, f"pg:v:{case.id}")
    buttons = [p for r in replies for p in r.payloads()]
    assert {f"rv:r:{case.id}:s", f"rv:r:{case.id}:b", f"rv:r:{case.id}:u"} <= set(buttons)
    assert replies[0].text.context["rate"]
    await press(sapp, RESIDENT, f"rv:r:{case.id}:u")
    await send(sapp, RESIDENT, "棉被太薄了")
    fresh = await sapp.store.workflow.get(case.id)
    assert fresh.rating == "unsatisfied" and fresh.rating_comment == "棉被太薄了"
    assert fresh.is_open  # 不满意 reopens it
    replies = await press(sapp, RESIDENT, f"pg:v:{case.id}")
    assert not any(p.startswith("rv:") for r in replies for p in r.payloads())
