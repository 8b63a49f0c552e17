"""The knowledge part of the content snapshot: topics, categories, the
normaliser, the non-policy intents and the matcher index built over them.

The index is built here, while the content loads, so a reload swaps topics and
index together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from bot.content import Content, Report, read_yaml
from bot.knowledge.asking import Cues, load_situations
from bot.knowledge.intents import load_intents, load_out_of_scope, load_settings
from bot.knowledge.matcher import CUE_SKIP, DOC_SKIP, Doc, Matcher
from bot.knowledge.normalize import _DROP, Normalizer, load_normalizer
from bot.knowledge.phonetic import Phonetic
from bot.knowledge.scope import load_scope_model
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
    with normalize.remembering():
        return _build_matcher(topics, root, report, normalize)


def _build_matcher(topics: Topics, root: Path, report: Report, normalize: Normalizer) -> Matcher:
    settings = load_settings(root, report)
    intents = load_intents(root, report)
    # The same question under two topics, once normalised, cannot be matched reliably.
    owner: dict[str, str] = {}
    normalize.warm(q for topic in topics.topics.values() for q in topic.questions)
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
    out_of_scope = list(load_out_of_scope(root, report))
    normalize.warm(q for doc, _lines in out_of_scope for q in doc.examples)
    for doc, lines in out_of_scope:
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
    situations = load_situations(root, report, list(topics.topics))
    places = place_names(root)
    attach_phonetic(normalize, docs, negatives, situations.topics, intents, places)
    skip = (*DOC_SKIP, *CUE_SKIP)
    normalize.warm(
        (
            *(w for d in (*docs, *negatives) for w in d.keywords),
            *(w for words in situations.topics.values() for w in words),
            *situations.groups,
            *situations.everyday,
            *situations.needs,
            *situations.meanings,
        ),
        skip,
    )
    per_slot = [
        [normalize(w, skip=skip) for w in (*d.keywords, *situations.topics.get(d.id, ()))]
        for d in docs
    ] + [[normalize(w, skip=skip) for w in d.keywords] for d in negatives]
    cues = Cues.build(
        per_slot,
        [normalize(g, skip=skip) for g in situations.groups],
        everyday=[normalize(w, skip=skip) for w in situations.everyday],
        needs=[normalize(w, skip=skip) for w in situations.needs],
        keywords=[[normalize(w, skip=skip) for w in d.keywords] for d in docs],
        negatives=len(negatives),
        meanings=[normalize(w, skip=skip) for w in situations.meanings],
    )
    scope = load_scope_model(content_path(root, "scope_model"), report)
    matcher = Matcher(
        docs,
        intents,
        normalize,
        settings,
        negatives,
        situations.asking,
        cues,
        places,
        situations.generic,
        scope,
        [normalize(w, skip=skip) for w in situations.compares],
    )
    changed = matcher.unjudged
    if changed:
        report.warning(
            content_path(root, "scope_model"),
            1,
            f"trained before {len(changed)} topic(s) changed ({', '.join(changed[:5])}):"
            " their answers are not checked by it until it is trained again"
            " (sanliang train-scope)",
        )
    return matcher


def place_names(root: Path) -> list[str]:
    """市州 and 区县 names (policy_texts/regions.yml), with and without 市/州/区/县: they
    say where, not what, when matching. The file is checked where it is loaded for the
    channels; here a missing or broken one only means no names."""
    import yaml

    try:
        data = read_yaml((root / "policy_texts" / "regions.yml").read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(data, dict):
        return []
    names = [str(k) for k in data]
    names += [str(v) for vs in data.values() if isinstance(vs, list) for v in vs]
    out = set(names)
    for name in names:
        for suffix in (
            "藏族羌族自治州",
            "藏族自治州",
            "彝族自治州",
            "自治县",
            "市",
            "州",
            "区",
            "县",
        ):
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                out.add(name[: -len(suffix)])
                break
    return sorted(out)


def attach_phonetic(normalize: Normalizer, docs, negatives, situations, intents, places=()) -> None:
    """Pinyin input and homophone repair against the policy words of this content."""

    @cache  # the keywords are read three times over
    def plain(text: str) -> str:
        return _DROP.sub("", normalize.prepare(text))

    vocabulary = {plain(w) for d in docs for w in d.keywords}
    vocabulary |= {plain(w) for words in situations.values() for w in words}
    corpus = [plain(t) for d in (*docs, *negatives) for t in (*d.fields.values(), *d.examples)]
    corpus += [plain(w) for d in (*docs, *negatives) for w in d.keywords]
    corpus += [plain(ex) for intent in intents for ex in intent.examples]
    corpus += sorted(normalize.words())
    words = {plain(w) for d in (*docs, *negatives) for w in d.keywords} | vocabulary
    words |= {plain(w) for w in (*places, *normalize.words())}
    normalize.phonetic = Phonetic(sorted(vocabulary), corpus, sorted(words))


def load(root: Path, report: Report, content: Content) -> Knowledge:
    topics = load_topics(root, report)
    matcher = build_matcher(topics, root, report)
    return Knowledge(topics.topics, topics.categories, matcher)
