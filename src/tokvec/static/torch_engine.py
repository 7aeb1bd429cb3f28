"""Skip-gram and CBOW in torch, for GPUs (``--device cuda``; on the CPU it runs, slowly).

Same model, sampling and schedule as the numba kernels, vectorised per chunk instead of per
word: subsampling and the reduced windows are drawn for the whole chunk, the (centre, context)
pairs of every window offset are gathered at once, and they are trained in mini-batches of
``torch_batch`` examples. Each batch scores its positive and ``negative`` noise words (drawn
from unigram counts to the power ``noise_power``; a draw equal to the positive word is masked
out), computes the exact negative-sampling loss and applies SGD with ``index_add_``. A word
that occurs ``k`` times in one batch gets the mean of its ``k`` updates, not their sum: summed,
the updates of frequent words (and of any word in a small vocabulary) overshoot and training
diverges. The learning rate decays linearly with the global word position as in the CPU path.
Randomness comes from a ``torch.Generator`` seeded per chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import TokvecError
from .config import TrainConfig
from .engines import init_input
from .sampling import ONE, keep_thresholds, noise_weights


class TorchEngine:
    """sgns/cbow tables on a torch device; ``run(chunk)`` trains on one chunk."""

    def __init__(self, cfg: TrainConfig, counts: np.ndarray, total_words: int,
                 num_specials: int, device: str) -> None:
        import torch

        if cfg.method not in ("sgns", "cbow"):
            raise TokvecError(f"the torch engine trains sgns and cbow, not {cfg.method}")
        self.torch = torch
        try:
            self.device = torch.device(device)
            torch.zeros(1, device=self.device)
        except (RuntimeError, AssertionError) as exc:
            raise TokvecError(f"--device {device} is not usable ({exc})") from None
        self.cfg, self.method = cfg, cfg.method
        self._threads_before = torch.get_num_threads()
        if self.device.type == "cpu":
            # Small ops on oversubscribed cores crawl; keep torch to the threads asked for.
            torch.set_num_threads(int(cfg.threads or 1))
        self.total = int(total_words)
        self.num_specials = num_specials
        vocab = len(counts)
        self.w_in = torch.from_numpy(
            init_input(vocab, cfg.dim, 1.0 / cfg.dim, cfg.seed, num_specials)).to(self.device)
        self.w_out = torch.zeros((vocab, cfg.dim), dtype=torch.float32, device=self.device)
        keep = keep_thresholds(counts, cfg.sample).astype(np.float64) / ONE
        self.keep = torch.from_numpy(keep.astype(np.float32)).to(self.device)
        weights = noise_weights(counts, cfg.noise_power)
        cum = np.cumsum(weights / weights.sum())
        self.noise_cum = torch.from_numpy(cum.astype(np.float64)).to(self.device)

    def close(self) -> None:
        """Give torch back its previous CPU thread count."""
        self.torch.set_num_threads(self._threads_before)

    # ----- tables ---------------------------------------------------------------------------
    def tables(self) -> dict[str, np.ndarray]:
        return {"input": self.w_in.cpu().numpy(), "output": self.w_out.cpu().numpy()}

    def load_tables(self, tables: dict[str, np.ndarray]) -> None:
        for name, current in (("input", self.w_in), ("output", self.w_out)):
            saved = tables.get(name)
            if saved is None or tuple(saved.shape) != tuple(current.shape):
                raise TokvecError(f"checkpoint table {name!r} does not fit this run")
            current.copy_(self.torch.from_numpy(np.ascontiguousarray(saved)))

    def word_vectors(self) -> np.ndarray:
        out = self.w_in.cpu().numpy().copy()
        out[: self.num_specials] = 0.0
        return out

    def subword_tensors(self) -> dict[str, np.ndarray]:
        return {}

    # ----- training -------------------------------------------------------------------------
    def _pairs(self, ids: np.ndarray, ends: np.ndarray, gen: Any) -> tuple[Any, Any, Any, Any]:
        """Kept tokens, their positions, and (centre, context) index pairs into them."""
        torch, dev = self.torch, self.device
        tok = torch.from_numpy(ids.astype(np.int64)).to(dev)
        lengths = torch.from_numpy(np.diff(ends, prepend=0)).to(dev)
        sent = torch.repeat_interleave(torch.arange(len(ends), device=dev), lengths)
        pos = torch.arange(len(ids), device=dev)
        kept = torch.rand(len(ids), generator=gen, device=dev) < self.keep[tok]
        tok, sent, pos = tok[kept], sent[kept], pos[kept]
        n = tok.shape[0]
        window = self.cfg.window
        reach = window - torch.randint(0, window, (n,), generator=gen, device=dev)
        centres, contexts = [], []
        for off in range(1, window + 1):
            left = torch.arange(max(n - off, 0), device=dev)
            right = left + off
            same = sent[left] == sent[right]
            for c, x in ((left, right), (right, left)):
                ok = same & (reach[c] >= off)
                centres.append(c[ok])
                contexts.append(x[ok])
        centre = torch.cat(centres)
        context = torch.cat(contexts)
        order = torch.argsort(centre, stable=True)
        return tok, pos, centre[order], context[order]

    def _negatives(self, rows: int, gen: Any) -> Any:
        torch = self.torch
        u = torch.rand((rows, self.cfg.negative), generator=gen, device=self.device,
                       dtype=torch.float64)
        return torch.searchsorted(self.noise_cum, u).clamp_(max=self.noise_cum.shape[0] - 1)

    def _step(self, v: Any, positive: Any, gen: Any, alpha: float) -> tuple[Any, Any]:
        """Score v against positive + noise words; update output rows; return (dv, loss)."""
        torch = self.torch
        neg = self._negatives(v.shape[0], gen)
        targets = torch.cat([positive[:, None], neg], dim=1)
        mask = torch.ones_like(targets, dtype=v.dtype)
        mask[:, 1:] = (neg != positive[:, None]).to(v.dtype)
        u = self.w_out[targets]
        scores = torch.einsum("bkd,bd->bk", u, v)
        labels = torch.zeros_like(scores)
        labels[:, 0] = 1.0
        loss = torch.nn.functional.softplus(torch.where(labels > 0, -scores, scores))
        loss = (loss * mask).sum()
        g = (labels - torch.sigmoid(scores)) * mask * alpha
        dv = torch.einsum("bk,bkd->bd", g, u)
        flat = targets.reshape(-1)
        du = (g[:, :, None] * v[:, None, :]).reshape(-1, v.shape[1])
        self.w_out.index_add_(0, flat, du * self._inverse_multiplicity(flat))
        return dv, loss

    def _inverse_multiplicity(self, rows: Any) -> Any:
        """Per entry of ``rows``, 1 / (how often its row occurs in ``rows``), as a column."""
        counts = self.torch.bincount(rows, minlength=self.w_out.shape[0])
        return (1.0 / counts[rows].to(self.w_out.dtype))[:, None]

    def _add_input(self, rows: Any, delta: Any) -> None:
        self.w_in.index_add_(0, rows, delta * self._inverse_multiplicity(rows))

    def run(self, ids: np.ndarray, ends: np.ndarray, pos0: int, seed: Any) -> tuple[float, int]:
        torch, cfg = self.torch, self.cfg
        gen = torch.Generator(device=self.device)
        gen.manual_seed(int(seed) & ((1 << 63) - 1))
        tok, pos, centre, context = self._pairs(ids, ends, gen)
        loss_sum = torch.zeros((), dtype=torch.float64, device=self.device)
        examples = 0
        if self.method == "sgns":
            for a in range(0, centre.shape[0], cfg.torch_batch):
                c, x = centre[a:a + cfg.torch_batch], context[a:a + cfg.torch_batch]
                alpha = self._alpha(pos0 + int(pos[c[0]]))
                inputs = tok[x]
                dv, loss = self._step(self.w_in[inputs], tok[c], gen, alpha)
                self._add_input(inputs, dv)
                loss_sum += loss
                examples += int(c.shape[0])
        else:
            uniq, inverse, counts = torch.unique_consecutive(centre, return_inverse=True,
                                                           return_counts=True)
            starts = torch.cumsum(counts, 0) - counts
            for a in range(0, uniq.shape[0], cfg.torch_batch):
                b = min(a + cfg.torch_batch, uniq.shape[0])
                lo, hi = int(starts[a]), int(starts[b - 1] + counts[b - 1])
                which = inverse[lo:hi] - a
                ctx_tok = tok[context[lo:hi]]
                neu1 = torch.zeros((b - a, cfg.dim), device=self.device)
                neu1.index_add_(0, which, self.w_in[ctx_tok])
                neu1 /= counts[a:b, None].to(neu1.dtype)
                alpha = self._alpha(pos0 + int(pos[uniq[a]]))
                dv, loss = self._step(neu1, tok[uniq[a:b]], gen, alpha)
                self._add_input(ctx_tok, dv[which])
                loss_sum += loss
                examples += b - a
        return float(loss_sum.item()), examples

    def _alpha(self, position: int) -> float:
        cfg = self.cfg
        return cfg.lr - (cfg.lr - cfg.min_lr) * (position / self.total)
