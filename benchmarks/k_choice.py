"""How often does each rule for k find the known number of groups?

Run: ``.venv/bin/python benchmarks/k_choice.py`` (a few minutes on a loaded 2-core
machine; ``--quick`` runs a third of the data sets).

The data sets are generated with a fixed seed (varied number of groups, size
imbalance, spread, elongated shapes, dimension, noise features, overlap, heavy
tails) plus the public data sets that ship inside scikit-learn (iris, wine,
breast cancer, digits: BSD-licensed copies of the UCI sets, no download). Every
set is standardised, as custseg does by default, and subsampled to at most
``MAX_ROWS`` customers. Each rule chooses among k = 2..10; a hit is the known k.

A second table runs the "no clear structure" test on the same structured sets
and on sets without groups (uniform, one Gaussian blob, pure noise features).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")  # the machine is shared; one thread per fit

import numpy as np

from custseg.cluster.hierarchical import linkage_tree, merge_gaps
from custseg.cluster.kmeans import kmeans
from custseg.cluster.sweep import kmeans_sweep
from custseg.selection.choice import (
    KEvidence,
    clear_structure,
    combined_choice,
    min_segment_size,
)
from custseg.selection.indices import quality_indices_by_k
from custseg.selection.knee import find_elbow
from custseg.selection.stability import prediction_strength, split_stability
from custseg.selection.structure import gap_statistic, hopkins

MAX_ROWS = 600
KS = list(range(2, 11))
SEED = 0


@dataclass
class DataSet:
    name: str
    X: np.ndarray
    k: int  # known number of groups (1 = no groups)


# --- generated data -------------------------------------------------------------------


def _centres(rng: np.random.Generator, k: int, d: int, separation: float) -> np.ndarray:
    """k centres at least ``separation`` apart (rejection sampling in a growing box)."""
    box = separation * k ** (1 / d) * 1.5
    centres: list[np.ndarray] = []
    while len(centres) < k:
        c = rng.uniform(-box, box, size=d)
        if all(np.linalg.norm(c - o) >= separation for o in centres):
            centres.append(c)
        else:
            box *= 1.002
    return np.array(centres)


def mixture(
    seed: int,
    k: int,
    *,
    d: int = 2,
    n: int = 500,
    separation: float = 7.0,
    weights: list[float] | None = None,
    spreads: list[float] | None = None,
    elongation: float = 1.0,
    noise_features: int = 0,
    heavy_tails: bool = False,
) -> np.ndarray:
    """Gaussian (or Student-t) groups; unit spread unless ``spreads``; centres >= separation."""
    rng = np.random.default_rng(seed)
    w = np.array(weights if weights else [1.0] * k, dtype=float)
    sizes = np.maximum((w / w.sum() * n).round().astype(int), 5)
    spread = spreads or [1.0] * k
    centres = _centres(rng, k, d, separation)
    parts = []
    for j in range(k):
        if heavy_tails:
            Z = rng.standard_t(df=3, size=(sizes[j], d))
        else:
            Z = rng.normal(size=(sizes[j], d))
        if elongation != 1.0:
            # Stretch one random direction per group, then shrink so the volume is kept.
            q, _ = np.linalg.qr(rng.normal(size=(d, d)))
            scale = np.ones(d)
            scale[0] = elongation
            scale /= elongation ** (1 / d)
            Z = Z @ np.diag(scale) @ q
        parts.append(centres[j] + spread[j] * Z)
    X = np.vstack(parts)
    if noise_features:
        lo, hi = X.min(), X.max()
        X = np.hstack([X, rng.uniform(lo, hi, size=(len(X), noise_features))])
    return X


def nested(seed: int, outer: int, inner: int, *, n: int = 600) -> np.ndarray:
    """``outer`` far-apart families of ``inner`` nearby groups each (true k = outer x inner)."""
    rng = np.random.default_rng(seed)
    tops = _centres(rng, outer, 2, 20.0)
    per = n // (outer * inner)
    parts = []
    for top in tops:
        for sub in _centres(rng, inner, 2, 6.0):
            parts.append(top + sub + rng.normal(size=(per, 2)))
    return np.vstack(parts)


def generated() -> list[DataSet]:
    sets = []
    s = 100
    for k in (2, 3, 4, 5, 6, 8):
        sets.append(DataSet(f"blobs k={k} 2-D", mixture(s + k, k), k))
    for k, d in ((3, 5), (5, 5), (4, 10), (7, 10)):
        sets.append(DataSet(f"blobs k={k} {d}-D", mixture(s + 10 + k, k, d=d), k))
    imbalanced = {3: [6, 2, 1], 4: [8, 4, 2, 1], 5: [10, 5, 3, 2, 1], 6: [8, 6, 4, 3, 2, 1]}
    for k, w in imbalanced.items():
        sets.append(DataSet(f"imbalanced k={k}", mixture(s + 20 + k, k, d=3, n=700, weights=w), k))
    for k in (3, 4, 5, 6):
        spreads = list(np.linspace(0.5, 2.0, k))
        sets.append(
            DataSet(
                f"varied spread k={k}",
                mixture(s + 30 + k, k, d=2, spreads=spreads, separation=9.0),
                k,
            )
        )
    for k in (2, 3, 4, 5):
        sets.append(
            DataSet(
                f"elongated k={k}", mixture(s + 40 + k, k, d=3, elongation=3.0, separation=9.0), k
            )
        )
    for k, extra in ((3, 3), (4, 6), (5, 3), (6, 6)):
        sets.append(
            DataSet(
                f"k={k} + {extra} noise features",
                mixture(s + 50 + k, k, d=3, noise_features=extra, separation=8.0),
                k,
            )
        )
    for k in (2, 3, 4, 5):
        sets.append(DataSet(f"overlapping k={k}", mixture(s + 60 + k, k, d=2, separation=4.0), k))
    for k in (3, 4, 5, 6):
        sets.append(
            DataSet(f"overlapping k={k} 3-D", mixture(s + 90 + k, k, d=3, separation=3.5), k)
        )
    for k, w in ((4, [10, 10, 10, 1]), (5, [12, 12, 6, 6, 1])):
        sets.append(
            DataSet(f"one small group k={k}", mixture(s + 95 + k, k, d=2, n=800, weights=w), k)
        )
    for outer, inner in ((2, 2), (2, 3), (3, 2)):
        sets.append(
            DataSet(
                f"nested {outer}x{inner}", nested(s + outer * inner, outer, inner), outer * inner
            )
        )
    for k in (4, 6):
        sets.append(DataSet(f"blobs k={k} 20-D", mixture(s + 70 + k, k, d=20, n=600), k))
    for k in (3, 5):
        sets.append(DataSet(f"heavy tails k={k}", mixture(s + 80 + k, k, d=2, heavy_tails=True), k))
    return sets


def public() -> list[DataSet]:
    """scikit-learn's bundled copies (no download): iris, wine, breast cancer, digits."""
    from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine

    sets = []
    for name, loader in (
        ("iris", load_iris),
        ("wine", load_wine),
        ("breast cancer", load_breast_cancer),
        ("digits", load_digits),
    ):
        data = loader()
        X = np.asarray(data.data, dtype=float)
        keep = X.std(axis=0) > 0
        sets.append(DataSet(name, X[:, keep], len(np.unique(data.target))))
    return sets


