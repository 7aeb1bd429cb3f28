"""Pretraining data: a packed token stream, per-rank block order, and dynamic MLM masking.

**Packing.** Every non-blank corpus line is a document. Documents are concatenated into one
token stream with ``[SEP]`` after each, and the stream is cut into blocks of ``seq_len - 1``
tokens; each block is prefixed with ``[CLS]``. Nothing is padded; the stream's tail that does
not fill a block is dropped. The stream is held as int32 (4 bytes per token).

**Sharding.** Each epoch shuffles the block indices with a generator seeded by ``(seed,
epoch)``; rank ``r`` of ``N`` takes blocks ``r, r+N, r+2N, ...`` of that order (every rank the
same count), so the ranks together see each block at most once per epoch. Batch ``i`` of an
epoch is a fixed function of the step, which makes resuming exact.

**Masking** (BERT): each non-special token is chosen with probability 0.15; a chosen token
becomes ``[MASK]`` 80% of the time, a random non-special token 10%, and stays 10%. Masks are
drawn anew for every batch (dynamic masking, as in RoBERTa).

:func:`prepare_tokenizer` and :func:`prepare_stream` give a (possibly distributed) run its
tokenizer and encoded corpus: rank 0 trains and encodes into the work directory, the others read.

>>> import numpy as np, torch
>>> blocks = PackedBlocks(np.arange(10, 30, dtype=np.int32), seq_len=5, cls_id=2)
>>> blocks.n_blocks, blocks.batch(np.array([1])).tolist()
(5, [[2, 14, 15, 16, 17]])
>>> order = BlockOrder(n_blocks=5, batch_size=2, rank=1, world_size=2, seed=0)
>>> order.blocks_per_rank, order.steps_per_epoch
(2, 1)
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import TokvecError
from ..tokenization import Tokenizer
from ..vocab import CLS, MASK, PAD, SEP
from .distributed import DistContext


def encode_stream(tokenizer: Tokenizer, paths: Sequence[str | os.PathLike[str]], sep_id: int,
                  errors: str = "strict", progress: bool = False) -> np.ndarray:
    """The corpus as one int32 token stream, ``[SEP]`` after every non-blank line."""
    pieces: list[np.ndarray] = []
    sep = np.array([sep_id], dtype=np.int32)
    for path in paths:
        for ids in tokenizer.encode_file(path, errors=errors, progress=progress):
            if ids.size:
                pieces.append(ids.astype(np.int32, copy=False))
                pieces.append(sep)
    if not pieces:
        raise TokvecError("the corpus has no tokens", path=os.fspath(paths[0]) if paths else None)
    return np.concatenate(pieces)


class PackedBlocks:
    """Fixed-length ``[CLS] + (seq_len - 1)`` token blocks cut from a stream, no padding."""

    def __init__(self, stream: np.ndarray, seq_len: int, cls_id: int) -> None:
        if seq_len < 2:
            raise TokvecError(f"seq_len must be at least 2, got {seq_len}")
        body = seq_len - 1
        self.n_blocks = len(stream) // body
        if self.n_blocks == 0:
            raise TokvecError(f"the corpus has {len(stream)} tokens, fewer than one block of "
                              f"{seq_len}; use a smaller --seq-len or more text")
        self.seq_len = seq_len
        self.cls_id = cls_id
        self.tokens = int(self.n_blocks * body)
        self._blocks = np.ascontiguousarray(stream[: self.n_blocks * body]).reshape(-1, body)

    def batch(self, indices: np.ndarray) -> torch.Tensor:
        """The blocks at ``indices`` as a LongTensor ``(len(indices), seq_len)``."""
        out = torch.empty((len(indices), self.seq_len), dtype=torch.long)
        out[:, 0] = self.cls_id
        out[:, 1:] = torch.from_numpy(self._blocks[indices])
        return out


class BlockOrder:
    """Which blocks rank ``rank`` trains on at each global step (see module docs)."""

    def __init__(self, n_blocks: int, batch_size: int, rank: int = 0, world_size: int = 1,
                 seed: int = 0) -> None:
        self.blocks_per_rank = n_blocks // world_size
        if self.blocks_per_rank == 0:
            raise TokvecError(f"the corpus gives {n_blocks} blocks, fewer than the "
                              f"{world_size} processes; use more text or fewer processes")
        self.n_blocks = n_blocks
        self.batch_size = batch_size
        self.rank = rank
        self.world_size = world_size
        self.seed = seed
        self.steps_per_epoch = math.ceil(self.blocks_per_rank / batch_size)
        self._epoch = -1
        self._mine = np.empty(0, dtype=np.int64)

    def _shard(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(self.n_blocks, generator=g).numpy()
            self._mine = order[self.rank::self.world_size][: self.blocks_per_rank]
            self._epoch = epoch
        return self._mine

    def position(self, step: int) -> tuple[int, int]:
        """``(epoch, batch within the epoch)`` of a global step."""
        return divmod(step, self.steps_per_epoch)

    def indices(self, step: int) -> np.ndarray:
        epoch, i = self.position(step)
        return self._shard(epoch)[i * self.batch_size: (i + 1) * self.batch_size]


class Masker:
    """Dynamic BERT masking (15%; 80% ``[MASK]``, 10% random token, 10% unchanged).

    With ``continues_word`` (one bool per id, :meth:`~tokvec.tokenization.Tokenizer.
    continues_word`) masking is by **whole words** (Devlin et al.'s whole-word masking): each
    word is chosen with probability ``prob`` and then all of its pieces are masked, so about the
    same share of tokens is masked; the 80/10/10 split is still drawn per piece.

    >>> import torch
    >>> cont = torch.tensor([False] * 5 + [False, True, False])  # id 6 continues a word
    >>> masker = Masker(8, mask_id=4, special_ids=[0, 1, 2, 3, 4], prob=0.5,
    ...                 continues_word=cont, generator=torch.Generator().manual_seed(0))
    >>> inputs, positions, targets = masker(torch.tensor([[1, 5, 6, 7, 5, 6]]))
    >>> all((p in positions) == (p + 1 in positions) for p in (1, 4))  # 5 and 6 go together
    True
    """

    def __init__(self, vocab_size: int, mask_id: int, special_ids: Sequence[int],
                 prob: float = 0.15, generator: torch.Generator | None = None,
                 continues_word: torch.Tensor | np.ndarray | None = None) -> None:
        if not 0.0 < prob < 1.0:
            raise TokvecError(f"mask probability must be in (0, 1), got {prob}")
        self.mask_id = mask_id
        self.prob = prob
        self.special = torch.tensor(sorted(set(special_ids)), dtype=torch.long)
        keep = torch.ones(vocab_size, dtype=torch.bool)
        keep[self.special] = False
        self.ordinary = keep.nonzero().squeeze(1)
        self.generator = generator if generator is not None else torch.Generator()
        self.continues_word: torch.Tensor | None = None
        if continues_word is not None:
            table = torch.as_tensor(continues_word, dtype=torch.bool)
            if table.shape != (vocab_size,):
                raise TokvecError(f"the word-continuation table has {table.numel()} entries for "
                                  f"a vocabulary of {vocab_size}")
            self.continues_word = table & keep

    def _choose(self, flat: torch.Tensor, candidate: torch.Tensor) -> torch.Tensor:
        g = self.generator
        if self.continues_word is None:
            return (torch.rand(flat.shape, generator=g) < self.prob) & candidate
        # Number the words: a piece that does not continue one starts a new word.
        word = torch.cumsum(~self.continues_word[flat], 0) - 1
        picked = torch.rand(int(word[-1]) + 1, generator=g) < self.prob
        return picked[word] & candidate

    def __call__(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(inputs, positions, targets)``: corrupted ids, flat masked positions, true ids."""
        g = self.generator
        flat = ids.reshape(-1)
        candidate = ~torch.isin(flat, self.special)
        chosen = self._choose(flat, candidate)
        positions = chosen.nonzero().squeeze(1)
        if positions.numel() == 0:  # a tiny batch that drew no mask: take its first token
            positions = candidate.nonzero().squeeze(1)[:1]
            if positions.numel() == 0:
                raise TokvecError("a training batch holds only special tokens")
        targets = flat[positions]
        inputs = flat.clone()
        r = torch.rand(positions.shape, generator=g)
        inputs[positions[r < 0.8]] = self.mask_id
        swap = positions[(r >= 0.8) & (r < 0.9)]
        picks = torch.randint(len(self.ordinary), swap.shape, generator=g)
        inputs[swap] = self.ordinary[picks]
        return inputs.view_as(ids), positions, targets


def save_stream(path: Path, stream: np.ndarray, source: dict[str, str]) -> None:
    """Cache the encoded stream (safetensors) so resumed and parallel runs skip encoding."""
    from safetensors.numpy import save

    from ..atomic import atomic_file

    data = save({"stream": np.ascontiguousarray(stream, dtype=np.int32)}, metadata=source)
    with atomic_file(path) as handle:
        handle.write(data)


def load_stream(path: Path, source: dict[str, str]) -> np.ndarray | None:
    """The cached stream, or None if missing or made from a different corpus."""
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), "np") as f:
            meta = f.metadata() or {}
            if meta != source:
                return None
            return f.get_tensor("stream")
    except Exception:  # a damaged cache is simply rebuilt
        return None


