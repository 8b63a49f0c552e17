"""Roles, invites, forged staff buttons, concurrent claims, staff commands."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.dialog.events import Event
from tests.staff_support import (
    ADMIN,
    CHAT_WUHOU,
    JINJIANG,
    MASKED,
    PHONE,
    RESIDENT,
    WUHOU_A,
    WUHOU_B,
    add_worker,
    delivered,
    new_case,
    open_staff_app,
    payloads,
    press,
    said,
    said_with,
    send,
    service,
    text_to,
    to,
)

pytestmark = pytest.mark.both_backends


@pytest.fixture
async def sapp(tmp_path, db_path):
    app, clock = await open_staff_app(tmp_path, db=db_path)
    try:
        yield app
    finally:
        await app.close()


async def test_invite_join_list_revoke(sapp):
    replies = await send(sapp, ADMIN, "/invite worker 成都/武侯")
    text = text_to(replies, None)
    code = re.search(r"/join ([2-9A-HJ-NP-Z]{8})", text).group(1)
    assert said(replies) == ["staff/invite"] and said_with(replies)["area"] == "成都市/武侯区"
    assert said_with(replies)["code"] == code
    replies = await send(sapp, WUHOU_A, f"/join {code} 张三")
    assert said(replies) == ["staff/join"]
    assert said_with(replies)["ok"] and said_with(replies)["nick"] == "张三"
    member = await sapp.store.staff.member(WUHOU_A)
    assert member.role == "worker" and str(member.area) == "成都市/武侯区"
    # Single use: a second person with the same code gets nothing.
    replies = await send(sapp, WUHOU_B, f"/join {code} 李四")
    assert said(replies) == ["staff/join"] and said_with(replies)["why"] == "used"
    assert await sapp.store.staff.member(WUHOU_B) is None
    # Unknown codes, and /join without a code.
    replies = await send(sapp, WUHOU_B, "/join ZZZZZZZZ")
    assert said(replies) == ["staff/join"] and said_with(replies)["why"] == "unknown"
    replies = await send(sapp, WUHOU_B, "/join")
    assert said(replies) == ["staff/usage"] and said_with(replies)["command"] == "join"

    replies = await send(sapp, ADMIN, "/staff")
    assert said(replies) == ["staff/staff_list"]
    listing = text_to(replies, None)
    assert str(WUHOU_A) in listing and "张三" in listing and str(ADMIN) in listing

    def revoke_result(replies) -> str:
        assert said(replies) == ["staff/revoke"]
        return said_with(replies)["result"]

    assert revoke_result(await send(sapp, ADMIN, f"/revoke {WUHOU_A}")) == "ok"
    assert await sapp.store.staff.member(WUHOU_A) is None
    assert revoke_result(await send(sapp, ADMIN, f"/revoke {WUHOU_A}")) == "unknown"
    assert revoke_result(await send(sapp, ADMIN, f"/revoke {ADMIN}")) == "config_admin"
    replies = await send(sapp, ADMIN, "/revoke abc")
    assert said(replies) == ["staff/usage"] and said_with(replies)["command"] == "revoke"


async def test_expired_invite(sapp):
    clock = sapp.engine.services.clock
    text = text_to(await send(sapp, ADMIN, "/invite worker 成都市/锦江区"), None)
    code = re.search(r"/join ([2-9A-HJ-NP-Z]{8})", text).group(1)
    clock.advance(days=8)
    replies = await send(sapp, JINJIANG, f"/join {code}")
    assert said(replies) == ["staff/join"] and said_with(replies)["why"] == "expired"
    assert await sapp.store.staff.member(JINJIANG) is None


@pytest.mark.parametrize(
    "command",
    ["/invite worker 北京市/朝阳区", "/invite worker", "/invite boss 成都市", "/invite"],
)
async def test_bad_invites_change_nothing(sapp, command):
    replies = await send(sapp, ADMIN, command)
    assert said(replies) == ["staff/usage"] and said_with(replies)["command"] == "invite"
    row = await sapp.store.fetchone("SELECT COUNT(*) AS n FROM staff_invites")
    assert row["n"] == 0


async def test_only_admins_manage_staff_and_refusals_are_logged(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    for user in (RESIDENT, WUHOU_A):
        assert said(await send(sapp, user, "/invite worker 成都市")) == ["staff/admin_only"]
        assert said(await send(sapp, user, "/staff")) == ["staff/admin_only"]
        assert said(await send(sapp, user, f"/revoke {ADMIN}")) == ["staff/admin_only"]
    refused = await sapp.store.staff.audit_entries(allowed=False)
    assert {(e.actor_id, e.action) for e in refused} >= {
        (RESIDENT, "invite"),
        (WUHOU_A, "invite"),
        (RESIDENT, "staff_list"),
        (WUHOU_A, "revoke"),
    }
    row = await sapp.store.fetchone("SELECT COUNT(*) AS n FROM staff_invites")
    assert row["n"] == 1  # only the one add_worker used


async def test_forged_claim_by_a_resident_is_refused_and_logged(sapp):
    case, _ = await new_case(sapp)
    replies = await press(sapp, RESIDENT, f"st:claim:{case.id}")
    text = text_to(replies, None)
    assert said(replies) == ["staff/forbidden"]
    assert PHONE not in text and "玉林" not in text
    fresh = await sapp.store.workflow.get(case.id)
    assert fresh.status == "new" and fresh.assignee_id is None
    history = await sapp.store.cases.history(case.id)
    assert [h.to_status for h in history] == ["new"]
    entries = await sapp.store.staff.audit_entries(case_id=case.id, allowed=False)
    assert [(e.actor_id, e.actor_role, e.action) for e in entries] == [
        (RESIDENT, "resident", "claim")
    ]
    # Every other staff button too, and even for a case that does not exist.
    for action in ("view", "xfer", "res", "reply", "note", "reopen"):
        assert said(await press(sapp, RESIDENT, f"st:{action}:{case.id}")) == ["staff/forbidden"]
    assert said(await press(sapp, RESIDENT, "st:claim:999999")) == ["staff/forbidden"]
    n = len(await sapp.store.staff.audit_entries(actor_id=RESIDENT, allowed=False))
    assert n == 8


async def test_worker_of_another_area_cannot_claim_or_see(sapp):
    await add_worker(sapp, JINJIANG, "成都市/锦江区", "王五")
    case, _ = await new_case(sapp)
    assert said(await press(sapp, JINJIANG, f"st:claim:{case.id}")) == ["staff/forbidden"]
    replies = await send(sapp, JINJIANG, f"/case {case.ref}")
    text = text_to(replies, None)
    assert said(replies) == ["staff/forbidden"] and PHONE not in text and MASKED not in text
    assert (await sapp.store.workflow.get(case.id)).status == "new"
    refused = await sapp.store.staff.audit_entries(actor_id=JINJIANG, allowed=False)
    assert [e.action for e in refused] == ["view", "claim"]


@pytest.mark.parametrize(
    "payload",
    ["st:claim:abc", "st:claim:", "st:claim:1:2", "st:nope:1", "st:claim:-1", "st:xd:1:99:0"],
)
async def test_malformed_staff_payloads_expire(sapp, payload):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    case, _ = await new_case(sapp)
    replies = await press(sapp, WUHOU_A, payload.replace(":1", f":{case.id}", 1))
    assert said(replies) == ["core/expired"]
    assert (await sapp.store.workflow.get(case.id)).status == "new"


async def test_two_workers_claim_at_once_one_wins(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(sapp, WUHOU_B, "成都市/武侯区", "李四")
    case, _ = await new_case(sapp)
    a, b = await asyncio.gather(
        press(sapp, WUHOU_A, f"st:claim:{case.id}", group=CHAT_WUHOU),
        press(sapp, WUHOU_B, f"st:claim:{case.id}", group=CHAT_WUHOU),
    )
    fresh = await sapp.store.workflow.get(case.id)
    assert fresh.status == "claimed" and fresh.assignee_id in (WUHOU_A, WUHOU_B)
    loser = b if fresh.assignee_id == WUHOU_A else a
    winner_name = "张三" if fresh.assignee_id == WUHOU_A else "李四"
    loser_id = WUHOU_B if fresh.assignee_id == WUHOU_A else WUHOU_A
    # What went through the outbox may have been drained by either turn: messages to a
    # named chat are looked for in both; the replies in the group (None) are each turn's.
    both = a + b
    # The loser is told who has it (privately, and the group post shows it).
    assert said(both, loser_id) == ["staff/claim_lost"]
    assert said_with(both, loser_id)["holder"] == winner_name
    assert said(loser) == ["staff/claimed_post"] and said_with(loser)["holder"] == winner_name
    assert said(both, fresh.assignee_id) == ["staff/card"]
    assert said_with(both, fresh.assignee_id)["notice"] == "claimed"
    history = await sapp.store.cases.history(case.id)
    assert [h.to_status for h in history] == ["new", "claimed"]
    # The resident was told once.
    assert len(to(both, RESIDENT)) == 1


async def test_many_claims_at_the_store_level(sapp):
    case, _ = await new_case(sapp)
    results = await asyncio.gather(
        *(sapp.store.workflow.claim(case.id, 700 + i) for i in range(20))
    )
    winners = [won for won, _ in results if won is not None]
    assert len(winners) == 1
    losers = [cur for won, cur in results if won is None]
    assert all(c.assignee_id == winners[0].assignee_id for c in losers)


async def test_staff_commands_private_only_and_staff_only(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    await add_worker(sapp, JINJIANG, "成都市/锦江区", "王五")
    urgent, _ = await new_case(sapp, urgent=True)
    other, _ = await new_case(sapp, district="锦江区", description="漏水")
    # /queue: only my area's waiting requests, masked phone, buttons to view.
    replies = await send(sapp, WUHOU_A, "/queue")
    text = text_to(replies, None)
    assert urgent.ref in text and other.ref not in text and MASKED in text
    assert PHONE not in text
    assert payloads(replies) == [f"st:view:{urgent.id}"]

    # /find by a word of the description, scoped to the area.
    def found(replies) -> list[str]:
        assert said(replies) == ["staff/list"] and said_with(replies)["kind"] == "find"
        return [c["ref"] for c in said_with(replies)["items"]]

    assert found(await send(sapp, WUHOU_A, "/find 断了粮")) == [urgent.ref]
    assert found(await send(sapp, WUHOU_A, "/find 漏水")) == []
    assert found(await send(sapp, JINJIANG, "/find 漏水")) == [other.ref]
    replies = await send(sapp, WUHOU_A, "/find")
    assert said(replies) == ["staff/usage"] and said_with(replies)["command"] == "find"
    # LIKE wildcards are literal.
    assert found(await send(sapp, WUHOU_A, "/find %")) == []
    # /case REF in a private chat: full phone for a worker of the area.
    replies = await send(sapp, WUHOU_A, f"/case {urgent.ref.lower()}")
    text = text_to(replies, None)
    assert said(replies) == ["staff/card"] and PHONE in text and "断了粮" in text
    assert said(await send(sapp, WUHOU_A, "/case SC-0000-XXXX")) == ["staff/missing"]
    # Admins see every area, the full phone privately (#14 point 5; audited).
    text = text_to(await send(sapp, ADMIN, f"/case {other.ref}"), None)
    assert PHONE in text
    # Residents: not for them, and logged.
    assert said(await send(sapp, RESIDENT, "/queue")) == ["staff/not_staff"]
    # In a group: never, not even for staff.
    assert said(await send(sapp, WUHOU_A, "/mine", group=CHAT_WUHOU)) == ["staff/private_only"]
    views = await sapp.store.staff.audit_entries(action="view")
    assert {(e.actor_id, e.detail) for e in views} == {
        (WUHOU_A, "phone=full"),
        (ADMIN, "phone=full"),
    }
    lists = await sapp.store.staff.audit_entries(action="list_queue")
    assert [(e.actor_id, e.detail) for e in lists] == [(WUHOU_A, "n=1")]


async def test_revoked_worker_loses_access(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    case, _ = await new_case(sapp)
    await press(sapp, WUHOU_A, f"st:claim:{case.id}")
    await send(sapp, ADMIN, f"/revoke {WUHOU_A}")
    await press(sapp, ADMIN, f"rk:q:{WUHOU_A}")
    replies = await press(sapp, WUHOU_A, f"st:view:{case.id}")
    assert said(replies) == ["staff/forbidden"] and PHONE not in text_to(replies, None)
    assert said(await send(sapp, WUHOU_A, "/mine")) == ["staff/not_staff"]


@pytest.mark.sqlite_only
async def test_staff_prefix_is_allowed_in_groups(sapp):
    assert "st" in sapp.engine.services.group_safe_prefixes


async def test_name_command(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    replies = await send(sapp, WUHOU_A, "/name 张老师")
    assert said(replies) == ["staff/name"] and said_with(replies)["nick"] == "张老师"
    assert (await sapp.store.staff.member(WUHOU_A)).name == "张老师"
    replies = await send(sapp, WUHOU_A, "/name " + "长" * 30)
    assert said(replies) == ["staff/usage"] and said_with(replies)["command"] == "name"
    assert said(await send(sapp, RESIDENT, "/name 我")) == ["staff/not_staff"]


async def test_group_view_sends_the_card_privately_and_masked(sapp):
    await add_worker(sapp, WUHOU_A, "成都市/武侯区", "张三")
    case, _ = await new_case(sapp)
    replies = await sapp.engine.handle(
        Event(user_id=WUHOU_A, chat_id=CHAT_WUHOU, payload=f"st:view:{case.id}", is_group=True)
    )
    assert not to(replies, CHAT_WUHOU) and not to(replies, None)
    replies += await delivered(sapp)  # the private card goes through the outbox
    private = text_to(replies, WUHOU_A)
    assert MASKED in private and PHONE not in private
    assert f"st:view:{case.id}" in payloads(to(replies, WUHOU_A))


def test_area_covers_and_parse():
    from bot.store.staff import Area

    city = Area("成都市")
    district = Area("成都市", "武侯区")
    township = Area("成都市", "武侯区", "玉林街道")
    assert Area().covers("凉山彝族自治州", "西昌市")
    assert city.covers("成都市", "锦江区") and not city.covers("德阳市", "旌阳区")
    assert district.covers("成都市", "武侯区") and not district.covers("成都市", "锦江区")
    assert township.covers("成都市", "武侯区", "玉林街道")
    assert not township.covers("成都市", "武侯区", "簇桥街道")
    assert not township.covers("成都市", "锦江区", None)
    # By hierarchy, not by substring: a case filed above the worker's level on its
    # own line (the district without a street, the whole 市州) is the street's too.
    assert not township.covers("成都市", "武侯区", "武侯区玉林街道")
    assert township.covers("成都市", "武侯区", None) and township.covers("成都市", None)
    assert district.covers("成都市", "武侯区", "簇桥街道") and district.covers("成都市", None)
    assert not district.covers("巴中市", None) and not city.covers("巴中市", None)


@pytest.mark.sqlite_only
async def test_parse_area_against_regions(sapp):
    svc = service(sapp)
    regions = sapp.content.current.channels.regions

    def area(text):
        return svc.parse_area(text, regions).area

    assert str(area("成都/武侯")) == "成都市/武侯区"
    assert str(area("凉山彝族自治州")) == "凉山彝族自治州"
    assert str(area("凉山")) == "凉山彝族自治州"
    assert str(area("成都市/武侯区/玉林街道")) == "成都市/武侯区/玉林街道"
    assert str(area("成都市 / 武侯区 / 玉林 街道")) == "成都市/武侯区/玉林街道"
    assert area("成都市/朝阳区") is None
    assert area("市中区") is None  # a district, not a 市州
    assert area("a/b/c/d") is None
    assert area("") is None
    assert area("成都市/武侯区/我家楼下") is None  # not a 乡镇/街道 name
    # Typos are refused with the nearest names.
    typo = svc.parse_area("成都市/五侯区", regions)
    assert typo.area is None and typo.bad == "五侯区"
    assert typo.suggestions[0] == "成都市/武侯区"
    typo = svc.parse_area("巴州市", regions)
    assert typo.area is None and "巴中市" in typo.suggestions


async def test_township_worker_sees_only_their_township(sapp):
    text = text_to(await send(sapp, ADMIN, "/invite worker 成都市/武侯区/簇桥街道"), None)
    code = re.search(r"/join ([2-9A-HJ-NP-Z]{8})", text).group(1)
    await send(sapp, WUHOU_B, f"/join {code} 赵六")
    case, _ = await new_case(sapp)  # 玉林街道
    assert said(await press(sapp, WUHOU_B, f"st:claim:{case.id}")) == ["staff/forbidden"]
    assert case.ref not in text_to(await send(sapp, WUHOU_B, "/queue"), None)
