"""Replaced-token detection (ELECTRA, Clark et al. 2020): ``tokvec pretrain --objective electra``.

A small **generator** (a masked LM) fills the masked positions of a batch with tokens sampled
from its softmax; the **discriminator** (the usual :class:`~tokvec.contextual.bert.
TransformerEncoder`, the model that is saved) reads the result and predicts, for every token,
whether it was replaced. Both are trained jointly on ``mlm_loss + disc_weight * disc_loss``
(``disc_weight`` 50, as in the paper). No gradient flows through the sampling.

- **Generator size.** ``generator_scale`` (default 0.25) of the discriminator's width, heads and
  feed-forward width (heads at least 1, the width rounded to a multiple of the heads);
  ``generator_layers`` (default: as many as the discriminator) may be fewer.
- **Shared embeddings.** As in the paper, the generator has no table of its own: it reads the
  discriminator's token and position embeddings through a ``d_model -> d_gen`` projection, and
  its MLM head (dense ``d_gen -> d_model``, activation, LayerNorm) scores against the same token
  table. Its vocabulary projection is computed at the masked positions only, and so is its last
  layer (:meth:`~tokvec.contextual.bert.TransformerEncoder.hidden_at`).
- **Masking** is the MLM's (:class:`~tokvec.contextual.data.Masker`: ``mask_prob``, 80/10/10).
  Samples never draw a special token (``[PAD] [CLS] [SEP] [MASK]``), so the discriminator never
  sees ``[MASK]``. A sample equal to the original token counts as *not* replaced.
- **Discriminator head**: dense, activation, then one logit per token; the loss is the binary
  cross-entropy over every non-pad token of the batch.

The generator and both heads are kept in the checkpoint (under ``electra.``) and in the model
directory's ``electra.safetensors``, which model loaders ignore: ``load_contextual`` gives the
discriminator, a plain ``bert`` model.

>>> from tokvec.contextual.config import EncoderConfig
>>> disc = TransformerEncoder(EncoderConfig(vocab_size=40, d_model=16, layers=2, heads=2,
...                                         ffn=32, max_len=8, dropout=0.0))
>>> gen_cfg = generator_config(disc.cfg, scale=0.25)
>>> gen_cfg.d_model, gen_cfg.heads, gen_cfg.ffn, gen_cfg.layers
(4, 1, 8, 2)
>>> objective = ElectraObjective(disc, gen_cfg, special_ids=[0, 1, 2, 3])
>>> ids = torch.randint(4, 40, (2, 8))
>>> positions = torch.tensor([1, 5, 10])             # flat indices into the 2 x 8 batch
>>> masked = ids.clone().view(-1); masked[positions] = 3
>>> loss = objective(masked.view(2, 8), positions, ids.view(-1)[positions])
>>> loss.backward(); sorted(objective.stats)
['disc_accuracy', 'disc_loss', 'mlm_loss', 'replaced']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import TokvecError
from .bert import TransformerEncoder, _init_weights, activation_fn
from .config import EncoderConfig

OBJECTIVES = ("mlm", "electra")
PREFIX = "electra."  # checkpoint keys of the generator and the heads
WEIGHTS_FILE = "electra.safetensors"  # beside the model; loaders ignore it
GENERATOR_OPTIONS = ("generator_scale", "generator_layers", "disc_weight")


def generator_config(disc: EncoderConfig, scale: float = 0.25,
                     layers: int | None = None) -> EncoderConfig:
    """The generator's encoder config: ``scale`` of the discriminator's sizes."""
    heads = max(1, round(disc.heads * scale))
    width = max(heads, round(disc.d_model * scale / heads) * heads)
    return EncoderConfig(disc.vocab_size, width, layers or disc.layers, heads,
                         max(1, round(disc.ffn * scale)), disc.max_len, disc.dropout, disc.norm,
                         disc.activation, disc.layer_norm_eps, disc.attn_dropout)


def check_options(opts: Any, given: dict[str, Any]) -> None:
    """Refuse objective settings that do not fit together (one-line :class:`TokvecError`)."""
    if opts.objective not in OBJECTIVES:
        raise TokvecError(f"unknown objective {opts.objective!r}; choose {' or '.join(OBJECTIVES)}")
    if opts.objective != "electra":
        defaults = type(opts)()
        extra = [k for k in GENERATOR_OPTIONS
                 if given.get(k) is not None and given[k] != getattr(defaults, k)]
        if extra:
            raise TokvecError(f"--{extra[0].replace('_', '-')} applies to --objective electra "
                              f"only")
        return
    if opts.arch != "bert":
        raise TokvecError(f"--objective electra needs --arch bert (a Transformer "
                          f"discriminator), not {opts.arch}")
    if not 0.0 < opts.generator_scale <= 1.0:
        raise TokvecError(f"--generator-scale must be in (0, 1], got {opts.generator_scale}")
    if opts.generator_layers is not None and not 1 <= opts.generator_layers <= opts.layers:
        raise TokvecError(f"--generator-layers must be between 1 and --layers ({opts.layers}), "
                          f"got {opts.generator_layers}")
    if not opts.disc_weight > 0:
        raise TokvecError(f"--disc-weight must be positive, got {opts.disc_weight}")


def build_objective(discriminator: TransformerEncoder, opts: Any, special_ids: Sequence[int],
                    pad_id: int, weights: dict[str, np.ndarray] | None = None
                    ) -> ElectraObjective:
    """The objective of a pretraining run (options as in ``PretrainOptions``); ``weights``
    (a checkpoint's) restores the generator and heads from their :data:`PREFIX` entries."""
    objective = ElectraObjective(
        discriminator, generator_config(discriminator.cfg, opts.generator_scale,
                                        opts.generator_layers),
        special_ids, opts.disc_weight, pad_id)
    objective.to(discriminator.tok_emb.weight.device)
    if weights is not None:
        objective.load_extra({k[len(PREFIX):]: torch.from_numpy(v) for k, v in weights.items()
                              if k.startswith(PREFIX)})
    return objective


class GeneratorHead(nn.Module):
    """Dense ``d_gen -> d_model``, activation, LayerNorm, then logits on the shared table."""

    def __init__(self, cfg: EncoderConfig, d_model: int) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.d_model, d_model)
        self.act = activation_fn(cfg.activation)
        self.norm = nn.LayerNorm(d_model, eps=cfg.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))
        self.apply(_init_weights)

    def forward(self, hidden: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return F.linear(self.norm(self.act(self.dense(hidden))), table, self.bias)


class DiscriminatorHead(nn.Module):
    """Dense, activation, then one "was replaced" logit per token."""

    def __init__(self, cfg: EncoderConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(cfg.d_model, cfg.d_model)
        self.act = activation_fn(cfg.activation)
        self.out = nn.Linear(cfg.d_model, 1)
        self.apply(_init_weights)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.dense(hidden))).squeeze(-1)


