"""Parallel text for translation: reading aligned files, segmentation, ids, token-budget batches.

**Reading.** :func:`read_parallel` takes a source and a target file with one sentence per line,
aligned by line number. Different line counts stop with both files and both counts named; a pair
with a blank side is skipped and counted (:attr:`ParallelText.blank`, with the first one's line).

**Segmentation.** Chinese has no spaces, so subwords learned over it would span whole clauses.
``char`` puts a space between CJK characters and ``jieba`` between jieba's words before the
subword tokenizer sees the text; :func:`unsegment` removes those spaces from output.

**Ids.** A source sentence is its subword ids then ``[SEP]`` (end of sentence); a target is
``[CLS]`` (start) plus ids as decoder input and ids plus ``[SEP]`` as what it must predict.
Sequences longer than the model's positions are cut to fit (:attr:`EncodedPairs.truncated`).

**Batches** (:class:`TokenBatches`): pairs sorted by target then source length are cut into
batches holding at most ``batch_tokens`` target tokens, padding included, so that every batch is
nearly rectangular. Each epoch shuffles the batch order with a generator seeded by
``(seed, epoch)``; rank ``r`` of ``N`` takes batches ``r, r+N, ...``. Batch ``i`` of an epoch is a
fixed function of the step, which makes resuming exact.

>>> segment("起初，神创造天地。 God", "char")
'起 初 ， 神 创 造 天 地 。 God'
>>> unsegment("起 初 ， 神 创 造 天 地 。 God")
'起初，神创造天地。 God'
>>> lengths = np.array([3, 5, 4, 9, 2])
>>> TokenBatches(lengths, lengths, batch_tokens=10, seed=0).batches
[array([4, 0]), array([2, 1]), array([3])]
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import TokvecError
from ..textio import iter_lines, require_nonempty
from ..tokenization import Tokenizer

_CJK = "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_CHAR = re.compile(f"([{_CJK}])")
_SPACE_AFTER_CJK = re.compile(f"(?<=[{_CJK}]) +(?=[{_CJK}])")


def segment(text: str, how: str) -> str:
    """``text`` with spaces between CJK characters (``char``) or jieba words (``jieba``)."""
    if how == "none":
        return text
    if how == "char":
        return " ".join(_CJK_CHAR.sub(r" \1 ", text).split())
    if how == "jieba":
        from ..tokenization import _jieba

        return " ".join(w for w in _jieba().lcut(text) if w.strip())
    raise TokvecError(f"unknown segmenter {how!r}; choose none, char or jieba")


def unsegment(text: str) -> str:
    """Undo :func:`segment`: drop spaces that stand between two CJK characters."""
    return _SPACE_AFTER_CJK.sub("", text)


@dataclass
class ParallelText:
    """Aligned sentence pairs of one source file and one target file."""

    src_path: str
    tgt_path: str
    src: list[str]
    tgt: list[str]
    lines: list[int]  # 1-based line number of each kept pair
    blank: int = 0  # pairs skipped because a side was blank
    first_blank: int | None = None


def read_lines(path: str | os.PathLike[str]) -> list[str]:
    """Every line of a UTF-8 text file (blank ones included), after checking it is not empty."""
    require_nonempty(path)
    return [text for _, text in iter_lines(path)]


def read_parallel(src_path: str | os.PathLike[str],
                  tgt_path: str | os.PathLike[str]) -> ParallelText:
    """Read two aligned files; refuse unequal line counts, skip (and count) blank pairs."""
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if len(src) != len(tgt):
        raise TokvecError(f"{os.fspath(src_path)} has {len(src)} lines but "
                          f"{os.fspath(tgt_path)} has {len(tgt)}; parallel files must align "
                          f"line by line")
    text = ParallelText(os.fspath(src_path), os.fspath(tgt_path), [], [], [])
    for number, (s, t) in enumerate(zip(src, tgt, strict=True), start=1):
        if not s.strip() or not t.strip():
            text.blank += 1
            text.first_blank = text.first_blank or number
            continue
        text.src.append(s.strip())
        text.tgt.append(t.strip())
        text.lines.append(number)
    if not text.src:
        raise TokvecError(f"no sentence pairs: every line of {os.fspath(src_path)} or "
                          f"{os.fspath(tgt_path)} is blank")
    return text


@dataclass
class EncodedPairs:
    """Ids of sentence pairs: ``src[i]`` ends with EOS; ``tgt[i]`` holds the bare target ids."""

    src: list[np.ndarray]
    tgt: list[np.ndarray]
    truncated: int = 0
    first_truncated: str | None = None  # "FILE:LINE"
    origin: list[tuple[str, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.src)

    def src_lengths(self) -> np.ndarray:
        return np.fromiter((len(s) for s in self.src), dtype=np.int64, count=len(self.src))

    def tgt_lengths(self) -> np.ndarray:
        """Decoder lengths: target ids plus one (start or end token)."""
        return np.fromiter((len(t) + 1 for t in self.tgt), dtype=np.int64, count=len(self.tgt))


def encode_texts(tokenizer: Tokenizer, texts: Sequence[str], how: str) -> list[np.ndarray]:
    """Subword ids of each text after segmentation (no special tokens)."""
    out: list[np.ndarray] = []
    chunk = 8192
    for i in range(0, len(texts), chunk):
        batch = [segment(t, how) for t in texts[i:i + chunk]]
        out.extend(np.asarray(e.ids, dtype=np.int32)
                   for e in tokenizer.hf.encode_batch(batch, add_special_tokens=False))
    return out


def encode_pairs(texts: Sequence[ParallelText], src_tok: Tokenizer, tgt_tok: Tokenizer,
                 src_segment: str, tgt_segment: str, eos_id: int, max_len: int) -> EncodedPairs:
    """Ids of every pair, cut to ``max_len`` positions on each side (counted, first named)."""
    pairs = EncodedPairs([], [])
    eos = np.array([eos_id], dtype=np.int32)
    for text in texts:
        srcs = encode_texts(src_tok, text.src, src_segment)
        tgts = encode_texts(tgt_tok, text.tgt, tgt_segment)
        for s, t, line in zip(srcs, tgts, text.lines, strict=True):
            if len(s) + 1 > max_len or len(t) + 1 > max_len:
                pairs.truncated += 1
                if pairs.first_truncated is None:
                    which = text.src_path if len(s) + 1 > max_len else text.tgt_path
                    pairs.first_truncated = f"{which}:{line}"
                s, t = s[:max_len - 1], t[:max_len - 1]
            pairs.src.append(np.concatenate([s, eos]))
            pairs.tgt.append(t)
            pairs.origin.append((text.src_path, line))
    return pairs


def pad_batch(seqs: Sequence[np.ndarray], pad_id: int, prefix: int | None = None,
              suffix: int | None = None) -> torch.Tensor:
    """Right-padded ``(B, T)`` int64 tensor of ``seqs``, each with optional first/last id."""
    extra = (prefix is not None) + (suffix is not None)
    width = max(len(s) for s in seqs) + extra
    out = np.full((len(seqs), width), pad_id, dtype=np.int64)
    for row, s in enumerate(seqs):
        start = 1 if prefix is not None else 0
        if prefix is not None:
            out[row, 0] = prefix
        out[row, start:start + len(s)] = s
        if suffix is not None:
            out[row, start + len(s)] = suffix
    return torch.from_numpy(out)


class TokenBatches:
    """Length-bucketed batches of at most ``batch_tokens`` padded target tokens each."""

    def __init__(self, src_lengths: np.ndarray, tgt_lengths: np.ndarray, batch_tokens: int,
                 seed: int, rank: int = 0, world_size: int = 1) -> None:
        if batch_tokens < int(tgt_lengths.max()):
            raise TokvecError(f"--batch-tokens ({batch_tokens}) is smaller than the longest "
                              f"target ({int(tgt_lengths.max())} tokens)")
        order = np.lexsort((src_lengths, tgt_lengths))  # by target length, then source length
        batches: list[np.ndarray] = []
        start, longest = 0, 0
        for i, index in enumerate(order):
            longest_now = max(longest, int(tgt_lengths[index]))
            if (i - start + 1) * longest_now > batch_tokens and i > start:
                batches.append(order[start:i])
                start, longest_now = i, int(tgt_lengths[index])
            longest = longest_now
        batches.append(order[start:])
        self.batches = batches
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.steps_per_epoch = len(batches) // world_size
        if self.steps_per_epoch < 1:
            raise TokvecError(f"{len(batches)} batch(es) cannot feed {world_size} processes; "
                              f"lower --batch-tokens")

    def position(self, step: int) -> tuple[int, int]:
        """(epoch, batch within the epoch) of 0-based ``step``."""
        return divmod(step, self.steps_per_epoch)

    def indices(self, step: int) -> np.ndarray:
        """Pair indices of this process's batch at ``step``."""
        epoch, within = self.position(step)
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.batches))
        return self.batches[order[within * self.world_size + self.rank]]
