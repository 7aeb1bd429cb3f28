"""Training checkpoints: tables as safetensors, position and settings as JSON, written atomically.

A checkpoint is the directory ``WORK/checkpoint/``::

    tables.safetensors   every trainable table (e.g. ``input``, ``output``)
    state.json           position (epoch, next chunk), words done, step, elapsed seconds,
                         the hyper-parameters, the corpus fingerprint and the training log size

It is replaced whole (``atomic_dir``), so a crash while writing leaves the previous checkpoint.
The random state needs no storage: every chunk seeds its generator from (seed, epoch, chunk),
so the position determines it. Nothing is pickled.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> save_checkpoint(d, {"input": np.ones((2, 3), np.float32)}, {"epoch": 1, "chunk": 4})
>>> tables, state = load_checkpoint(d)
>>> tables["input"].shape, state["chunk"]
((2, 3), 4)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_dir, restore_interrupted, write_json
from ..errors import TokvecError

CHECKPOINT = "checkpoint"
FORMAT = 1


def checkpoint_dir(work_dir: Path) -> Path:
    return Path(work_dir) / CHECKPOINT


def has_checkpoint(work_dir: Path) -> bool:
    restore_interrupted(checkpoint_dir(work_dir))
    return (checkpoint_dir(work_dir) / "state.json").is_file()


def save_checkpoint(work_dir: Path, tables: dict[str, np.ndarray], state: dict[str, Any]) -> None:
    """Write tables and state as one atomic directory replacement."""
    from safetensors.numpy import save_file

    with atomic_dir(checkpoint_dir(work_dir)) as tmp:
        save_file({k: np.ascontiguousarray(v) for k, v in tables.items()},
                  str(tmp / "tables.safetensors"), metadata={"format": "np"})
        write_json(tmp / "state.json", {"checkpoint_format": FORMAT, **state})


def load_checkpoint(work_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint back; a clear error when there is none or it is damaged."""
    from ..modeldir import load_tensors

    d = checkpoint_dir(work_dir)
    restore_interrupted(d)
    path = d / "state.json"
    if not path.is_file():
        raise TokvecError("no checkpoint to resume from (expected state.json)", path=d)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TokvecError(f"damaged checkpoint ({exc})", path=path) from None
    if not isinstance(state, dict) or state.get("checkpoint_format") != FORMAT:
        raise TokvecError("unknown checkpoint format", path=path)
    return load_tensors(d / "tables.safetensors"), state
