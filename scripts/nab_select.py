"""Choose the recommended detector pack (data/detectors/nab.yaml) on the NAB corpus, and measure how well
the choice generalises by leave-one-category-out cross-validation.

    .venv/bin/python scripts/nab_select.py ../shared/data/nab [--write data/detectors/nab.yaml]

The components are the rules of data/detectors/nab-candidates.yaml. A pack is one ``range`` rule, one
``cusum`` rule and up to ``--likelihoods`` (default 1) ``likelihood`` rules, with the cusum's and the
likelihoods' scores weighted against the range's (a weight w divides a rule's strength by w, i.e.
multiplies its threshold); the pack's score is the maximum. The choice is made on the standard profile; each profile then gets its
own threshold (NAB's optimiser).

Cross-validation: for each of NAB's seven folders in turn, the pack, its weights and the per-profile
thresholds are chosen on the other six folders and scored on the held-out one; the held-out raw scores
of the seven folds add up to a corpus score, normalised as NAB does. Deterministic: no randomness.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from pathlib import Path

import numpy as np
import polars as pl

from alertsim.durations import format_duration
from alertsim.quality.nab import (
    PROFILES,
    NabCorpus,
    categories,
    read_nab_corpus,
    score_detector,
    sweep_thresholds,
)
from alertsim.rules import load_rules

HERE = Path(__file__).resolve().parents[1]


def strength(score: np.ndarray) -> np.ndarray:
    """The inverse of nab_scale: s/(1 − s), the rule's score over its threshold."""
    with np.errstate(divide="ignore"):
        return np.where(score >= 1.0, np.inf, score / (1.0 - score))


