"""The training corpus, encoded once into an on-disk id file and streamed back in chunks.

:func:`prepare_corpus` reads the text once: each line is split into words (see
:mod:`tokvec.static.wordsplit`), words get provisional ids in first-seen order and their counts
are kept. The vocabulary is then built exactly as ``Tokenizer.train`` builds it for word-level
kinds (specials first, then by descending count, ties in code-point order, ``min_count`` and
``max_vocab`` applied), and a second, numpy-only pass maps provisional ids to final ones, drops
words outside the vocabulary (word2vec's policy: they neither train nor take a window slot) and
cuts sentences longer than 10,000 tokens into pieces, as gensim does. The result is::

    WORK/corpus/ids.u32     uint32 token ids, all sentences back to back
    WORK/corpus/ends.i64    int64 end offset of each sentence in ids.u32
    WORK/corpus/meta.json   sizes and the fingerprint (corpus file, size, mtime, settings)
    WORK/corpus/tokenizer.json, tokenizer_config.json

Memory stays bounded by the vocabulary: text and ids are streamed in batches and chunks are read
with ``pread``; no Python list holds the corpus.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "c.txt").write_text("a b a c\\nb a\\n\\nc a b\\n")
>>> corpus = prepare_corpus(d / "c.txt", d / "work", min_count=2, kind="whitespace")
>>> corpus.tokenizer.vocabulary().tokens[5:], corpus.num_tokens, corpus.num_sentences
(['a', 'b', 'c'], 9, 3)
>>> [s.tolist() for s in corpus.sentences()]
[[5, 6, 5, 7], [6, 5], [7, 5, 6]]
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_dir, write_json
from ..errors import TokvecError
from ..textio import (
    ENCODING_ERRORS,
    ReadError,
    byte_progress,
    open_checked,
    require_nonempty,
)
from ..tokenization import Tokenizer
from ..vocab import DEFAULT_SPECIALS, Vocabulary
from .wordsplit import SENTINEL, WordSplitter

MAX_SENTENCE = 10_000
CORPUS_FORMAT = 1
_BLOCK = 1 << 20
_TEXT_BLOCK = 1 << 20


class _FirstSeenIds(dict):
    """word -> provisional id, new words numbered in order of first appearance."""

    def __missing__(self, word: str) -> int:
        value = self[word] = len(self)
        return value


@dataclass
class EncodedCorpus:
    """An encoded corpus directory: ids, sentence ends, tokenizer, counts."""

    directory: Path
    tokenizer: Tokenizer
    num_tokens: int
    num_sentences: int

    @classmethod
    def open(cls, directory: Path) -> EncodedCorpus:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
        return cls(directory, Tokenizer.load(directory), int(meta["num_tokens"]),
                   int(meta["num_sentences"]))

    @property
    def counts(self) -> np.ndarray:
        """Training count of every vocabulary id (specials 0)."""
        return np.asarray(self.tokenizer.counts, dtype=np.int64)

    def read_ids(self, start: int, stop: int) -> np.ndarray:
        return _pread(self.directory / "ids.u32", np.uint32, start, stop)

    def read_ends(self, start: int, stop: int) -> np.ndarray:
        return _pread(self.directory / "ends.i64", np.int64, start, stop)

    def chunk_bounds(self, chunk_words: int) -> tuple[np.ndarray, np.ndarray]:
        """Token and sentence starts of chunks of about ``chunk_words`` tokens (whole sentences).

        Chunk ``i`` holds tokens ``tok[i]:tok[i+1]`` and sentences ``sent[i]:sent[i+1]``.
        """
        tok, sent = [0], [0]
        target = chunk_words
        for first in range(0, self.num_sentences, _BLOCK):
            ends = self.read_ends(first, min(first + _BLOCK, self.num_sentences))
            while True:
                i = int(np.searchsorted(ends, target, side="left"))
                if i >= len(ends):
                    break
                tok.append(int(ends[i]))
                sent.append(first + i + 1)
                target = int(ends[i]) + chunk_words
        if tok[-1] != self.num_tokens:
            tok.append(self.num_tokens)
            sent.append(self.num_sentences)
        return np.asarray(tok, dtype=np.int64), np.asarray(sent, dtype=np.int64)

    def chunk(self, tok: np.ndarray, sent: np.ndarray, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Ids of chunk ``i`` and its sentence ends relative to the chunk start."""
        ids = self.read_ids(int(tok[i]), int(tok[i + 1]))
        ends = self.read_ends(int(sent[i]), int(sent[i + 1])) - tok[i]
        return ids, ends

    def sentences(self, chunk_words: int = 1 << 20) -> Iterator[np.ndarray]:
        """Every sentence as an int32 id array (streamed)."""
        tok, sent = self.chunk_bounds(chunk_words)
        for i in range(len(tok) - 1):
            ids, ends = self.chunk(tok, sent, i)
            ids = ids.astype(np.int32)
            start = 0
            for end in ends.tolist():
                yield ids[start:end]
                start = end


