"""Write outputs so that a failure or a kill never leaves anything half-written.

Files are written to a temporary name beside the target and renamed into place.
A results folder is built in a hidden temporary folder beside the target and
swapped in when complete; the previous results stay intact until then.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError

_TMP_TAG = ".custseg-tmp-"
_OLD_TAG = ".custseg-old-"
# Files that mark a folder as custseg's own results, safe to replace.
RESULT_MARKERS = ("segments.json", "model.json")


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename."""
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"folder '{parent}' does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}{_TMP_TAG}", dir=parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; outputs are not
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean_stale(target: Path) -> None:
    """Tidy up after runs that were killed (their process is gone).

    Their temporary folders are removed. A run killed in the instant between moving
    the previous results aside and moving the new ones in leaves no ``target`` but a
    complete ``-old-`` folder: that one is put back, so the previous results return.
    """
    parent = target.parent
    for tag in (_OLD_TAG, _TMP_TAG):
        for leftover in sorted(parent.glob(f".{target.name}{tag}*")):
            try:
                pid = int(leftover.name.rsplit("-", 2)[-2])
            except (ValueError, IndexError):
                continue
            if _pid_alive(pid):
                continue
            if tag == _OLD_TAG and not target.exists():
                with contextlib.suppress(OSError):
                    os.replace(leftover, target)
                    continue
            shutil.rmtree(leftover, ignore_errors=True)


def check_replaceable(target: Path) -> None:
    """Refuse to replace a folder that holds something other than custseg results."""
    if target.exists() and not target.is_dir():
        raise OutputError(f"'{target}' exists and is a file; choose a folder name for --out")
    if (
        target.is_dir()
        and any(target.iterdir())
        and not any((target / m).exists() for m in RESULT_MARKERS)
    ):
        raise OutputError(
            f"folder '{target}' is not empty and holds no custseg results; "
            "choose a new folder for --out so nothing of yours is overwritten"
        )


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``target`` in one step.

    On any exception (including Ctrl-C) the temporary folder is removed and
    ``target`` is left as it was.
    """
    target = Path(target).absolute()
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder '{parent}': {exc.strerror}") from None
    check_replaceable(target)
    _clean_stale(target)
    suffix = f"{os.getpid()}-{os.urandom(3).hex()}"
    tmp = parent / f".{target.name}{_TMP_TAG}{suffix}"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot write in '{parent}': {exc.strerror}") from None
    try:
        yield tmp
        old = None
        if target.exists():
            old = parent / f".{target.name}{_OLD_TAG}{suffix}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        # A full disk or a lost permission is the machine's state, not a bug in custseg.
        raise OutputError(
            f"cannot write the results into '{target}': {exc.strerror or exc}; "
            "nothing was changed there (free some space or choose another --out)"
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only on success.

    For outputs written piece by piece (streaming): a failure or Ctrl-C halfway
    leaves ``path`` as it was and no partial file behind.
    """
    p = Path(path)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"folder '{parent}' does not exist; create it first")
    if p.is_dir():
        raise OutputError(f"'{p}' is a folder; name a file for the output")
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}{_TMP_TAG}", dir=parent)
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        yield Path(tmp)
        os.replace(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
