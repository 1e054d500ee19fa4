"""custseg never deletes what it did not write (issue 11, cases 1-5, 10, 12, 22, 23).

The results folder is a manifest of custseg's own files, not a folder takeover:
every test here puts files of the user's next to (or around) the results and
checks, byte for byte, that they survive, with the exact exit code and message.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import run_cli
from corpus import FAST, base, csv_text
from custseg.outputs.atomic import MANIFEST, is_output_name

POSIX = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


def _files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes), links not followed."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(folder))] = b"-> " + os.readlink(p).encode()
        elif p.is_file():
            out[str(p.relative_to(folder))] = p.read_bytes()
    return out


@pytest.fixture
def table(tmp_path: Path) -> Path:
    p = tmp_path / "customers.csv"
    p.write_text(csv_text(base()), encoding="utf-8")
    return p


def _segment(table: Path, out: Path | str, *extra: str) -> tuple[int, str, str]:
    return run_cli("segment", str(table), "--out", str(out), *FAST, *extra)


# --- case 1: a working folder is not a results folder ------------------------------------


def _working_folder(folder: Path) -> dict[str, bytes]:
    (folder / "src").mkdir(parents=True)
    (folder / "train.py").write_text("print('my training script')\n")
    (folder / "src" / "code.py").write_text("x = 1\n")
    (folder / "model.json").write_text('{"mine": true}\n')
    return _files(folder)


def test_case01_working_folder_is_refused(table: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    before = _working_folder(work)
    code, _, stderr = _segment(table, work)
    assert code == 1
    assert stderr.strip() == (
        f"Error: folder '{work}' is not empty and holds no custseg results; choose a new "
        "folder for --out so nothing of yours is overwritten (or add --force to write "
        "custseg's files beside yours)"
    )
    assert _files(work) == before


def test_case01_out_dot_in_a_working_folder(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    before = _working_folder(work)
    monkeypatch.chdir(work)
    code, _, stderr = _segment(table, ".")
    assert code == 1 and "not empty and holds no custseg results" in stderr
    assert _files(work) == before


def test_case01_force_writes_beside_and_replaces_only_its_own_names(
    table: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    before = _working_folder(work)
    code, _, stderr = _segment(table, work, "--force")
    assert code == 0, stderr
    after = _files(work)
    for name in ("train.py", "src/code.py"):
        assert after[name] == before[name]
    assert json.loads(after["model.json"])["format"] == "custseg-model"  # --force: replaced
    # a second run without --force: the folder is custseg's now, the user's files stay
    assert _segment(table, work)[0] == 0
    assert {k: v for k, v in _files(work).items() if k in ("train.py", "src/code.py")} == {
        "train.py": before["train.py"],
        "src/code.py": before["src/code.py"],
    }


# --- case 2: --out that is or holds the input --------------------------------------------


@pytest.mark.parametrize("where", ["res", "res/deeper/.."])
def test_case02_out_holding_the_input_is_refused(tmp_path: Path, where: str) -> None:
    res = tmp_path / "res"
    res.mkdir()
    data = res / "customers.csv"
    data.write_text(csv_text(base()))
    before = _files(res)
    (res / "deeper").mkdir()
    code, _, stderr = _segment(data, tmp_path / where, "--force")
    assert code == 1
    assert stderr.strip() == (
        f"Error: --out '{tmp_path / where}' holds the input file '{data}'; choose another "
        "folder for the results, so the input is never at risk"
    )
    (res / "deeper").rmdir()
    assert _files(res) == before


def test_case02_input_reached_through_a_link_is_refused(tmp_path: Path) -> None:
    res = tmp_path / "res"
    res.mkdir()
    data = res / "customers.csv"
    data.write_text(csv_text(base()))
    (tmp_path / "alias.csv").symlink_to(data)
    code, _, stderr = _segment(tmp_path / "alias.csv", res, "--force")
    assert code == 1 and "holds the input file" in stderr
    assert sorted(p.name for p in res.iterdir()) == ["customers.csv"]


# --- case 3: a user's file added to a results folder survives -----------------------------


def test_case03_notes_in_a_results_folder_survive(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0
    (out / "my_notes.txt").write_text("call Anna about segment 2\n")
    (out / "plots").mkdir()
    (out / "plots" / "mine.png").write_bytes(b"\x89PNG mine")
    code, _, stderr = _segment(table, out, "--k", "3")
    assert code == 0, stderr
    assert (out / "my_notes.txt").read_text() == "call Anna about segment 2\n"
    assert (out / "plots" / "mine.png").read_bytes() == b"\x89PNG mine"
    manifest = json.loads((out / MANIFEST).read_text())
    assert "my_notes.txt" not in manifest["files"]


def test_case03_a_file_of_the_users_with_a_custseg_name_is_not_replaced(
    table: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0  # --no-plots: no PNG in the manifest
    (out / "elbow.png").write_bytes(b"my own elbow plot")
    code, _, stderr = run_cli(
        "segment", str(table), "--out", str(out), "-q", "--k-max", "4", "--png"
    )
    assert code == 1
    assert stderr.strip() == (
        f"Error: 'elbow.png' in folder '{out}' was not written by custseg; move it away or "
        "add --force to replace it"
    )
    assert (out / "elbow.png").read_bytes() == b"my own elbow plot"


def test_files_custseg_no_longer_writes_are_removed(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run_cli("segment", str(table), "--out", str(out), "-q", "--k-max", "4", "--png")[0] == 0
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs
    assert _segment(table, out)[0] == 0  # --no-plots now: the old plots would mislead
    assert sorted(p.name for p in out.glob("*.png")) == []


def test_a_hand_edited_manifest_cannot_delete_a_users_file(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0
    (out / "train.py").write_text("mine")
    doc = json.loads((out / MANIFEST).read_text())
    doc["files"] += ["train.py", "../customers.csv"]
    (out / MANIFEST).write_text(json.dumps(doc))
    assert _segment(table, out)[0] == 0
    assert (out / "train.py").read_text() == "mine"
    assert table.is_file()


def test_results_of_a_version_before_the_manifest_are_recognised(
    table: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0
    (out / MANIFEST).unlink()
    code, _, stderr = _segment(table, out)
    assert code == 0, stderr


# --- case 4: reserved output column names --------------------------------------------------


@pytest.mark.parametrize("name", ["segment", "segment_name", "left_out_reason"])
def test_case04_id_with_a_reserved_name_is_refused(tmp_path: Path, name: str) -> None:
    df = base().rename(columns={"CustomerID": name})
    data = tmp_path / "c.csv"
    data.write_text(csv_text(df))
    code, _, stderr = _segment(data, tmp_path / "out", "--id", name)
    assert code == 1
    assert stderr.strip() == (
        f"Error: --id '{name}' has the name of a column custseg writes beside the id "
        "(segment, segment_name, distance, atypical, left_out_reason), so the ids would be "
        "lost; rename that column in the file (e.g. to customer_id) and pass the new name"
    )
    assert not (tmp_path / "out").exists()


def test_case04_a_reserved_name_is_never_detected_as_the_id(tmp_path: Path) -> None:
    df = base()
    df.insert(0, "segment", [f"S{i}" for i in range(len(df))])
    data = tmp_path / "c.csv"
    data.write_text(csv_text(df))
    code, _, stderr = _segment(data, tmp_path / "out")
    assert code == 0, stderr
    header = (tmp_path / "out" / "assignments.csv").read_text().splitlines()[0]
    assert header == "CustomerID,segment,segment_name,left_out_reason"


# --- case 5: no globbing ------------------------------------------------------------------


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_case05_out_with_glob_characters_touches_nothing_else(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert _segment(table, "q1")[0] == 0
    leftover = tmp_path / f".q1.custseg-old-{_dead_pid()}-abcdef"
    leftover.mkdir()
    (leftover / "segments.json").write_text("{}")
    before = _files(tmp_path / "q1")
    for name in ("q*", "q?", "[q]1"):
        code, _, stderr = _segment(table, name)
        assert code == 0, stderr
        assert (tmp_path / name / "segments.json").is_file()
    assert _files(tmp_path / "q1") == before
    assert (leftover / "segments.json").read_text() == "{}"


# --- case 22: --out that is a symbolic link ----------------------------------------------


def test_case22_a_link_to_a_folder_is_followed_and_kept(table: Path, tmp_path: Path) -> None:
    real = tmp_path / "real"
    assert _segment(table, real)[0] == 0
    (real / "my_notes.txt").write_text("mine")
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    code, _, stderr = _segment(table, link, "--k", "3")
    assert code == 0, stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert json.loads((real / "segments.json").read_text())["k"] == 3
    assert (real / "my_notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["customers.csv", "link", "real"]
    assert sorted(p.name for p in real.iterdir() if p.name.startswith(".")) == [MANIFEST]


def test_case22_a_dangling_link_is_refused(table: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    code, _, stderr = _segment(table, link)
    assert code == 1
    assert stderr.strip() == (
        f"Error: --out '{link}' is a symbolic link to '{tmp_path / 'gone'}', which does not "
        "exist; create that folder or choose another --out"
    )
    assert link.is_symlink() and not (tmp_path / "gone").exists()


def test_a_link_inside_the_folder_is_replaced_not_followed(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "report.html").unlink()
    (out / "report.html").symlink_to(victim)
    assert _segment(table, out)[0] == 0
    assert victim.read_text() == "precious"
    assert not (out / "report.html").is_symlink()


# --- cases 10 and 12: the crash log, and writing single files -----------------------------


def test_case10_crash_log_is_private_unique_and_never_follows_a_link(
    table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr("custseg.pipeline.segment", boom)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "custseg-error.log").symlink_to(victim)
    logs = []
    for _ in range(2):
        code, _, stderr = _segment(table, tmp_path / "o")
        assert code == 2 and len(stderr.strip().splitlines()) == 1
        logs.append(stderr.split("details in ")[1].split(". Please")[0])
    assert victim.read_text() == "precious"
    assert logs[0] != logs[1]
    for log in map(Path, logs):
        assert log.parent == tmp_path and log.name.startswith("custseg-error-")
        assert log.stat().st_mode & 0o777 == 0o600
        assert "simulated bug" in log.read_text()


@pytest.mark.parametrize("command", ["assign", "report"])
def test_case12_a_write_error_of_a_single_file_is_exit_1(
    command: str, table: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0
    import errno

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("custseg.outputs.atomic.os.replace", full)
    target = tmp_path / ("a.csv" if command == "assign" else "r.html")
    if command == "assign":
        code, _, stderr = run_cli(
            "assign", str(out / "model.json"), str(table), "--out", str(target)
        )
    else:
        code, _, stderr = run_cli("report", str(out), "--out", str(target))
    assert code == 1
    assert stderr.strip() == (
        f"Error: cannot write '{target}': No space left on device; nothing was written there "
        "(free some space or choose another place)"
    )
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# --- case 23: SIGTERM is Ctrl-C; stale temporaries of custseg's own naming are cleaned -------


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "custseg", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "MPLBACKEND": "Agg"},
        text=True,
    )


@POSIX
@pytest.mark.slow
def test_case23_sigterm_while_writing_cleans_up(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0
    before = _files(out)
    big = tmp_path / "big.csv"
    big.write_text(csv_text(base(20_000, seed=4)))
    proc = _start(["segment", str(big), "--out", str(out), "--k", "3", "--n-init", "1"])
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(".custseg-tmp-") for p in out.iterdir()):
            assert proc.poll() is None, "the run ended before it started writing"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "Terminated; nothing was written."
    assert _files(out) == before
    assert [p.name for p in out.iterdir() if ".custseg-tmp-" in p.name] == []


@POSIX
def test_case23_stale_partials_of_a_killed_assign_are_removed(table: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0
    dead = tmp_path / f".new.csv.custseg-tmp-{_dead_pid()}-0a1b2c"
    dead.write_text("partial")
    live = tmp_path / f".new.csv.custseg-tmp-{os.getppid()}-0a1b2c"  # a running process
    live.write_text("partial")
    users = tmp_path / ".new.csv.custseg-tmp-notes"  # not custseg's naming: left alone
    users.write_text("mine")
    code, _, stderr = run_cli(
        "assign", str(out / "model.json"), str(table), "--out", str(tmp_path / "new.csv")
    )
    assert code == 0, stderr
    assert not dead.exists() and live.exists() and users.read_text() == "mine"


def test_case23_stale_temporary_folder_inside_results_is_removed(
    table: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert _segment(table, out)[0] == 0
    stale = out / f".custseg-tmp-{_dead_pid()}-abcdef"
    stale.mkdir()
    (stale / "segments.json").write_text("{}")
    assert _segment(table, out)[0] == 0
    assert not stale.exists()


# --- the property: whatever the user keeps in the folder survives every run ---------------

_NAME = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd"), whitelist_characters="_-. "),
    min_size=1,
    max_size=20,
).filter(lambda n: n.strip(" .") == n and not is_output_name(n) and n != MANIFEST)


@pytest.fixture(scope="module")
def fitted():
    from custseg import SegmentationConfig, segment
    from custseg.data.loading import LoadedTable

    table = LoadedTable(frame=base(), source="customers.csv", file_format="csv")
    return segment(table, SegmentationConfig(k=3, n_init=2))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    user_files=st.dictionaries(_NAME, st.binary(max_size=64), min_size=1, max_size=6),
    when=st.sampled_from(["before_first_run_forced", "between_runs"]),
    plots=st.lists(st.booleans(), min_size=1, max_size=3),
)
def test_property_user_files_survive_every_run(
    fitted, tmp_path_factory, user_files: dict[str, bytes], when: str, plots: list[bool]
) -> None:
    from custseg import write_results
    from custseg.errors import OutputError

    out = tmp_path_factory.mktemp("prop") / "out"
    if when == "before_first_run_forced":
        out.mkdir()
        for name, data in user_files.items():
            (out / name).write_bytes(data)
        with pytest.raises(OutputError):
            write_results(fitted, out, plots=False, report=False)
        write_results(fitted, out, plots=False, report=False, force=True)
    else:
        write_results(fitted, out, plots=False, report=False)
        for name, data in user_files.items():
            (out / name).write_bytes(data)
    for with_plots in plots:
        write_results(fitted, out, plots=with_plots, report=False)
        for name, data in user_files.items():
            assert (out / name).read_bytes() == data
        assert not [p for p in out.iterdir() if ".custseg-tmp-" in p.name]
