"""The scope model (bot.knowledge.scope, intents/scope_model.json): its reader agrees with
scikit-learn, the committed model is the one the current content and dev data train, it
vetoes an answer in the chat, it never judges a topic edited since it was trained, and a
broken or hostile model file only switches it off, with an error for ``sanliang check``."""

from __future__ import annotations

import json
import random
import re
import shutil

import pytest

from bot.config import PROJECT_ROOT
from bot.content import load_content
from bot.knowledge.evaluate import load_messages
from bot.knowledge.scope import char_grams, load_scope_model, parse_scope_model
from bot.knowledge.scope_train import LABELLED, fit, train

MESSAGES = PROJECT_ROOT / "tests" / "data" / "messages.yml"
MODEL = PROJECT_ROOT / "intents" / "scope_model.json"
CAT = "我家猫冬天怕冷咋个办"  # out of scope; answered (winter-visits) without the model


@pytest.fixture(scope="module")
def kb(bundled_content):
    return bundled_content.knowledge


@pytest.fixture(scope="module")
def sample():
    items = [x.q for x in load_messages(MESSAGES)]
    return random.Random(3).sample(items, 300)


def _errors(report):
    """The content's own errors (the copy has no templates: their errors are left out)."""
    return [p for p in report.errors if p.path.startswith(("intents/", "policy_texts/"))]


def _copy(tmp_path):
    for name in ("policy_texts", "intents"):
        shutil.copytree(PROJECT_ROOT / name, tmp_path / name)
    return tmp_path


def test_char_grams_as_scikit_learn_makes_them():
    from sklearn.feature_extraction.text import TfidfVectorizer

    for text in ("低保", "低保咋个办", "a  b低保c", "x"):
        vec = TfidfVectorizer(analyzer="char", ngram_range=(2, 3), lowercase=False)
        try:
            vec.fit([text])
            want = set(vec.vocabulary_)
        except ValueError:  # no n-gram at all
            want = set()
        assert char_grams(text, 2, 3) == want, text


def test_reader_agrees_with_scikit_learn(kb, sample):
    vec, clf, _texts, _labels = fit(kb, LABELLED)
    model = train(kb, LABELLED)
    norms = [kb.normalize(q) for q in sample]
    want = clf.predict_proba(vec.transform(norms))[:, 1]
    for q, n, p in zip(sample, norms, want, strict=True):
        got = model.probability(n)
        if got is None:  # no known n-gram: the vector is empty
            assert vec.transform([n]).nnz == 0, q
        else:
            assert abs(got - p) < 1e-4, (q, got, p)
    # A message without any n-gram the model knows has no probability, not the intercept's.
    assert model.probability("") is None
    assert model.probability("ㄅ") is None


def test_committed_model_is_current(kb, sample):
    """Edit a topic's examples, the out-of-scope groups or the dev data: run
    ``sanliang train-scope`` and commit intents/scope_model.json."""
    committed = load_scope_model(MODEL, _NoReport())
    assert committed is not None
    assert all(committed.knows(d.id, kb.matcher._prints[d.id]) for d in kb.matcher.index.docs)
    fresh = train(kb, LABELLED)
    assert fresh.grams == committed.grams
    for q in sample:
        a, b = committed.probability(kb.normalize(q)), fresh.probability(kb.normalize(q))
        assert (a is None) == (b is None), q
        assert a is None or b is None or abs(a - b) < 1e-3, q


class _NoReport:
    def error(self, *a):
        raise AssertionError(a)

    warning = error


def test_training_never_reads_the_test_split(kb):
    from bot.knowledge.evaluate import load_labelled
    from bot.knowledge.scope_train import training_set

    content_only, _ = training_set(kb, ())
    texts, _ = training_set(kb, LABELLED)
    labelled = texts[len(content_only) :]
    messages, questions = LABELLED
    dev = [x.q for x in load_messages(messages, "dev") if x.style != "greet"]
    dev += [x.q for x in load_labelled(questions, "dev")]
    assert labelled == dev


