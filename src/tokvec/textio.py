"""Reading text corpora line by line with clear errors.

Lines are streamed (never the whole file in memory). Invalid UTF-8 either stops with the file
and line number (``errors="strict"``, the default) or is replaced by U+FFFD (``errors="replace"``).
Binary files (NUL bytes) are refused.

**Compressed files.** :func:`open_checked`, which every text reader here (and the vector-file
readers of :mod:`tokvec.formats`) opens its input with, recognises gzip (``1f 8b``), bzip2
(``BZh``) and xz (``fd 37 7a 58 5a 00``) by their first bytes, whatever the file is called, and
decompresses while reading: nothing is unpacked whole, in memory or to a temporary file. Line
numbers and the other checks apply to the decompressed text. A truncated or corrupt archive stops
with one :class:`~tokvec.errors.TokvecError` naming the file, the line reached and the problem;
every line before the damage has been read by then. Progress bars (:func:`byte_progress`) count
bytes on disk: a bar handed to :func:`open_checked` (``progress=``) advances by the compressed
bytes consumed, so it ends at the file's size.

>>> import bz2, gzip, os, tempfile
>>> d = tempfile.mkdtemp()
>>> path = os.path.join(d, "c.txt")
>>> _ = open(path, "w").write("one line\\ntwo\\n")
>>> list(iter_lines(path))
[(1, 'one line'), (2, 'two')]
>>> packed = os.path.join(d, "c.txt.gz")          # the same text, gzip-compressed
>>> with gzip.open(packed, "wt", encoding="utf-8") as f:
...     _ = f.write("one line\\ntwo\\n")
>>> list(iter_lines(packed))
[(1, 'one line'), (2, 'two')]
>>> named_plainly = os.path.join(d, "c.bz2.txt")   # content decides, not the name
>>> _ = open(named_plainly, "wb").write(bz2.compress(b"one line\\ntwo\\n"))
>>> list(iter_lines(named_plainly))
[(1, 'one line'), (2, 'two')]
>>> bad = os.path.join(d, "bad.txt.gz")           # errors point into the decompressed text
>>> _ = open(bad, "wb").write(gzip.compress(b"fine\\nna\\xefve\\n"))
>>> list(iter_lines(bad))  # doctest: +ELLIPSIS
Traceback (most recent call last):
  ...
tokvec.errors.TokvecError: ...bad.txt.gz:2: invalid UTF-8 at byte 2 (use --encoding-errors ...)
>>> cut = os.path.join(d, "cut.txt.gz")           # a truncated archive: the line reached
>>> data = gzip.compress("".join(f"line {i}\\n" for i in range(1, 5001)).encode())
>>> _ = open(cut, "wb").write(data[:len(data) // 2])
>>> for number, text in iter_lines(cut):  # doctest: +ELLIPSIS
...     pass
Traceback (most recent call last):
  ...
tokvec.textio.ReadError: ...cut.txt.gz:...: compressed file ends early (truncated gzip archive)
>>> number > 1000                                 # the lines before the damage were read
True
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import io
import lzma
import os
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import TokvecError

ENCODING_ERRORS = ("strict", "replace")

_BUFFER = 1 << 16
_HEAD = 10
_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"
# bzip2: "BZh", the block size 1-9, then the magic of a first block (pi) or of the end of the
# stream (sqrt(pi)), so that a text file that happens to begin with "BZh" is not taken for bzip2.
_BZIP2_MAGIC = re.compile(rb"BZh[1-9]")
_BZIP2_NEXT = (b"1AY&SY", b"\x17rE8P\x90")
# Decompressing readers over an open binary file (closed by _Decompressing.close).
_OPENERS: dict[str, Callable[[IO[bytes]], IO[bytes]]] = {
    "gzip": lambda f: gzip.GzipFile(fileobj=f, mode="rb"),
    "bzip2": lambda f: bz2.BZ2File(f, "rb"),
    "xz": lambda f: lzma.LZMAFile(f, "rb"),  # noqa: SIM115
}


class ReadError(TokvecError):
    """Reading stopped part-way: a truncated or corrupt compressed file, or an I/O error.

    Streams from :func:`open_checked` raise it naming the file only; the line readers here
    re-raise it with the line they had reached (:meth:`at`).
    """

    def at(self, line: int) -> ReadError:
        """The same error located at ``line`` (unchanged if it already has a line)."""
        return self if self.line is not None else ReadError(self.message, self.path, line)


def _sniff(head: bytes) -> str | None:
    """The compression whose magic bytes start ``head`` (``gzip``, ``bzip2``, ``xz``), or None.

    ``head`` is the file's first 10 bytes (all of it if shorter: a file cut inside its magic
    bytes is still recognised, and then reported as truncated).

    >>> [_sniff(h) for h in (gzip.compress(b"x"), lzma.compress(b"x"), b"BZh91AY&SY", b"BZh91A")]
    ['gzip', 'xz', 'bzip2', 'bzip2']
    >>> [_sniff(h) for h in (b"BZh9 is text", b"BZ", b"plain text", b"")]
    [None, None, None, None]
    """
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_XZ_MAGIC) or (len(head) >= 2 and _XZ_MAGIC.startswith(head)):
        return "xz"
    if _BZIP2_MAGIC.match(head) and any(m.startswith(head[4:10]) for m in _BZIP2_NEXT):
        return "bzip2"
    return None


def _problem(exc: BaseException, compression: str) -> str:
    """What went wrong while decompressing, in words."""
    if isinstance(exc, EOFError):
        return f"compressed file ends early (truncated {compression} archive)"
    if isinstance(exc, OSError) and exc.errno is not None:
        return f"cannot read: {exc.strerror or exc}"
    return f"corrupt {compression} data ({exc or type(exc).__name__})"


class _Counted(io.RawIOBase):
    """The file on disk, read through: each read advances ``progress`` by the bytes read."""

    def __init__(self, disk: IO[bytes], progress: Any, path: Path) -> None:
        super().__init__()
        self._disk, self._progress, self._path = disk, progress, path

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            n = self._disk.readinto(buffer)
        except OSError as exc:
            raise ReadError(f"cannot read: {exc.strerror or exc}", path=self._path) from None
        if n:
            self._progress.update(n)
        return n

    def fileno(self) -> int:
        return self._disk.fileno()

    def close(self) -> None:
        if not self.closed:
            try:
                self._disk.close()
            finally:
                super().close()


class _Decompressing(io.RawIOBase):
    """Decompressed bytes of ``stream``; its failures become :class:`ReadError`."""

    def __init__(self, stream: IO[bytes], source: IO[bytes], path: Path,
                 compression: str) -> None:
        super().__init__()
        self._stream, self._source = stream, source
        self._path, self._compression = path, compression

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._stream.read1(len(buffer))  # type: ignore[attr-defined]
        except (EOFError, OSError, zlib.error, lzma.LZMAError) as exc:
            raise ReadError(_problem(exc, self._compression), path=self._path) from None
        n = len(data)
        buffer[:n] = data
        return n

    def fileno(self) -> int:
        return self._source.fileno()

    def close(self) -> None:
        if not self.closed:
            try:
                self._stream.close()
            finally:
                try:
                    self._source.close()
                finally:
                    super().close()


class DecompressedStream(io.BufferedReader):
    """What :func:`open_checked` returns for a compressed file: the decompressed bytes.

    ``compression`` says which format. ``read(n)`` returns every byte that decompressed before
    a failure, and the next read raises it (:class:`ReadError`), so that a reader can name the
    line it reached; lines (``readline``, iteration) stop at the last complete one.
    """

    def __init__(self, raw: _Decompressing, compression: str) -> None:
        super().__init__(raw, _BUFFER)
        self.compression = compression
        self._failure: ReadError | None = None

    def read(self, size: int | None = -1) -> bytes:
        if self._failure is not None:
            raise self._failure
        wanted = -1 if size is None or size < 0 else size
        chunks: list[bytes] = []
        got = 0
        while wanted < 0 or got < wanted:
            try:
                chunk = self.read1(_BUFFER if wanted < 0 else wanted - got)
            except ReadError as exc:
                if not chunks:
                    raise
                self._failure = exc
                break
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


def open_checked(path: str | os.PathLike[str], mode: str = "rb",
                 progress: Any = None) -> IO[bytes]:
    """Open ``path`` for reading bytes, decompressing gzip, bzip2 and xz files (by content).

    OS errors become one clear :class:`TokvecError`; so do, later, read failures of a compressed
    file (:class:`ReadError`, without a line: the caller knows it). ``progress`` (a tqdm bar
    counting bytes, see :func:`byte_progress`) is advanced by the bytes read from disk, the
    compressed ones for a compressed file. Only ``mode="rb"`` is supported.
    """
    if mode != "rb":
        raise ValueError(f"open_checked reads bytes (mode 'rb'), not {mode!r}")
    p = Path(path)
    try:
        if p.is_dir():
            raise TokvecError("is a directory, expected a file", path=p)
        disk = open(p, "rb", buffering=_BUFFER)  # noqa: SIM115 (the caller closes it)
    except FileNotFoundError:
        raise TokvecError("no such file", path=p) from None
    except PermissionError:
        raise TokvecError("permission denied", path=p) from None
    except OSError as exc:
        raise TokvecError(f"cannot open: {exc.strerror or exc}", path=p) from None
    try:
        compression = _sniff(disk.peek(_HEAD)[:_HEAD])
        if progress is not None and getattr(progress, "disable", False):
            progress = None  # a disabled bar: no need to count
        if compression is None and progress is None:
            return disk
        source: IO[bytes] = disk if progress is None else _Counted(disk, progress, p)
        if compression is None:
            return io.BufferedReader(source, _BUFFER)  # type: ignore[arg-type]
        return DecompressedStream(
            _Decompressing(_OPENERS[compression](source), source, p, compression), compression)
    except OSError as exc:
        disk.close()
        raise TokvecError(f"cannot read: {exc.strerror or exc}", path=p) from None
    except BaseException:
        disk.close()
        raise


def iter_lines(path: str | os.PathLike[str], errors: str = "strict",
               skip_blank: bool = False, progress: Any = None) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line of a UTF-8 file, newline stripped.

    ``progress`` (a tqdm bar counting bytes) is advanced as the file is read.
    """
    if errors not in ENCODING_ERRORS:
        raise TokvecError(f"encoding errors must be one of {ENCODING_ERRORS}, got {errors!r}")
    with open_checked(path, progress=progress) as handle:
        number = 0
        try:
            for number, raw in enumerate(handle, start=1):
                if b"\x00" in raw:
                    raise TokvecError("binary data (NUL byte); expected UTF-8 text", path,
                                      number)
                try:
                    text = raw.decode("utf-8", errors=errors)
                except UnicodeDecodeError as exc:
                    raise TokvecError(
                        f"invalid UTF-8 at byte {exc.start} (use --encoding-errors replace to "
                        "substitute U+FFFD)", path, number) from None
                text = text.rstrip("\r\n")
                if skip_blank and not text.strip():
                    continue
                yield number, text
        except ReadError as exc:
            raise exc.at(number + 1) from None


