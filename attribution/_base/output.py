"""Writing outputs atomically: a file appears whole or not at all, a folder of files as one set.

:func:`atomic_path` and :func:`write_frame` write one file: into a temporary file beside the
target, moved into place only on success.

:func:`output_set` writes a folder of files that belong together (the tables of one run). The
files go into a staging folder beside the target, which is then published with one rename:

- the target does not exist: the staging folder is renamed to it;
- it exists: on Linux the two folders are exchanged in one step (``renameat2`` with
  ``RENAME_EXCHANGE``); elsewhere the old folder is renamed aside and the new one renamed in
  (for a moment there is no folder, never a mix). The old folder is then removed.

So a reader never sees files of two runs side by side, and files of an earlier run that this
run does not write are gone with the old folder. Files in the folder that no run writes (a
name outside ``owned``) are carried into the new folder as hard links (a copy where the file
system has none) and symbolic links are recreated; a sub-folder that no run wrote is refused
before any work, by :func:`check_out_dir`. SIGINT and SIGTERM are held while the folders are
swapped, and delivered once the swap is complete. Every file written gets the permissions the
umask gives a new file (``0o666 & ~umask``), the folder those of the folder it replaces (or
``0o777 & ~umask``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import polars as pl

from attribution._base.errors import OutputError, SchemaError

__all__ = [
    "atomic_path",
    "check_out_dir",
    "file_mode",
    "held_signals",
    "output_set",
    "write_frame",
]


def _umask() -> int:
    try:  # Linux says it without changing it
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode(*, folder: bool = False) -> int:
    """Permissions of a new file (``0o666 & ~umask``) or folder (``0o777 & ~umask``)."""
    return (0o777 if folder else 0o666) & ~_umask()


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it into place only on success.

    Readers never see a half-written file: on any exception the temporary file is removed
    and ``target`` is left as it was. The file gets the permissions of a new file under the
    umask (:func:`file_mode`).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, file_mode())  # mkstemp makes 0600
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_frame(df: pl.DataFrame, target: str | os.PathLike[str]) -> Path:
    """Write ``df`` atomically as Parquet or CSV, chosen by the target's suffix."""
    target = Path(target)
    writers: dict[str, Callable[[Path], None]] = {
        ".parquet": lambda p: df.write_parquet(p),
        ".csv": lambda p: df.write_csv(p),
    }
    suffix = target.suffix.lower()
    if suffix not in writers:
        raise SchemaError(f"Cannot write {str(target)!r}: expected a .parquet or .csv suffix.")
    with atomic_path(target) as tmp:
        writers[suffix](tmp)
    return target


# ----------------------------------------------------------------------------------------------
# a folder of files as one set

# staging and set-aside folders beside the target: .NAME.tmp-PID-XXXX, .NAME.old-PID-XXXX
_SIDE = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)-[^/]*$")
# what earlier versions left inside the folder: staging folders and temporary files
_OLD_STAGING = re.compile(r"^\.attribution-.*$|^\..+\.tmp$")


def _is_owned(name: str, owned: Collection[str]) -> bool:
    return name in owned or bool(_OLD_STAGING.match(name))


def check_out_dir(
    out: str | os.PathLike[str], *, owned: Collection[str] = (), what: str = "--out"
) -> Path:
    """Check, before any work, that a set of outputs can be published at ``out``.

    Parameters
    ----------
    out
        The output folder (it may not exist yet; its parents are made when the set is
        published).
    owned
        Names of the files that runs write into such a folder (earlier runs' files are
        replaced; other files are carried over).
    what
        How the folder is named in messages (the command line's ``--out``).

    Returns
    -------
    Path
        The folder as an absolute path, symbolic links resolved.

    Raises
    ------
    OutputError
        ``out`` is a file, lies below a file, cannot be written (nor its parent, where the
        staging folder goes), is the working folder or contains it, or holds a sub-folder
        that no run wrote.
    """
    shown = f"{what} {str(out)!r}"
    target = Path(os.path.realpath(out))
    if target.exists() and not target.is_dir():
        raise OutputError(
            f"{shown} is a file; expected a folder (new, empty or of an earlier run)."
        )
    if target.parent == target:
        raise OutputError(f"{shown} is the root folder; expected a folder below it.")
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputError(
            f"{shown} lies below {str(ancestor)!r}, which is a file; expected a folder there."
        )
    if not os.access(ancestor, os.W_OK | os.X_OK) or not _can_write(ancestor):
        raise OutputError(
            f"{shown} cannot be written: no permission to write in {str(ancestor)!r} (the "
            "outputs are staged beside the folder, then renamed into place)."
        )
    if not target.exists():
        return target
    if not os.access(target, os.W_OK | os.X_OK | os.R_OK):
        raise OutputError(f"{shown} cannot be written: no permission to write in it.")
    cwd = Path(os.path.realpath(os.getcwd()))
    if cwd == target or target in cwd.parents:
        raise OutputError(
            f"{shown} is the working folder or contains it; a run replaces its output folder "
            "as a whole, so give a folder of its own (e.g. --out out)."
        )
    folders = sorted(
        e.name
        for e in os.scandir(target)
        if e.is_dir(follow_symlinks=False) and not _is_owned(e.name, owned)
    )
    if folders:
        listed = ", ".join(repr(f) for f in folders[:5]) + (", ..." if len(folders) > 5 else "")
        raise OutputError(
            f"{shown} holds folders that no run wrote ({listed}); a run replaces its output "
            "folder as a whole, carrying over only files, so give a new or empty folder."
        )
    return target