def no_groups() -> list[DataSet]:
    rng = np.random.default_rng(7)
    return [
        DataSet("uniform 2-D", rng.uniform(size=(500, 2)), 1),
        DataSet("uniform 5-D", rng.uniform(size=(500, 5)), 1),
        DataSet("one Gaussian 2-D", rng.normal(size=(500, 2)), 1),
        DataSet("one Gaussian 8-D", rng.normal(size=(500, 8)), 1),
        DataSet("one elongated Gaussian 3-D", rng.normal(size=(500, 3)) * [4.0, 1.0, 0.5], 1),
        DataSet("noise features only 10-D", rng.uniform(size=(500, 10)), 1),
        DataSet("one heavy-tailed blob 2-D", rng.standard_t(df=3, size=(500, 2)), 1),
        DataSet("skewed (log-normal) 3-D", rng.lognormal(size=(500, 3)), 1),
    ]


# --- evidence per data set -----------------------------------------------------------


def _fit(X: np.ndarray, ks: list[int], seed: int) -> dict[int, np.ndarray]:
    return {k: f.labels for k, f in kmeans_sweep(X, ks, n_init=2, seed=seed).items()}


def _inertias(X: np.ndarray, ks: list[int], seed: int) -> dict[int, float]:
    return {k: f.inertia for k, f in kmeans_sweep(X, ks, n_init=2, seed=seed).items()}


