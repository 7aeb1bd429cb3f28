"""What a model directory holds, read cheaply: files, tensor shapes, parameters, the input table.

Tensor shapes come from safetensors *headers* (``safe_open``), so a large contextual model is
described without reading its weights. :func:`input_embedding_table` finds the token-embedding
rows of any model kind: the ``embeddings`` tensor of a static model, or the 2-D tensor with one
row per tokenizer entry in a contextual model or BERT checkpoint.

>>> import numpy as np, tempfile
>>> from tokvec.static_model import StaticModel
>>> d = tempfile.mkdtemp() + "/m"
>>> _ = StaticModel.from_vectors(["cat", "dog"], np.ones((2, 3), np.float32)).save(d)
>>> tensor_shapes(d)
{'embeddings.safetensors': {'embeddings': [7, 3]}}
>>> parameter_counts(d)
{'embeddings': 21}
>>> table = input_embedding_table(d)
>>> table.name, table.matrix.shape
('embeddings', (7, 3))
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError, safe_open

from .errors import TokvecError
from .modeldir import METRICS, read_config
from .tokenization import Tokenizer

# Tensor names that mark a token-embedding (input) table, best first.
_INPUT_NAME_HINTS = ("word_embeddings", "tok_embeddings", "token_embeddings", "wte",
                     "embed_tokens", "embeddings", "embedding", "embed")
# Names that mark an output or context table of the same shape.
_NOT_INPUT_HINTS = ("context", "output", "decoder", "lm_head", "position", "subword", "bucket")


def _safetensors_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.safetensors") if p.is_file())


def tensor_shapes(directory: str | os.PathLike[str]) -> dict[str, dict[str, list[int]]]:
    """``{file name: {tensor name: shape}}`` for every ``*.safetensors`` file, headers only."""
    out: dict[str, dict[str, list[int]]] = {}
    for path in _safetensors_files(Path(directory)):
        try:
            with safe_open(str(path), framework="numpy") as handle:
                out[path.name] = {name: list(handle.get_slice(name).get_shape())
                                  for name in handle.keys()}  # noqa: SIM118 (not a dict)
        except (SafetensorError, OSError, ValueError) as exc:
            raise TokvecError(f"not a readable safetensors file ({exc})", path=path) from None
    return out


def _component(tensor_name: str) -> str:
    """Group ``bert.encoder.layer.3.attention.self.query.weight`` as ``encoder``, etc."""
    parts = [p for p in tensor_name.split(".") if p not in ("bert", "model", "module")]
    return parts[0] if parts else tensor_name


def parameter_counts(directory: str | os.PathLike[str]) -> dict[str, int]:
    """Parameters per component (first part of the tensor name), from the headers.

    Static models' ``counts`` tensor (word frequencies) is not a parameter and is left out.
    """
    counts: dict[str, int] = {}
    for tensors in tensor_shapes(directory).values():
        for name, shape in tensors.items():
            if name == "counts":
                continue
            key = _component(name)
            counts[key] = counts.get(key, 0) + int(np.prod(shape, dtype=np.int64))
    return counts


def disk_usage(directory: str | os.PathLike[str]) -> dict[str, int]:
    """Bytes of each file in the model directory (sub-folders summed under their name)."""
    out: dict[str, int] = {}
    for child in sorted(Path(directory).iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_file():
            out[child.name] = child.stat().st_size
        elif child.is_dir():
            out[child.name + "/"] = sum(p.stat().st_size for p in child.rglob("*") if p.is_file())
    return out


def latest_metrics(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The directory's ``metrics.json``, or None when there is none."""
    path = Path(directory) / METRICS
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TokvecError(f"malformed JSON ({exc})", path=path) from None
    return data if isinstance(data, dict) else {"value": data}


@dataclass
class InputTable:
    """Token strings, their training counts (None if unknown) and the input embedding rows."""

    tokens: list[str]
    counts: np.ndarray | None
    matrix: np.ndarray
    name: str
    tokenizer_kind: str


def _pick_input_tensor(shapes: dict[str, dict[str, list[int]]], vocab_size: int,
                       directory: Path) -> tuple[str, str]:
    candidates = [(f, n) for f, tensors in shapes.items() for n, s in tensors.items()
                  if len(s) == 2 and s[0] == vocab_size]
    if not candidates:
        raise TokvecError(f"no 2-D tensor with one row per token ({vocab_size} rows) in the "
                          "model's safetensors files", path=directory)

    def rank(item: tuple[str, str]) -> tuple[int, int, str]:
        name = item[1].lower()
        bad = any(h in name for h in _NOT_INPUT_HINTS)
        hint = next((i for i, h in enumerate(_INPUT_NAME_HINTS) if h in name),
                    len(_INPUT_NAME_HINTS))
        return (int(bad), hint, item[1])

    return min(candidates, key=rank)


def input_embedding_table(directory: str | os.PathLike[str]) -> InputTable:
    """The input (token) embedding rows of a static or contextual model directory."""
    d = Path(directory)
    read_config(d)
    tokenizer = Tokenizer.load(d)
    vocab = tokenizer.vocabulary()
    shapes = tensor_shapes(d)
    filename, name = _pick_input_tensor(shapes, vocab.__len__(), d)
    with safe_open(str(d / filename), framework="numpy") as handle:
        matrix = np.asarray(handle.get_tensor(name), dtype=np.float32)
    counts = vocab.counts if vocab.counts.any() else None
    return InputTable(vocab.tokens, counts, matrix, name, tokenizer.kind)


def model_info(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Everything ``tokvec info`` shows, as one JSON-ready dict.

    Parameters come from the model's own ``info()`` where it has one (static models), else
    from the safetensors headers. Memory compares the dense input table with one-hot vectors.
    """
    from .modeldir import load_model
    from .table import memory_report

    d = Path(directory)
    config = read_config(d)
    files = disk_usage(d)
    header_params = parameter_counts(d)
    model = load_model(d)
    own = model.info() if callable(getattr(model, "info", None)) else None
    params = dict(own["parameters"]) if own and "parameters" in own else header_params
    vocab_size, d_model = None, None
    if own:
        vocab_size, d_model = own.get("vocab_size"), own.get("d_model")
    if vocab_size is None or d_model is None:
        tok = Tokenizer.load(d)
        try:
            _, name = _pick_input_tensor(tensor_shapes(d), tok.vocab_size, d)
            shape = next(s[name] for s in tensor_shapes(d).values() if name in s)
            vocab_size, d_model = shape
        except (TokvecError, StopIteration):
            vocab_size = tok.vocab_size
            d_model = config.get("d_model") or config.get("hidden_size")
    memory = (own or {}).get("memory") or (
        memory_report(int(vocab_size), int(d_model)) if d_model else None)
    return {"path": str(d), "kind": config.get("kind"), "vocab_size": vocab_size,
            "d_model": d_model, "parameters": params,
            "parameters_total": int(sum(params.values())), "memory": memory,
            "config": config, "files": files, "disk_bytes": int(sum(files.values())),
            "metrics": latest_metrics(d)}
