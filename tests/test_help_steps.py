"""The help form's declared steps and its typed draft."""

from __future__ import annotations

import json

from bot.cases.help_steps import BY_CODE, STEPS, HelpDraft
from tests.test_cases_flow import REF


def test_every_step_is_reachable_and_names_a_template(app):
    renderer = app.renderer
    for name, step in STEPS.items():
        renderer.env.get_template(f"{step.template}.j2")  # raises when missing
        if isinstance(step.next, str):
            assert step.next in STEPS or step.next == "summary", name
        assert step.parse is not None or step.choices is not None, name
    assert BY_CODE == {s.code: n for n, s in STEPS.items() if s.code}


def test_draft_round_trip_keeps_only_what_is_set():
    draft = HelpDraft(draft_id="abcdefgh1234", category="living", urgent=True)
    assert draft.dump() == {"draft_id": "abcdefgh1234", "category": "living", "urgent": True}
    assert HelpDraft.load(draft.dump()) == draft


async def test_a_form_stored_before_the_upgrade_is_finished(app, chat):
    """A resident half-way through the form when the new version starts (old keys)."""
    old = {
        "flow": "help",
        "step": "time",
        "data": {
            "draft": "oldDraft1234",
            "cat": "living",
            "city": "成都市",
            "dist": "武侯区",
            "town": None,
            "vil": None,
            "desc": "家里没得吃的了",
            "words": ["没得吃"],
            "phone": "13812345678",
        },
        "stack": ["consent", "category", "city", "district", "township", "village"],
        "memory": {},
    }
    await app.store.save_turn_json(chat.user_id, json.dumps(old, ensure_ascii=False), None)
    await chat.press("hc:time:any")
    await chat.press("hc:urg:no")
    assert "hc:ok:oldDraft1234" in [p for r in chat.last for p in r.payloads()]
    await chat.press("hc:ok:oldDraft1234")
    (ref,) = REF.findall(chat.text())
    case = await app.store.cases.get_by_ref(ref)
    assert case.category == "living" and case.region_district == "武侯区"
    assert case.urgent and list(case.urgent_words) == ["没得吃"]
