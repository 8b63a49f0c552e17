"""The scope model: how likely a message asks about this assistant's subjects at all.

A linear classifier over the character bigrams and trigrams of the normalised message
(TF-IDF, binary, L2-normalised; logistic regression), trained by ``sanliang train-scope``
(``bot.knowledge.scope_train``, scikit-learn) on the topics' example questions, the
out-of-scope groups' examples and the dev split of the labelled messages, and stored in
``intents/scope_model.json``. Reading it needs no library: the probability is a sum of
weights over the message's n-grams.

It vetoes an answer when the probability is below ``scope_min`` (``intents/matching.yml``):
the word lists of the out-of-scope groups cover what their author thought of, the model
also what resembles it. A topic edited since the model was trained (its fingerprint
differs) is never vetoed: the model did not learn its current wording.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.content import Report

FORMAT = 1
_SPACES = re.compile(r"\s\s+")
MAX_BYTES = 20_000_000  # a model file larger than this is refused, not read


def fingerprint(texts: Iterable[str]) -> str:
    """A short hash of what a topic was trained on (its title and example questions)."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:16]


def char_grams(norm: str, lo: int, hi: int) -> set[str]:
    """The distinct character n-grams of ``norm``, lo to hi long, as scikit-learn's
    ``analyzer="char"`` makes them (white space runs become one space)."""
    text = _SPACES.sub(" ", norm)
    n = len(text)
    return {text[i : i + k] for k in range(lo, min(hi, n) + 1) for i in range(n - k + 1)}


@dataclass(frozen=True)
class ScopeModel:
    lo: int
    hi: int
    intercept: float
    grams: list[str]  # the n-grams, each with its IDF and its coefficient
    idf: list[float]
    weight: list[float]
    topics: dict[str, str] = field(default_factory=dict)  # topic id: fingerprint trained on
    trained: str = ""  # when, and on what (for sanliang check and the bench)

    def __post_init__(self) -> None:
        # What a message's sum needs, worked out once: idf * weight and idf ** 2.
        index = dict(zip(self.grams, range(len(self.grams)), strict=True))
        if len(index) != len(self.grams):
            raise ValueError("grams: expected distinct n-grams")
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_dot", list(map(operator.mul, self.idf, self.weight)))
        object.__setattr__(self, "_sq", list(map(operator.mul, self.idf, self.idf)))

    def probability(self, norm: str) -> float | None:
        """P(in scope) for a normalised message; None when it has no n-gram the model knows
        (nothing to judge by)."""
        index: dict[str, int] = self._index  # type: ignore[attr-defined]
        known = [index[g] for g in char_grams(norm, self.lo, self.hi) if g in index]
        if not known:
            return None
        dot: list[float] = self._dot  # type: ignore[attr-defined]
        sq: list[float] = self._sq  # type: ignore[attr-defined]
        z = self.intercept + sum(dot[i] for i in known) / math.sqrt(sum(sq[i] for i in known))
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def knows(self, topic: str, print_: str) -> bool:
        """Whether the model was trained on this topic as it is now."""
        return self.topics.get(topic) == print_

    def to_json(self) -> str:
        data = {
            "format": FORMAT,
            "trained": self.trained,
            "ngram": [self.lo, self.hi],
            "intercept": self.intercept,
            "topics": self.topics,
            # Three columns rather than an object of pairs: a third of the time to read.
            "grams": self.grams,
            "idf": self.idf,
            "weight": self.weight,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


def parse_scope_model(text: str) -> ScopeModel:
    """The model in a file's text; ValueError with a reason when it is not one."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f"not JSON ({e.msg}, line {e.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"expected an object with format {FORMAT}")
    ngram, b = data.get("ngram"), data.get("intercept")
    if not (
        isinstance(ngram, list)
        and len(ngram) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) for n in ngram)
        and 1 <= ngram[0] <= ngram[1] <= 6
    ):
        raise ValueError("ngram: expected [lo, hi], 1 <= lo <= hi <= 6")
    if not isinstance(b, int | float) or isinstance(b, bool):
        raise ValueError("intercept: expected a number")
    grams, idf, weight = data.get("grams"), data.get("idf"), data.get("weight")
    if not (
        isinstance(grams, list)
        and isinstance(idf, list)
        and isinstance(weight, list)
        and len(grams) == len(idf) == len(weight) > 0
    ):
        raise ValueError("grams, idf, weight: expected three lists of the same length")
    # Checked by the types of the items (fast on 30,000 of them). NaN and Infinity were
    # refused while parsing: every number here is finite.
    if set(map(type, grams)) != {str} or "" in grams:
        raise ValueError("grams: expected non-empty strings")
    if not set(map(type, idf)) <= {int, float} or min(idf) <= 0:
        raise ValueError("idf: expected numbers > 0")
    if not set(map(type, weight)) <= {int, float}:
        raise ValueError("weight: expected numbers")
    topics = data.get("topics", {})
    if not isinstance(topics, dict) or not all(isinstance(v, str) for v in topics.values()):
        raise ValueError("topics: expected an object of topic id: fingerprint")
    trained = data.get("trained", "")
    return ScopeModel(
        ngram[0],
        ngram[1],
        float(b),
        grams,
        idf,
        weight,
        dict(topics),
        trained if isinstance(trained, str) else "",
    )


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number here")


def load_scope_model(path: Path, report: Report) -> ScopeModel | None:
    """The model, or None (no veto) when the file is missing, too large or broken: an
    error in the report then, as a broken file means the check is off."""
    if not path.exists():
        return None
    try:
        if path.stat().st_size > MAX_BYTES:
            report.error(path, 1, f"larger than {MAX_BYTES // 1_000_000} MB: not read")
            return None
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        report.error(path, 1, f"cannot be read: {e}")
        return None
    try:
        return parse_scope_model(text)
    except (ValueError, RecursionError) as e:
        report.error(path, 1, f"not a scope model: {e} (make it again: sanliang train-scope)")
        return None
