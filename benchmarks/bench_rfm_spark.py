"""The per-customer table of a transaction log: DuckDB against Spark ``local[N]``, side by side.

Generates the invoice-line log of ``bench_rfm.py`` (the shape of the UCI Online Retail
export: cancellations, postage lines, customers missing on some lines, text dates in two
formats) as Parquet, then computes its per-customer table twice, each in a fresh process:
``custseg.rfm.per_customer_table`` (DuckDB, every core) and
``custseg.engines.spark_rfm.per_customer_table_spark`` (Spark in ``local[N]``). It prints
the wall time of each process, the time of the table alone (Spark: after its session
started), the peak resident memory of the Python process (the Spark JVM's is not
included), the ratio, and whether the two tables and summaries are equal (money within
1e-6).

Usage::

    python benchmarks/bench_rfm_spark.py                 # 10^6 lines, local[2]
    python benchmarks/bench_rfm_spark.py --big           # also 10^7 lines
    python benchmarks/bench_rfm_spark.py --spark-conf spark.sql.shuffle.partitions=4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rfm import generate  # the same log as the DuckDB benchmark

RUN = """
import pickle, sys, time
t0 = time.perf_counter()
from custseg.rfm.query import LogRules
engine, log, out, master = sys.argv[1:5]
if engine == "spark":
    from custseg.engines.spark import SparkEngine
    from custseg.engines.spark_rfm import per_customer_table_spark
    conf = dict(kv.split("=", 1) for kv in sys.argv[5:])
    spark = SparkEngine(master=master, conf={"spark.driver.memory": "2g", **conf})
    spark.session.sparkContext.setLogLevel("ERROR")
    t1 = time.perf_counter()
    customers, summary = per_customer_table_spark(log, LogRules(), engine=spark)
else:
    from custseg.rfm.query import per_customer_table
    t1 = time.perf_counter()
    customers, summary = per_customer_table(log, LogRules())
t2 = time.perf_counter()
with open(out, "wb") as fh:
    pickle.dump((customers, summary), fh)
print(f"{t2 - t1:.1f} {t1 - t0:.1f} {len(customers)}")
"""


def run(
    engine: str, log: Path, out: Path, master: str, conf: list[str]
) -> tuple[float, float, float, float, int]:
    """(wall s, table s, start s, peak RSS GB, customers) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", RUN, engine, str(log), str(out), master, *conf],
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    printed = proc.stdout.read().split() if proc.stdout else []
    if status != 0:
        raise SystemExit(f"the {engine} process failed (status {status})")
    table, started, n = float(printed[-3]), float(printed[-2]), int(printed[-1])
    return wall, table, started, usage.ru_maxrss / 2**20, n


def compare(a_path: Path, b_path: Path) -> str:
    import dataclasses
    import pickle

    import pandas as pd

    with open(a_path, "rb") as fh:
        a, sa = pickle.load(fh)
    with open(b_path, "rb") as fh:
        b, sb = pickle.load(fh)
    try:
        pd.testing.assert_frame_equal(b, a, check_exact=False, rtol=0, atol=1e-6)
    except AssertionError as exc:
        return f"tables differ: {str(exc).splitlines()[0]}"
    amounts = {"left_out_amount": sa.left_out_amount}
    close = all(abs(sb.left_out_amount[k] - v) <= 1e-6 for k, v in sa.left_out_amount.items())
    same = close and dataclasses.replace(sb, **amounts) == sa
    return "tables equal, summaries equal" if same else "tables equal, summaries differ"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=float, default=1e6)
    parser.add_argument("--big", action="store_true", help="Also 10^7 lines.")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--folder", default=None, help="Keep the generated logs here.")
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="A Spark setting, e.g. spark.sql.shuffle.partitions=4 (default: Spark's).",
    )
    args = parser.parse_args()
    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench-rfm-spark-"))
    folder.mkdir(parents=True, exist_ok=True)
    sizes = [int(args.lines)] + ([10_000_000] if args.big else [])
    print(f"{'lines':>12} {'engine':<16} {'wall s':>7} {'table s':>8} {'start s':>8} {'RSS GB':>7}")
    for n in sizes:
        log = folder / f"invoices_{n}.parquet"
        if not log.exists():
            generate(log, n, parquet=True)
        results = {}
        for engine, label in (("local", "DuckDB"), ("spark", f"Spark {args.master}")):
            out = folder / f"{engine}_{n}.pickle"
            results[engine] = (*run(engine, log, out, args.master, args.spark_conf), out)
            wall, table, started, rss, _, _ = results[engine]
            print(f"{n:>12,} {label:<16} {wall:7.1f} {table:8.1f} {started:8.1f} {rss:7.2f}")
        ratio = results["spark"][1] / results["local"][1]
        wall_ratio = results["spark"][0] / results["local"][0]
        print(
            f"{n:>12,} Spark / DuckDB: table {ratio:.1f}x, wall {wall_ratio:.1f}x; "
            f"{results['local'][4]:,} customers; "
            f"{compare(results['local'][5], results['spark'][5])}"
        )


if __name__ == "__main__":
    main()
