"""Transaction log -> per-customer RFM table: custseg's DuckDB path against the pandas recipe.

Generates an invoice-line export (the shape of the UCI Online Retail file:
InvoiceNo with C-prefixed cancellations, StockCode with POST lines, Description,
Quantity, InvoiceDate in two formats, UnitPrice, CustomerID with gaps, Country)
as CSV, then runs, each in a fresh process, one after the other:

* ``custseg``: :func:`custseg.rfm.per_customer_table` (DuckDB SQL over the file,
  with a memory limit, spilling to a temporary folder) and the scores;
* ``pandas``: the groupby recipe a CRM analyst writes (read_csv, drop_duplicates,
  filters, to_datetime, groupby/agg), with the same rules.

It prints the wall time and the peak resident memory of each process, the ratio,
and checks that both give the same frequency and monetary for every customer.

Usage::

    python benchmarks/bench_rfm.py                      # 10^7 lines
    python benchmarks/bench_rfm.py --lines 1e6 --memory-limit 1GB
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NON_PRODUCT = ["POST", "DOT", "C2", "M", "MANUAL", "BANK CHARGES", "AMAZONFEE"]


def generate(path: Path, n_lines: int, seed: int = 0, *, parquet: bool = False) -> None:
    """Write the log with DuckDB's own generator (seeded), about 4 lines per invoice, as CSV
    or (``parquet``) as Parquet with the same text dates and typed numbers."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    n_customers = max(10, n_lines // 25)
    con.execute(
        f"""COPY (
        WITH lines AS (
            SELECT i, i // 4 AS inv, random() AS u, random() AS v, random() AS w
            FROM range({n_lines}) t(i)
        ), inv AS (
            SELECT inv,
                hash(inv * 7919) % {n_customers} AS cust,
                TIMESTAMP '2010-12-01 08:00'
                    + to_minutes(CAST(hash(inv * 31) % (373 * 600) AS BIGINT)) AS ts,
                hash(inv * 17) % 100 AS r
            FROM (SELECT DISTINCT inv FROM lines)
        )
        SELECT
            CASE WHEN inv.r < 2 THEN 'C' ELSE '' END || CAST(536365 + lines.inv AS VARCHAR)
                AS InvoiceNo,
            CASE WHEN u < 0.02 THEN 'POST' ELSE CAST(20000 + CAST(v * 3000 AS INT) AS VARCHAR)
                END AS StockCode,
            'PRODUCT ' || CAST(CAST(v * 3000 AS INT) AS VARCHAR) AS Description,
            (CASE WHEN inv.r < 2 THEN -1 ELSE 1 END) * (1 + CAST(w * 24 AS INT)) AS Quantity,
            CASE WHEN inv.r % 5 = 0 THEN strftime(inv.ts, '%Y-%m-%d %H:%M:%S')
                ELSE strftime(inv.ts, '%-m/%-d/%Y %-H:%M') END AS InvoiceDate,
            CASE WHEN u < 0.02 THEN 18.0 ELSE round(0.5 + v * 12, 2) END AS UnitPrice,
            CASE WHEN inv.r >= 90 THEN NULL ELSE CAST(12346 + inv.cust AS VARCHAR) END
                AS CustomerID,
            CASE WHEN inv.cust % 10 = 0 THEN 'France' ELSE 'United Kingdom' END AS Country
        FROM lines JOIN inv USING (inv)
        ORDER BY lines.i
    ) TO '{path}' ({"FORMAT parquet" if parquet else "HEADER, DELIMITER ','"})"""
    )
    con.close()


CUSTSEG = """
import sys, time
t = time.perf_counter()
from custseg.rfm import LogRules, ScoreEdges, per_customer_table
rules = LogRules(non_product=tuple(sys.argv[3].split(',')), memory_limit=sys.argv[2] or None)
customers, summary = per_customer_table(sys.argv[1], rules)
scored = customers[customers['left_out_reason'] == '']
edges = ScoreEdges.fit(scored['recency_days'], scored['frequency'], scored['monetary'])
r, f, m = edges.score(scored['recency_days'], scored['frequency'], scored['monetary'])
customers[['customer_id', 'frequency', 'monetary']].to_parquet(sys.argv[4])
print(time.perf_counter() - t, len(customers))
"""

