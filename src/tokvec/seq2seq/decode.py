"""Greedy and beam-search decoding, batched, with cached keys and values.

Every step feeds only the newest token to the decoder (:meth:`Seq2SeqTransformer.step`); each
layer appends that position's keys and values to its cache. Sentences that finish leave the
batch at once, so late steps cost only what is still running.

**Beam search** keeps ``beam`` hypotheses per sentence. At each step the ``2 * beam`` best
continuations are taken; those ending in the end token among the first ``beam`` are finished
(scored by log-probability over the length penalty of Wu et al. 2016,
``((5 + length) / 6) ** alpha``), and the best ``beam`` others go on. A sentence stops when it
has ``beam`` finished hypotheses or reaches its length limit, ``max_len_a * source length +
max_len_b`` tokens (and never more than the model's positions), where the end token is forced.
Padding, start and mask tokens are never produced.

>>> length_penalty(4, alpha=0.0), round(length_penalty(7, alpha=1.0), 2)
(1.0, 2.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .data import pad_batch
from .model import Seq2SeqTransformer


def length_penalty(length: int, alpha: float) -> float:
    """Wu et al.'s ``((5 + length) / 6) ** alpha``."""
    return ((5.0 + length) / 6.0) ** alpha


@dataclass(frozen=True)
class DecodeOptions:
    """How to search: ``beam`` 1 is greedy; ``nbest`` hypotheses are returned per sentence."""

    beam: int = 5
    nbest: int = 1
    alpha: float = 0.6
    max_len_a: float = 1.5
    max_len_b: int = 10


@dataclass(frozen=True)
class SpecialIds:
    pad: int
    bos: int
    eos: int
    banned: tuple[int, ...]  # never produced (padding, start, mask, unknown)


def _limits(src: torch.Tensor, special: SpecialIds, opts: DecodeOptions,
            max_positions: int) -> torch.Tensor:
    lengths = (src != special.pad).sum(1)
    limit = (lengths.double() * opts.max_len_a).floor().long() + opts.max_len_b
    return limit.clamp(min=1, max=max_positions - 1)


@torch.inference_mode()
def greedy(model: Seq2SeqTransformer, src: torch.Tensor, special: SpecialIds,
           opts: DecodeOptions) -> list[list[tuple[list[int], float]]]:
    """Argmax decoding of a padded source batch: one ``(ids, log-probability)`` per row."""
    n = src.shape[0]
    state = model.start(model.encode(src, special.pad), src != special.pad)
    limits = _limits(src, special, opts, model.arch.max_len)
    alive = torch.arange(n)
    out = torch.full((n, int(limits.max())), special.pad, dtype=torch.long)
    score = torch.zeros(n, dtype=torch.float64)
    last = torch.full((n,), special.bos, dtype=torch.long)
    banned = torch.tensor(special.banned, dtype=torch.long)
    for t in range(int(limits.max())):
        logp = model.step(last.to(src.device), state).cpu()
        logp[:, banned] = float("-inf")
        forced = limits[alive] <= t + 1
        if bool(forced.any()):
            logp[forced] = torch.where(torch.arange(logp.shape[1]) == special.eos,
                                       logp[forced], float("-inf"))
        best, token = logp.max(-1)
        out[alive, t] = token
        score[alive] += best.double()
        done = token == special.eos
        if bool(done.any()):
            keep = (~done).nonzero()[:, 0]
            if keep.numel() == 0:
                break
            state.select(keep.to(src.device))
            alive, token = alive[keep], token[keep]
        last = token
    results = []
    for row in range(n):
        ids = out[row].tolist()
        end = ids.index(special.eos) if special.eos in ids else len(ids)
        results.append([(ids[:end], float(score[row]))])
    return results


