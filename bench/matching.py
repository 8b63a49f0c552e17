"""Benchmark the question matcher against two baselines.

Usage: .venv/bin/python bench/matching.py [--split test|dev] [--scale 200] [--rounds 5]

Prints one table: Recall@1, Recall@3, out-of-scope sent to fallback, in-scope wrongly
sent to fallback, confident wrong answers, p50/p99 latency per query and index build
time, for

- sanliang: this matcher (intents/normalize.yml + char n-gram BM25 + rapidfuzz);
- rapidfuzz: ``process.extractOne`` over all example questions (title included), on
  lightly cleaned text (NFKC, lower case, punctuation dropped); fallback below a score
  cut-off chosen on the dev split; Recall@3 is not defined for extractOne;
- bm25-jieba: BM25 over jieba words of the same topic fields; fallback below a score
  cut-off chosen on the dev split (needs ``pip install jieba``, not a runtime dependency);

each on the real knowledge base and again with it scaled xN by synthetic topics
(real topics with most characters replaced at random, so the vocabulary and lengths
stay realistic). Quality at xN is shown for completeness; the point is latency. Labels
name the fixed topic ids; extra topics count for their family (bot.knowledge.evaluate).
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from bot.content import load_content  # noqa: E402
from bot.knowledge.content import topic_doc  # noqa: E402
from bot.knowledge.evaluate import Labelled, families, load_labelled, score  # noqa: E402
from bot.knowledge.matcher import Doc, Matcher  # noqa: E402
from bot.knowledge.normalize import Normalizer  # noqa: E402

Predict = Callable[[str], tuple[str, Sequence[str]]]
light = Normalizer()  # NFKC, lower case, punctuation and spaces dropped: no data maps


# -- synthetic topics -----------------------------------------------------------


def synthetic_docs(docs: Sequence[Doc], scale: int, seed: int = 7) -> list[Doc]:
    rng = random.Random(seed)
    corpus = "".join(t for d in docs for t in d.fields.values())
    counts = Counter(ch for ch in corpus if "\u4e00" <= ch <= "\u9fff")
    chars, weights = zip(*counts.items(), strict=True)

    def mutate(text: str) -> str:
        out = []
        for ch in text:
            if "\u4e00" <= ch <= "\u9fff" and rng.random() < 0.6:
                ch = rng.choices(chars, weights)[0]
            out.append(ch)
        return "".join(out)

    extra = []
    for n in range(scale - 1):
        for d in docs:
            extra.append(
                Doc(
                    id=f"syn{n}-{d.id}",
                    title=mutate(d.title),
                    fields={k: mutate(v) for k, v in d.fields.items()},
                    examples=tuple(mutate(e) for e in d.examples),
                    keywords=tuple(mutate(k) for k in d.keywords),
                )
            )
    return [*docs, *extra]


# -- baselines --------------------------------------------------------------------


class RapidfuzzBaseline:
    def __init__(self, docs: Sequence[Doc]) -> None:
        self.choices: list[str] = []
        self.owner: list[str] = []
        for d in docs:
            for ex in d.examples:
                self.choices.append(light(ex))
                self.owner.append(d.id)
        self.cutoff = 0.0

    def rank(self, q: str) -> tuple[float, list[str]]:
        hit = process.extractOne(light(q), self.choices, scorer=fuzz.WRatio)
        if hit is None:
            return 0.0, []
        return hit[1] / 100.0, [self.owner[hit[2]]]


class JiebaBM25Baseline:
    def __init__(self, docs: Sequence[Doc], k1: float = 1.2, b: float = 0.75) -> None:
        import jieba

        jieba.setLogLevel(60)
        self.jieba = jieba
        self.ids = [d.id for d in docs]
        tfs, lens = [], []
        for d in docs:
            words = self.words(" ".join(d.fields.values()))
            tfs.append(Counter(words))
            lens.append(len(words))
        avg = sum(lens) / len(lens)
        df = Counter(w for tf in tfs for w in tf)
        n = len(docs)
        idf = {w: math.log(1 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, tf in enumerate(tfs):
            norm = k1 * (1 - b + b * lens[i] / avg)
            for w, c in tf.items():
                self.postings[w].append((i, idf[w] * c * (k1 + 1) / (c + norm)))
        self.cutoff = 0.0

    def words(self, text: str) -> list[str]:
        return [w for w in self.jieba.lcut(light(text)) if w.strip()]

    def rank(self, q: str) -> tuple[float, list[str]]:
        scores: dict[int, float] = defaultdict(float)
        for w in set(self.words(q)):
            for i, v in self.postings.get(w, ()):
                scores[i] += v
        top = sorted(scores, key=scores.__getitem__, reverse=True)[:3]
        return (scores[top[0]] if top else 0.0), [self.ids[i] for i in top]


def baseline_predict(model) -> Predict:
    def predict(q: str) -> tuple[str, Sequence[str]]:
        s, ids = model.rank(q)
        return ("answer" if s >= model.cutoff and ids else "fallback"), ids

    return predict


def choose_cutoff(model, dev: Sequence[Labelled], fam: dict[str, str]) -> None:
    """The cut-off maximising the same objective bench/tune.py uses, on dev only."""
    ranked = [model.rank(x.q) for x in dev]
    candidates = sorted({s for s, _ in ranked})
    best = (-1e9, 0.0)
    for cut in candidates:
        model.cutoff = cut
        cache = {x.q: r for x, r in zip(dev, ranked, strict=True)}

        def predict(q, cache=cache, cut=cut):
            s, ids = cache[q]
            return ("answer" if s >= cut and ids else "fallback"), ids

        sc = score(dev, predict, fam)
        obj = (
            sc.recall1
            + sc.out_to_fallback
            - 2 * max(0.0, sc.in_to_fallback - 0.03)
            - 1.5 * sc.wrong_answer_rate
        )
        best = max(best, (obj, cut))
    model.cutoff = best[1]


# -- measuring ----------------------------------------------------------------------


def measure(
    name: str,
    build: Callable[[], object],
    make_predict: Callable[[object], Predict],
    items: Sequence[Labelled],
    fam: dict[str, str],
    rounds: int,
    tune: Callable[[object], None] | None = None,
    has_r3: bool = True,
) -> list[str]:
    t0 = time.perf_counter()
    model = build()
    build_s = time.perf_counter() - t0
    if tune:
        tune(model)
    predict = make_predict(model)
    sc = score(items, predict, fam)
    # The index is long-lived: move it out of the garbage collector's young generations
    # so that a collection walking millions of postings does not land in one query.
    gc.collect()
    gc.freeze()
    times = []
    for _ in range(rounds):
        for x in items:
            t = time.perf_counter()
            predict(x.q)
            times.append((time.perf_counter() - t) * 1000)
    gc.unfreeze()
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return [
        name,
        f"{sc.recall1:.3f}",
        f"{sc.recall3:.3f}" if has_r3 else "—",
        f"{sc.out_to_fallback:.3f}",
        f"{sc.in_to_fallback:.3f}",
        f"{sc.wrong_answer_rate:.3f}",
        f"{p50:.2f}",
        f"{p99:.2f}",
        f"{build_s * 1000:.0f}",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", choices=["test", "dev"])
    ap.add_argument("--scale", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    content, report = load_content(ROOT)
    if report.errors:
        print("content has errors; run `sanliang check`", file=sys.stderr)
        return 1
    kb = content.knowledge
    real = kb.matcher
    fam = families(kb.topics)
    labelled = ROOT / "tests" / "data" / "questions.yml"
    items = load_labelled(labelled, args.split)
    dev = load_labelled(labelled, "dev")
    docs = [topic_doc(t) for t in kb.topics.values()]
    try:
        import jieba  # noqa: F401

        have_jieba = True
    except ImportError:
        have_jieba = False
        print("jieba not installed: `pip install jieba` for the bm25-jieba baseline\n")

    def ours(model: Matcher) -> Predict:
        def predict(q: str):
            r = model.match(q)
            return r.decision, [m.id for m in r.matches]

        return predict

    rows = []
    for scale in (1, args.scale):
        all_docs = docs if scale == 1 else synthetic_docs(docs, scale)
        tag = f"x{scale} ({len(all_docs)} topics)"
        rows.append(
            measure(
                f"sanliang {tag}",
                lambda d=all_docs: Matcher(
                    d, real.intents, real.normalize, real.settings, real.index.negatives
                ),
                ours,
                items,
                fam,
                args.rounds,
            )
        )
        rows.append(
            measure(
                f"rapidfuzz extractOne {tag}",
                lambda d=all_docs: RapidfuzzBaseline(d),
                baseline_predict,
                items,
                fam,
                args.rounds,
                tune=lambda m: choose_cutoff(m, dev, fam),
                has_r3=False,
            )
        )
        if have_jieba:
            rows.append(
                measure(
                    f"bm25-jieba {tag}",
                    lambda d=all_docs: JiebaBM25Baseline(d),
                    baseline_predict,
                    items,
                    fam,
                    args.rounds,
                    tune=lambda m: choose_cutoff(m, dev, fam),
                )
            )

    head = [
        "matcher",
        "R@1",
        "R@3",
        "OOS→fallback",
        "in-scope→fallback",
        "wrong answers",
        "p50 ms",
        "p99 ms",
        "build ms",
    ]
    n_in = sum(1 for x in items if x.topic)
    print(
        f"split={args.split}: {n_in} in-scope, {len(items) - n_in} out-of-scope questions; "
        f"latency over {args.rounds} rounds on one core"
    )
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
