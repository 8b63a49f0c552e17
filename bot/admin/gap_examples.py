"""/gaps: the questions the assistant could not answer, grouped; an admin adds one
as an example phrasing of a topic (checked and published like an upload)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bot.admin import files
from bot.admin.gaps import gap_report, since_timestamp
from bot.admin.uploads import publish
from bot.dialog.events import Button
from bot.dialog.flow import StaleButton, Turn

FLOW = "admin"
GAPS_SHOWN = 8
_INDEX = re.compile(r"^\d{1,2}$")
_TOPIC_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


def picked_gap(turn: Turn, arg: str) -> tuple[int, dict[str, Any]]:
    gaps = turn.state.data.get("gaps") if turn.state.flow == FLOW else None
    if not _INDEX.match(arg) or not isinstance(gaps, list) or int(arg) >= len(gaps):
        raise StaleButton(arg)
    gap = gaps[int(arg)]
    if not isinstance(gap, dict) or not isinstance(gap.get("q"), str) or gap.get("done"):
        raise StaleButton(arg)
    return int(arg), gap


async def gap_topics(turn: Turn, picked: tuple[int, dict[str, Any]]) -> None:
    n, gap = picked
    topics = getattr(turn.content.parts.get("knowledge"), "topics", {})
    rows = [
        [Button(topics[t].title, f"adm:gadd:{n}:{t}")]
        for t in gap.get("c", [])
        if isinstance(t, str) and t in topics
    ]
    rows.append([turn.button("admin.by_category", f"adm:gcat:{n}")])
    turn.say("admin/gap_pick_topic", rows, question=gap["q"], has_candidates=len(rows) > 1)


async def gap_categories(turn: Turn, arg: str) -> None:
    n, gap = picked_gap(turn, arg)
    kb = turn.content.parts.get("knowledge")
    cats = getattr(kb, "categories", [])
    rows = [[Button(c.name, f"adm:gcs:{n}:{k}")] for k, c in enumerate(cats)]
    turn.say("admin/gap_pick_category", rows, question=gap["q"])


async def gap_category(turn: Turn, arg: str) -> None:
    n_text, _, k_text = arg.partition(":")
    n, gap = picked_gap(turn, n_text)
    kb = turn.content.parts.get("knowledge")
    cats = getattr(kb, "categories", [])
    if kb is None or not _INDEX.match(k_text) or int(k_text) >= len(cats):
        raise StaleButton(arg)
    topics = kb.in_category(cats[int(k_text)].id)
    rows = [[Button(t.title, f"adm:gadd:{n}:{t.id}")] for t in topics]
    rows.append([turn.button("admin.by_category", f"adm:gcat:{n}")])
    turn.say("admin/gap_pick_topic", rows, question=gap["q"], has_candidates=True)


async def gap_add(turn: Turn, arg: str) -> None:
    n_text, _, topic_id = arg.partition(":")
    _n, gap = picked_gap(turn, n_text)
    kb = turn.content.parts.get("knowledge")
    topics = getattr(kb, "topics", {})
    if not _TOPIC_ID.match(topic_id) or topic_id not in topics:
        raise StaleButton(arg)
    question = gap["q"]
    path = f"{files.POLICY_DIR}/{topic_id}.md"
    current = files.read_current(turn.content.root, path)
    try:
        if current is None:
            raise files.EditFailed("no file")
        new_text = files.add_question(current, question)
    except files.EditFailed:
        turn.say("admin/gap_edit_failed", question=question, title=topics[topic_id].title)
        return
    if not await publish(turn, path, new_text, "example"):
        return
    # Say honestly what the matcher now does with the question.
    kb = turn.engine.content.current.knowledge
    result = kb.matcher.match(question) if getattr(kb, "matcher", None) else None
    best = result.best if result is not None else None
    turn.say(
        "admin/gap_added",
        [[turn.button("nav.menu", "nav:menu")]],
        question=question,
        title=topics[topic_id].title,
        works=bool(result and result.decision == "answer" and best and best.id == topic_id),
        decision=result.decision if result else None,
        best=kb.topics[best.id].title if best and best.id in kb.topics else None,
    )
    # New objects, not an in-place change: the engine saves the state only when it
    # differs from the (shallow) copy taken before the turn.
    gaps = list(turn.state.data.get("gaps") or [])
    gaps[int(n_text)] = {"q": question, "c": [], "done": True}
    turn.state.data = {**turn.state.data, "gaps": gaps}


async def cmd_gaps(turn: Turn, arg: str) -> None:
    since = None
    if arg:
        try:
            since = dt.date.fromisoformat(arg.strip())
        except ValueError:
            turn.say("admin/gaps_usage")
            return
    kb = turn.content.parts.get("knowledge")
    normalize = getattr(kb, "normalize", None)
    groups = await gap_report(turn.store, since_timestamp(since), normalize)
    shown = groups[:GAPS_SHOWN]
    rows = [
        [turn.button("admin.add_example", f"adm:gap:{i}", n=i + 1)]
        for i, g in enumerate(shown)
        if len(g.representative) <= files.MAX_EXAMPLE_CHARS
    ]
    turn.state.enter(
        "admin",
        "gaps",
        {"gaps": [{"q": g.representative, "c": g.candidates} for g in shown]},
    )
    turn.say(
        "admin/gaps",
        rows + [[turn.button("nav.menu", "nav:menu")]],
        groups=[g.to_json() for g in shown],
        total=len(groups),
        since=since.isoformat() if since else None,
    )
