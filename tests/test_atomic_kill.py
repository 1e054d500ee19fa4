"""A real ``custseg segment`` killed with SIGKILL part-way never damages earlier results.

SIGKILL cannot be caught, so the killed process cannot clean up after itself. What
custseg guarantees, and what these tests check exactly:

* the previous results folder is byte-for-byte intact;
* no partial result file is visible: the only trace is the hidden temporary
  folder ``out/.custseg-tmp-<pid>-<random>`` inside the target (when the kill came
  while writing);
* the next run into the same place removes that leftover (its process is dead).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_cli
from corpus import csv_text
from custseg.data.demo import make_customers

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

ARGS = ("--k", "3", "--k-max", "3", "--n-init", "1")


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _hidden(parent: Path) -> list[str]:
    """custseg's temporaries beside ``out`` (older versions) and inside it."""
    beside = [p.name for p in parent.iterdir() if p.name.startswith(".out.custseg-")]
    out = parent / "out"
    inside = [p.name for p in out.iterdir() if ".custseg-tmp-" in p.name] if out.is_dir() else []
    return sorted(beside + inside)


def _start(big: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.Popen(
        [sys.executable, "-m", "custseg", "segment", str(big), "--out", str(out), *ARGS],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


@pytest.fixture
def previous(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A results folder from an earlier run, and its exact content."""
    small = tmp_path / "small.csv"
    small.write_text(csv_text(make_customers(60, seed=3)))
    out = tmp_path / "out"
    code, _, stderr = run_cli("segment", str(small), "--out", str(out), "-q", "--no-plots", *ARGS)
    assert code == 0, stderr
    big = tmp_path / "big.csv"
    big.write_text(csv_text(make_customers(5_000, seed=4)))
    return out, _snapshot(out)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow
def test_sigkill_while_writing(tmp_path: Path, previous) -> None:
    out, before = previous
    proc = _start(tmp_path / "big.csv", out)
    try:
        deadline = time.monotonic() + 120
        # the temporary folder appears when writing starts; plots keep it there a while
        while not _hidden(tmp_path):
            assert proc.poll() is None, "the run ended before it started writing"
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.005)
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _snapshot(out) == before  # previous results intact, byte for byte
    leftovers = _hidden(tmp_path)
    assert len(leftovers) == 1 and leftovers[0].startswith(f".custseg-tmp-{proc.pid}-")
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "big.csv",
        "out",
        "small.csv",
    ]
    # the next run cleans the dead run's leftover and replaces the results
    small = str(tmp_path / "small.csv")
    code, _, stderr = run_cli("segment", small, "--out", str(out), "-q", "--no-plots", "--k", "2")
    assert code == 0, stderr
    assert _hidden(tmp_path) == []
    assert _snapshot(out) != before


def test_sigkill_while_computing(tmp_path: Path, previous) -> None:
    out, before = previous
    proc = _start(tmp_path / "big.csv", out)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # progress lines, one per step
            if "fitting k-means" in line:
                break
        else:
            pytest.fail("no progress line before the run ended")
        _kill(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert _snapshot(out) == before
    assert _hidden(tmp_path) == []  # nothing was written at all


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_kill_between_the_two_renames_is_recovered(tmp_path: Path) -> None:
    """Killed after moving the old results aside, before moving the new ones in."""
    from custseg.outputs.atomic import atomic_directory

    old = tmp_path / f".out.custseg-old-{_dead_pid()}-abcdef"
    old.mkdir()
    (old / "segments.json").write_text("{}")
    new = tmp_path / f".out.custseg-tmp-{_dead_pid()}-123456"
    new.mkdir()
    (new / "segments.json").write_text('{"new": true}')
    out = tmp_path / "out"
    # the next run starts by putting the previous results back, then fails
    with pytest.raises(RuntimeError), atomic_directory(out):
        assert (out / "segments.json").read_text() == "{}"
        raise RuntimeError("the next run fails too")
    assert (out / "segments.json").read_text() == "{}"
    assert _hidden(tmp_path) == []


def test_a_running_runs_temporary_folder_is_left_alone(tmp_path: Path) -> None:
    """Only leftovers of dead processes are tidied: a concurrent run keeps its folder."""
    from custseg.outputs.atomic import atomic_directory

    live = tmp_path / f".out.custseg-tmp-{os.getpid()}-aaaaaa"
    live.mkdir()
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "segments.json").write_text("{}")
    assert live.is_dir()
    assert (tmp_path / "out" / "segments.json").read_text() == "{}"
