"""Benchmark the question matcher: this one, the previous one and two baselines.

Usage: .venv/bin/python bench/matching.py [--split test|dev] [--scale 200] [--rounds 5]
                                          [--previous REV] [--no-scaled-baselines]

Quality on tests/data/messages.yml (realistic messages by style) for

- sanliang: this matcher (normalisation with OpenCC and pypinyin, the asking clause, the
  situation cues, char n-gram BM25 + rapidfuzz, out-of-scope groups, multi-need lists);
- previous: the matcher of git revision REV (default: the last commit before matching v2),
  run from a `git archive` of that revision in a subprocess, on its own content;
- rapidfuzz: ``process.extractOne`` over all example questions; fallback below a cut-off
  chosen on the dev split;
- bm25-jieba: BM25 over jieba words of the topic fields; cut-off chosen on dev (needs
  ``pip install jieba``, not a runtime dependency).

Quality of this matcher also at xN (a synthetic topic ranked first is wrong). Per style:
R@1 (not fallback and the best match right), answered directly and correctly
(for several needs: a list with two of them), clarify, multi-need list, fallback and
confident-wrong (answered with a wrong topic, or answered out of scope). Then latency per
question (p50/p99 of the CPU time of the one thread that matches: the machine's other load
does not count) and start-up (index build; CPU time of the process, likewise) on the real
knowledge base and scaled xN by synthetic topics (real topics with most characters replaced at random).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rapidfuzz import fuzz, process  # noqa: E402

from bot.content import load_content  # noqa: E402
from bot.knowledge.content import topic_doc  # noqa: E402
from bot.knowledge.evaluate import (  # noqa: E402
    STYLES,
    Message,
    Prediction,
    load_messages,
    message_families,
    score_messages,
)
from bot.knowledge.matcher import Doc, Matcher  # noqa: E402
from bot.knowledge.normalize import Normalizer  # noqa: E402

PREVIOUS = "0afa4b2"  # main before matching v2 (issue #16)
MESSAGES = ROOT / "tests" / "data" / "messages.yml"
Predict = Callable[[str], Prediction]
light = Normalizer()  # NFKC, lower case, simplified characters, punctuation dropped


# -- synthetic topics -----------------------------------------------------------


def synthetic_docs(docs: Sequence[Doc], scale: int, seed: int = 7) -> list[Doc]:
    rng = random.Random(seed)
    corpus = "".join(t for d in docs for t in d.fields.values())
    counts = Counter(ch for ch in corpus if "\u4e00" <= ch <= "\u9fff")
    chars, weights = zip(*counts.items(), strict=True)
    # Accumulated once: random.choices would add up the weights again for every character
    # drawn (the same draws either way: the weights are whole numbers).
    cum = list(itertools.accumulate(weights))

    def mutate(text: str) -> str:
        out = []
        for ch in text:
            if "\u4e00" <= ch <= "\u9fff" and rng.random() < 0.6:
                ch = rng.choices(chars, cum_weights=cum)[0]
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
    def predict(q: str) -> Prediction:
        s, ids = model.rank(q)
        return Prediction("answer" if s >= model.cutoff and ids else "fallback", tuple(ids))

    return predict


def objective(res) -> float:
    inn, oos = res["in-scope"], res.get("oos")
    return (
        inn.rate("top")
        + inn.rate("correct_answer")
        + (oos.rate("fallback") if oos else 0.0)
        - 5 * res["all"].rate("wrong")
    )


def choose_cutoff(model, dev: Sequence[Message], fam: dict[str, str]) -> None:
    """The cut-off maximising the tuning objective, on dev only."""
    ranked = {x.q: model.rank(x.q) for x in dev}
    best = (-1e9, 0.0)
    for cut in sorted({s for s, _ in ranked.values()}):

        def predict(q, cut=cut):
            s, ids = ranked[q]
            return Prediction("answer" if s >= cut and ids else "fallback", tuple(ids))

        best = max(best, (objective(score_messages(dev, predict, fam)), cut))
    model.cutoff = best[1]


def ours(model: Matcher) -> Predict:
    def predict(q: str) -> Prediction:
        intent = model.match_intent(q)
        if intent is not None:
            return Prediction(
                "greeting" if intent.action in ("greeting", "thanks") else "intent", ()
            )
        r = model.match(q)
        return Prediction(r.decision, tuple(m.id for m in r.matches), r.listed)

    return predict


# -- the previous matcher, from git ----------------------------------------------------

_PREVIOUS_RUNNER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from bot.content import load_content
t = time.process_time()
content, report = load_content(Path(sys.argv[1]))
build = time.process_time() - t
m = content.knowledge.matcher
out = []
for q in json.load(sys.stdin):
    t = time.thread_time()
    intent = m.match_intent(q)
    if intent is not None:
        d, ids = ("greeting" if intent.action in ("greeting", "thanks") else "intent"), []
    else:
        r = m.match(q)
        d, ids = r.decision, [x.id for x in r.matches]
    out.append({"decision": d, "ranked": ids, "ms": (time.thread_time() - t) * 1000})
print(json.dumps({"build_ms": build * 1000, "results": out}))
"""


