"""The whole product on a large file: `custseg segment` from Parquet/CSV to the results folder.

Generates a customer table (an integer id, d float features rounded to 2 decimals, and a
text column) as Parquet and CSV in a temporary folder, then runs the CLI on each file in
a fresh process, as a user would, and prints wall time and the process's peak resident
memory (the reading, the segmentation, ``assignments.csv`` with one row per customer,
``segments.json``, ``model.json``, the plots and ``report.html``).

Usage::

    python benchmarks/bench_end_to_end.py                    # 10^7 x 10, both methods
    python benchmarks/bench_end_to_end.py --rows 1e6 --methods kmeans --formats csv
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def generate(folder: Path, n: int, d: int, seed: int = 0) -> dict[str, Path]:
    """Write customers_<n>_<d>.parquet and .csv block by block; return their paths."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    centres = rng.uniform(-6, 6, size=(5, d))
    shares = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
    fields = [("customer_id", pa.int64())] + [(f"f{j}", pa.float64()) for j in range(d)]
    schema = pa.schema([*fields, ("city", pa.string())])
    paths = {
        "parquet": folder / f"customers_{n}_{d}.parquet",
        "csv": folder / f"customers_{n}_{d}.csv",
    }
    cities = np.array(["Lyon", "Porto", "Leeds", "Graz", "Turku"])
    block = 1_000_000
    with (
        pq.ParquetWriter(paths["parquet"], schema) as pw,
        pacsv.CSVWriter(str(paths["csv"]), schema) as cw,
    ):
        for start in range(0, n, block):
            m = min(block, n - start)
            group = rng.choice(5, size=m, p=shares)
            X = np.round(centres[group] + rng.standard_normal((m, d)), 2)
            columns = {"customer_id": np.arange(start + 1, start + m + 1)}
            columns.update({f"f{j}": X[:, j] for j in range(d)})
            columns["city"] = cities[rng.integers(0, 5, m)]
            table = pa.table(columns, schema=schema)
            pw.write_table(table)
            cw.write_table(table)
    return paths


# The CLI in a child process that reports its own peak resident size (VmHWM) at exit.
CHILD = """
import atexit, sys

def _peak():
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                sys.stderr.write("VMHWM " + line.split()[1] + "\\n")

atexit.register(_peak)
from custseg.cli import main
sys.argv = ["custseg", *sys.argv[1:]]
main()
"""


def run(path: Path, d: int, method: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak resident size (MB) of one `custseg segment` process."""
    features = ",".join(f"f{j}" for j in range(d))
    cmd = [sys.executable, "-c", CHILD, "segment", str(path), "-f", features]
    cmd += ["--method", method, "--out", str(out)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    kb = [int(ln.split()[1]) for ln in proc.stderr.decode().splitlines() if ln.startswith("VMHWM")]
    return wall, kb[-1] / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=float, default=1e7)
    ap.add_argument("--features", type=int, default=10)
    ap.add_argument("--methods", default="kmeans,hierarchical")
    ap.add_argument("--formats", default="parquet,csv")
    args = ap.parse_args()
    n, d = int(args.rows), args.features

    print(f"# {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="custseg-e2e-") as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        paths = generate(folder, n, d)
        sizes = ", ".join(f"{k} {p.stat().st_size / 2**20:,.0f} MiB" for k, p in paths.items())
        print(f"generated {n:,} x {d}: {sizes} in {time.perf_counter() - t:.1f} s", flush=True)
        print(f"{'file':<8} {'method':<12} {'wall s':>7} {'peak MB':>8}  note")
        for fmt in args.formats.split(","):
            for method in args.methods.split(","):
                out = folder / f"result_{fmt}_{method}"
                wall, peak = run(paths[fmt], d, method, out)
                with open(out / "assignments.csv", "rb") as fh:
                    rows = sum(1 for _ in fh) - 1
                print(
                    f"{fmt:<8} {method:<12} {wall:>7.1f} {peak:>8.0f}  "
                    f"assignments.csv: {rows:,} rows",
                    flush=True,
                )
    print(
        "\npeak MB: the `custseg segment` process's peak resident size (interpreter, "
        "libraries, the data, the results being written)."
    )


if __name__ == "__main__":
    main()