def evidence(ds: DataSet) -> KEvidence:
    rng = np.random.default_rng(SEED)
    X = ds.X
    if len(X) > MAX_ROWS:
        X = X[rng.choice(len(X), size=MAX_ROWS, replace=False)]
    X = X[:, X.std(axis=0) > 0]
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    fits = {k: kmeans(X, k, n_init=5, seed=SEED) for k in KS}
    labels = {k: f.labels for k, f in fits.items()}
    indices = quality_indices_by_k(X, labels, seed=SEED)
    tree = linkage_tree(X, "ward")
    gap = gap_statistic(
        X,
        KS[-1],
        _inertias,
        data_inertia={k: f.inertia for k, f in fits.items()},
        seed=SEED,
    )
    return KEvidence(
        ks=tuple(KS),
        inertia={k: f.inertia for k, f in fits.items()},
        silhouette={k: indices[k][0] for k in KS},
        calinski={k: indices[k][1] for k in KS},
        davies={k: indices[k][2] for k in KS},
        merge_gap=merge_gaps(tree, KS),
        gap=gap,
        stability=split_stability(X, KS, _fit, n_resamples=10, seed=SEED),
        smallest={k: int(np.bincount(labels[k], minlength=k).min()) for k in KS},
        n=len(X),
        extra={
            "prediction_strength": prediction_strength(X, KS, _fit, seed=SEED),
            "hopkins": hopkins(X, seed=SEED),
        },
    )


# --- the rules --------------------------------------------------------------------------


def _argbest(scores: dict[int, float | None], lowest: bool = False) -> int | None:
    valid = {k: v for k, v in scores.items() if v is not None}
    if not valid:
        return None
    sign = 1.0 if lowest else -1.0
    return min(valid, key=lambda k: (sign * valid[k], k))


def _min_size(ev: KEvidence) -> int:
    return min_segment_size(ev.n)


def rule_elbow(ev: KEvidence) -> int | None:
    k, _ = find_elbow(list(ev.ks), [ev.inertia[k] for k in ev.ks])
    return k if k is not None else _argbest(ev.silhouette)  # custseg's fallback


def rule_consensus(ev: KEvidence) -> int | None:
    votes = [rule_elbow(ev), _argbest(ev.silhouette), _argbest(ev.calinski)]
    votes.append(_argbest(ev.davies, lowest=True))
    counts: dict[int, int] = {}
    for v in votes:
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    sil = ev.silhouette
    return max(counts, key=lambda k: (counts[k], sil.get(k) or -1.0, -k)) if counts else None


def rule_prediction_strength(ev: KEvidence) -> int | None:
    ps = ev.extra["prediction_strength"]
    ok = [k for k in ev.ks if ps[k] >= 0.8]
    return max(ok) if ok else min(ev.ks)


