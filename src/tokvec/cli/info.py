"""``tokvec info MODEL_DIR [--json]``: sizes, parameters, memory, config and metrics of a model.

The human-readable form prints, for the input table, the memory of dense rows against one-hot
vectors for the same vocabulary (dense table, one-hot identity matrix, per-token costs, the ratio,
and the per-token cost of a sparse one-hot index).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show a model's sizes, parameters, memory and metrics",
                       description="Describe a model directory: parameters per component, "
                                   "memory of the dense table against one-hot vectors, disk "
                                   "size, training config and the latest metrics.")
    p.add_argument("model", metavar="MODEL_DIR", help="a tokvec model directory")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=_info)


def _info(args: argparse.Namespace) -> int:
    from ..modelinfo import model_info

    info = model_info(args.model)
    if args.json:
        print_json(info)
    else:
        print(format_info(info))
    return 0


def _bytes(n: float) -> str:
    from ..plots.common import human_bytes

    return human_bytes(n)


def format_info(info: dict[str, Any]) -> str:
    """The text ``tokvec info`` prints for a :func:`tokvec.modelinfo.model_info` dict.

    >>> text = format_info({"path": "m", "kind": "static", "vocab_size": 1000, "d_model": 50,
    ...     "parameters": {"embeddings": 50000}, "parameters_total": 50000,
    ...     "memory": {"dense_bytes": 200000, "onehot_bytes": 4000000,
    ...                "dense_bytes_per_token": 200, "onehot_bytes_per_token": 4000,
    ...                "onehot_sparse_bytes_per_token": 12, "ratio_onehot_to_dense": 20.0},
    ...     "config": {"method": "sgns"}, "files": {"config.json": 10}, "disk_bytes": 10,
    ...     "metrics": None})
    >>> print(text.splitlines()[3])
      embeddings               50,000
    """
    lines = [f"model      {info['path']}",
             f"kind       {info.get('kind')}   vocabulary {info.get('vocab_size'):,} tokens   "
             f"d_model {info.get('d_model')}",
             "parameters"]
    for name, count in info["parameters"].items():
        lines.append(f"  {name:<20} {count:>10,}")
    lines.append(f"  {'total':<20} {info['parameters_total']:>10,}")
    mem = info.get("memory")
    if mem:
        lines += [
            "memory of the input table (float32)",
            f"  dense table          {_bytes(mem['dense_bytes']):>12}   "
            f"({_bytes(mem['dense_bytes_per_token'])} per token)",
            f"  one-hot matrix       {_bytes(mem['onehot_bytes']):>12}   "
            f"({_bytes(mem['onehot_bytes_per_token'])} per token)",
            f"  one-hot / dense      {mem['ratio_onehot_to_dense']:>12,.1f} x",
            f"  sparse one-hot       {_bytes(mem['onehot_sparse_bytes_per_token']):>12}   "
            "per token (index + value)",
        ]
    lines.append(f"disk       {_bytes(info['disk_bytes'])} in {len(info['files'])} files")
    for name, size in info["files"].items():
        lines.append(f"  {name:<28} {_bytes(size):>10}")
    config = {k: v for k, v in info["config"].items()
              if k not in ("format_version", "tokvec_version", "kind")}
    lines.append("config")
    lines += [f"  {k:<20} {_short(v)}" for k, v in config.items()]
    metrics = info.get("metrics")
    lines.append("metrics" + ("" if metrics else "    none (run `tokvec evaluate`)"))
    if metrics:
        lines += [f"  {k:<20} {_short(v, 200)}" for k, v in metrics.items()]
    return "\n".join(lines)


def _short(value: Any, width: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."
