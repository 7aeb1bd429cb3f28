"""The model directory: one folder per model, JSON plus safetensors, nothing executable.

::

    model/
      config.json             kind, d_model, hyper-parameters, library and format version
      tokenizer.json          the HuggingFace tokenizers file (vocabulary included)
      tokenizer_config.json   tokvec's tokenizer settings and token counts
      embeddings.safetensors  the |V| x d_model table (plus context/subword tables)
      encoder.safetensors     contextual models only
      metrics.json            written by ``tokvec evaluate``
      training.jsonl          one line per logged training step

Loading validates ``config.json`` first: a known ``kind``, a format version this library reads,
and file names that stay inside the directory. Model kinds register a loader with
:func:`register_kind`; :func:`load_model` dispatches on ``kind``. A HuggingFace BERT-family
checkpoint directory (``config.json`` with ``model_type``) loads through the contextual loader.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load_file, save_file

from . import __version__
from .atomic import atomic_dir, write_json
from .errors import TokvecError

FORMAT_VERSION = 1
CONFIG = "config.json"
EMBEDDINGS = "embeddings.safetensors"
METRICS = "metrics.json"
TRAINING_LOG = "training.jsonl"

_LOADERS: dict[str, Callable[[Path, dict[str, Any]], Any]] = {}


def register_kind(kind: str, loader: Callable[[Path, dict[str, Any]], Any]) -> None:
    """Make :func:`load_model` able to load directories whose config says ``kind``."""
    _LOADERS[kind] = loader


# Which module registers each kind: only that one is imported, so loading a static model does
# not pay for importing torch.
KIND_MODULES = {"static": "static_model", "bert": "contextual", "bilstm": "contextual",
                "hf": "contextual", "classifier": "classify", "multilingual": "multilingual",
                "seq2seq": "seq2seq"}


def _ensure_loader(kind: str) -> None:
    """Import the module whose import registers ``kind`` (if it is not registered yet)."""
    import importlib

    module = KIND_MODULES.get(kind)
    if kind in _LOADERS or module is None:
        return
    importlib.import_module(f"{__package__}.{module}")


def read_config(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and validate ``config.json`` of a model directory."""
    d = Path(directory)
    if not d.exists():
        raise TokvecError("no such model directory", path=d)
    if not d.is_dir():
        raise TokvecError("expected a model directory (with config.json), got a file", path=d)
    path = d / CONFIG
    if not path.is_file():
        raise TokvecError("not a model directory: config.json is missing", path=d)
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except PermissionError:
        raise TokvecError("permission denied", path=path) from None
    except (ValueError, RecursionError) as exc:  # bad JSON or UTF-8, 4300+ digit ints, nesting
        raise TokvecError(f"malformed JSON ({exc})", path=path) from None
    if not isinstance(cfg, dict):
        raise TokvecError("expected a JSON object", path=path)
    if "model_type" in cfg and "kind" not in cfg:
        return {"kind": "hf", **cfg}
    version = cfg.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise TokvecError("missing or invalid format_version", path=path)
    if version > FORMAT_VERSION:
        raise TokvecError(f"format_version {version} is newer than this tokvec reads "
                          f"({FORMAT_VERSION}); upgrade tokvec", path=path)
    for key, value in cfg.items():
        if key.endswith("_file") and isinstance(value, str):
            safe_member(d, value, path)
    return cfg


def safe_member(directory: Path, name: str, source: Path | None = None) -> Path:
    """``directory / name``, refused when ``name`` would leave the directory."""
    try:
        candidate = (directory / name).resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # a NUL byte, a symlink loop
        raise TokvecError(f"unusable file name {name!r} ({exc})",
                          path=source or directory) from None
    if Path(name).is_absolute() or directory.resolve() not in candidate.parents:
        raise TokvecError(f"refusing a file outside the model directory: {name!r}",
                          path=source or directory)
    return candidate


def load_model(directory: str | os.PathLike[str]) -> Any:
    """Load any tokvec model directory (or HuggingFace BERT checkpoint) by its config's kind."""
    cfg = read_config(directory)
    kind = cfg.get("kind")
    if isinstance(kind, str):
        _ensure_loader(kind)
    loader = _LOADERS.get(kind) if isinstance(kind, str) else None
    if loader is None:
        known = ", ".join(sorted(set(_LOADERS) | set(KIND_MODULES)))
        raise TokvecError(f"unknown model kind {kind!r} (known: {known})",
                          path=Path(directory) / CONFIG)
    return loader(Path(directory), cfg)


def load_tensors(path: Path, required: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """Load a safetensors file as numpy arrays, checking the named tensors are present."""
    if not path.is_file():
        raise TokvecError("missing model file", path=path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise TokvecError(f"not a readable safetensors file ({exc})", path=path) from None
    for name in required:
        if name not in tensors:
            raise TokvecError(f"tensor {name!r} missing", path=path)
    return tensors


def base_config(kind: str, d_model: int, **extra: Any) -> dict[str, Any]:
    """The fields every config.json carries."""
    return {"format_version": FORMAT_VERSION, "tokvec_version": __version__, "kind": kind,
            "d_model": int(d_model), **extra}


def write_model_dir(directory: str | os.PathLike[str], config: dict[str, Any],
                    tokenizer: Any, tensors: dict[str, dict[str, np.ndarray]],
                    keep: tuple[str, ...] = (METRICS, TRAINING_LOG),
                    extra_json: dict[str, Any] | None = None,
                    extra_files: dict[str, bytes] | None = None,
                    extra_tokenizers: dict[str, Any] | None = None) -> Path:
    """Write a complete model directory atomically.

    ``tensors`` maps a safetensors file name to its arrays; ``extra_files`` holds other files
    (a training log) to write inside it; ``extra_tokenizers`` maps a sub-folder name to a
    further tokenizer saved there (a translation model's source side). Files named in ``keep``
    that already exist in the old directory (metrics, training log) are carried over unless
    given anew.
    """
    target = Path(directory)
    with atomic_dir(target) as tmp:
        write_json(tmp / CONFIG, config)
        tokenizer.save(tmp)
        for sub, extra in (extra_tokenizers or {}).items():
            extra.save(tmp / safe_member(tmp, sub).name)
        for filename, arrays in tensors.items():
            save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()},
                      str(tmp / filename), metadata={"format": "np"})
        for name, obj in (extra_json or {}).items():
            write_json(tmp / name, obj)
        for name, data in (extra_files or {}).items():
            (tmp / safe_member(tmp, name).name).write_bytes(data)
        for name in keep:
            old = target / name
            if old.is_file() and not (tmp / name).exists():
                (tmp / name).write_bytes(old.read_bytes())
    return target


def update_metrics(directory: str | os.PathLike[str], entries: dict[str, Any]) -> None:
    """Merge ``entries`` into the directory's metrics.json (atomically)."""
    path = Path(directory) / METRICS
    current: dict[str, Any] = {}
    if path.is_file():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            current = {}
    current.update(entries)
    write_json(path, current)