def previous_results(rev: str, questions: list[str]) -> dict | None:
    try:
        data = subprocess.run(
            ["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"previous matcher ({rev}) not available: {exc}", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "rev.tar"
        tar.write_bytes(data)
        with tarfile.open(tar) as tf:
            tf.extractall(Path(tmp) / "src", filter="data")
        env = {k: v for k, v in os.environ.items() if k != "SANLIANG_CONTENT_DIR"}
        proc = subprocess.run(
            [sys.executable, "-c", _PREVIOUS_RUNNER, str(Path(tmp) / "src")],
            input=json.dumps(questions, ensure_ascii=False),
            capture_output=True,
            text=True,
            env=env,
        )
    if proc.returncode:
        print(f"previous matcher ({rev}) failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout)


# -- measuring ----------------------------------------------------------------------


def latency(predict: Predict, items: Sequence[Message], rounds: int) -> tuple[float, float]:
    # The index is long-lived: move it out of the garbage collector's young generations
    # so that a collection walking millions of postings does not land in one query.
    gc.collect()
    gc.freeze()
    times = []
    for _ in range(rounds):
        for x in items:
            t = time.thread_time()
            predict(x.q)
            times.append((time.thread_time() - t) * 1000)
    gc.unfreeze()
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |"]
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", choices=["test", "dev"])
    ap.add_argument("--scale", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--previous", default=PREVIOUS, metavar="REV")
    ap.add_argument("--messages", default=str(MESSAGES), metavar="FILE")
    ap.add_argument(
        "--no-scaled-baselines",
        action="store_true",
        help="time the baselines at x1 only (rapidfuzz and jieba at xN take most of the run)",
    )
    args = ap.parse_args()

    t = time.process_time()  # CPU time, like the latency: the machine is shared
    content, report = load_content(ROOT)
    load_s = time.process_time() - t
    if report.errors:
        print("content has errors; run `sanliang check`", file=sys.stderr)
        return 1
    kb = content.knowledge
    real = kb.matcher
    items = load_messages(Path(args.messages), args.split)
    dev = load_messages(Path(args.messages), "dev")
    fam = message_families(
        kb.topics, [t for x in load_messages(Path(args.messages)) for t in x.topics]
    )
    docs = [topic_doc(t) for t in kb.topics.values()]
    try:
        import jieba  # noqa: F401

        have_jieba = True
    except ImportError:
        have_jieba = False
        print("jieba not installed: `pip install jieba` for the bm25-jieba baseline\n")

    def build_ours(d: Sequence[Doc]) -> Matcher:
        return Matcher(
            d,
            real.intents,
            real.normalize,
            real.settings,
            real.index.negatives,
            real.asking,
            real.index.cues,
            real.places,
        )

    quality: dict[str, dict] = {}
    speed: list[list[str]] = []
    quality["sanliang"] = score_messages(items, ours(real), fam)
    prev = previous_results(args.previous, [x.q for x in items])
    if prev is not None:
        by_q = {x.q: r for x, r in zip(items, prev["results"], strict=True)}
        quality[f"previous ({args.previous})"] = score_messages(
            items,
            lambda q: Prediction(by_q[q]["decision"], tuple(by_q[q]["ranked"])),
            fam,
        )
        ms = sorted(r["ms"] for r in prev["results"])
        speed.append(
            [
                f"previous ({args.previous}) x1",
                f"{statistics.median(ms):.2f}",
                f"{ms[min(len(ms) - 1, int(len(ms) * 0.99))]:.2f}",
                f"{prev['build_ms']:.0f}",
            ]
        )
    baselines: dict[str, Callable[[Sequence[Doc]], object]] = {"rapidfuzz": RapidfuzzBaseline}
    if have_jieba:
        baselines["bm25-jieba"] = JiebaBM25Baseline
    for name, make in baselines.items():
        model = make(docs)
        choose_cutoff(model, dev, fam)
        quality[name] = score_messages(items, baseline_predict(model), fam)

    for scale in (1, args.scale):
        all_docs = docs if scale == 1 else synthetic_docs(docs, scale)
        tag = f"x{scale} ({len(all_docs)} topics)"
        t = time.process_time()
        model = build_ours(all_docs)
        build = time.process_time() - t
        p50, p99 = latency(ours(model), items, args.rounds)
        if scale != 1:
            # After the timing (which starts cold); a synthetic topic ranked first is wrong.
            quality[f"sanliang x{scale}"] = score_messages(items, ours(model), fam)
        startup = f"{(load_s if scale == 1 else build) * 1000:.0f}"
        speed.append([f"sanliang {tag}", f"{p50:.2f}", f"{p99:.2f}", startup])
        for name, make in baselines.items():
            if scale != 1 and args.no_scaled_baselines:
                continue
            t = time.process_time()
            base = make(all_docs)
            build = time.process_time() - t
            base.cutoff = 0.0
            p50, p99 = latency(baseline_predict(base), items, args.rounds)
            speed.append([f"{name} {tag}", f"{p50:.2f}", f"{p99:.2f}", f"{build * 1000:.0f}"])

    n_in = sum(1 for x in items if x.topics)
    print(
        f"split={args.split}: {len(items)} messages, {n_in} in scope; "
        f"latency over {args.rounds} rounds on one core\n"
    )
    head = ["style", "n", "matcher", "R@1", "answered ok", "clarify", "multi", "fallback",
            "wrong", "greeting"]  # fmt: skip
    rows = []
    for style in ("in-scope", *STYLES, "all"):
        for name, res in quality.items():
            s = res.get(style)
            if s is None:
                continue
            scope = style not in ("oos", "greet")
            rows.append(
                [
                    style,
                    str(s.n),
                    name,
                    f"{s.rate('top'):.3f}" if scope else "—",
                    f"{s.rate('correct_answer'):.3f}" if scope else "—",
                    f"{s.rate('clarify'):.3f}",
                    f"{s.rate('multi'):.3f}",
                    f"{s.rate('fallback'):.3f}",
                    f"{s.rate('wrong'):.3f}",
                    f"{s.rate('greeting'):.3f}" if style in ("greet", "all") else "—",
                ]
            )
    print(table(head, rows))
    print()
    print(
        "start-up: x1 = content load with index build; xN = index build only"
        " (ms of the process's CPU time)\n"
    )
    print(table(["matcher", "p50 ms", "p99 ms", "start-up ms"], speed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
