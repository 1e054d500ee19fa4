"""Shared fixtures. ``make_customers`` builds small seeded customer tables."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from custseg.data.demo import make_customers as _make_customers

os.environ.setdefault("MPLBACKEND", "Agg")

# Only tests/test_reference.py reads it; CUSTSEG_SHARED_DATA=/nowhere runs the suite as a
# fresh clone without ../shared would (the reference tests then skip, nothing else does).
SHARED_DATA = Path(
    os.environ.get(
        "CUSTSEG_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"
    )
)
MALL = SHARED_DATA / "mall_customers.csv"


@pytest.fixture
def make_customers():
    """Factory: make_customers(n_rows=300, seed=0) -> DataFrame."""

    def factory(n_rows: int = 300, seed: int = 0) -> pd.DataFrame:
        return _make_customers(n_rows, seed=seed)

    return factory


@pytest.fixture
def mall_path() -> Path:
    """The reference table from ../shared/data (skips when it is not there)."""
    if not MALL.is_file():
        pytest.skip("../shared/data/mall_customers.csv is not present")
    return MALL


def run_cli(*args: str) -> tuple[int, str, str]:
    """Run ``custseg ARGS`` through the real entry point; return (exit code, stdout, stderr)."""
    runner = CliRunner()
    result = runner.invoke(_Main(), list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


class _Main:
    """Adapter so CliRunner drives ``custseg.cli.main`` (our error-to-exit-code mapping)."""

    name = "custseg"

    def main(self, args, prog_name=None, standalone_mode=True, **extra):
        from custseg.cli import main

        main(list(args))