def _pread(path: Path, dtype: Any, start: int, stop: int) -> np.ndarray:
    size = np.dtype(dtype).itemsize
    count = max(0, stop - start)
    fd = os.open(path, os.O_RDONLY)
    try:
        data = os.pread(fd, count * size, start * size)
    finally:
        os.close(fd)
    if len(data) != count * size:
        raise TokvecError("encoded corpus file is truncated; delete the work folder", path=path)
    return np.frombuffer(data, dtype=dtype)


def fingerprint(corpus_path: Path, kind: str, lowercase: bool, min_count: int,
                max_vocab: int | None, errors: str) -> dict[str, Any]:
    """What the encoded corpus depends on; a different fingerprint means re-encoding."""
    st = corpus_path.stat()
    return {"format": CORPUS_FORMAT, "corpus": str(corpus_path.resolve()), "size": st.st_size,
            "mtime_ns": st.st_mtime_ns, "tokenizer": kind, "lowercase": bool(lowercase),
            "min_count": min_count, "max_vocab": max_vocab, "encoding_errors": errors,
            "max_sentence": MAX_SENTENCE}


def prepare_corpus(corpus_path: str | os.PathLike[str], work_dir: str | os.PathLike[str],
                   min_count: int = 5, max_vocab: int | None = None, kind: str = "word",
                   lowercase: bool = False, errors: str = "strict",
                   progress: bool = False) -> EncodedCorpus:
    """Encode ``corpus_path`` into ``work_dir/corpus`` (reused when the fingerprint matches)."""
    path = Path(corpus_path)
    require_nonempty(path)
    target = Path(work_dir) / "corpus"
    fp = fingerprint(path, kind, lowercase, min_count, max_vocab, errors)
    meta_path = target / "meta.json"
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            meta = {}
        if meta.get("fingerprint") == fp:
            return EncodedCorpus.open(target)
        shutil.rmtree(target, ignore_errors=True)
    with atomic_dir(target) as tmp:
        tokenizer, final = count_words(path, tmp, kind, lowercase, min_count, max_vocab, errors,
                                       progress)
        num_tokens, num_sentences = _second_pass(tmp, final)
        if num_tokens == 0:
            raise TokvecError("no word of the vocabulary occurs in the corpus", path=path)
        tokenizer.save(tmp)
        write_json(tmp / "meta.json", {"fingerprint": fp, "num_tokens": num_tokens,
                                       "num_sentences": num_sentences,
                                       "vocab_size": tokenizer.vocab_size})
    return EncodedCorpus.open(target)