def scale(s: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(np.where(np.isinf(s), 1.0, s / (1.0 + s)))


def subset(corpus: NabCorpus, folders: list[str], keep: bool) -> NabCorpus:
    files = tuple(f for f in corpus.files if (f.path.split("/", 1)[0] in folders) == keep)
    return NabCorpus(root=corpus.root, files=files, profiles=corpus.profiles)


def best(scores: dict[str, np.ndarray], corpus: NabCorpus, profile: str) -> tuple[float, float]:
    """(raw score, threshold) of NAB's optimiser on ``corpus``."""
    table = sweep_thresholds({f.path: scores[f.path] for f in corpus.files}, corpus, PROFILES[profile])
    top = table.filter(pl.col("raw_score") == pl.col("raw_score").max()).head(1)
    return float(top["raw_score"][0]), float(top["threshold"][0])


def at(scores: dict[str, np.ndarray], corpus: NabCorpus, profile: str, theta: float) -> float:
    table = sweep_thresholds({f.path: scores[f.path] for f in corpus.files}, corpus, PROFILES[profile])
    return float(table.filter(pl.col("threshold") >= theta).tail(1)["raw_score"][0])


def normalised(raw: float, corpus: NabCorpus, profile: str) -> float:
    p = PROFILES[profile]
    null, perfect = -p.fn_weight * corpus.windows, p.tp_weight * corpus.windows
    return 100.0 * (raw - null) / (perfect - null)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--candidates", type=Path, default=HERE / "data" / "detectors" / "nab-candidates.yaml")
    parser.add_argument("--write", type=Path, help="write the chosen pack here")
    parser.add_argument("--likelihoods", type=int, default=1, help="most likelihood rules in a pack")
    parser.add_argument("--weights", default="1,2,4", help="relative weights to try, comma-separated")
    args = parser.parse_args()
    corpus = read_nab_corpus(args.corpus)
    rules = list(load_rules(args.candidates))
    by_name = {r.name: r for r in rules}
    raw = score_detector(rules, corpus, candidates=True)
    comp = {name: {p: strength(v) for p, v in raw[name].items()} for name in by_name}
    ranges = [n for n in by_name if by_name[n].kind == "range"]
    cusums = [n for n in by_name if by_name[n].kind == "cusum"]
    weights = tuple(float(w) for w in args.weights.split(","))
    names = [n for n in by_name if by_name[n].kind == "likelihood"]
    groups = [g for k in range(args.likelihoods + 1) for g in itertools.combinations(names, k)]
    packs = [(r, c, tuple(zip(group, ws, strict=True)), wc)
             for r, c, group in itertools.product(ranges, cusums, groups)
             for wc in weights for ws in itertools.product(weights, repeat=len(group))]

    def combined(pack: tuple) -> dict[str, np.ndarray]:
        r, c, likes, wc = pack
        out = {}
        for f in corpus.files:
            s = np.maximum(comp[r][f.path], comp[c][f.path] / wc)
            for lk, wl in likes:
                s = np.maximum(s, comp[lk][f.path] / wl)
            out[f.path] = scale(s)
        return out

    folders = categories(corpus)
    trains = {fo: subset(corpus, [fo], keep=False) for fo in folders}
    tests = {fo: subset(corpus, [fo], keep=True) for fo in folders}
    in_sample: dict[tuple, float] = {}
    fold_train: dict[str, dict[tuple, float]] = {fo: {} for fo in folders}
    for pack in packs:
        scores = combined(pack)
        in_sample[pack] = best(scores, corpus, "standard")[0]
        for fo in folders:
            fold_train[fo][pack] = best(scores, trains[fo], "standard")[0]
    chosen = max(packs, key=lambda p: (in_sample[p], -packs.index(p)))
    scores = combined(chosen)
    print(f"{len(packs)} packs from {len(rules)} components")
    print("in-sample choice:", chosen)
    for profile in PROFILES:
        r, t = best(scores, corpus, profile)
        print(f"  in-sample {profile}: {normalised(r, corpus, profile):.1f} (threshold {t:.4f})")
    total = dict.fromkeys(PROFILES, 0.0)
    for fo in folders:
        pick = max(packs, key=lambda p: (fold_train[fo][p], -packs.index(p)))
        fold_scores = combined(pick)
        for profile in PROFILES:
            _, theta = best(fold_scores, trains[fo], profile)
            total[profile] += at(fold_scores, tests[fo], profile, theta)
        print(f"  fold {fo}: {pick}")
    for profile in PROFILES:
        print(f"  cross-validated {profile}: {normalised(total[profile], corpus, profile):.1f}")
    if args.write:
        write_pack(args.write, chosen, by_name)
    return 0


def write_pack(path: Path, pack: tuple, by_name: dict) -> None:
    r, c, likes, wc = pack
    rng, cus = by_name[r], by_name[c]
    # Weights become thresholds: the range's is divided by the cusum's weight (so the cusum keeps its
    # threshold, which is also where its sums restart) and the likelihood's tail shrinks accordingly.
    lines = ["rules:",
             f"  - {{name: NewRange, kind: range, metric: value, window: {fmt(rng.window)}, "
             f"threshold: {rng.threshold / wc:g}, cooldown: {fmt(rng.cooldown)}}}",
             f"  - {{name: LevelShift, kind: cusum, metric: value, window: {fmt(cus.window)}, drift: {cus.drift:g}, "
             f"clip: {cus.clip:g}, threshold: {cus.threshold:g}, cooldown: {fmt(cus.cooldown)}}}"]
    for number, (lk, wl) in enumerate(likes):
        like = by_name[lk]
        tail = math.exp(wl / wc * math.log(1.0 - like.threshold))
        name = "Unusual" if number == 0 else f"Unusual{number + 1}"
        lines.append(f"  - {{name: {name}, kind: likelihood, metric: value, of: {{kind: range, window: "
                     f"{fmt(like.of.window)}}}, window: {fmt(like.window)}, short: {fmt(like.short)}, "
                     f"threshold: {1.0 - tail:.10g}{cooldown(like)}}}")
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


def cooldown(rule) -> str:
    """``, cooldown: …`` for a rule with a cooldown, else nothing."""
    return f", cooldown: {fmt(rule.cooldown)}" if rule.cooldown.total_seconds() > 0 else ""


def fmt(delta) -> str:
    """Whole days as days (30d rather than 4w2d), anything else in Prometheus' grammar."""
    if delta.total_seconds() % 86400 == 0 and delta.days:
        return f"{delta.days}d"
    return format_duration(delta)


if __name__ == "__main__":
    sys.exit(main())
