"""Local engine vs Spark ``local[N]`` on the data seam: one Lloyd iteration, one assignment.

Both engines read the same Parquet file of n customers × d features (five groups):

* ``lloyd``: ``data.lloyd(init, max_iter=1)`` — one Lloyd iteration from given centres and
  the final labelling pass (Spark also runs its statistics pass: the mean to centre the sums
  and the tolerance), as the seam runs it;
* ``pass``: one Lloyd pass alone (Spark: one job over the file; local: ``lloyd`` above
  minus nothing, it is two passes, so its time is halved);
* ``assign``: ``data.assign(centres).group_sums(k)`` — nearest centre of every customer and
  the per-segment sums, one pass.

The Spark side reads the Parquet file in every pass (no cache), as on a data lake; the
local side reads it once into memory (the read is timed apart). Usage::

    python benchmarks/bench_spark.py --sizes 1e6 1e7 --master 'local[2]'
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def make_file(path: Path, n: int, d: int, seed: int = 0) -> np.ndarray:
    """Write n customers in five groups to a Parquet file; return the five group centres."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 10, size=(5, d))
    writer = None
    step = 1_000_000
    for s in range(0, n, step):
        m = min(step, n - s)
        X = centres[rng.integers(0, 5, m)] + rng.normal(0, 1.0, (m, d))
        table = pa.table({f"x{j}": X[:, j] for j in range(d)})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=step)
    assert writer is not None
    writer.close()
    return centres


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def run_size(path: Path, n: int, d: int, local, spark) -> None:
    """Time both engines on one file of n customers and print a row per step."""
    names = [f"x{j}" for j in range(d)]
    centres = make_file(path, n, d)
    init = centres + 0.3
    t_read, ldata = timed(lambda: local.read(path, features=names))
    sdata = spark.read(path, features=names)
    t_l_lloyd, lres = timed(lambda: ldata.lloyd(init, max_iter=1))
    t_s_lloyd, sres = timed(lambda: sdata.lloyd(init, max_iter=1))
    assert np.allclose(lres.centres, sres.centres, rtol=1e-9)
    mean = ldata.column_stats(quantiles=()).mean
    t_s_pass, _ = timed(lambda: sdata._pass(init, mean))
    t_l_assign, lg = timed(lambda: ldata.assign(centres).group_sums(5))
    t_s_assign, sg = timed(lambda: sdata.assign(centres).group_sums(5))
    assert np.array_equal(lg.counts, sg.counts)
    rows = [
        ("read", t_read, float("nan")),
        ("lloyd", t_l_lloyd, t_s_lloyd),
        ("pass", t_l_lloyd / 2, t_s_pass),
        ("assign", t_l_assign, t_s_assign),
    ]
    for step, a, b in rows:
        print(f"{n:>12,} {step:>8} {a:>9.2f} {b:>9.2f} {b / a:>7.1f}")
    size_mb = path.stat().st_size / 1e6
    print(
        f"{n:>12,} file {size_mb:,.0f} MB; Spark pass {size_mb / t_s_pass:,.0f} MB/s, "
        f"assignment {size_mb / t_s_assign:,.0f} MB/s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e6])
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from pyspark.sql import SparkSession

    from custseg.cluster.lloyd import warm_up
    from custseg.engines.contract import get_data_engine
    from custseg.engines.spark import SparkEngine

    session = (
        SparkSession.builder.master(args.master)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    local, spark = get_data_engine("local"), SparkEngine(session)
    d = args.features
    warm_up(d, 5, np.float64)
    # Start Spark's Python workers before timing anything.
    spark.from_arrays(np.zeros((10, d))).assign(np.zeros((1, d))).group_sums(1)

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; {args.master}")
    print(f"{'n':>12} {'step':>8} {'local s':>9} {'spark s':>9} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes):
            run_size(Path(tmp) / f"customers_{n}.parquet", n, d, local, spark)
    session.stop()


if __name__ == "__main__":
    main()