def read_line_blocks(path: Path, errors: str = "strict", progress: Any = None,
                     block_bytes: int = _TEXT_BLOCK) -> Iterator[str]:
    """Decoded blocks of whole lines, each ending in a newline (same checks as ``iter_lines``).

    Invalid UTF-8 stops with the file, line and byte (or becomes U+FFFD with ``replace``); NUL
    bytes are refused. Compressed files are decompressed as they are read (see
    :func:`tokvec.textio.open_checked`); ``progress`` counts bytes on disk.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
    >>> _ = p.write_bytes(b"one\\ntwo\\nthree")
    >>> list(read_line_blocks(p, block_bytes=5))
    ['one\\n', 'two\\n', 'three\\n']
    """
    if errors not in ENCODING_ERRORS:
        raise TokvecError(f"encoding errors must be one of {ENCODING_ERRORS}, got {errors!r}")
    line_base = 0
    pending: list[bytes] = []
    with open_checked(path, progress=progress) as handle:
        while True:
            try:
                data = handle.read(block_bytes)
            except ReadError as exc:  # a damaged compressed file: the line it reached
                raise exc.at(line_base + 1) from None
            cut = data.rfind(b"\n") + 1 if data else len(data)
            if data and cut == 0:
                pending.append(data)  # one long line: gather without quadratic copying
                continue
            raw = b"".join([*pending, data[:cut]])
            pending = [data[cut:]] if cut < len(data) else []
            if not raw:
                return
            if b"\x00" in raw:
                line = line_base + raw.count(b"\n", 0, raw.index(b"\x00")) + 1
                raise TokvecError("binary data (NUL byte); expected UTF-8 text", path, line)
            try:
                text = raw.decode("utf-8", errors=errors)
            except UnicodeDecodeError as exc:
                line = line_base + raw.count(b"\n", 0, exc.start) + 1
                col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1)
                raise TokvecError(
                    f"invalid UTF-8 at byte {col} (use --encoding-errors replace to "
                    "substitute U+FFFD)", path, line) from None
            line_base += raw.count(b"\n")
            yield text if text.endswith("\n") else text + "\n"


def count_words(path: Path, out: Path, kind: str, lowercase: bool, min_count: int,
                max_vocab: int | None, errors: str = "strict",
                progress: bool = False) -> tuple[Tokenizer, np.ndarray]:
    """First pass over ``path``: the vocabulary's tokenizer and, per provisional id, the final id
    (-1 for a word outside the vocabulary); ``out`` gets ``prov.u32`` and ``lines.i32``."""
    splitter = WordSplitter.for_kind(kind, lowercase)
    words, counts = count_and_number_words(path, out, splitter, errors, progress)
    vocab = corpus_vocabulary(words, counts, min_count, max_vocab, path)
    tokenizer = Tokenizer.from_vocabulary(vocab, kind=kind, lowercase=lowercase)
    final = np.full(len(words), -1, dtype=np.int64)
    for i, word in enumerate(words):
        j = vocab.get(word)
        if j is not None and j >= vocab.num_specials:
            final[i] = j
    return tokenizer, final


def count_and_number_words(path: Path, out: Path, split: WordSplitter, errors: str,
                           progress: bool) -> tuple[list[str], np.ndarray]:
    """Write provisional ids and per-line lengths; return the words and their counts.

    Provisional id 0 is the line-end sentinel; real words are numbered from 1 on.
    """
    index = _FirstSeenIds()
    index[SENTINEL] = 0
    counts = np.zeros(1, dtype=np.int64)
    bar = byte_progress([path], "encoding corpus", enabled=progress)
    try:
        with open(out / "prov.u32", "wb") as ids_out, open(out / "lines.i32", "wb") as len_out:
            for text in read_line_blocks(path, errors, progress=bar):
                words = split.block(text)
                ids = np.fromiter(map(index.__getitem__, words), dtype=np.uint32,
                                  count=len(words))
                marks = np.flatnonzero(ids == 0)
                lengths = (np.diff(marks, prepend=-1) - 1).astype(np.int32)
                ids = ids[ids != 0]
                if len(index) > counts.shape[0]:
                    counts = np.concatenate([counts, np.zeros(len(index) - counts.shape[0],
                                                              dtype=np.int64)])
                counts += np.bincount(ids, minlength=counts.shape[0])
                ids.tofile(ids_out)
                lengths.tofile(len_out)
    finally:
        bar.close()
    words_list = list(index)
    words_list[0] = ""  # the sentinel: never a vocabulary word (counts[0] is 0)
    return words_list, counts