PANDAS = """
import sys, time
t = time.perf_counter()
import pandas as pd
df = pd.read_csv(sys.argv[1], dtype={'InvoiceNo': str, 'StockCode': str, 'CustomerID': str})
df = df.drop_duplicates()
df = df[df['CustomerID'].notna()]
df = df[~df['StockCode'].str.upper().isin(sys.argv[3].split(','))]
df = df[df['UnitPrice'] > 0]
df['InvoiceDate'] = pd.to_datetime(df['InvoiceDate'], format='mixed')
df['amount'] = df['Quantity'] * df['UnitPrice']
ret = df['InvoiceNo'].str.startswith('C') | (df['Quantity'] < 0)
as_of = df['InvoiceDate'].max().normalize() + pd.Timedelta(days=1)
buy = df[~ret]
per = buy.groupby('CustomerID').agg(
    frequency=('InvoiceNo', 'nunique'), purchases=('amount', 'sum'),
    last=('InvoiceDate', 'max'), first=('InvoiceDate', 'min'),
    n_products=('StockCode', 'nunique'))
returns = df[ret].groupby('CustomerID')['amount'].sum().abs()
per = per.join(returns.rename('returns'), how='outer').fillna({'returns': 0, 'purchases': 0})
per['monetary'] = per['purchases'] - per['returns']
per['recency_days'] = (as_of - per['last'].dt.normalize()).dt.days
per['tenure_days'] = (as_of - per['first'].dt.normalize()).dt.days
scored = per[per['frequency'].fillna(0) > 0]
for c in ('recency_days', 'frequency', 'monetary'):
    pd.qcut(scored[c].rank(method='first'), 5, labels=False)
out = per.reset_index().rename(columns={'CustomerID': 'customer_id'})
out['frequency'] = out['frequency'].fillna(0).astype('int64')
out[['customer_id', 'frequency', 'monetary']].to_parquet(sys.argv[4])
print(time.perf_counter() - t, len(per))
"""


def run(code: str, args: list[str]) -> tuple[float, float, str]:
    """Run ``code`` in a fresh Python; return (wall seconds, peak RSS in GB, its stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise SystemExit(f"a benchmark process failed (status {status})")
    return wall, usage.ru_maxrss / 2**20, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=float, default=1e7)
    parser.add_argument("--memory-limit", default="2GB", help="custseg's DuckDB limit")
    parser.add_argument("--folder", default=None, help="Keep the generated log here.")
    args = parser.parse_args()
    n = int(args.lines)
    folder = Path(args.folder or tempfile.mkdtemp(prefix="bench-rfm-"))
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"invoices_{n}.csv"
    if not log.exists():
        t = time.perf_counter()
        generate(log, n)
        print(
            f"generated {n:,} lines ({log.stat().st_size / 2**20:,.0f} MB) "
            f"in {time.perf_counter() - t:.0f} s"
        )
    codes = ",".join(NON_PRODUCT)
    results = {}
    for name, code, extra in (
        ("custseg (DuckDB)", CUSTSEG, args.memory_limit),
        ("pandas recipe", PANDAS, ""),
    ):
        out = folder / f"{name.split()[0]}.parquet"
        wall, rss, printed = run(code, [str(log), extra, codes, str(out)])
        results[name] = (wall, rss, out)
        print(f"{name:<18} wall {wall:7.1f} s   peak RSS {rss:5.2f} GB   ({printed})")
    import pandas as pd

    a = pd.read_parquet(results["custseg (DuckDB)"][2]).set_index("customer_id").sort_index()
    b = pd.read_parquet(results["pandas recipe"][2]).set_index("customer_id").sort_index()
    same = a.index.equals(b.index) and (a["frequency"] == b["frequency"]).all()
    close = ((a["monetary"] - b["monetary"]).abs() <= 1e-6 * b["monetary"].abs().clip(1)).all()
    (cw, cr, _), (pw, pr, _) = results["custseg (DuckDB)"], results["pandas recipe"]
    print(
        f"pandas / custseg: wall {pw / cw:.1f}x, peak memory {pr / cr:.1f}x; "
        f"same customers and frequency: {same}; same monetary: {bool(close)}"
    )


if __name__ == "__main__":
    main()
