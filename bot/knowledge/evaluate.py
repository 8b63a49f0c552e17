"""Measuring the matcher on a labelled question set (tests/data/questions.yml).

Shared by the quality test, ``bench/matching.py`` and ``bench/tune.py``.

The labelled set names the fixed topic ids. A topic added later beyond those ids
(for example ``appeals`` split out of ``how-to-apply``) is credited to its *family*:
the first fixed id in its ``related`` list, so adding a finer topic does not count
as a wrong answer for a question labelled with the broader one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

FIXED_IDS = (
    "dibao", "tekun", "dibao-edge", "temporary-relief", "medical-assistance",
    "insurance-enrollment", "student-aid", "housing-assistance", "rural-housing-renovation",
    "disaster-relief", "employment-assistance", "price-subsidy", "orphan-support",
    "disability-subsidies", "winter-visits", "holiday-payment", "epidemic-prevention",
    "social-work-care", "charity-volunteer", "home-safety", "weather-emergency",
    "left-behind-care", "how-to-apply",
)  # fmt: skip


@dataclass(frozen=True)
class Labelled:
    q: str
    topic: str | None
    split: str


def load_labelled(path: Path, split: str | None = None) -> list[Labelled]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    items = [Labelled(str(d["q"]), d.get("topic"), str(d.get("split", "dev"))) for d in data]
    return [x for x in items if split is None or x.split == split]


def families(topics: dict) -> dict[str, str]:
    """topic id -> the fixed id it is credited to."""
    out = {}
    for tid, topic in topics.items():
        if tid in FIXED_IDS:
            out[tid] = tid
        else:
            parent = next((r for r in getattr(topic, "related", ()) if r in FIXED_IDS), tid)
            out[tid] = parent
    return out


@dataclass
class Scores:
    n_in: int = 0
    n_out: int = 0
    r1: int = 0
    r3: int = 0
    out_fallback: int = 0
    in_fallback: int = 0
    wrong_answers: int = 0  # answered with a wrong topic, or answered out of scope

    @property
    def recall1(self) -> float:
        return self.r1 / self.n_in if self.n_in else 0.0

    @property
    def recall3(self) -> float:
        return self.r3 / self.n_in if self.n_in else 0.0

    @property
    def out_to_fallback(self) -> float:
        return self.out_fallback / self.n_out if self.n_out else 0.0

    @property
    def in_to_fallback(self) -> float:
        return self.in_fallback / self.n_in if self.n_in else 0.0

    @property
    def wrong_answer_rate(self) -> float:
        total = self.n_in + self.n_out
        return self.wrong_answers / total if total else 0.0


def score(
    items: Iterable[Labelled],
    predict: Callable[[str], tuple[str, Sequence[str]]],
    family: dict[str, str] | None = None,
) -> Scores:
    """``predict(question) -> (decision, ranked topic ids)``."""
    family = family or {}
    s = Scores()
    for item in items:
        decision, ranked = predict(item.q)
        ids = [family.get(tid, tid) for tid in ranked]
        if item.topic is None:
            s.n_out += 1
            s.out_fallback += decision == "fallback"
            s.wrong_answers += decision == "answer"
        else:
            s.n_in += 1
            s.r1 += bool(ids) and ids[0] == item.topic
            s.r3 += item.topic in ids[:3]
            s.in_fallback += decision == "fallback"
            s.wrong_answers += decision == "answer" and (not ids or ids[0] != item.topic)
    return s


# -- realistic messages by style (tests/data/messages.yml) ------------------------

STYLES = ("long", "dialect", "typo", "short", "figure", "proxy", "multi", "oos", "greet")


@dataclass(frozen=True)
class Message:
    q: str
    topics: tuple[str, ...]  # () = out of scope (style oos) or a greeting (style greet)
    style: str
    split: str


def load_messages(path: Path, split: str | None = None) -> list[Message]:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    out = []
    for d in data:
        topic = d.get("topic")
        topics = tuple(topic) if isinstance(topic, list) else ((topic,) if topic else ())
        out.append(Message(str(d["q"]), topics, str(d["style"]), str(d.get("split", "dev"))))
    return [x for x in out if split is None or x.split == split]


def message_families(topics: dict, labels: Iterable[str]) -> dict[str, str]:
    """topic id -> the labelled id it is credited to: itself when labels use it, else the
    first labelled id in its ``related`` list (a topic added after the set was written)."""
    known = set(labels)
    out = {}
    for tid, topic in topics.items():
        if tid in known:
            out[tid] = tid
        else:
            out[tid] = next((r for r in getattr(topic, "related", ()) if r in known), tid)
    return out


@dataclass(frozen=True)
class Prediction:
    decision: str  # answer | clarify | multi | fallback | greeting
    ranked: tuple[str, ...]  # topic ids, best first
    listed: tuple[str, ...] = ()  # the topics offered by a multi-need list


@dataclass
class StyleScores:
    n: int = 0
    top: int = 0  # not fallback and the best match is right (R@1 as the issue defines it)
    correct_answer: int = 0  # answered directly and correctly (a multi list with 2+ right)
    clarify: int = 0
    multi: int = 0
    fallback: int = 0
    wrong: int = 0  # confident-wrong: answered with a wrong topic, or answered out of scope
    greeting: int = 0

    def rate(self, name: str) -> float:
        return getattr(self, name) / self.n if self.n else 0.0


def score_messages(
    items: Iterable[Message],
    predict: Callable[[str], Prediction],
    family: dict[str, str] | None = None,
) -> dict[str, StyleScores]:
    """Scores per style, plus ``in-scope`` (every style with topics) and ``all``."""
    family = family or {}
    out: dict[str, StyleScores] = {}
    for item in items:
        p = predict(item.q)
        ranked = [family.get(t, t) for t in p.ranked]
        listed = {family.get(t, t) for t in p.listed}
        keys = [item.style, "all"] + (["in-scope"] if item.topics else [])
        for key in keys:
            s = out.setdefault(key, StyleScores())
            s.n += 1
            s.clarify += p.decision == "clarify"
            s.multi += p.decision == "multi"
            s.fallback += p.decision == "fallback"
            s.greeting += p.decision == "greeting"
            if not item.topics:
                s.wrong += p.decision in ("answer", "multi")
                continue
            right = set(item.topics)
            best_ok = bool(ranked) and ranked[0] in right
            s.top += p.decision not in ("fallback", "greeting") and best_ok
            if p.decision == "answer":
                s.correct_answer += best_ok
                s.wrong += not best_ok
            elif p.decision == "multi":
                # A list answers a message of several needs (two of them in it); for a
                # single need it is a choice, like a clarify.
                hits = len(listed & right)
                s.correct_answer += len(right) >= 2 and hits >= 2
                s.wrong += hits == 0
    return out
