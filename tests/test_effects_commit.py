"""#12 leftovers: what a turn causes is not lost when the process dies between the
change's commit and the turn's own save (the crash runs measure the same with a real
SIGKILL: bench/crash.py), and the project's YAML loader is used for every file read."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.content import load_content
from bot.dialog.events import Event
from bot.knowledge.content import place_names
from tests.conftest import Chat
from tests.staff_support import (
    CHAT_WUHOU,
    RESIDENT,
    WUHOU_A,
    add_worker,
    delivered,
    new_case,
    open_staff_app,
    press,
    send,
)
from tests.test_cases_flow import REF, confirm_payload, count, fill

pytestmark = pytest.mark.both_backends

ALIAS = "region: &r 成都市\nhousehold_size: 1\nother: *r\n"


class Killed(Exception):
    """The process dies after the change committed, before the turn was saved."""


def die_before_the_turn_is_saved(app, monkeypatch) -> None:
    async def killed(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(app.store, "save_turn_json", killed)


@pytest.fixture
async def sapp(tmp_path, db_path):
    app, _clock = await open_staff_app(tmp_path, db=db_path)
    app.engine.services.staff.queue_notices = True  # as sanliang run sets it
    await add_worker(app, WUHOU_A, "成都市/武侯区", "张三")
    try:
        yield app
    finally:
        await app.close()


async def test_a_confirm_delivered_again_after_a_crash_gets_its_reference(sapp, monkeypatch):
    chat = Chat(sapp, RESIDENT)
    await fill(chat)
    event = Event(user_id=RESIDENT, chat_id=RESIDENT, payload=confirm_payload(chat), update_id=41)
    with monkeypatch.context() as m:
        die_before_the_turn_is_saved(sapp, m)
        with pytest.raises(Killed):
            await sapp.engine.handle(event)
    assert await count(sapp, "cases") == 1  # the request committed, the turn did not
    again = await sapp.engine.handle(event)  # Telegram delivers the update again
    (case,) = await sapp.store.workflow.select()
    assert [r.template for r in again] == ["cases/submitted"]
    assert REF.findall(again[0].text) == [case.ref]
    assert await count(sapp, "cases") == 1
    # Posted to the area's staff chat once, and the form is left: an old 确认 button
    # now says it was filed already.
    posts = [r for r in await delivered(sapp) if r.chat_id == CHAT_WUHOU]
    assert [r.template for r in posts] == ["staff/new_case"]
    await chat.press(event.payload or "")
    assert chat.templates() == ["cases/already"] and case.ref in chat.text()


async def test_a_staff_actions_notice_commits_with_the_change(sapp, monkeypatch):
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await press(sapp, WUHOU_A, f"st:res:{case.id}")
    await send(sapp, WUHOU_A, "已送去米面油和棉被")
    with monkeypatch.context() as m:
        die_before_the_turn_is_saved(sapp, m)
        with pytest.raises(Killed):
            await sapp.engine.handle(
                Event(user_id=WUHOU_A, chat_id=WUHOU_A, payload=f"st:send:{case.id}")
            )
    assert (await sapp.store.workflow.get(case.id)).status == "resolved"
    # The turn is lost, the resident's notice is not: it was queued with the change.
    told = [r for r in await delivered(sapp) if r.chat_id == RESIDENT]
    assert [r.template for r in told] == ["staff/resident"]
    assert told[0].text.context["kind"] == "resolved"
    assert f"rv:r:{case.id}:s" in told[0].payloads()


def test_screen_answers_refuse_anchors_and_aliases(tmp_path, capsys):
    path = tmp_path / "a.yml"
    path.write_text(ALIAS, encoding="utf-8")
    assert main(["screen", "--answers", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "anchors and aliases" in err


def test_a_label_file_with_an_alias_is_an_error(tmp_path):
    import shutil

    from bot.config import PROJECT_ROOT

    for folder in ("policy_texts", "intents", "templates"):
        shutil.copytree(PROJECT_ROOT / folder, tmp_path / folder)
    labels = tmp_path / "templates/zh-CN/labels/cases.yml"
    labels.write_text(
        labels.read_text(encoding="utf-8") + "x.one: &t 是\nx.two: *t\n", encoding="utf-8"
    )
    _content, report = load_content(tmp_path)
    assert any(
        "anchors and aliases" in p.message and p.path.endswith("cases.yml") for p in report.errors
    ), [str(p) for p in report.errors]
    # regions.yml as the matcher reads its place names: refused, not expanded.
    regions = tmp_path / "policy_texts/regions.yml"
    regions.write_text("成都市: &d [武侯区]\n自贡市: *d\n", encoding="utf-8")
    assert place_names(tmp_path) == []