class ElectraObjective(nn.Module):
    """Generator + discriminator; ``forward`` returns ``mlm_loss + disc_weight * disc_loss``.

    After each call, :attr:`stats` holds that step's ``mlm_loss``, ``disc_loss``,
    ``disc_accuracy`` and ``replaced`` (the share of tokens replaced: ``1 - replaced`` is the
    accuracy of always answering "original") as floats.
    """

    def __init__(self, discriminator: TransformerEncoder, generator: EncoderConfig,
                 special_ids: Sequence[int], disc_weight: float = 50.0, pad_id: int = 0) -> None:
        super().__init__()
        cfg = discriminator.cfg
        self.discriminator = discriminator
        self.gen_in: nn.Module = (nn.Linear(cfg.d_model, generator.d_model)
                                  if generator.d_model != cfg.d_model else nn.Identity())
        self.gen_in.apply(_init_weights)
        self.generator = TransformerEncoder(generator)
        del self.generator.tok_emb, self.generator.pos_emb  # it reads the shared embeddings
        self.gen_head = GeneratorHead(generator, cfg.d_model)
        self.disc_head = DiscriminatorHead(cfg)
        self.disc_weight = float(disc_weight)
        self.pad_id = pad_id
        banned = torch.zeros(cfg.vocab_size, dtype=torch.bool)
        banned[torch.tensor(sorted(set(special_ids)), dtype=torch.long)] = True
        self.register_buffer("banned", banned, persistent=False)
        self.stats: dict[str, float] = {}

    def forward(self, input_ids: torch.Tensor, positions: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """``input_ids`` (B, T) masked by the MLM masker; ``positions`` the ascending flat
        masked indices; ``targets`` their original ids."""
        disc, table = self.discriminator, self.discriminator.tok_emb.weight
        hidden = self.generator.hidden_at(self.gen_in(disc.embed(input_ids)), positions)
        logits = self.gen_head(hidden, table)
        mlm_loss = F.cross_entropy(logits, targets)
        with torch.no_grad():  # sampling: no gradient reaches the generator this way
            scores = logits.detach().float().masked_fill(self.banned, float("-inf"))
            # Gumbel-max: a draw from softmax(scores) that, unlike torch.multinomial, does not
            # raise on a non-finite score (the divergence guard reports that after the step).
            noise = torch.rand(scores.shape, device=scores.device).clamp_min_(1e-20)
            sampled = (scores - torch.log(-torch.log(noise))).argmax(-1)
            corrupted = input_ids.reshape(-1).clone()
            corrupted[positions] = sampled
            labels = torch.zeros(corrupted.shape, dtype=torch.float32, device=corrupted.device)
            labels[positions] = (sampled != targets).float()
            keep = corrupted != self.pad_id
        disc_logits = self.disc_head(disc(corrupted.view_as(input_ids))).reshape(-1)[keep]
        labels = labels[keep]
        disc_loss = F.binary_cross_entropy_with_logits(disc_logits.float(), labels)
        with torch.no_grad():
            accuracy = ((disc_logits > 0).float() == labels).float().mean()
        self.stats = {"mlm_loss": float(mlm_loss.detach()), "disc_loss": float(disc_loss.detach()),
                      "disc_accuracy": float(accuracy), "replaced": float(labels.mean())}
        return mlm_loss + self.disc_weight * disc_loss

    def extra_state(self) -> dict[str, torch.Tensor]:
        """Every weight but the discriminator encoder's, keyed without :data:`PREFIX`."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("discriminator.")}

    def load_extra(self, state: dict[str, torch.Tensor]) -> None:
        """Load what :meth:`extra_state` gave (the discriminator is loaded separately)."""
        mine = self.extra_state()
        if set(state) != set(mine):
            missing, unexpected = sorted(set(mine) - set(state)), sorted(set(state) - set(mine))
            raise TokvecError(f"the checkpoint's generator weights do not fit: missing "
                              f"{missing[:3]}, unexpected {unexpected[:3]}")
        with torch.no_grad():
            for name, value in state.items():
                mine[name].copy_(value)

    def describe(self) -> dict[str, Any]:
        """The generator settings recorded in config.json."""
        g = self.generator.cfg
        return {"generator": {"d_model": g.d_model, "layers": g.layers, "heads": g.heads,
                              "ffn": g.ffn, "shared_embeddings": True},
                "disc_weight": self.disc_weight}