def corpus_signature(paths: Sequence[str | os.PathLike[str]]) -> dict[str, str]:
    """Paths, sizes and modification times: enough to tell a changed corpus."""
    sig = {}
    for i, p in enumerate(paths):
        st = os.stat(p)
        sig[f"file{i}"] = f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}"
    return sig


def prepare_tokenizer(ctx: DistContext, corpus: list[str], work: Path, opts: Any,
                      progress: bool) -> Tokenizer:
    """The run's tokenizer: ``opts.tokenizer``, or one trained by rank 0 into ``work``."""
    if opts.tokenizer:
        tok = Tokenizer.load(opts.tokenizer)
    else:
        if ctx.is_main:
            tok = Tokenizer.train(corpus, kind="wordpiece", vocab_size=opts.vocab_size,
                                  lowercase=True, errors=opts.encoding_errors, progress=progress)
            tok.save(work)
        ctx.barrier()
        tok = Tokenizer.load(work)
    missing = [t for t in (PAD, CLS, SEP, MASK) if tok.token_to_id(t) is None]
    if missing:
        raise TokvecError(f"the tokenizer lacks {', '.join(missing)}; pretraining needs them",
                          path=opts.tokenizer)
    return tok


def prepare_stream(ctx: DistContext, corpus: list[str], work: Path, tok: Tokenizer,
                   opts: Any, progress: bool) -> Any:
    """The encoded corpus, cached in ``work`` by rank 0 and read by the other ranks."""
    source = corpus_signature(corpus)
    source["tokenizer"] = hashlib.sha256(tok.hf.to_str().encode()).hexdigest()
    path = work / "stream.safetensors"
    if ctx.is_main:
        stream = load_stream(path, source)
        if stream is None:
            stream = encode_stream(tok, corpus, tok.token_to_id(SEP), opts.encoding_errors,
                                   progress)
            save_stream(path, stream, source)
    ctx.barrier()
    if not ctx.is_main:
        stream = load_stream(path, source)
        if stream is None:
            raise TokvecError("the encoded corpus written by rank 0 is unreadable", path=path)
    return stream