@torch.inference_mode()
def beam_search(model: Seq2SeqTransformer, src: torch.Tensor, special: SpecialIds,
                opts: DecodeOptions) -> list[list[tuple[list[int], float]]]:
    """Beam search over a padded source batch: ``nbest`` ``(ids, normalised score)`` per row,
    best first."""
    if opts.beam == 1:
        return greedy(model, src, special, opts)
    n, k = src.shape[0], opts.beam
    device = src.device
    memory = model.encode(src, special.pad)
    rows = torch.arange(n, device=device).repeat_interleave(k)
    state = model.start(memory.index_select(0, rows), (src != special.pad).index_select(0, rows))
    limits = _limits(src, special, opts, model.arch.max_len)
    sentences = torch.arange(n)  # original row of each sentence still running
    scores = torch.full((n, k), float("-inf"), dtype=torch.float32)
    scores[:, 0] = 0.0
    history = torch.full((n * k, 0), special.bos, dtype=torch.long)
    last = torch.full((n * k,), special.bos, dtype=torch.long)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(n)]
    banned = torch.tensor(special.banned, dtype=torch.long)
    eos_only = torch.full((model.arch.tgt_vocab,), float("-inf"))
    eos_only[special.eos] = 0.0
    for t in range(int(limits.max())):
        m = len(sentences)
        logp = model.step(last.to(device), state).cpu().view(m, k, -1)
        logp[:, :, banned] = float("-inf")
        at_limit = limits[sentences] <= t + 1
        if bool(at_limit.any()):
            logp[at_limit] = logp[at_limit] + eos_only
        vocab = logp.shape[-1]
        cand = (scores[:, :, None] + logp).view(m, -1)
        top, index = cand.topk(2 * k, dim=1)
        beam_of, token = index // vocab, index % vocab
        is_eos = token == special.eos
        lp = length_penalty(t + 1, opts.alpha)
        hits = (is_eos[:, :k] & torch.isfinite(top[:, :k])).nonzero().tolist()
        for i, j in hits:
            origin = int(sentences[i])
            if len(finished[origin]) < k:
                prefix = history[i * k + int(beam_of[i, j])].tolist()
                finished[origin].append((float(top[i, j]) / lp, prefix))
        # the best k continuations that do not end here
        rank = torch.arange(2 * k).expand(m, -1) + is_eos.long() * (2 * k)
        pick = rank.argsort(dim=1)[:, :k]
        scores = top.gather(1, pick)
        chosen_beam, chosen_token = beam_of.gather(1, pick), token.gather(1, pick)
        parent = (torch.arange(m)[:, None] * k + chosen_beam).view(-1)
        done = torch.tensor([len(finished[int(s)]) >= k for s in sentences]) | at_limit
        history = torch.cat([history[parent], chosen_token.view(-1, 1)], 1)
        last = chosen_token.view(-1)
        if bool(done.all()):
            break
        pruned = bool(done.any())
        if pruned:
            keep = (~done).nonzero()[:, 0]
            keep_rows = (keep[:, None] * k + torch.arange(k)).view(-1)
            parent, history, last = parent[keep_rows], history[keep_rows], last[keep_rows]
            scores, sentences = scores[keep], sentences[keep]
        # a beam's parent is a beam of the same sentence: the source rows move only when
        # finished sentences leave
        state.select(parent.to(device), memory=pruned)
    results = []
    for hyps in finished:
        hyps.sort(key=lambda h: -h[0])
        results.append([(ids, score) for score, ids in hyps[:opts.nbest]])
    return results


def length_batches(lengths: Sequence[int], batch_tokens: int, max_sentences: int = 256
                   ) -> list[np.ndarray]:
    """Indices grouped by similar length, each group at most ``batch_tokens`` padded tokens."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches, start, longest = [], 0, 0
    for i, index in enumerate(order):
        longest_now = max(longest, int(lengths[index]))
        full = (i - start + 1) * longest_now > batch_tokens or i - start >= max_sentences
        if full and i > start:
            batches.append(order[start:i])
            start, longest_now = i, int(lengths[index])
        longest = longest_now
    if len(order):
        batches.append(order[start:])
    return batches


def decode_all(model: Seq2SeqTransformer, sources: Sequence[np.ndarray], special: SpecialIds,
               opts: DecodeOptions, batch_tokens: int = 4096, progress: object = None
               ) -> list[list[tuple[list[int], float]]]:
    """Decode every source id sequence (each ending in EOS), batched by length, in input order."""
    device = next(model.parameters()).device
    results: list[list[tuple[list[int], float]] | None] = [None] * len(sources)
    budget = max(1, batch_tokens // max(1, opts.beam))
    for batch in length_batches([len(s) for s in sources], budget):
        src = pad_batch([sources[i] for i in batch], special.pad).to(device)
        for i, hyps in zip(batch, beam_search(model, src, special, opts), strict=True):
            results[int(i)] = hyps
        if progress is not None:
            progress.update(len(batch))  # type: ignore[attr-defined]
    return [r if r is not None else [] for r in results]
