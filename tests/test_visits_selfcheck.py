"""The resident's 冬季自查: any 不够 offers an urgent help request already filled in;
asking for a home visit becomes a help request and a visit task for the area."""

from __future__ import annotations

import pytest

from tests.staff_support import RESIDENT, WUHOU_A, payloads, press, send
from tests.visits_support import visits_app


@pytest.fixture
async def vapp(tmp_path):
    app, clock = await visits_app(tmp_path)
    try:
        yield app, clock
    finally:
        await app.close()


async def check(app, answers: dict[str, str]):
    r = await press(app, RESIDENT, "menu:winter")
    assert r[0].template == "visits/wc_ask"
    for step, value in answers.items():
        r = await press(app, RESIDENT, f"wc:a:{step}:{value}")
    assert r[-1].template == "visits/wc_result"
    return r


async def place_and_phone(app, urgency: bool):
    r = await press(app, RESIDENT, "hc:consent:yes")
    # The category was filled in: the form goes on with the place.
    assert r[-1].template == "cases/ask_city"
    await press(app, RESIDENT, "hc:city:成都市")
    r = await press(app, RESIDENT, "hc:dist:武侯区")
    assert r[-1].template == "cases/ask_phone"  # the description was filled in too
    r = await send(app, RESIDENT, "13800138000")
    # The short form: contact time (都可以) and urgency are on the summary.
    assert r[-1].template == "cases/summary"
    ok = next(p for p in payloads(r) if p.startswith("hc:ok:"))
    return await press(app, RESIDENT, ok)


async def test_not_enough_becomes_an_urgent_request(vapp):
    app, _ = vapp
    r = await check(app, {"quilt": "short", "heating": "enough", "food": "short", "health": "ok"})
    assert "wc:help" in payloads(r)
    r = await press(app, RESIDENT, "wc:help")
    assert r[-1].template == "cases/consent"
    await place_and_phone(app, urgency=False)
    (case,) = await app.store.cases.for_user(RESIDENT)
    assert case.category == "winter" and case.urgent
    assert "被子" in case.description and "吃的" in case.description
    assert (case.region_city, case.region_district) == ("成都市", "武侯区")
    # Not a visit request: no household for the resident.
    assert await app.store.visits.count_households() == 3


async def test_all_fine_offers_no_urgent_request_but_a_visit(vapp):
    app, _ = vapp
    r = await check(app, {"quilt": "enough", "heating": "enough", "food": "enough", "health": "ok"})
    assert "wc:help" not in payloads(r) and "wc:visit" in payloads(r)
    r = await press(app, RESIDENT, "wc:help")
    assert r[0].template == "core/expired"  # a forged 加急 changes nothing
    await press(app, RESIDENT, "wc:visit")
    await place_and_phone(app, urgency=True)
    (case,) = await app.store.cases.for_user(RESIDENT)
    assert not case.urgent and "上门" in case.description
    # The request became a visit task of the campaign covering 武侯区.
    assert await app.store.visits.count_households() == 4
    replies = await send(app, WUHOU_A, "/visits")
    names = [i["name"] for g in replies[0].text.context["groups"] for i in g["people"]]
    assert any(case.ref in n for n in names)
    households = await app.store.visits.households_in("成都市", "武侯区")
    mine = next(h for h in households if h.source == "resident")
    assert mine.user_id == RESIDENT and await app.store.visits.linked_cases(mine.id) == [case.id]
    # /forget erases the household the resident put forward (and its phone).
    r = await send(app, RESIDENT, "/forget")
    yes = next(b.payload for x in r for row in x.buttons for b in row if b.label == "确定删除")
    await press(app, RESIDENT, yes)
    assert await app.store.visits.count_households() == 3
    row = await app.store.fetchone(
        "SELECT COUNT(*) AS n FROM households WHERE phone = ?", ("13800138000",)
    )
    assert row["n"] == 0