def _can_write(folder: Path) -> bool:
    """Whether a folder can be made in ``folder`` (a read-only file system says no to root too)."""
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".write-check-", dir=folder))
    except OSError:
        return False
    return True


@contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM during the block; deliver them to the usual handlers after.

    Only the main thread can change signal handlers; elsewhere the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    kinds = [signal.SIGINT, signal.SIGTERM]
    previous = {sig: signal.signal(sig, hold) for sig in kinds}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for signum in dict.fromkeys(pending):
            signal.raise_signal(signum)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc: Any = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # the file system cannot exchange: rename twice
    raise OSError(err, os.strerror(err), str(b))


def _carry_over(target: Path, staging: Path, owned: Collection[str]) -> None:
    """Link the files of ``target`` that no run writes into ``staging`` (copy without links)."""
    for entry in os.scandir(target):
        if _is_owned(entry.name, owned) or (staging / entry.name).exists():
            continue
        dest = staging / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry.path), dest)
        elif entry.is_file(follow_symlinks=False):
            try:
                os.link(entry.path, dest)
            except OSError:
                shutil.copy2(entry.path, dest)
        elif not entry.is_dir(follow_symlinks=False):
            continue  # sockets, pipes: not carried


def _remove_stale(parent: Path, name: str) -> None:
    """Remove staging folders of ``name`` left by runs that were killed (their process ended)."""
    for entry in os.scandir(parent):
        found = _SIDE.match(entry.name)
        if found is None or found["name"] != name or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(found["pid"])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # still running: its own
        except ProcessLookupError:
            shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            continue


def _publish(staging: Path, target: Path, owned: Collection[str]) -> None:
    mode = file_mode()
    for f in staging.iterdir():
        if f.is_file() and not f.is_symlink():
            os.chmod(f, mode)
    exists = target.is_dir()
    if exists:
        _carry_over(target, staging, owned)
        os.chmod(staging, stat.S_IMODE(target.stat().st_mode))
    else:
        os.chmod(staging, file_mode(folder=True))
    with held_signals():
        if not exists:
            try:
                os.rename(staging, target)
                return
            except OSError as exc:
                if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST) or not target.is_dir():
                    raise
                _carry_over(target, staging, owned)  # made meanwhile by someone else
        if _exchange(staging, target):
            shutil.rmtree(staging, ignore_errors=True)  # now the old folder
            return
        aside = Path(
            tempfile.mkdtemp(prefix=f".{target.name}.old-{os.getpid()}-", dir=target.parent)
        )
        os.rename(target, aside / "old")
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(aside / "old", target)
            raise
        shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def output_set(
    out: str | os.PathLike[str], *, owned: Collection[str] = (), what: str = "--out"
) -> Iterator[Path]:
    """Yield a staging folder; on success publish it as ``out`` in one rename.

    Write every file of the set into the yielded folder. When the block ends without an
    exception, the folder replaces ``out`` as a whole (see the module docstring); on any
    exception, or an interrupt, the staging folder is removed and ``out`` is left as it was.

    Parameters
    ----------
    out
        The output folder.
    owned
        Names of the files that runs write into such a folder: an earlier run's files with
        these names are not carried into the new folder. Other files are.
    what
        How the folder is named in messages.

    Raises
    ------
    OutputError
        The folder cannot be written (see :func:`check_out_dir`), checked again here; or
        writing the files or publishing them failed (a full disk): ``out`` is left as it was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with output_set(out, owned={"a.txt"}) as stage:
    ...     _ = (stage / "a.txt").write_text("one")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt']
    """
    target = check_out_dir(out, owned=owned, what=what)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale(target.parent, target.name)
        prefix = f".{target.name}.tmp-{os.getpid()}-"
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    except OSError as exc:
        raise _write_error(exc, what, out) from exc
    try:
        yield staging
        _publish(staging, target, owned)
    except (OSError, pl.exceptions.ComputeError) as exc:  # a full disk, a file system gone
        raise _write_error(exc, what, out) from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _write_error(exc: BaseException, what: str, out: object) -> OutputError:
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return OutputError(
        f"{what} {str(out)!r} could not be written ({reason.strip().rstrip('.')}); nothing was "
        "published, the folder is as it was."
    )
