"""Everyday tables: `custseg segment` end to end against the notebook recipe it replaces.

Both run as whole processes, side by side in one process tree (this script starts each,
one after the other, and times it from start to exit):

* custseg: ``custseg segment FILE --out DIR -q`` with its defaults (read -> report
  written: segments.json, segments.csv, assignments.csv, model.json, report.html);
* the recipe (what a data scientist writes by hand): read the file with pandas, take the
  numeric columns but the id, ``StandardScaler``, scikit-learn ``KMeans(n_init=10)`` for
  k = 1..10, Kneedle on the inertia curve, ``silhouette_score`` for each k on up to
  10,000 rows, the labels of the elbow's k written to CSV and one matplotlib scatter
  saved.

custseg runs twice: first with empty caches (``CUSTSEG_CACHE_DIR`` and
``NUMBA_CACHE_DIR`` pointing at a new folder: what a user's first run costs), then again
(the caches filled). Both children run with Python's byte-code cache on, as on a user's
machine (``PYTHONDONTWRITEBYTECODE`` is removed from their environment: with it set,
custseg's own modules were compiled from source in every run, 0.1 s, while the
recipe's libraries were compiled when pip installed them). The ratio is recipe /
custseg (warm), of wall time and of CPU time
(user + system of the whole process tree, every thread: what the run cost a loaded
machine); both k are printed, and the
inertia of custseg's segments on every customer (in standardised units) against the
recipe's inertia at the same k.

Tables: the 200-row reference table (``/work/shared/data/mall_customers.csv`` when
present, else a generated table like it), a generated 10,000 x 11 table of skewed
amounts, a generated 100,000 x 6 table, and a generated 10^6 x 3 Parquet file.

Usage::

    python benchmarks/bench_everyday.py                   # every table
    python benchmarks/bench_everyday.py --tables mall,10k  # some of them
    python benchmarks/bench_everyday.py --custseg-args="--transform none"  # raw amounts
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REFERENCE = Path("/work/shared/data/mall_customers.csv")
CUSTSEG = Path(sys.executable).with_name("custseg")


# --- data ------------------------------------------------------------------------------------


def _mall_like(n: int = 200, seed: int = 0):
    """A table shaped like the reference (id, gender, age, income, spending score)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    centres = np.array([[55, 50], [87, 82], [88, 17], [26, 21], [26, 79]])
    group = rng.choice(5, size=n, p=[0.4, 0.2, 0.18, 0.11, 0.11])
    income = np.clip(np.round(centres[group, 0] + rng.normal(0, 8, n)), 15, 140)
    score = np.clip(np.round(centres[group, 1] + rng.normal(0, 8, n)), 1, 99)
    return pd.DataFrame(
        {
            "CustomerID": np.arange(1, n + 1),
            "Gender": rng.choice(["Male", "Female"], size=n),
            "Age": rng.integers(18, 71, n),
            "Annual Income (k$)": income.astype(int),
            "Spending Score (1-100)": score.astype(int),
        }
    )


def _skewed(n: int, d: int, seed: int):
    """Customers in 5 groups of unequal size; amounts log-normal (long right tails)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    centres = rng.uniform(1.0, 5.0, size=(5, d))
    group = rng.choice(5, size=n, p=[0.35, 0.25, 0.2, 0.12, 0.08])
    amounts = np.round(np.exp(centres[group] + rng.normal(0, 0.45, (n, d))), 2)
    frame = pd.DataFrame(amounts, columns=[f"amount_{j + 1}" for j in range(d)])
    frame.insert(0, "customer_id", np.arange(1, n + 1))
    return frame


def make_tables(folder: Path, names: list[str]) -> dict[str, Path]:
    paths = {}
    for name in names:
        if name == "mall":
            path = folder / "mall_customers.csv"
            if REFERENCE.exists():
                shutil.copy(REFERENCE, path)
            else:
                _mall_like().to_csv(path, index=False)
        elif name == "10k":
            path = folder / "skewed_10000x11.csv"
            _skewed(10_000, 11, seed=1).to_csv(path, index=False)
        elif name == "100k":
            path = folder / "customers_100000x6.csv"
            _skewed(100_000, 6, seed=2).to_csv(path, index=False)
        elif name == "1m":
            path = folder / "customers_1000000x3.parquet"
            _skewed(1_000_000, 3, seed=3).to_parquet(path, index=False)
        else:
            raise SystemExit(f"unknown table {name!r}; choose from mall, 10k, 100k, 1m")
        paths[name] = path
    return paths


# --- the recipe (run in a child process) ------------------------------------------------------

RECIPE = r"""
import json, sys, time
t0 = time.perf_counter()
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from kneed import KneeLocator
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import StandardScaler

path, out = sys.argv[1], sys.argv[2]
df = pd.read_parquet(path) if path.endswith(".parquet") else pd.read_csv(path)
id_col = df.columns[0]
cols = [c for c in df.select_dtypes("number").columns if c != id_col]
X = StandardScaler().fit_transform(df[cols].to_numpy(dtype=float))
ks = list(range(1, 11))
inertia, sil, fits = [], {}, {}
for k in ks:
    km = KMeans(n_clusters=k, n_init=10, random_state=0).fit(X)
    fits[k] = km
    inertia.append(float(km.inertia_))
    if k > 1:
        sil[k] = float(silhouette_score(X, km.labels_, sample_size=min(len(X), 10_000),
                                        random_state=0))
