"""A topic's answer as residents see it: one pure function of the renderer, the
knowledge part and the topic, used by the chat and by the admin's upload preview."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.dialog.events import Button, Reply

if TYPE_CHECKING:
    from bot.knowledge.content import Knowledge
    from bot.knowledge.topics import Topic
    from bot.render import Renderer

MAX_ANSWER_CHARS = 3500
MAX_RELATED = 4


def plain_paragraph(text: str) -> str:
    """A body paragraph as plain text: list items get a dot."""
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(("- ", "* ")):
            line = "· " + line[2:].strip()
        lines.append(line)
    return "\n".join(lines)


def answer_reply(
    r: Renderer,
    kb: Knowledge,
    topic: Topic,
    *,
    token: str | None = None,
    question: str | None = None,
    date_notes: list[str] | tuple[str, ...] = (),
) -> Reply:
    """The topic's snippet with its source and date, related topics and, for an
    answer to a question (``token``), the feedback buttons."""
    sections = [(s.heading, [plain_paragraph(p) for p in s.paragraphs]) for s in topic.sections]
    context = {
        "topic": topic,
        "sources": [s.cite() for s in topic.sources],
        "updated": topic.updated.isoformat(),
        "unconfirmed": bool(topic.unconfirmed),
        "question": question,
        "feedback": token is not None,
        "date_notes": list(date_notes),  # old figures, in plain words (bot.screening.dates)
    }
    shown = list(sections)
    text = r.render("knowledge/answer", sections=shown, truncated=False, **context)
    while len(text) > MAX_ANSWER_CHARS and shown:
        shown.pop()
        text = r.render("knowledge/answer", sections=shown, truncated=True, **context)
    rows: list[list[Button]] = []
    if token is not None:
        rows.append(
            [
                Button(r.label("knowledge.helpful"), f"kb:f:{token}:1"),
                Button(r.label("knowledge.not_helpful"), f"kb:f:{token}:0"),
            ]
        )
    related = [kb.topics[t] for t in topic.related if t in kb.topics][:MAX_RELATED]
    for other in related:
        rows.append([Button(other.title, f"kb:t:{other.id}")])
    rows.append(
        [
            Button(r.label("knowledge.ask_again"), "menu:ask"),
            Button(r.label("nav.menu"), "nav:menu"),
        ]
    )
    return Reply(text, rows)
