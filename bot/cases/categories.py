"""Which help category (bot.domain.cases.CATEGORIES) a policy topic, or a resident's
own words, belong to: the screening's program carries its category into 我要求助, and a
story typed at the category question is read with the knowledge matcher."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.dialog.flow import Turn

# Help categories for screening programs' topics (policy_texts/categories.yml ids).
TOPIC_CATEGORY = {
    "basic-living": "living",
    "medical": "medical",
    "education": "school",
    "housing": "housing",
    "jobs": "jobs",
    "disaster-safety": "safety",
}
# ... and for topics whose category is broader than one help category.
TOPIC_ID_CATEGORY = {"winter-visits": "winter"}
# Typed text this long at the category step is someone telling what happened.
STORY_MIN_CHARS = 6


@dataclass(frozen=True)
class Story:
    """What happened, typed at the category step instead of picking a button: kept as
    the description, with the category read from it (None: not clear)."""

    body: str
    category: str | None


def story_category(turn: Turn, text: str) -> str | None:
    """The help category of the policy topic a text clearly matches, or None."""
    knowledge = getattr(turn.content, "knowledge", None)
    matcher = getattr(knowledge, "matcher", None)
    if knowledge is None or matcher is None:
        return None
    result = matcher.match(text)
    if result.decision != "answer" or not result.matches:
        return None  # a guess would file the request under the wrong heading
    topic = knowledge.topics.get(result.matches[0].id)
    if topic is None:
        return None
    return TOPIC_ID_CATEGORY.get(topic.id) or TOPIC_CATEGORY.get(topic.category)
