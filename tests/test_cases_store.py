"""CaseRepo: creation, idempotency, reference numbers, status changes, erasure."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.domain.cases import REF_ALPHABET, NewCase, new_ref
from bot.store import Store, StoreError
from bot.store import cases as cases_mod

pytestmark = pytest.mark.both_backends


def draft(n: int = 1, **kw) -> NewCase:
    base = dict(
        draft_id=f"draft{n:07d}",
        user_id=100 + n,
        category="living",
        region_city="成都市",
        region_district="武侯区",
        description=f"描述{n}",
        phone="13800138000",
        contact_time="am",
        target_days=3,
        region_township="某街道",
    )
    base.update(kw)
    return NewCase(**base)


@pytest.fixture
async def store(db_path):
    s = await Store.open(db_path)
    try:
        yield s
    finally:
        await s.close()


def test_ref_format():
    for _ in range(500):
        ref = new_ref(1733011200)  # 2024-12-01 China time
        assert re.fullmatch(r"SC-2412-[" + REF_ALPHABET + "]{4}", ref), ref
    assert not set("0O1I") & set(REF_ALPHABET)


async def test_create_is_idempotent_per_draft(store):
    case, created = await store.cases.create(draft(1))
    again, created2 = await store.cases.create(draft(1, description="changed"))
    assert created and not created2
    assert again.ref == case.ref and again.description == "描述1"
    assert await store.cases.count() == 1
    with pytest.raises(StoreError):
        await store.cases.create(draft(1, user_id=999))  # someone else's draft id


async def test_ref_collision_draws_again(store, monkeypatch):
    refs = iter(["SC-2412-AAAA", "SC-2412-AAAA", "SC-2412-AAAA", "SC-2412-BBBB"])
    monkeypatch.setattr(cases_mod, "new_ref", lambda now=None: next(refs))
    first, _ = await store.cases.create(draft(1))
    second, _ = await store.cases.create(draft(2))
    assert (first.ref, second.ref) == ("SC-2412-AAAA", "SC-2412-BBBB")


async def test_bad_values_are_refused(store):
    with pytest.raises(StoreError):
        await store.cases.create(draft(1, category="food"))
    with pytest.raises(StoreError):
        await store.cases.create(draft(2, contact_time="midnight"))
    case, _ = await store.cases.create(draft(3))
    with pytest.raises(StoreError):
        await store.cases.change_status(case.id, "lost", "staff", 1)
    with pytest.raises(StoreError):
        await store.cases.change_status(case.id, "claimed", "robot", 1)
    with pytest.raises(StoreError):
        await store.cases.change_status(case.id, "claimed", "staff", 1, set_fields={"phone": "x"})
    assert await store.cases.count() == 1


async def test_two_claims_at_once_one_wins(store):
    case, _ = await store.cases.create(draft(1))
    results = await asyncio.gather(
        *(
            store.cases.change_status(
                case.id, "claimed", "staff", worker, expect_from=["new"],
                set_fields={"assignee_id": worker},
            )
            for worker in (7, 8, 9)
        )
    )  # fmt: skip
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    stored = await store.cases.get(case.id)
    assert stored.assignee_id == winners[0].assignee_id and stored.status == "claimed"
    history = await store.cases.history(case.id)
    assert [(h.from_status, h.to_status) for h in history] == [(None, "new"), ("new", "claimed")]


async def test_status_history_and_messages(store):
    case, _ = await store.cases.create(draft(1))
    await store.cases.change_status(case.id, "claimed", "staff", 7, note="我来跟进")
    await store.cases.add_message(case.id, "staff", 7, "内部备注", private=True)
    await store.cases.add_message(case.id, "resident", case.user_id, "谢谢")
    done = await store.cases.change_status(case.id, "resolved", "staff", 7, note="已办好")
    assert done.closed_at is not None and not done.is_open
    assert await store.cases.add_message(case.id, "resident", case.user_id, "还有") is None
    assert [m.body for m in await store.cases.messages(case.id)] == ["谢谢"]
    assert len(await store.cases.messages(case.id, include_private=True)) == 2
    history = await store.cases.history(case.id)
    assert [h.note for h in history] == [None, "我来跟进", "已办好"]
    assert [c.ref for c in await store.cases.list(status="resolved")] == [case.ref]
    assert await store.cases.list(status=["new", "claimed"]) == []


async def test_other_users_case_is_not_returned(store):
    case, _ = await store.cases.create(draft(1))
    assert await store.cases.get_for_user(case.id, case.user_id) is not None
    assert await store.cases.get_for_user(case.id, 4242) is None
    assert await store.cases.for_user(4242) == []


async def test_retention_erase_keeps_statistics(store):
    case, _ = await store.cases.create(draft(1, attachments=[{"kind": "unanswered", "text": "q"}]))
    await store.cases.add_message(case.id, "resident", case.user_id, "补充")
    await store.cases.change_status(case.id, "closed", "staff", 7, note="回访满意", now=1000.0)
    assert await store.cases.closed_before(2000.0) == [case.id]
    assert await store.cases.erase_personal([case.id]) == 1
    assert await store.cases.closed_before(2000.0) == []
    erased = await store.cases.get(case.id)
    assert erased.phone is None and erased.description is None and erased.attachments == ()
    assert erased.region_township is None and erased.erased_at is not None
    assert (erased.category, erased.region_city, erased.status) == ("living", "成都市", "closed")
    assert all(h.note is None for h in await store.cases.history(case.id))
    assert all(m.body is None for m in await store.cases.messages(case.id))


async def test_attachments_size_is_limited(store):
    with pytest.raises(StoreError):
        await store.cases.create(draft(1, attachments=[{"kind": "screening", "x": "字" * 30_000}]))
    assert await store.cases.count() == 0