def rule_silhouette_min_size(ev: KEvidence) -> int | None:
    ok = {k: v for k, v in ev.silhouette.items() if ev.smallest[k] >= _min_size(ev)}
    return _argbest(ok) if ok else _argbest(ev.silhouette)


def rule_gap(ev: KEvidence) -> int | None:
    return ev.gap.k


def rule_gap_2(ev: KEvidence) -> int | None:
    return ev.gap.first_k(2) or max(ev.ks)


def rule_combined(ev: KEvidence) -> int | None:
    return combined_choice(ev, min_size=_min_size(ev))[0]


RULES: dict[str, tuple[str, Callable[[KEvidence], int | None]]] = {
    "elbow": ("classic", rule_elbow),
    "dendrogram": ("classic", lambda ev: _argbest(ev.merge_gap)),
    "silhouette": ("classic", lambda ev: _argbest(ev.silhouette)),
    "calinski": ("classic", lambda ev: _argbest(ev.calinski)),
    "davies": ("classic", lambda ev: _argbest(ev.davies, lowest=True)),
    "gap (1-SE, k>=1)": ("classic", rule_gap),
    "gap (1-SE, k>=2)": ("classic", rule_gap_2),
    "consensus (majority)": ("custseg <= 0.x", rule_consensus),
    "bootstrap stability": ("candidate", lambda ev: _argbest(ev.stability)),
    "prediction strength 0.8": ("candidate", rule_prediction_strength),
    "silhouette + min size": ("candidate", rule_silhouette_min_size),
    "combined (new default)": ("new default", rule_combined),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every third data set only")
    parser.add_argument("--detail", action="store_true", help="each rule's k per data set")
    args = parser.parse_args(argv)
    structured = generated() + public()
    nulls = no_groups()
    if args.quick:
        structured, nulls = structured[::3], nulls[::3]
    t0 = time.perf_counter()
    results = []
    for ds in structured + nulls:
        t = time.perf_counter()
        ev = evidence(ds)
        picks = {name: fn(ev) for name, (_, fn) in RULES.items()}
        clear = clear_structure(ev.gap, ev.extra["hopkins"])[0]
        results.append((ds, ev, picks, clear))
        if args.detail:
            shown = " ".join(f"{p if p is not None else '-'}" for p in picks.values())
            print(
                f"{ds.name:<32} true {ds.k:>2}  {shown}  clear={clear}  "
                f"H={ev.extra['hopkins']:.2f}  ({time.perf_counter() - t:.1f}s)",
                file=sys.stderr,
            )
    elapsed = time.perf_counter() - t0
    hits_of = [(ds, picks) for ds, _, picks, _ in results if ds.k > 1]
    n_sets = len(hits_of)
    print(f"Hit rate on {n_sets} data sets with known groups (k = 2..10 considered)\n")
    print(f"| {'rule':<28} | {'kind':<14} | hits | rate |")
    print(f"|{'-' * 30}|{'-' * 16}|-----:|-----:|")
    for name, (kind, _) in RULES.items():
        hits = sum(1 for ds, picks in hits_of if picks[name] == ds.k)
        print(f"| {name:<28} | {kind:<14} | {hits:>4} | {hits / n_sets:>4.0%} |")
    n_null = sum(1 for ds, *_ in results if ds.k == 1)
    found = sum(1 for ds, _, _, clear in results if ds.k > 1 and clear)
    said_none = sum(1 for ds, _, _, clear in results if ds.k == 1 and not clear)
    print("\n'No clear structure' (gap statistic above k=1 by its SE, and Hopkins >= 0.75)\n")
    print(f"* structured sets said to have clear structure: {found} of {n_sets}")
    print(f"* sets without groups said to have no clear structure: {said_none} of {n_null}")
    misses = [ds.name for ds, _, _, clear in results if (ds.k > 1) != clear]
    if misses:
        print(f"* wrong: {', '.join(misses)}")
    print(f"\n{len(results)} data sets in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
