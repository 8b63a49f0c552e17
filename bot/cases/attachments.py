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
    """Readable lines (program: verdict) from the screening feature's memory entry."""
    if not isinstance(value, dict):
        return []
    verdicts = value.get("verdicts", value.get("results"))
    lines: list[str] = []

    def verdict_word(v: Any) -> str:
        key = f"cases.verdict.{v}"
        return turn.r.label(key) if isinstance(v, str) and turn.r.has_label(key) else _short(v, 20)

    if isinstance(verdicts, dict):
        for name, v in verdicts.items():
            if isinstance(v, dict):
                v = v.get("verdict") or v.get("result") or ""
            lines.append(f"{_short(name, 40)}：{verdict_word(v)}")
    elif isinstance(verdicts, list):
        for item in verdicts:
            if not isinstance(item, dict):
                continue
            name = item.get("title") or item.get("name") or item.get("program") or ""
            v = item.get("verdict") or item.get("result") or ""
            if name:
                lines.append(f"{_short(name, 40)}：{verdict_word(v)}")
    return lines[:12]


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
