"""Write outputs so that a failure or a kill never leaves anything half-written,
and never touch a file custseg did not write.

Single files are written to a temporary name beside the target and renamed into
place. A results folder is not taken over: custseg keeps a manifest
(``.custseg-manifest.json``) of the files it wrote there and replaces only
those. The new files are built in a hidden temporary folder inside the results
folder and renamed over the previous ones only when all of them are complete;
every other file in the folder (yours) is left alone.

Every temporary name carries the writing process's id
(``.custseg-tmp-<pid>-<random>``), so a later run can tell the leftovers of a
killed run (its process is gone) from those of a run still going, and removes
only the former.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..errors import OutputError

_TMP_TAG = ".custseg-tmp-"
_OLD_TAG = ".custseg-old-"  # written by custseg before 0.x's manifest; still recovered
MANIFEST = ".custseg-manifest.json"
# Files that mark a folder as custseg's own results, safe to replace.
RESULT_MARKERS = ("segments.json", "model.json")
# The files `custseg rfm` writes beside the cluster outputs of `segment`.
RFM_FILES = frozenset(
    {
        "customers.csv",
        "customers.parquet",
        "rfm.json",
        "rfm_segments.csv",
        "rfm_by_cluster.csv",
        "clusters.csv",
    }
)
# Every name custseg writes into a results folder (plots are *.png). A manifest entry
# outside these is ignored, so a hand-edited manifest cannot make custseg delete a file.
OUTPUT_NAMES = (
    frozenset(
        {
            "segments.json",
            "segments.csv",
            "assignments.csv",
            "model.json",
            "migration.csv",
            "report.html",
            "customers.csv",  # the demo's input table
        }
    )
    | RFM_FILES
)
# Folders custseg writes into a results folder: each customer's segment written by a
# data engine as a Parquet folder, when the customers stay on it (docs/spark.md).
OUTPUT_FOLDERS = frozenset({"assignments"})
_LEFTOVER = re.compile(r"-(\d+)-[0-9a-f]+$")


def is_output_name(name: str) -> bool:
    """True for a plain file name (or one of the folders) custseg writes into a results folder."""
    if "/" in name or "\\" in name or name.startswith("."):
        return False
    return (
        name in OUTPUT_NAMES
        or name in OUTPUT_FOLDERS
        or (name.endswith(".png") and len(name) <= 64)
    )


def _suffix() -> str:
    return f"{os.getpid()}-{os.urandom(3).hex()}"


def temporary_name(target: Path) -> Path:
    """A new name ``.<name>.custseg-tmp-<pid>-<random>`` beside ``target``: where an output
    is written before it replaces ``target`` (left-overs are cleaned by that pattern)."""
    return parent_of(target) / f".{target.name}{_TMP_TAG}{_suffix()}"


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _temp_file(parent: Path, name: str) -> Path:
    """Create a new empty file ``.<name>.custseg-tmp-<pid>-<random>`` in ``parent``."""
    for _ in range(100):
        tmp = parent / f".{name}{_TMP_TAG}{_suffix()}"
        try:
            # O_EXCL|O_NOFOLLOW: never open something a symlink planted there points to.
            fd = os.open(
                tmp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                0o666 & ~_umask(),
            )
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise OutputError(f"cannot create a temporary file in '{parent}'")  # pragma: no cover


def parent_of(p: Path) -> Path:
    return p.parent if str(p.parent) else Path(".")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    p = Path(path)
    parent = parent_of(p)
    if not parent.is_dir():
        raise OutputError(f"folder '{parent}' does not exist; create it first")
    with atomic_file(p) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _dead_leftover(name: str, prefix: str) -> bool:
    """True for ``<prefix><pid>-<hex>`` whose process is gone (exact prefix, no globbing)."""
    if not name.startswith(prefix):
        return False
    m = _LEFTOVER.fullmatch("-" + name[len(prefix) :])
    return m is not None and not _pid_alive(int(m.group(1)))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def clean_stale_files(path: Path) -> None:
    """Remove ``.<name>.custseg-tmp-<pid>-*`` files beside ``path`` left by killed runs."""
    parent = parent_of(path)
    prefix = f".{path.name}{_TMP_TAG}"
    with contextlib.suppress(OSError):
        for entry in os.scandir(parent):
            if _dead_leftover(entry.name, prefix):
                _remove(parent / entry.name)


def _clean_stale(target: Path) -> None:
    """Tidy up after runs that were killed (their process is gone).

    Inside ``target``: custseg's temporary folders and files. Beside it, from
    versions that swapped whole folders: temporary folders are removed, and a
    complete ``-old-`` folder is put back when ``target`` is missing (a run killed
    between its two renames). Names are compared exactly: an ``--out`` holding
    ``*`` or ``?`` matches nothing else.
    """
    parent = target.parent
    with contextlib.suppress(OSError):
        for entry in sorted(os.scandir(parent), key=lambda e: e.name):
            for tag in (_OLD_TAG, _TMP_TAG):
                if not _dead_leftover(entry.name, f".{target.name}{tag}"):
                    continue
                if tag == _OLD_TAG and not os.path.lexists(target):
                    with contextlib.suppress(OSError):
                        os.replace(parent / entry.name, target)
                        continue
                _remove(parent / entry.name)
    if target.is_dir():
        with contextlib.suppress(OSError):
            for entry in os.scandir(target):
                name = entry.name
                if name.startswith(_TMP_TAG) and _dead_leftover(name, _TMP_TAG):
                    _remove(target / name)
                elif name.startswith(".") and _TMP_TAG in name:
                    stem = name[: name.index(_TMP_TAG) + len(_TMP_TAG)]
                    if _dead_leftover(name, stem):
                        _remove(target / name)


def read_manifest(folder: Path) -> set[str] | None:
    """The files custseg wrote into ``folder`` (None: no manifest, not custseg's folder).

    A folder from a version before the manifest counts as custseg's when it holds
    ``segments.json`` and ``model.json`` and nothing but custseg's file names.
    """
    path = folder / MANIFEST
    if path.is_file() and not path.is_symlink():
        try:
            doc = json.loads(path.read_bytes()[:1_000_000])
            files = doc["files"] if isinstance(doc, dict) else None
        except (ValueError, KeyError, OSError):
            files = None
        if isinstance(files, list):
            return {f for f in files if isinstance(f, str) and is_output_name(f)}
    names = [e.name for e in os.scandir(folder) if not e.name.startswith(".")]
    if names and all(m in names for m in RESULT_MARKERS) and all(map(is_output_name, names)):
        # customers.csv may be the user's own table saved beside old results: never owned.
        return set(names) - {"customers.csv"}
    return None


def _write_manifest(folder: Path, files: set[str]) -> None:
    doc = {
        "about": "Files custseg wrote here; the next run replaces only these. "
        "Anything else in this folder is yours and is never touched.",
        "files": sorted(files),
    }
    atomic_write_text(folder / MANIFEST, json.dumps(doc, indent=1) + "\n")


def _inside(child: Path, folder: Path) -> bool:
    return child == folder or folder in child.parents


def output_folder(target: str | Path) -> Path:
    """The real folder results go to: a symlink to a folder is followed, the link kept."""
    t = Path(target).absolute()
    if t.is_symlink():
        if not t.exists():
            raise OutputError(
                f"--out '{target}' is a symbolic link to '{os.readlink(t)}', which does not "
                "exist; create that folder or choose another --out"
            )
        if not t.is_dir():
            raise OutputError(f"'{target}' exists and is a file; choose a folder name for --out")
    return Path(os.path.realpath(t)) if t.exists() else t


def check_replaceable(
    target: str | Path,
    *,
    force: bool = False,
    inputs: tuple[str | Path | None, ...] = (),
    names: frozenset[str] | None = None,
) -> set[str]:
    """Refuse an ``--out`` where writing could lose something of the user's.

    Returns the files custseg wrote there before (empty for a new folder).

    Parameters
    ----------
    target : path
        The results folder asked for.
    force : bool
        Write into a non-empty folder custseg did not create (files with custseg's
        names are replaced; nothing else is touched).
    inputs : paths
        Input files: ``--out`` may not be or contain one of them.
    names : set of str, optional
        The files about to be written; one that exists there but was not written by
        custseg is refused unless ``force``.
    """
    shown = str(target)
    real = output_folder(target)
    if os.path.lexists(target) and not Path(target).is_dir():
        raise OutputError(f"'{shown}' exists and is a file; choose a folder name for --out")
    for item in inputs:
        if item is None:
            continue
        src = Path(os.path.realpath(Path(item).absolute()))
        if _inside(src, real):
            raise OutputError(
                f"--out '{shown}' holds the input file '{item}'; choose another folder "
                "for the results, so the input is never at risk"
            )
    if not real.is_dir():
        return set()
    try:
        entries = [e.name for e in os.scandir(real)]
    except OSError as exc:
        raise OutputError(f"cannot read folder '{shown}': {exc.strerror}") from None
    visible = [n for n in entries if not (n == MANIFEST or (_TMP_TAG in n and n.startswith(".")))]
    owned = read_manifest(real)
    if owned is None:
        if visible and not force:
            raise OutputError(
                f"folder '{shown}' is not empty and holds no custseg results; choose a new "
                "folder for --out so nothing of yours is overwritten (or add --force to write "
                "custseg's files beside yours)"
            )
        owned = set()
    if names is not None and not force:
        for name in sorted(names):
            if name not in owned and os.path.lexists(real / name):
                raise OutputError(
                    f"'{name}' in folder '{shown}' was not written by custseg; move it "
                    "away or add --force to replace it"
                )
    return owned


@contextlib.contextmanager
def atomic_directory(
    target: str | Path,
    *,
    force: bool = False,
    inputs: tuple[str | Path | None, ...] = (),
) -> Iterator[Path]:
    """Yield an empty temporary folder; on success its files replace custseg's in ``target``.

    Only files listed in the folder's manifest (custseg's own, from an earlier run)
    are replaced or removed; any other file in ``target`` stays as it is. On any
    exception (including Ctrl-C and SIGTERM) the temporary folder is removed and
    ``target`` is left as it was; a folder this call created is removed again.
    """
    shown = target
    check_replaceable(target, force=force, inputs=inputs)
    real = output_folder(target)
    _clean_stale(real)  # first: it may put back the previous results of an older version
    created: Path | None = None
    if not real.exists():
        created = real
        while not created.parent.exists():
            created = created.parent
    try:
        real.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder '{shown}': {exc.strerror}") from None
    tmp = real / f"{_TMP_TAG}{_suffix()}"
    try:
        tmp.mkdir()
    except OSError as exc:
        _undo_created(created)
        raise OutputError(f"cannot write in '{shown}': {exc.strerror}") from None
    try:
        yield tmp
        new = {p.name for p in tmp.iterdir()}
        for name in new:
            kind_ok = (tmp / name).is_dir() if name in OUTPUT_FOLDERS else (tmp / name).is_file()
            if not is_output_name(name) or not kind_ok:
                raise RuntimeError(f"custseg wrote an unexpected output '{name}'")
        # Checked again now: a file of the user's may have appeared while we computed.
        owned = check_replaceable(target, force=force, names=frozenset(new))
        # The manifest first lists old and new, so a kill among the renames below
        # never leaves a file of custseg's that the next run would not recognise.
        _write_manifest(real, owned | new)
        for name in sorted(new):
            old = real / name
            if name in OUTPUT_FOLDERS and old.is_dir() and not old.is_symlink():
                # A folder does not replace a folder: the earlier run's moves aside first.
                os.replace(old, tmp / f".old-{name}")
            os.replace(tmp / name, old)
        for name in sorted(owned - new):
            with contextlib.suppress(FileNotFoundError):
                if name in OUTPUT_FOLDERS and (real / name).is_dir():
                    if not (real / name).is_symlink():
                        shutil.rmtree(real / name)
                elif not (real / name).is_dir() or (real / name).is_symlink():
                    (real / name).unlink()
        _write_manifest(real, new)
        for name in OUTPUT_FOLDERS:
            shutil.rmtree(tmp / f".old-{name}", ignore_errors=True)
        tmp.rmdir()
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _undo_created(created)
        # A full disk or a lost permission is the machine's state, not a bug in custseg.
        raise OutputError(
            f"cannot write the results into '{shown}': {exc.strerror or exc}; "
            "nothing was changed there (free some space or choose another --out)"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _undo_created(created)
        raise


def _undo_created(created: Path | None) -> None:
    """Remove the folders a failed run created, if they are still empty."""
    if created is None:
        return
    with contextlib.suppress(OSError):
        for folder in sorted(
            (p for p in created.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
        ):
            folder.rmdir()
        created.rmdir()


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only on success.

    For outputs written piece by piece (streaming): a failure, Ctrl-C or SIGTERM
    halfway leaves ``path`` as it was and no partial file behind; the leftover of a
    SIGKILL is removed by the next write to the same name.
    """
    p = Path(path)
    parent = parent_of(p)
    if not parent.is_dir():
        raise OutputError(f"folder '{parent}' does not exist; create it first")
    if p.is_dir():
        raise OutputError(f"'{p}' is a folder; name a file for the output")
    clean_stale_files(p)
    tmp: Path | None = None
    try:
        tmp = _temp_file(parent, p.name)
        yield tmp
        os.replace(tmp, p)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            # A full disk, a read-only mount or a file-size limit is the machine's state.
            raise OutputError(
                f"cannot write '{p}': {exc.strerror or exc}; nothing was written there "
                "(free some space or choose another place)"
            ) from None
        raise
