"""Throughput and peak memory of ``custseg assign`` on a generated file of many customers.

Usage::

    python benchmarks/bench_assign.py                  # 10 million rows (needs ~1.5 GB of disk)
    python benchmarks/bench_assign.py --rows 1000000   # a quicker run
    python benchmarks/bench_assign.py --skip-small --cases parquet-parquet

It generates a customer table shaped like the Mall Customers data (id, gender,
age, income, spending score) in a temporary folder, fits a k-means model on
2,000 demo customers, then times ``assign_file`` in a fresh Python process per
case (so each peak RSS is that case's own) for CSV -> CSV, CSV -> Parquet and
Parquet -> Parquet. The same cases at a tenth of the rows show that peak
memory depends on the chunk size, not on the file size. Prints a table and
the machine's load, since timings on a shared machine depend on it; CPU seconds (all
threads of the process) give the throughput per core, which load affects less.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FEATURES = ("Annual Income (k$)", "Spending Score (1-100)")

CHILD = r"""
import json, sys, time
from custseg import load_model
from custseg.model.assign import assign_file

def hwm_kb():
    # VmHWM: this process's peak resident memory (reset at exec, unlike ru_maxrss)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

model_path, src, out, chunk = sys.argv[1:5]
model = load_model(model_path)
base = hwm_kb()
t, c = time.perf_counter(), time.process_time()
s = assign_file(model, src, out, chunk_rows=int(chunk))
secs, cpu = time.perf_counter() - t, time.process_time() - c
print(json.dumps({"rows": s.n_rows, "seconds": secs, "cpu": cpu, "peak_kb": hwm_kb(),
                  "base_kb": base, "atypical": s.n_atypical}))
"""


def generate(path: Path, rows: int, *, seed: int = 0, block: int = 1_000_000) -> float:
    """Write a CSV of ``rows`` customers block by block; return seconds taken."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    centres = np.array([[55, 50], [87, 82], [88, 17], [26, 20], [25, 79]], dtype=float)
    t = time.perf_counter()
    schema = pa.schema(
        [
            ("CustomerID", pa.int64()),
            ("Gender", pa.string()),
            ("Age", pa.int64()),
            (FEATURES[0], pa.float64()),
            (FEATURES[1], pa.float64()),
        ]
    )
    with pacsv.CSVWriter(str(path), schema) as writer:
        for start in range(0, rows, block):
            n = min(block, rows - start)
            which = rng.integers(0, len(centres), n)
            xy = np.round(centres[which] + rng.normal(0, 7, (n, 2)), 1)
            table = pa.table(
                {
                    "CustomerID": np.arange(start + 1, start + n + 1),
                    "Gender": np.where(rng.random(n) < 0.56, "Female", "Male"),
                    "Age": rng.integers(18, 71, n),
                    FEATURES[0]: xy[:, 0],
                    FEATURES[1]: xy[:, 1],
                },
                schema=schema,
            )
            writer.write_table(table)
    return time.perf_counter() - t


def to_parquet(csv_path: Path, out: Path) -> float:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    t = time.perf_counter()
    reader = pacsv.open_csv(csv_path)
    with pq.ParquetWriter(out, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
    return time.perf_counter() - t


def run_case(model: Path, src: Path, out: Path, chunk: int) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(model), str(src), str(out), str(chunk)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["out_mb"] = out.stat().st_size / 1e6
    out.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--skip-small", action="store_true", help="Skip the 1/10 size runs.")
    parser.add_argument(
        "--cases", default="csv-csv,csv-parquet,parquet-parquet", help="Which cases to run."
    )
    args = parser.parse_args()

    from custseg import SegmentationConfig, make_customers, segment

    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="custseg-bench-") as tmp:
        folder = Path(tmp)
        model = folder / "model.json"
        config = SegmentationConfig(features=FEATURES, k=5)
        segment(make_customers(2000, seed=0), config).model.save(model)
        sizes = [args.rows] if args.skip_small else [args.rows // 10, args.rows]
        rows_out = []
        for rows in sizes:
            csv_path = folder / f"customers_{rows}.csv"
            gen = generate(csv_path, rows)
            pq_path = folder / f"customers_{rows}.parquet"
            conv = to_parquet(csv_path, pq_path)
            print(
                f"generated {rows:,} rows: CSV {csv_path.stat().st_size / 1e6:,.0f} MB in "
                f"{gen:.1f} s; Parquet {pq_path.stat().st_size / 1e6:,.0f} MB in {conv:.1f} s",
                flush=True,
            )
            for label, src, out in (
                ("CSV -> CSV", csv_path, folder / "out.csv"),
                ("CSV -> Parquet", csv_path, folder / "out.parquet"),
                ("Parquet -> Parquet", pq_path, folder / "out.parquet"),
            ):
                if label.lower().replace(" -> ", "-") not in args.cases.split(","):
                    continue
                r = run_case(model, src, out, args.chunk_rows)
                assert r["rows"] == rows
                rows_out.append((rows, label, r))
                print(
                    f"  {label:<18} {r['seconds']:7.1f} s  {rows / r['seconds']:>12,.0f} rows/s  "
                    f"CPU {r['cpu']:5.1f} s ({rows / r['cpu']:,.0f} rows per CPU second)  "
                    f"peak RSS {r['peak_kb'] / 1024:6.0f} MB (after imports "
                    f"{r['base_kb'] / 1024:4.0f} MB)  output {r['out_mb']:,.0f} MB",
                    flush=True,
                )
            csv_path.unlink()
            pq_path.unlink()
    print(f"load average at end: {os.getloadavg()}")
    print(
        "\n| rows | case | seconds | rows/s | CPU s | rows per CPU s | peak RSS (MB) "
        "| RSS after imports (MB) |"
    )
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for rows, label, r in rows_out:
        print(
            f"| {rows:,} | {label} | {r['seconds']:.1f} | {rows / r['seconds']:,.0f} | "
            f"{r['cpu']:.1f} | {rows / r['cpu']:,.0f} | "
            f"{r['peak_kb'] / 1024:.0f} | {r['base_kb'] / 1024:.0f} |"
        )


if __name__ == "__main__":
    main()