def corpus_vocabulary(words: list[str], counts: np.ndarray, min_count: int,
                      max_vocab: int | None, path: Path) -> Vocabulary:
    """The vocabulary of counted ``words``: specials, then by count (``tokvec train``'s rules)."""
    specials = set(DEFAULT_SPECIALS)
    ordinary = [(w, int(c)) for w, c in zip(words, counts.tolist(), strict=True)
                if c > 0 and w not in specials]
    if not ordinary:
        raise TokvecError("the corpus has no words", path=path)
    top = max(c for _, c in ordinary)
    if top < min_count:
        raise TokvecError(f"--min-count {min_count} is above every count (max {top}); "
                          "lower it", path=path)
    max_size = None if max_vocab is None else max_vocab + len(DEFAULT_SPECIALS)
    # Same order as Tokenizer.train: code-point order, then a stable sort by count.
    return Vocabulary.from_counts(sorted(ordinary), min_count=min_count, max_size=max_size)


def _line_groups(lengths: np.ndarray, max_tokens: int) -> Iterator[tuple[int, int]]:
    """Split consecutive lines into groups of at most ``max_tokens`` tokens (a longer line alone).

    >>> list(_line_groups(np.array([3, 3, 9, 1, 1]), 6))
    [(0, 2), (2, 3), (3, 5)]
    """
    ends = np.cumsum(lengths)
    start, base = 0, 0
    while start < len(lengths):
        stop = int(np.searchsorted(ends, base + max_tokens, side="right"))
        stop = max(stop, start + 1)
        yield start, stop
        base = int(ends[stop - 1])
        start = stop


def _second_pass(work: Path, final: np.ndarray, max_tokens: int = 1 << 21) -> tuple[int, int]:
    """Map provisional ids to final ones, drop unknowns, cut long sentences; write the corpus.

    Streams ``lines.i32`` and ``prov.u32`` in groups of about ``max_tokens`` tokens.
    """
    num_lines = os.path.getsize(work / "lines.i32") // 4
    written = sentences = 0
    prov_pos = 0
    with open(work / "ids.u32", "wb") as ids_out, open(work / "ends.i64", "wb") as ends_out:
        for first in range(0, num_lines, 1 << 16):
            block = _pread(work / "lines.i32", np.int32, first,
                           min(first + (1 << 16), num_lines)).astype(np.int64)
            for a, b in _line_groups(block, max_tokens):
                lengths = block[a:b]
                total = int(lengths.sum())
                prov = _pread(work / "prov.u32", np.uint32, prov_pos, prov_pos + total)
                prov_pos += total
                mapped = final[prov]
                keep = mapped >= 0
                kept = mapped[keep].astype(np.uint32)
                csum = np.concatenate([[0], np.cumsum(keep)])
                line_ends = np.cumsum(lengths)
                per_line = csum[line_ends] - csum[line_ends - lengths]
                pieces = _cut(per_line[per_line > 0])
                kept.tofile(ids_out)
                (written + np.cumsum(pieces)).astype(np.int64).tofile(ends_out)
                written += int(kept.shape[0])
                sentences += int(pieces.shape[0])
    for name in ("prov.u32", "lines.i32"):
        (work / name).unlink()
    return written, sentences


def _cut(lengths: np.ndarray) -> np.ndarray:
    """Sentence lengths with every length above MAX_SENTENCE cut into MAX_SENTENCE pieces.

    >>> _cut(np.array([3, 25_000, 10_000])).tolist()
    [3, 10000, 10000, 5000, 10000]
    """
    if lengths.size == 0 or lengths.max() <= MAX_SENTENCE:
        return lengths
    pieces = (lengths + MAX_SENTENCE - 1) // MAX_SENTENCE
    out = np.full(int(pieces.sum()), MAX_SENTENCE, dtype=np.int64)
    last = np.cumsum(pieces) - 1
    out[last] = lengths - (pieces - 1) * MAX_SENTENCE
    return out
