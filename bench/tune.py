"""Tune the matcher's mixing weights and decision thresholds on the dev split.

Usage: .venv/bin/python bench/tune.py [--write]

Features are computed once per dev question for its short list; then a grid search
over the weights of intents/matching.yml and the thresholds picks the setting with the
best objective (Recall@1, out-of-scope to fallback, few in-scope fallbacks and very few
confident wrong answers). Only the dev split is read. --write prints the chosen values
in matching.yml form (edit the file by hand).
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content import load_content  # noqa: E402
from bot.knowledge.evaluate import families, load_labelled, score  # noqa: E402
from bot.knowledge.matcher import Match, decide  # noqa: E402

FEATURES = ("bm25", "mass", "coverage", "fuzzy", "partial", "keyword", "overlap")


def main() -> int:
    content, report = load_content(ROOT)
    kb = content.knowledge
    matcher = kb.matcher
    index = matcher.index
    fam = families(kb.topics)
    dev = load_labelled(ROOT / "tests" / "data" / "questions.yml", "dev")
    cache = {}
    negatives = {}  # question -> features of each out-of-scope group
    for item in dev:
        norm = matcher.normalize(item.q)
        terms, ids = index.shortlist(norm, 3)
        cache[item.q] = [(index.docs[i].id, index.features(norm, terms, i)) for i in ids]
        negatives[item.q] = [
            index.features(norm, terms, index.n + j) for j in range(len(index.negatives))
        ]

    grid = {
        "w_bm25": [0.0, 0.2, 0.4],
        "w_mass": [0.0, 0.2, 0.4],
        "w_coverage": [0.0, 0.2, 0.4],
        "w_fuzzy": [0.2, 0.4, 0.6],
        "w_partial": [0.0, 0.2, 0.4],
        "w_keyword": [0.0, 0.2, 0.4],
        "w_overlap": [0.0, 0.2, 0.4],
    }
    best_rank = []
    for values in itertools.product(*grid.values()):
        w = dict(zip(grid, values, strict=True))
        total = sum(w.values())
        if not total:
            continue
        w = {k: v / total for k, v in w.items()}
        ranked = {}
        oos = {}
        for q, feats in cache.items():
            oos[q] = max(
                (sum(w["w_" + f] * fs[f] for f in FEATURES) for fs in negatives[q]), default=0.0
            )
            ms = [
                Match(tid, tid, sum(w["w_" + f] * fs[f] for f in FEATURES), fs) for tid, fs in feats
            ]
            ms.sort(key=lambda m: (-m.score, m.id))
            ranked[q] = ms
        s = score(dev, lambda q, ranked=ranked: ("answer", [m.id for m in ranked[q]]), fam)
        best_rank.append((s.recall1 + 0.5 * s.recall3, w, ranked, oos))
    best_rank.sort(key=lambda x: -x[0])
    results = []
    for _rank_score, w, ranked, oos in best_rank[:15]:
        for amin, gap, cmin, win, oos_weight in itertools.product(
            [0.35, 0.4, 0.45, 0.5, 0.55, 0.6],
            [0.0, 0.03, 0.06, 0.1, 0.15],
            [0.2, 0.25, 0.28, 0.3, 0.32, 0.35, 0.4],
            [0.1],
            [0.0, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5] if index.negatives else [0.0],
        ):
            if cmin > amin:
                continue
            st = replace(
                matcher.settings, answer_min=amin, answer_gap=gap, clarify_min=cmin,
                clarify_window=win, oos_weight=oos_weight, **w,
            )  # fmt: skip

            def predict(q, ranked=ranked, st=st, oos=oos):
                ms = ranked[q]
                return decide(ms, st, oos[q]), [m.id for m in ms]

            s = score(dev, predict, fam)
            objective = (
                s.recall1
                + s.out_to_fallback
                - 2 * max(0.0, s.in_to_fallback - 0.03)
                - 0.5 * s.in_to_fallback
                - 1.5 * s.wrong_answer_rate
            )
            results.append((objective, s, st))
    results.sort(key=lambda x: -x[0])
    for objective, s, st in results[:8]:
        print(
            f"obj {objective:.3f}  R@1 {s.recall1:.3f} R@3 {s.recall3:.3f} "
            f"oos->fb {s.out_to_fallback:.3f} in->fb {s.in_to_fallback:.3f} "
            f"wrong {s.wrong_answer_rate:.3f} | "
            + " ".join(f"{k}={getattr(st, k):.3f}" for k in (*("w_" + f for f in FEATURES),))
            + f" answer_min={st.answer_min} gap={st.answer_gap} clarify_min={st.clarify_min}"
            + f" oos_weight={st.oos_weight}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
