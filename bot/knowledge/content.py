"""The knowledge part of the content snapshot: topics, categories, the
normaliser, the non-policy intents and the matcher index built over them.

The index is built here, while the content loads, so a reload swaps topics and
index together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.content import Content, Report
from bot.knowledge.intents import load_intents, load_out_of_scope, load_settings
from bot.knowledge.matcher import Doc, Matcher
from bot.knowledge.normalize import Normalizer, load_normalizer
from bot.knowledge.topics import Topic, Topics, load_topics
from bot.manifest import content_path


@dataclass
class Knowledge(Topics):
    matcher: Matcher | None = field(default=None, repr=False)

    @property
    def normalize(self) -> Normalizer:
        return self.matcher.normalize if self.matcher else Normalizer()


def topic_doc(topic: Topic) -> Doc:
    return Doc(
        id=topic.id,
        title=topic.title,
        fields={
            "title": topic.title,
            "keywords": " ".join(topic.keywords),
            "questions": " ".join(topic.questions),
            "summary": " ".join((topic.summary, topic.who, topic.gives)),
            "body": topic.body,
        },
        examples=(topic.title, *topic.questions),
        keywords=(topic.title, *topic.keywords),
    )


def build_matcher(topics: Topics, root: Path, report: Report) -> Matcher:
    normalize = load_normalizer(root, report)
    settings = load_settings(root, report)
    intents = load_intents(root, report)
    # The same question under two topics, once normalised, cannot be matched reliably.
    owner: dict[str, str] = {}
    for topic in topics.topics.values():
        for i, q in enumerate(topic.questions):
            norm = normalize(q)
            line = topic.question_lines[i] if i < len(topic.question_lines) else topic.line
            if not norm:
                report.error(topic.path, line, f"example question {q!r} is empty once normalised")
            elif norm in owner and owner[norm] != topic.id:
                report.error(
                    topic.path,
                    line,
                    f"example question {q!r} is also listed under {owner[norm]!r}"
                    " (after normalisation)",
                )
            owner.setdefault(norm, topic.id)
    # An out-of-scope example that is also a topic's example would send it to fallback.
    negatives = []
    oos_path = content_path(root, "out_of_scope")
    for doc, lines in load_out_of_scope(root, report):
        for q, line in zip(doc.examples, lines, strict=True):
            norm = normalize(q)
            if not norm:
                report.error(oos_path, line, f"example {q!r} is empty once normalised")
            elif norm in owner:
                report.error(
                    oos_path,
                    line,
                    f"example {q!r} is an example question of topic {owner[norm]!r}"
                    " (after normalisation)",
                )
        negatives.append(doc)
    docs = [topic_doc(t) for t in topics.topics.values()]
    return Matcher(docs, intents, normalize, settings, negatives)


def load(root: Path, report: Report, content: Content) -> Knowledge:
    topics = load_topics(root, report)
    matcher = build_matcher(topics, root, report)
    return Knowledge(topics.topics, topics.categories, matcher)
