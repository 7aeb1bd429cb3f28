"""Resumable training state as safetensors + JSON (no pickle): trainable weights, optimizer
moments, the torch random state and the loop's counters.

``optimizer.state_dict()`` is split in two: its tensors go to ``state.safetensors`` under
``opt{i}.{param}.{name}``, everything else (param groups, scalar state) to ``state.json``.

>>> import tempfile, torch
>>> net = torch.nn.Linear(2, 1)
>>> opt = torch.optim.Adam(net.parameters(), lr=0.1)
>>> net(torch.ones(1, 2)).sum().backward(); opt.step()
>>> d = tempfile.mkdtemp() + "/ckpt"
>>> save_checkpoint(d, net, [opt], {"epoch": 1})
>>> net2 = torch.nn.Linear(2, 1); opt2 = torch.optim.Adam(net2.parameters(), lr=0.1)
>>> load_checkpoint(d, net2, [opt2])["epoch"]
1
>>> bool(torch.equal(net.weight, net2.weight))
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..atomic import atomic_dir, restore_interrupted, write_json
from ..errors import TokvecError

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"
ROWS_SUFFIX = "@rows"


def save_checkpoint(directory: str | os.PathLike[str], network: torch.nn.Module,
                    optimizers: Sequence[torch.optim.Optimizer], state: dict[str, Any],
                    rows: dict[str, torch.Tensor] | None = None) -> None:
    """Write trainable parameters, optimizer state, RNG state and ``state`` atomically.

    ``rows`` maps a parameter name to the row indices that training has touched: for those
    (large, sparsely updated embedding tables) only these rows of the parameter and of its
    optimizer state are stored; the other rows are unchanged since the start (and equal in the
    best weights, which the task directory holds), and their optimizer state is zero.
    """
    rows = rows or {}
    tensors: dict[str, torch.Tensor] = {}
    for name, idx in rows.items():
        tensors[f"rows.{name}"] = idx.detach().cpu().long().contiguous()

    def put(key: str, name: str | None, value: torch.Tensor, param_shape: Any = None) -> None:
        value = value.detach().cpu()
        if name in rows and (param_shape is None or value.shape == param_shape):
            value, key = value[rows[name]], key + ROWS_SUFFIX
        tensors[key] = value.contiguous()

    params = dict(network.named_parameters())
    for name, param in params.items():
        if param.requires_grad:
            put(f"param.{name}", name, param)
    opt_meta = []
    names = {id(p): n for n, p in params.items()}
    for i, opt in enumerate(optimizers):
        sd = opt.state_dict()
        order = [p for g in opt.param_groups for p in g["params"]]
        scalars: dict[str, dict[str, Any]] = {}
        for index, entries in sd["state"].items():
            owner = order[int(index)]
            for key, value in entries.items():
                if isinstance(value, torch.Tensor):
                    put(f"opt{i}.{index}.{key}", names.get(id(owner)), value, owner.shape)
                else:
                    scalars.setdefault(str(index), {})[key] = value
        groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()}
                  for g in sd["param_groups"]]
        opt_meta.append({"param_groups": groups, "scalars": scalars,
                         "indices": sorted(int(k) for k in sd["state"])})
    tensors["rng.torch"] = torch.get_rng_state()
    with atomic_dir(directory) as tmp:
        save_file(tensors, str(tmp / STATE_TENSORS))
        write_json(tmp / STATE_JSON, {**state, "optimizers": opt_meta})


def read_state(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON half of a checkpoint (raises if there is none)."""
    restore_interrupted(Path(directory).parent)  # the task directory is replaced whole
    restore_interrupted(directory)
    path = Path(directory) / STATE_JSON
    if not path.is_file():
        raise TokvecError("no checkpoint to resume from (the run finished, or never completed "
                          "an epoch)", path=Path(directory).parent)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TokvecError(f"malformed checkpoint ({exc})", path=path) from None


def load_checkpoint(directory: str | os.PathLike[str], network: torch.nn.Module,
                    optimizers: Sequence[torch.optim.Optimizer]) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote; return the loop's ``state``."""
    state = read_state(directory)
    path = Path(directory) / STATE_TENSORS
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises several types on a damaged file
        raise TokvecError(f"unreadable checkpoint ({exc})", path=path) from None
    params = dict(network.named_parameters())
    rows = {k[len("rows."):]: v for k, v in tensors.items() if k.startswith("rows.")}

    def full(name: str | None, value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """Scatter a rows-only tensor back to ``like``'s shape (zeros elsewhere)."""
        out = torch.zeros_like(like)
        out[rows[str(name)]] = value
        return out

    with torch.no_grad():
        for key, value in tensors.items():
            if key.startswith("param."):
                subset = key.endswith(ROWS_SUFFIX)
                name = key[len("param."):len(key) - (len(ROWS_SUFFIX) if subset else 0)]
                param = params.get(name)
                if param is None or (not subset and param.shape != value.shape) or (
                        subset and name not in rows):
                    raise TokvecError(f"checkpoint parameter {name!r} does not fit the model",
                                      path=path)
                if subset:
                    param[rows[name]] = value
                else:
                    param.copy_(value)
    names = {id(p): n for n, p in params.items()}
    metas = state.pop("optimizers", [])
    if len(metas) != len(optimizers):
        raise TokvecError("checkpoint optimizers do not match the configuration", path=path)
    for i, (opt, meta) in enumerate(zip(optimizers, metas, strict=True)):
        order = [p for g in opt.param_groups for p in g["params"]]
        opt_state: dict[int, dict[str, Any]] = {}
        for index in meta["indices"]:
            owner = order[int(index)]
            entries = dict(meta["scalars"].get(str(index), {}))
            prefix = f"opt{i}.{index}."
            for key, value in tensors.items():
                if not key.startswith(prefix):
                    continue
                if key.endswith(ROWS_SUFFIX):
                    entries[key[len(prefix):-len(ROWS_SUFFIX)]] = full(
                        names.get(id(owner)), value, owner)
                else:
                    entries[key[len(prefix):]] = value
            opt_state[int(index)] = entries
        opt.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
    if "rng.torch" in tensors:
        torch.set_rng_state(tensors["rng.torch"])
    state["rows"] = rows
    return state