def iter_line_batches(path: str | os.PathLike[str], batch_lines: int = 4096,
                      errors: str = "strict", progress: Any = None) -> Iterator[list[str]]:
    """Yield lists of up to ``batch_lines`` lines (blank lines dropped); for batched encoding."""
    batch: list[str] = []
    for _, text in iter_lines(path, errors=errors, skip_blank=True, progress=progress):
        batch.append(text)
        if len(batch) >= batch_lines:
            yield batch
            batch = []
    if batch:
        yield batch


COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")


def result_key(path: str | os.PathLike[str]) -> str:
    """The name results are keyed by: the file name without its extension (and without a
    compression suffix before it).

    >>> result_key("data/wordsim353.tsv"), result_key("pairs.tsv.gz")
    ('wordsim353', 'pairs')
    """
    p = Path(path)
    if p.suffix in COMPRESSED_SUFFIXES:
        p = p.with_suffix("")
    return p.stem


def require_nonempty(path: str | os.PathLike[str]) -> None:
    """Refuse a missing or empty (or whitespace-only) input file with one clear error."""
    with open_checked(path) as handle:
        line = 1
        try:
            chunk = handle.read(1 << 16)
            while chunk:
                if chunk.strip():
                    return
                line += chunk.count(b"\n")
                chunk = handle.read(1 << 16)
        except ReadError as exc:
            raise exc.at(line) from None
    raise TokvecError("file is empty (no text to read)", path=path)


def byte_progress(paths: list[str] | list[Path], desc: str, enabled: bool = True) -> Any:
    """A tqdm bar over the total size of ``paths`` on disk, in bytes (rate and ETA included).

    Hand it to the readers (``progress=``): they advance it by bytes read from disk, compressed
    bytes for a compressed file, so the total is right either way.
    """
    from tqdm.auto import tqdm

    total = 0
    for p in paths:
        with contextlib.suppress(OSError):
            total += os.path.getsize(p)
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                disable=not enabled, leave=False, dynamic_ncols=True)
