"""The scope model's veto threshold, chosen on the dev split only (issue #16).

Usage: .venv/bin/python bench/scope.py [--folds 5]

Five-fold out-of-fold predictions on the dev rows (each fold's model trained on the
content and the other folds, as ``sanliang train-scope`` trains it on all of them), then,
for each threshold, what a veto below it would do to the matcher's own decisions with the
veto off: out-of-scope messages it would send to fallback (that the matcher answered or
clarified), and in-scope messages it would wrongly send there. ``scope_min`` in
intents/matching.yml is the highest threshold that vetoes almost no in-scope message.
A second table: the model alone (kept = in scope at or above the threshold).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.matching import table  # noqa: E402
from bot.content import load_content  # noqa: E402
from bot.knowledge.evaluate import load_messages, message_families  # noqa: E402
from bot.knowledge.scope_train import LABELLED, training_set, vectorizer_and_classifier  # noqa: E402

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)


def main() -> None:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    args = ap.parse_args()
    content, report = load_content(ROOT)
    kb = content.knowledge
    matcher = kb.matcher
    matcher.settings.scope_min = 0.0  # the matcher's own decisions, without the veto
    base, _ = training_set(kb, ())
    texts, labels = training_set(kb, LABELLED)
    norms = [kb.normalize(t) for t in texts]
    y = np.array(labels)
    dev = np.arange(len(base), len(texts))
    oof = np.zeros(len(texts))
    folds = StratifiedKFold(args.folds, shuffle=True, random_state=1)
    for tr, te in folds.split(dev, y[dev]):
        rows = list(range(len(base))) + [int(dev[k]) for k in tr]
        vec, clf = vectorizer_and_classifier()
        clf.fit(vec.fit_transform([norms[i] for i in rows]), y[rows])
        test = [int(dev[k]) for k in te]
        oof[test] = clf.predict_proba(vec.transform([norms[i] for i in test]))[:, 1]
    fam = message_families(kb.topics, [t for x in load_messages(LABELLED[0]) for t in x.topics])
    items = []  # (in scope, matcher's decision, its best topic right, probability)
    topics_of = {}
    for x in load_messages(LABELLED[0], "dev"):
        topics_of[x.q] = x.topics
    for i in dev:
        q = texts[i]
        if matcher.match_intent(q):
            continue
        r = matcher.match(q)
        want = {fam.get(t, t) for t in topics_of.get(q, ())}
        right = bool(r.matches) and fam.get(r.matches[0].id, r.matches[0].id) in want
        items.append((bool(y[i]), r.decision, right, float(oof[i])))
    n_in = sum(1 for x in items if x[0])
    n_out = len(items) - n_in
    out_kept = sum(1 for x in items if not x[0] and x[1] != "fallback")
    print(f"dev rows: {n_in} in scope, {n_out} out of scope; {args.folds}-fold out-of-fold\n")
    print(f"with the matcher (veto off): {out_kept} out-of-scope messages not sent to fallback\n")
    rows = []
    for t in THRESHOLDS:
        fixed = sum(1 for x in items if not x[0] and x[1] != "fallback" and x[3] < t)
        lost = sum(1 for x in items if x[0] and x[1] != "fallback" and x[3] < t)
        lost_right = sum(1 for x in items if x[0] and x[1] == "answer" and x[2] and x[3] < t)
        rows.append([f"{t:.2f}", f"{fixed}/{out_kept}", f"{lost}/{n_in}", str(lost_right)])
    head = [
        "scope_min",
        "out of scope sent to fallback",
        "in scope vetoed",
        "of them answered right",
    ]
    print(table(head, rows))
    print()
    rows = []
    for t in THRESHOLDS:
        kept = sum(1 for x in items if x[0] and x[3] >= t) / max(n_in, 1)
        cut = sum(1 for x in items if not x[0] and x[3] < t) / max(n_out, 1)
        rows.append([f"{t:.2f}", f"{kept:.3f}", f"{cut:.3f}"])
    print(table(["threshold", "model alone: in scope kept", "out of scope cut"], rows))


if __name__ == "__main__":
    main()
