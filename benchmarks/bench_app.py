"""The web app's response times, end to end through Streamlit's AppTest.

Drives the real page script in-process (as ``tests/test_app.py`` does): upload a
customer table, time the run until the first result is on the page, then move the
k slider one step and time until the page shows the new segments. Each timing is a
whole script run of the page (the pipeline, the charts, the cards, the map and the
download buttons). Run 1 is a fresh server's first user (the imports of the
computing libraries included); later runs are a warm server with its caches emptied.

    python benchmarks/bench_app.py                 # 100,000 x 6, as in issue 17
    python benchmarks/bench_app.py --rows 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

APP = Path(__file__).resolve().parents[1] / "src" / "custseg" / "app" / "streamlit_app.py"


def customers(n: int, seed: int = 0) -> pd.DataFrame:
    """Customers in four groups: age, income, spend (skewed), visits, tenure, a flag."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 4, n)
    return pd.DataFrame(
        {
            "customer_id": np.arange(1, n + 1),
            "age": np.round(rng.normal([30, 45, 60, 38][0], 8, n) + 8 * g, 0),
            "income": np.round(rng.lognormal(10.4 + 0.2 * g, 0.3, n), 0),
            "spend": np.round(rng.lognormal(5 + 0.5 * (g % 2), 0.6, n), 2),
            "visits": rng.poisson(3 + 4 * (g == 2), n),
            "tenure_months": rng.integers(1, 120, n),
            "newsletter": rng.integers(0, 2, n),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from streamlit.testing.v1 import AppTest

    buf = io.StringIO()
    customers(args.rows).to_csv(buf, index=False)
    data = buf.getvalue().encode()
    load = os.getloadavg()
    print(f"# {args.rows:,} customers, {len(data) / 1e6:.1f} MB CSV; load average "
          f"{load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}; {os.cpu_count()} cores")  # fmt: skip
    print("run  first result s  k change s  (targets: 4 s and 1 s)")
    import streamlit as st

    for run in range(args.repeat):
        # Run 1 is a fresh server's first user (imports included); later runs a warm
        # server with its caches emptied, so every run computes the segments again.
        st.cache_data.clear()
        at = AppTest.from_file(str(APP), default_timeout=600).run()
        t = time.perf_counter()
        at.file_uploader[0].set_value(("customers.csv", data, "text/csv"))
        at.run()
        first = time.perf_counter() - t
        assert not at.exception, [e.value for e in at.exception]
        slider = at.select_slider[0]
        options = list(slider.options)
        k = slider.value
        new_k = options[options.index(str(k)) - 1] if options.index(str(k)) > 0 else options[1]
        t = time.perf_counter()
        slider.set_value(int(new_k)).run()
        change = time.perf_counter() - t
        assert not at.exception, [e.value for e in at.exception]
        print(f"{run + 1:>3}  {first:>14.2f}  {change:>10.2f}   (k {k} -> {new_k})")


if __name__ == "__main__":
    main()
