"""Exit codes (0 ok, 1 bad data or usage, 2 internal error) and what each prints."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from conftest import run_cli
from corpus import FAST, base, csv_text
from custseg.cli import ISSUES_URL
from custseg.data import loading
from custseg.errors import DataError


@pytest.fixture
def table(tmp_path: Path) -> Path:
    p = tmp_path / "customers.csv"
    p.write_text(csv_text(base()))
    return p


def _boom(*args, **kwargs):
    raise RuntimeError("simulated bug")


def test_ok_is_0(table: Path, tmp_path: Path) -> None:
    code, stdout, _stderr = run_cli("segment", str(table), "--out", str(tmp_path / "o"), *FAST)
    assert code == 0
    assert "40 of 40 customers segmented" in stdout


def test_usage_error_is_1(table: Path, tmp_path: Path) -> None:
    code, _, stderr = run_cli("segment", str(table), "--out", str(tmp_path / "o"), "--k", "x")
    assert code == 1
    assert stderr.strip() == "Error: k='x' is neither 'auto' nor a whole number; use e.g. --k 5"
    code, _, stderr = run_cli("segment", str(table), "--method", "dbscan", "--out", "o")
    assert code == 1 and "'dbscan' is not one of" in stderr and "--help" in stderr


def test_internal_error_is_2_with_log_and_no_traceback(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custseg.pipeline.segment", _boom)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    code, _stdout, stderr = run_cli("segment", str(table), "--out", str(tmp_path / "o"), *FAST)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr
    (log,) = tmp_path.glob("custseg-error-*.log")  # unique per crash
    assert log.stat().st_mode & 0o777 == 0o600  # private: a traceback may quote the data
    assert lines[0] == (
        "Internal error: RuntimeError: simulated bug. This is a bug in custseg; "
        f"details in {log}. Please report it at {ISSUES_URL}"
    )
    assert "Traceback (most recent call last)" in log.read_text()
    assert "simulated bug" in log.read_text()
    assert not (tmp_path / "o").exists()


def test_internal_error_with_debug_shows_traceback(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("custseg.pipeline.segment", _boom)
    code, _, stderr = run_cli("--debug", "segment", str(table), "--out", str(tmp_path / "o"))
    assert code == 2
    assert "Traceback (most recent call last)" in stderr
    assert "RuntimeError: simulated bug" in stderr


def test_failure_while_writing_keeps_previous_results(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "o"
    assert run_cli("segment", str(table), "--out", str(out), *FAST)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # a crash half-way through writing (after segments.json, during the plots)
    monkeypatch.setattr("custseg.report.plots.write_plots", _boom)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "logs"))
    (tmp_path / "logs").mkdir()
    code, _, _ = run_cli(
        "segment", str(table), "--out", str(out), "--png", "--quiet", "--k", "3", "--n-init", "2"
    )
    assert code == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "logs", "o"]


def test_keyboard_interrupt_is_130_and_writes_nothing(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("custseg.report.plots.write_plots", interrupt)
    code, _, stderr = run_cli(
        "segment",
        str(table),
        "--out",
        str(tmp_path / "o"),
        "--png",
        "--quiet",
        "--k",
        "3",
        "--n-init",
        "2",
    )
    assert code == 130
    assert stderr.strip() == "Interrupted; nothing was written."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv"]


# --- the memory guard's parts ---------------------------------------------------------


def test_memory_estimate_scales_with_file_size_and_format(tmp_path: Path) -> None:
    p = tmp_path / "t.csv"
    p.write_bytes(b"a,b\n" + b"1,2\n" * 1000)
    size = p.stat().st_size
    assert loading.estimate_memory(p, "csv") == int(size * loading.MEMORY_FACTOR["csv"])
    assert loading.estimate_memory(p, "excel") == int(size * loading.MEMORY_FACTOR["excel"])


def test_memory_guard_of_gzip_measures_the_decoded_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The size field of gzip is not trusted (issue 11 case 6): decoding is metered."""
    import gzip

    raw = b"a,b\n" + b"1,2\n" * 100_000
    p = tmp_path / "t.csv.gz"
    p.write_bytes(gzip.compress(raw))
    compressed = p.stat().st_size
    # before reading: only the lower bound (text compresses at least 3x)
    assert loading.estimate_memory(p, "csv.gz") == int(
        3 * compressed * loading.MEMORY_FACTOR["csv"]
    )
    # while reading: the decoded bytes count, so a limit below what they need stops it
    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", str(len(raw) * 5))
    with pytest.raises(DataError, match="decompresses to more than"):
        loading.load_table(p)
    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", str(len(raw) * 20))
    assert len(loading.load_table(p).frame) == 100_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1024", 1024), ("1K", 1024), ("500M", 500 * 2**20), ("8G", 8 * 2**30), ("1.5gb", 3 * 2**29)],
)
def test_memory_limit_env(monkeypatch: pytest.MonkeyPatch, text: str, expected: int) -> None:
    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", text)
    assert loading.available_memory() == expected


def test_available_memory_reads_meminfo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUSTSEG_MEMORY_LIMIT", raising=False)
    if not Path("/proc/meminfo").exists():
        pytest.skip("no /proc/meminfo on this system")
    have = loading.available_memory()
    assert have is not None and have > 10 * 2**20


def test_file_within_memory_loads(table: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need = loading.estimate_memory(table, "csv")
    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", str(need))
    assert len(loading.load_table(table).frame) == 40
    monkeypatch.setenv("CUSTSEG_MEMORY_LIMIT", str(need - 1))
    with pytest.raises(loading.DataError, match="needs about"):
        loading.load_table(table)


def test_disk_full_while_writing_is_a_clear_error(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    out = tmp_path / "o"
    assert run_cli("segment", str(table), "--out", str(out), *FAST)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr("custseg.outputs.writers.write_safe_csv", full)
    code, _, stderr = run_cli("segment", str(table), "--out", str(out), *FAST)
    assert code == 1
    assert stderr.strip() == (
        f"Error: cannot write the results into '{out}': No space left on device; "
        "nothing was changed there (free some space or choose another --out)"
    )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "o"]


def test_out_of_memory_is_a_clear_error(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def oom(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr("custseg.pipeline.segment", oom)
    code, _, stderr = run_cli("segment", str(table), "--out", str(tmp_path / "o"))
    assert code == 1
    assert stderr.startswith("Error: custseg ran out of memory;")
    assert "Nothing was written." in stderr and "bug" not in stderr
