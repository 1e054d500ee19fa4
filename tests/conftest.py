"""Shared fixtures. ``make_customers`` builds small seeded customer tables."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import warnings
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


# --- Spark: one local[2] session per test process (Spark tests share an xdist group) ---


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'custseg[spark]')"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "Java is not installed (Spark needs Java 17 or later)"
    return None


@pytest.fixture(scope="session")
def spark_session():
    """A local[2] SparkSession shared by every Spark test (skips without pyspark or Java)."""
    reason = _spark_missing()
    if reason:
        pytest.skip(reason)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        from pyspark.sql import SparkSession

        session = (
            SparkSession.builder.master("local[2]")
            .appName("custseg-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