knee = KneeLocator(ks, inertia, curve="convex", direction="decreasing").knee
k = int(knee) if knee is not None else max(sil, key=sil.get)
labels = fits[k].labels_
pd.DataFrame({id_col: df[id_col], "segment": labels + 1}).to_csv(out + "/labels.csv", index=False)
fig, ax = plt.subplots()
ax.scatter(X[:, 0], X[:, 1], c=labels, s=4)
fig.savefig(out + "/scatter.png")
print(json.dumps({"k": k, "inertia": dict(zip(ks, inertia)),
                  "time_inside": time.perf_counter() - t0}))
"""


def _child_env(**extra: str) -> dict[str, str]:
    """The environment of a child: this one with the byte-code cache on (see above)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def _children_cpu() -> float:
    """CPU seconds (user + system, every thread) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_recipe(path: Path, folder: Path) -> dict:
    out = folder / "recipe_out"
    out.mkdir(exist_ok=True)
    t0, c0 = time.perf_counter(), _children_cpu()
    proc = subprocess.run(
        [sys.executable, "-c", RECIPE, str(path), str(out)],
        capture_output=True,
        text=True,
        check=True,
        env=_child_env(),
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["time"] = wall
    info["cpu"] = cpu
    info["inertia"] = {int(k): v for k, v in info["inertia"].items()}
    return info


def run_custseg(path: Path, folder: Path, cache: Path, extra: list[str]) -> dict:
    out = folder / "custseg_out"
    env = _child_env(CUSTSEG_CACHE_DIR=str(cache), NUMBA_CACHE_DIR=str(cache / "numba"))
    t0, c0 = time.perf_counter(), _children_cpu()
    subprocess.run(
        [str(CUSTSEG), "segment", str(path), "--out", str(out), "-q", *extra],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    doc = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    return {"time": wall, "cpu": cpu, "k": int(doc["k_selection"]["chosen"]), "out": out}


def custseg_inertia(path: Path, out: Path) -> float:
    """Within-segment sum of squares of custseg's segments, in standardised units over the
    same columns as the recipe (so that the two inertias compare)."""
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    id_col = df.columns[0]
    cols = [c for c in df.select_dtypes("number").columns if c != id_col]
    X = StandardScaler().fit_transform(df[cols].to_numpy(dtype=float))
    seg = pd.read_csv(out / "assignments.csv", usecols=["segment"])["segment"].to_numpy()
    total = 0.0
    for s in np.unique(seg):
        rows = X[seg == s]
        total += float(((rows - rows.mean(axis=0)) ** 2).sum())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="mall,10k,100k,1m")
    parser.add_argument(
        "--custseg-args",
        default="",
        help="options added to custseg's command, e.g. '--transform none' (custseg then "
        "clusters the recipe's columns in the recipe's space: the inertias compare like "
        "for like)",
    )
    args = parser.parse_args()
    extra = shlex.split(args.custseg_args)
    names = [t.strip() for t in args.tables.split(",") if t.strip()]
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"load average {load}" + (f"; custseg {args.custseg_args}" if extra else "")
    )
    header = (
        f"{'table':<14}{'recipe s':>9}{'1st s':>7}{'custseg s':>10}{'ratio':>7}"
        f"{'recipe CPU':>11}{'custseg CPU':>12}{'CPU ratio':>10}"
        f"{'k recipe':>9}{'k custseg':>10}{'inertia custseg/recipe':>23}"
    )
    print(header)
    with tempfile.TemporaryDirectory(prefix="bench_everyday_") as tmp:
        folder = Path(tmp)
        paths = make_tables(folder, names)
        for name, path in paths.items():
            run_folder = folder / name
            run_folder.mkdir()
            cold = folder / f"cache_{name}"  # a new, empty cache folder: the first run
            first = run_custseg(path, run_folder, cold, extra)
            warm = run_custseg(path, run_folder, cold, extra)
            recipe = run_recipe(path, run_folder)
            inertia = custseg_inertia(path, warm["out"])
            same_k = recipe["inertia"].get(warm["k"])
            rel = f"{inertia / same_k:.4f} (k={warm['k']})" if same_k else "-"
            label = f"{name} ({path.suffix[1:]})"
            print(
                f"{label:<14}{recipe['time']:>9.1f}{first['time']:>7.1f}{warm['time']:>10.1f}"
                f"{recipe['time'] / warm['time']:>7.1f}{recipe['cpu']:>11.1f}{warm['cpu']:>12.1f}"
                f"{recipe['cpu'] / warm['cpu']:>10.1f}"
                f"{recipe['k']:>9}{warm['k']:>10}{rel:>23}",
                flush=True,
            )
    print(f"# load average at the end: {', '.join(f'{v:.1f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
