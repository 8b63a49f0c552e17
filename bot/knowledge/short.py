"""A topic's answer, short first (长辈友好): one message of at most 300 characters —
what it is, who gets it, what they get, where to go — with at most four buttons
(详细说明, 我能办吗, 我要求助, 回主菜单); the details on demand, a section or two per
message, with the source, the date and the feedback question on the last one.

Payloads (prefix ``kb``, read by bot.knowledge.dialog):
  kb:d:<page>:<topic>[:<token>]  a page of the details (token: the resident's question)
  kb:s:<topic>                   我能办吗: the screening, for this program
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.dialog.events import Button, Reply
from bot.knowledge.answer import plain_paragraph

if TYPE_CHECKING:
    from bot.knowledge.content import Knowledge
    from bot.knowledge.topics import Topic
    from bot.render import Renderer

SHORT_LIMIT = 300  # characters of the first message, notes included
PAGE_LIMIT = 500  # characters of body text per page of the details (about a phone screen)
MAX_RELATED = 2  # related topics offered on the last page of the details


def short_answer(
    r: Renderer,
    topic: Topic,
    *,
    token: str | None = None,
    notes: Sequence[str] = (),
    figures: Sequence[str] = (),
    screenable: bool = False,
) -> Reply:
    """The first message of an answer. ``notes`` are the warnings that must be seen
    first (old figures); ``figures``: the amounts in force, when the question asked one;
    ``screenable``: the screening has rules for this program."""
    text = ""
    # Longest first; drop the summary, then who-gets-it, before the limit is passed
    # (the details say everything).
    for keep_summary, keep_who in ((True, True), (False, True), (False, False)):
        text = r.render(
            "knowledge/short",
            topic=topic,
            notes=list(notes),
            figures=list(figures),
            summary=keep_summary,
            who=keep_who,
        )
        if len(text) <= SHORT_LIMIT:
            break
    rows = [[Button(r.label("knowledge.details"), detail_payload(topic, 0, token))]]
    if screenable:
        rows.append([Button(r.label("knowledge.can_i"), f"kb:s:{topic.id}")])
    rows.append([Button(r.label("knowledge.help"), "menu:help")])
    rows.append([Button(r.label("nav.menu"), "nav:menu")])
    return Reply(text, rows)


def detail_payload(topic: Topic, page: int, token: str | None) -> str:
    return f"kb:d:{page}:{topic.id}" + (f":{token}" if token else "")


def detail_pages(topic: Topic) -> list[list[tuple[str, list[str]]]]:
    """The topic's sections, grouped into pages of about PAGE_LIMIT characters (a
    section longer than that is a page of its own)."""
    pages: list[list[tuple[str, list[str]]]] = []
    size = 0
    for s in topic.sections:
        section = (s.heading, [plain_paragraph(p) for p in s.paragraphs])
        length = len(s.heading) + sum(len(p) for p in section[1])
        if pages and size + length <= PAGE_LIMIT:
            pages[-1].append(section)
            size += length
        else:
            pages.append([section])
            size = length
    return pages or [[("", [topic.summary])]]


def detail_reply(
    r: Renderer,
    kb: Knowledge,
    topic: Topic,
    page: int,
    *,
    token: str | None = None,
    screenable: bool = False,
) -> Reply | None:
    """One page of the details; None when there is no such page."""
    pages = detail_pages(topic)
    if not 0 <= page < len(pages):
        return None
    last = page == len(pages) - 1
    text = r.render(
        "knowledge/details",
        topic=topic,
        sections=pages[page],
        page=page + 1,
        pages=len(pages),
        last=last,
        sources=[s.cite() for s in topic.sources],
        updated=topic.updated.isoformat(),
        unconfirmed=bool(topic.unconfirmed),
        feedback=last and token is not None,
    )
    rows: list[list[Button]] = []
    if not last:
        following = pages[page + 1][0][0] or r.label("knowledge.more")
        rows.append(
            [
                Button(
                    r.label("knowledge.next", heading=following[:8]),
                    detail_payload(topic, page + 1, token),
                )
            ]
        )
    elif token is not None:
        rows.append(
            [
                Button(r.label("knowledge.helpful"), f"kb:f:{token}:1"),
                Button(r.label("knowledge.not_helpful"), f"kb:f:{token}:0"),
            ]
        )
    if last:
        related = [kb.topics[t] for t in topic.related if t in kb.topics][:MAX_RELATED]
        rows.extend([[Button(short_title(o.title), f"kb:t:{o.id}")] for o in related])
    action = []
    if screenable:
        action.append(Button(r.label("knowledge.can_i"), f"kb:s:{topic.id}"))
    action.append(Button(r.label("knowledge.help"), "menu:help"))
    rows.append(action)
    rows.append([Button(r.label("nav.menu"), "nav:menu")])
    return Reply(text, rows)


def short_title(title: str, limit: int = 10) -> str:
    """最低生活保障（低保） → 低保; other long titles are cut to fit a phone's button."""
    if title.endswith("）") and "（" in title:
        inner = title[title.rindex("（") + 1 : -1]
        if 2 <= len(inner) <= limit:
            return inner
    return title if len(title) <= limit else title[: limit - 1] + "…"
