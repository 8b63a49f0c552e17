"""What a help request can carry from earlier conversations: the last question the
assistant could not answer, and the last screening result (``turn.state.memory``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.cases.common import MAX_ATTACHMENT_TEXT, clean_line

if TYPE_CHECKING:
    from bot.dialog.flow import Turn


def _short(value: Any, limit: int = MAX_ATTACHMENT_TEXT) -> str:
    return clean_line(str(value))[:limit]


def unanswered_text(value: Any) -> str | None:
    if isinstance(value, str):
        text = _short(value)
    elif isinstance(value, dict):
        text = _short(value.get("text") or value.get("question") or "")
    else:
        return None
    return text or None


def screening_lines(value: Any, turn: Turn) -> list[str]:
    """Readable lines (program: verdict) from the screening feature's memory entry, in
    the words the resident saw: the program's name as the result showed it
    (低保, 残疾人两项补贴) and its verdict word (可能符合 / 可以去问一问 / 一般不符合),
    every program of the result, the likely ones first."""
    if not isinstance(value, dict):
        return []
    verdicts = value.get("verdicts", value.get("results"))
    items: list[tuple[str, Any]] = []
    if isinstance(verdicts, dict):
        for name, v in verdicts.items():
            if isinstance(v, dict):
                v = v.get("verdict") or v.get("result") or ""
            items.append((str(name), v))
    elif isinstance(verdicts, list):
        for item in verdicts:
            if not isinstance(item, dict):
                continue
            name = item.get("program") or item.get("title") or item.get("name") or ""
            v = item.get("verdict") or item.get("result") or ""
            if name:
                items.append((str(name), v))
    order = {"likely": 0, "possible": 1, "unlikely": 2}
    items.sort(key=lambda it: order.get(it[1], 3) if isinstance(it[1], str) else 3)
    return [f"{program_name(turn, name)}：{verdict_word(turn, v)}" for name, v in items]


def program_name(turn: Turn, pid: str) -> str:
    """A program id (dibao) as the result names it (低保); other text as it is."""
    from bot.screening.result_view import short_title

    screening = getattr(turn.content, "screening", None)
    programs = getattr(screening, "programs", {}) or {}
    if screening is not None and pid in programs:
        return short_title(screening.title(pid))
    return _short(pid, 40)


def verdict_word(turn: Turn, v: Any) -> str:
    key = f"cases.verdict.{v}"
    return turn.r.label(key) if isinstance(v, str) and turn.r.has_label(key) else _short(v, 20)


def available_attachments(turn: Turn) -> list[dict[str, Any]]:
    """What the resident could attach: the unanswered question and the screening."""
    out: list[dict[str, Any]] = []
    memory = turn.state.memory
    question = unanswered_text(memory.get("unanswered"))
    if question:
        out.append({"kind": "unanswered", "text": question})
    screening = memory.get("screening")
    if isinstance(screening, dict) and screening:
        lines = screening_lines(screening, turn)
        item: dict[str, Any] = {"kind": "screening", "lines": lines}
        answers = screening.get("answers")
        if isinstance(answers, dict | list):
            item["answers"] = answers
        if isinstance(screening.get("verdicts", screening.get("results")), dict | list):
            item["verdicts"] = screening.get("verdicts", screening.get("results"))
        out.append(item)
    return out


def for_workers(r: Any, attachments: Any) -> dict[str, Any]:
    """What a case card shows of a request's attachments: ``proxy`` (the helper's
    relation, in words, when someone asked for another person) and ``items`` (the
    question asked, the screening lines as the resident saw them, every program)."""
    proxy = ""
    items: list[dict[str, Any]] = []
    for a in attachments or ():
        if not isinstance(a, dict):
            continue
        kind = a.get("kind")
        if kind == "proxy":
            relation = a.get("relation")
            key = f"cases.relation_word.{relation}"
            proxy = r.label(key) if isinstance(relation, str) and r.has_label(key) else ""
            proxy = proxy or r.label("cases.relation_word.other")
        elif kind == "unanswered" and a.get("text"):
            items.append({"kind": "unanswered", "text": _short(a["text"])})
        elif kind == "screening":
            lines = [_short(x, 80) for x in a.get("lines") or [] if isinstance(x, str)]
            items.append({"kind": "screening", "lines": lines})
    return {"proxy": proxy, "items": items}
