"""Training checkpoints: weights, optimizer, schedule, RNG scheme and data position.

A checkpoint is a directory ``MODEL_DIR/checkpoint/`` written atomically (whole or not at all)::

    state.json              step, tokens seen, epoch and batch, schedule, options, optimizer
                            hyper-parameters, RNG scheme, world size
    model.safetensors       every weight of the encoder (and MLM head, under "mlm_head.")
    optimizer.safetensors   AdamW moments and step counts, as "<param index>.<name>"
    tokenizer.json          the tokenizer being trained with

No pickle: tensors go to safetensors, everything else to JSON. Randomness needs no saved
generator state: every step seeds dropout and masking from ``(seed, rank, step)``, so a
resumed run draws exactly what the uninterrupted one would have.

>>> step_seed(seed=1, rank=0, step=5) != step_seed(seed=1, rank=1, step=5)
True
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.numpy import save_file

from ..atomic import atomic_dir, restore_interrupted, write_json
from ..errors import TokvecError
from ..modeldir import load_tensors
from ..tokenization import Tokenizer

CHECKPOINT = "checkpoint"
STATE = "state.json"
WEIGHTS = "model.safetensors"
OPTIMIZER = "optimizer.safetensors"
RNG_SCHEME = "per-step: torch.manual_seed(step_seed(seed, rank, step)), masks from +1"


def step_seed(seed: int, rank: int, step: int) -> int:
    """A distinct 63-bit seed for each (seed, rank, step)."""
    return (seed * 1_000_003 + rank * 7_919 + step * 104_729) % (1 << 62)


def optimizer_arrays(optimizer: torch.optim.Optimizer) -> tuple[dict[str, np.ndarray], list]:
    """Optimizer state as flat arrays plus JSON-able parameter groups."""
    sd = optimizer.state_dict()
    arrays: dict[str, np.ndarray] = {}
    for index, entries in sd["state"].items():
        for name, value in entries.items():
            t = value if torch.is_tensor(value) else torch.tensor(value)
            arrays[f"{index}.{name}"] = t.detach().cpu().numpy()
    groups = [{k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}
              for g in sd["param_groups"]]
    return arrays, groups


def restore_optimizer(optimizer: torch.optim.Optimizer, arrays: dict[str, np.ndarray],
                      groups: list[dict[str, Any]]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in arrays.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = torch.from_numpy(np.array(value))
    fixed = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in groups]
    optimizer.load_state_dict({"state": state, "param_groups": fixed})


def save_checkpoint(model_dir: Path, weights: dict[str, torch.Tensor],
                    optimizer: torch.optim.Optimizer, tokenizer: Tokenizer,
                    state: dict[str, Any]) -> Path:
    """Write ``model_dir/checkpoint`` atomically (rank 0 only)."""
    opt_arrays, groups = optimizer_arrays(optimizer)
    with atomic_dir(model_dir / CHECKPOINT) as tmp:
        save_file({k: np.ascontiguousarray(v.detach().cpu().numpy())
                   for k, v in weights.items()}, str(tmp / WEIGHTS))
        save_file(opt_arrays, str(tmp / OPTIMIZER))
        tokenizer.save(tmp)
        write_json(tmp / STATE, {**state, "optimizer_groups": groups, "rng": RNG_SCHEME})
    return model_dir / CHECKPOINT


def read_checkpoint(model_dir: Path) -> tuple[dict[str, Any], dict[str, np.ndarray],
                                               dict[str, np.ndarray], Tokenizer]:
    """``(state, weights, optimizer arrays, tokenizer)`` of ``model_dir/checkpoint``."""
    d = model_dir / CHECKPOINT
    restore_interrupted(model_dir)  # the final save replaces the whole directory
    restore_interrupted(d)
    path = d / STATE
    if not path.is_file():
        raise TokvecError("no checkpoint to resume from (run without --resume to start)",
                          path=d)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TokvecError(f"malformed checkpoint state ({exc})", path=path) from None
    return state, load_tensors(d / WEIGHTS), load_tensors(d / OPTIMIZER), Tokenizer.load(d)
