"""The whole ``custseg segment`` run, local engine against Spark ``local[N]``, side by side.

For each size, one Parquet file of n customers (an id, two skewed amounts, a count
and three scores, in five groups) is segmented twice with the defaults, each run a
fresh process: ``custseg segment FILE --engine local`` and ``--engine spark`` (Spark in
``local[N]``). The table prints wall seconds, CPU seconds of the custseg Python process
(the Spark JVM is not waited for by it, so its CPU is not included: compare wall times),
the peak resident memory of the Python process, k, the segment sizes, and whether the
two runs gave the same segments (same k, same sizes and names, and, where both wrote
per-customer segments, the adjusted Rand index).

    python benchmarks/bench_spark_run.py --sizes 1e6 1e7 --master 'local[2]'
    python benchmarks/bench_spark_run.py --sizes 1e6 --method hierarchical
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CUSTSEG = [sys.executable, "-m", "custseg"]


def make_file(path: Path, n: int, seed: int = 0) -> None:
    """n customers in five groups, written a million rows at a time."""
    rng = np.random.default_rng(seed)
    spend_mu = np.array([4.0, 5.0, 6.0, 7.0, 5.5])
    visits_mu = np.array([2.0, 6.0, 3.0, 10.0, 1.0])
    score_mu = rng.uniform(20, 80, size=(5, 3))
    writer = None
    step = 1_000_000
    for start in range(0, n, step):
        m = min(step, n - start)
        g = rng.integers(0, 5, m)
        table = pa.table(
            {
                "customer_id": np.arange(start + 1, start + m + 1, dtype=np.int64),
                "annual_spend": np.round(rng.lognormal(spend_mu[g], 0.5), 2),
                "online_spend": np.round(rng.lognormal(spend_mu[g] - 1.0, 0.7), 2),
                "visits": rng.poisson(visits_mu[g]).astype(np.int64),
                **{
                    f"score_{j + 1}": np.round(rng.normal(score_mu[g, j], 6.0), 1) for j in range(3)
                },
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=step)
    assert writer is not None
    writer.close()


def _help_has(flag: str) -> bool:
    out = subprocess.run([*CUSTSEG, "segment", "--help"], capture_output=True, text=True)
    return flag in out.stdout


def run(path: Path, out: Path, engine: str, master: str, method: str = "kmeans") -> dict:
    """One fresh `custseg segment` process; wall and CPU seconds, peak RSS, the result."""
    cmd = [*CUSTSEG, "segment", str(path), "--out", str(out), "-q", "--engine", engine]
    cmd += ["--method", method]
    env = dict(os.environ)
    if engine == "spark":
        if _help_has("--spark-master"):
            cmd += ["--spark-master", master]
        env["SPARK_MASTER"] = master
    before = os.times()
    t = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *cmd], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - t
    after = os.times()
    if proc.returncode != 0:
        # The last line is /usr/bin/time's; custseg's own message starts with "Error".
        lines = proc.stderr.strip().splitlines()[:-1]
        said = [line for line in lines if line.startswith("Error")] or lines or ["?"]
        return {"error": said[-1][:200], "wall": wall}
    peak_mb = int(proc.stderr.strip().splitlines()[-1]) / 1024
    doc = json.loads((out / "segments.json").read_text(encoding="utf-8"))
    return {
        "wall": wall,
        "cpu": (after.children_user - before.children_user)
        + (after.children_system - before.children_system),
        "peak_mb": peak_mb,
        "k": doc["k"],
        "sizes": [s["size"] for s in doc["segments"]],
        "names": [s["name"] for s in doc["segments"]],
        "labels": _labels(out),
    }


def _labels(out: Path) -> np.ndarray | None:
    """Per-customer segments from assignments.csv, or a Parquet file/folder of them."""
    for name in ("assignments.parquet", "assignments"):
        p = out / name
        if p.exists():
            table = pq.read_table(p, columns=None)
            return np.asarray(table.column("segment").to_numpy())
    p = out / "assignments.csv"
    if p.exists():
        import pandas as pd

        return pd.read_csv(p, usecols=["segment"])["segment"].to_numpy()
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--method", default="kmeans", choices=["kmeans", "hierarchical"])
    parser.add_argument("--folder", type=Path, default=None, help="keep the files here")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.mkdtemp(prefix="custseg-spark-run-"))
    folder.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# {when}, {os.cpu_count()} cores, load average {load[0]:.1f}, {load[1]:.1f}, "
          f"{load[2]:.1f}; Spark {args.master}; --method {args.method}")  # fmt: skip
    print(f"{'n':>12} {'engine':>7} {'wall s':>8} {'CPU s':>7} {'peak MB':>8} {'k':>3}  "
          "sizes / agreement")  # fmt: skip
    from sklearn.metrics import adjusted_rand_score

    try:
        for size in args.sizes:
            n = int(size)
            path = folder / f"customers_{n}.parquet"
            if not path.exists():
                make_file(path, n)
            results = {}
            for engine in ("local", "spark"):
                out = folder / f"out_{engine}_{n}"
                shutil.rmtree(out, ignore_errors=True)
                r = results[engine] = run(path, out, engine, args.master, args.method)
                if "error" in r:
                    print(f"{n:>12,} {engine:>7} {r['wall']:>8.1f}  failed: {r['error']}")
                    continue
                print(f"{n:>12,} {engine:>7} {r['wall']:>8.1f} {r['cpu']:>7.1f} "
                      f"{r['peak_mb']:>8.0f} {r['k']:>3}  {r['sizes']}")  # fmt: skip
            a, b = results.get("local", {}), results.get("spark", {})
            if "k" in a and "k" in b:
                same = a["k"] == b["k"] and a["sizes"] == b["sizes"] and a["names"] == b["names"]
                ari = "n/a"
                if a["labels"] is not None and b["labels"] is not None:
                    ari = f"{adjusted_rand_score(a['labels'], b['labels']):.4f}"
                print(f"{n:>12,} {'ratio':>7} {b['wall'] / a['wall']:>8.1f}   spark/local wall; "
                      f"same k, sizes and names: {same}; ARI {ari}")  # fmt: skip
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
