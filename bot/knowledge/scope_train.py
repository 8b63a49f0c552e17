"""``sanliang train-scope``: train the scope model (``bot.knowledge.scope``) and write
``intents/scope_model.json``.

Trained with scikit-learn (a development dependency, imported here only): TF-IDF over the
character bigrams and trigrams of the normalised text (binary, L2-normalised) and a
logistic regression with balanced class weights. In scope: every topic's title and
example questions, and the in-scope messages of the labelled sets' dev split; out of
scope: the out-of-scope groups' examples and the dev split's out-of-scope messages. The
test split is never used: it measures the model. Greetings are left out (the intents
answer them before the topics are matched).

The settings (n-grams 2-3, C = 8) and the veto threshold ``scope_min`` (0.3) were chosen
on five-fold out-of-fold predictions on the dev split (bench/scope.py): the threshold where
the out-of-scope messages it sends to fallback most outnumber the in-scope ones it vetoes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.knowledge.scope import ScopeModel, fingerprint

NGRAM = (2, 3)
C = 8.0
PROJECT = Path(__file__).resolve().parents[2]
LABELLED = (
    PROJECT / "tests" / "data" / "messages.yml",
    PROJECT / "tests" / "data" / "questions.yml",
)


def training_set(knowledge, labelled: Sequence[Path]) -> tuple[list[str], list[int]]:
    """Texts (raw) and labels (1 = in scope) for the model."""
    from bot.knowledge.evaluate import load_labelled, load_messages

    texts: list[str] = []
    labels: list[int] = []
    for topic in knowledge.topics.values():
        for q in (topic.title, *topic.questions):
            texts.append(q)
            labels.append(1)
    for doc in knowledge.matcher.index.negatives:
        for q in doc.examples:
            texts.append(q)
            labels.append(0)
    for path in labelled:
        if path.name == "messages.yml":
            for m in load_messages(path, "dev"):
                if m.style != "greet":
                    texts.append(m.q)
                    labels.append(1 if m.topics else 0)
        else:
            for x in load_labelled(path, "dev"):
                texts.append(x.q)
                labels.append(1 if x.topic else 0)
    return texts, labels


def vectorizer_and_classifier(c: float = C):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(
        analyzer="char", ngram_range=NGRAM, use_idf=True, binary=True, norm="l2", lowercase=False
    )
    return vec, LogisticRegression(C=c, class_weight="balanced", max_iter=5000)


def fit(knowledge, labelled: Sequence[Path] = LABELLED, c: float = C):
    """scikit-learn's vectoriser and classifier fitted, with the texts and labels."""
    texts, labels = training_set(knowledge, labelled)
    vec, clf = vectorizer_and_classifier(c)
    clf.fit(vec.fit_transform([knowledge.normalize(t) for t in texts]), labels)
    assert list(clf.classes_) == [0, 1]
    return vec, clf, texts, labels


def train(knowledge, labelled: Sequence[Path] = LABELLED, c: float = C) -> ScopeModel:
    vec, clf, _texts, labels = fit(knowledge, labelled, c)
    grams = sorted(vec.vocabulary_)
    cols = [vec.vocabulary_[g] for g in grams]
    idf = [round(float(vec.idf_[i]), 6) for i in cols]
    weight = [round(float(clf.coef_[0][i]), 6) for i in cols]
    topics = {t.id: fingerprint((t.title, *t.questions)) for t in knowledge.topics.values()}
    n_in = sum(labels)
    from bot.calendar import china_today

    trained = f"{china_today().isoformat()}: {n_in} in scope, {len(labels) - n_in} out of scope"
    b = round(float(clf.intercept_[0]), 6)
    return ScopeModel(NGRAM[0], NGRAM[1], b, grams, idf, weight, topics, trained)


def add_parser(subparsers, common) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "train-scope",
        help="train the scope model (intents/scope_model.json) on the content and labelled messages",
        description="Train the model that tells whether a message asks about the assistant's "
        "subjects at all, and write it into the content. Needs scikit-learn "
        "(make install puts it in the development venv).",
    )
    common(parser)
    parser.add_argument(
        "--content", metavar="DIR", help="content root (default: the bundled content)"
    )
    parser.add_argument(
        "--labelled",
        metavar="FILE",
        action="append",
        help="labelled messages (dev split used); default: tests/data/messages.yml and questions.yml",
    )
    parser.set_defaults(func=cmd_train_scope)
    return parser


def cmd_train_scope(args: argparse.Namespace) -> int:
    from bot.config import config_from
    from bot.content import ContentError, load_content
    from bot.manifest import content_path

    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("train-scope needs scikit-learn: make install (or pip install scikit-learn)",
              file=sys.stderr)  # fmt: skip
        return 2
    root = Path(args.content) if args.content else config_from(args).content_dir
    out = content_path(root, "scope_model")
    content, report = load_content(root)
    # The model being replaced may be broken or of an older format: that is no reason not to.
    others = [p for p in report.errors if p.path != report._rel(out)]
    if others:
        report.problems = others
        raise ContentError(report)
    labelled = [Path(p) for p in args.labelled] if args.labelled else list(LABELLED)
    missing = [str(p) for p in labelled if not p.is_file()]
    if missing:
        print(
            f"labelled messages not found: {', '.join(missing)} (--labelled FILE)", file=sys.stderr
        )
        return 2
    model = train(content.knowledge, labelled)
    out.write_text(model.to_json(), encoding="utf-8")
    print(f"{out}: {len(model.grams)} n-grams, {model.trained}")
    return 0