async def test_veto_sends_an_out_of_scope_question_to_fallback_in_the_chat(chat):
    await chat.send(CAT)
    assert chat.templates() == ["knowledge/fallback"]


def test_without_the_veto_it_would_be_answered(tmp_path, kb):
    root = _copy(tmp_path)
    path = root / "intents" / "matching.yml"
    path.write_text(re.sub(r"(?m)^scope_min:.*$", "scope_min: 0", path.read_text("utf-8")), "utf-8")
    content, report = load_content(root)
    assert not _errors(report)
    assert content.knowledge.matcher.match(CAT).decision != "fallback"
    r = kb.matcher.match(CAT)
    assert (
        r.decision == "fallback"
        and r.in_scope is not None
        and r.in_scope < kb.matcher.settings.scope_min
    )


def test_an_edited_topic_is_not_judged(tmp_path, kb):
    top = kb.matcher.match(CAT).matches[0].id
    root = _copy(tmp_path)
    path = next(
        p for p in (root / "policy_texts").glob("*.md") if f"\nid: {top}\n" in p.read_text("utf-8")
    )
    text = path.read_text("utf-8")
    text = re.sub(r"(?m)^questions:\n", "questions:\n  - 家里的猫冬天冷不冷\n", text, count=1)
    path.write_text(text, "utf-8")
    content, report = load_content(root)
    assert not _errors(report)
    assert any(w.path == "intents/scope_model.json" and top in w.message for w in report.warnings)
    r = content.knowledge.matcher.match(CAT)
    assert r.in_scope is None and r.matches[0].id == top and r.decision != "fallback"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[1, 2]",
        '{"format": 2}',
        '{"format": 1, "ngram": [2, 3], "intercept": NaN, "grams": ["低保"], "idf": [1], "weight": [1]}',
        '{"format": 1, "ngram": [2, 3], "intercept": 0, "grams": ["低保"], "idf": [1, 2], "weight": [1]}',
        '{"format": 1, "ngram": [2, 3], "intercept": 0, "grams": ["低保"], "idf": [-1], "weight": [1]}',
        '{"format": 1, "ngram": [2, 3], "intercept": 0, "grams": ["低保"], "idf": [1], "weight": ["x"]}',
        '{"format": 1, "ngram": [2, 3], "intercept": 0, "grams": ["低保", "低保"], "idf": [1, 1], "weight": [1, 1]}',
        '{"format": 1, "ngram": [0, 99], "intercept": 0, "grams": ["低保"], "idf": [1], "weight": [1]}',
        '{"format": 1, "ngram": [2, 3], "intercept": true, "grams": ["低保"], "idf": [1], "weight": [1]}',
        "[" * 100_000,
    ],
)
def test_broken_model_file_switches_the_veto_off(tmp_path, text):
    root = _copy(tmp_path)
    (root / "intents" / "scope_model.json").write_text(text, "utf-8")
    content, report = load_content(root)
    errors = _errors(report)
    assert [p.path for p in errors] == ["intents/scope_model.json"], errors
    assert content.knowledge.matcher.scope is None


def test_model_file_not_utf8_or_too_large(tmp_path, monkeypatch):
    root = _copy(tmp_path)
    path = root / "intents" / "scope_model.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    _content, report = load_content(root)
    assert [p.path for p in _errors(report)] == ["intents/scope_model.json"]
    monkeypatch.setattr("bot.knowledge.scope.MAX_BYTES", 10)
    path.write_text(MODEL.read_text("utf-8"), "utf-8")
    _content, report = load_content(root)
    assert any("larger than" in p.message for p in _errors(report))


def test_no_model_file_no_veto(tmp_path):
    root = _copy(tmp_path)
    (root / "intents" / "scope_model.json").unlink()
    content, report = load_content(root)
    assert not _errors(report)
    r = content.knowledge.matcher.match(CAT)
    assert r.in_scope is None and r.decision != "fallback"


def test_round_trip(kb):
    model = parse_scope_model(MODEL.read_text("utf-8"))
    again = parse_scope_model(model.to_json())
    assert again == model
    assert json.loads(model.to_json())["format"] == 1
