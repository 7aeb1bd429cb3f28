"""Atomic writes: outputs appear whole or not at all.

Files and directories are written under a temporary name beside the target and renamed into place
only once complete, so an interrupted run never leaves a half-written model or vector file.

Replacing an existing directory swaps the two names in one step where the system allows it (Linux
``renameat2`` with ``RENAME_EXCHANGE``), so even a SIGKILL at any instant leaves the old directory
or the new one at the target, never neither. Elsewhere the old directory is first moved to
``.NAME.old``; if the process dies before the new one is renamed into place,
:func:`restore_interrupted` (called by the next :func:`atomic_dir` on that path and by the
checkpoint readers) puts the old one back. A kill while a directory is being written can leave a
hidden ``.NAME.XXXXXXXX.tmp`` beside the target; nothing reads it and it may be deleted.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> with atomic_file(d / "out.txt", "w") as f:
...     _ = f.write("hello")
>>> (d / "out.txt").read_text()
'hello'
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import DiskFull

_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
# What a full disk looks like when it does not arrive as an OSError with an errno: numpy's
# ``tofile`` reports a short write, safetensors wraps the OS error in its own exception.
_FULL_MESSAGES = re.compile(r"no space left on device|os error (28|122)\b|disk quota exceeded"
                            r"|\d+ requested and \d+ written", re.IGNORECASE)
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_UNSUPPORTED = {errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV}
_renameat2: Any = None  # the libc function once looked up; False where there is none


def full_disk_error(exc: BaseException, path: str | os.PathLike[str]) -> DiskFull | None:
    """A :class:`~tokvec.errors.DiskFull` naming ``path`` when ``exc`` is a full file system.

    >>> str(full_disk_error(OSError(28, "No space left on device"), "out/m"))
    'out/m: cannot write: no space left on device'
    >>> full_disk_error(ValueError("bad"), "out/m") is None
    True
    """
    if isinstance(exc, DiskFull):
        return exc
    if isinstance(exc, OSError) and exc.errno is not None:
        return DiskFull(path) if exc.errno in _FULL_ERRNOS else None
    if isinstance(exc, Exception) and _FULL_MESSAGES.search(str(exc)):
        return DiskFull(path)
    return None


def raise_if_full(exc: BaseException, path: str | os.PathLike[str]) -> None:
    """Raise the :class:`~tokvec.errors.DiskFull` of :func:`full_disk_error`, if there is one."""
    full = full_disk_error(exc, path)
    if full is not None and full is not exc:
        raise full from None


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb",
                encoding: str | None = None) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; rename it to ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual permissions
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    try:
        with os.fdopen(fd, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise_if_full(exc, target)
        raise


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_file(path, "w") as handle:
        json.dump(obj, handle, indent=2, ensure_ascii=False)
        handle.write("\n")


def _libc_renameat2() -> Any:
    global _renameat2
    if _renameat2 is None:
        try:
            func = ctypes.CDLL(None, use_errno=True).renameat2
        except (OSError, AttributeError, TypeError):
            _renameat2 = False
        else:
            func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                             ctypes.c_uint]
            func.restype = ctypes.c_int
            _renameat2 = func
    return _renameat2


def exchange(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Swap the directory entries ``a`` and ``b`` in one atomic step; False where the system or
    file system cannot (the caller then falls back to two renames).

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "a").mkdir(); (d / "b").mkdir(); (d / "a" / "x").touch()
    >>> swapped = exchange(d / "a", d / "b")
    >>> [p.name for p in (d / ("b" if swapped else "a")).iterdir()]
    ['x']
    """
    func = _libc_renameat2()
    if not func:
        return False
    if func(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in _UNSUPPORTED:
        return False
    raise OSError(err, os.strerror(err), os.fspath(a), None, os.fspath(b))


def _old_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.old")


def restore_interrupted(path: str | os.PathLike[str]) -> bool:
    """Put back the previous directory at ``path`` if a replacement died half way.

    Only the two-rename fallback of :func:`atomic_dir` can leave this state (``path`` missing,
    ``.NAME.old`` beside it). Returns True when something was restored.
    """
    target = Path(path)
    old = _old_name(target)
    if os.path.lexists(target) or not old.is_dir():
        return False
    try:
        os.replace(old, target)
    except FileNotFoundError:  # another process restored it first
        return False
    _fsync_dir(target.parent)
    return True


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it replaces ``path`` (directory) whole.

    An existing directory at ``path`` is swapped out only after the new one is complete, so a
    reader sees either the old model or the new one, never a mixture (nor, after a kill, neither:
    see the module notes).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    restore_interrupted(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700
    try:
        yield tmp
        for child in tmp.iterdir():
            if child.is_file():
                with open(child, "rb") as handle:
                    os.fsync(handle.fileno())
        if target.exists():
            _swap_in(tmp, target)
        else:
            os.replace(tmp, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise_if_full(exc, target)
        raise


def _swap_in(tmp: Path, target: Path) -> None:
    """Make the complete directory ``tmp`` the new ``target`` and delete the old one."""
    try:
        swapped = exchange(tmp, target)
    except FileNotFoundError:  # the target vanished meanwhile: a plain rename will do
        os.replace(tmp, target)
        return
    if swapped:
        _fsync_dir(target.parent)
        shutil.rmtree(tmp, ignore_errors=True)  # now the old directory
        return
    old = _old_name(target)
    if old.exists():
        shutil.rmtree(old)
    os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
