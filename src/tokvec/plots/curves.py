"""Training curves from a model's ``training.jsonl``: loss, learning rate, speed, dev metrics.

Each log line is a JSON object. Whatever of these fields a line has is drawn:

- progress (x axis, first present wins): ``words_done``, ``tokens_done``, ``examples_done``,
  ``step``, ``epoch``;
- losses: any field with ``loss`` in its name (raw values faint, a moving average on top);
- learning rate: ``lr`` or ``learning_rate``;
- speed: fields ending in ``_per_s`` (``words_per_s``, ``tokens_per_s`` ...);
- evaluation metrics (per epoch for task models): fields starting with ``dev_``, ``val_`` or
  ``eval_`` (or nested under ``dev``/``val``/``eval``), against ``epoch`` where lines have it.

>>> import json, tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> lines = [{"step": i, "loss": 3 - i / 10, "lr": 0.025, "words_done": 1000 * i}
...          for i in range(1, 6)]
>>> _ = (d / "training.jsonl").write_text("\\n".join(json.dumps(x) for x in lines))
>>> len(read_training_log(d / "training.jsonl"))
5
>>> plot_training_curves(d, d / "curve.png").stat().st_size > 10_000
True
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TokvecError
from ..modeldir import TRAINING_LOG
from .common import human_count, new_figure, save_png

_PROGRESS_KEYS = (("words_done", "words processed"), ("tokens_done", "tokens processed"),
                  ("examples_done", "examples processed"), ("step", "step"),
                  ("epoch", "epoch"))
_METRIC_PREFIXES = ("dev_", "val_", "eval_", "dev.", "val.", "eval.")
_LR_KEYS = ("lr", "learning_rate")


def read_training_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The log's records, nested objects flattened (``{"dev": {"f1": 1}} -> "dev.f1"``)."""
    p = Path(path)
    if not p.is_file():
        raise TokvecError(f"no training log ({TRAINING_LOG}) here: the model was not trained by "
                          "tokvec (imported or converted models have none)", path=p.parent)
    records: list[dict[str, Any]] = []
    with open(p, encoding="utf-8", errors="strict") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise TokvecError(f"malformed JSON ({exc.msg})", path=p, line=number) from None
                if not isinstance(obj, dict):
                    raise TokvecError("expected a JSON object per line", path=p, line=number)
                records.append(_flatten(obj))
        except UnicodeDecodeError:
            raise TokvecError("invalid UTF-8", path=p) from None
    if not records:
        raise TokvecError("the training log is empty", path=p)
    return records


def _flatten(obj: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if isinstance(value, dict):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _series(records: Sequence[dict[str, Any]], xkey: str, ykey: str) -> tuple[np.ndarray,
                                                                              np.ndarray]:
    pts = [(_number(r.get(xkey)), _number(r.get(ykey))) for r in records]
    pts = [(x, y) for x, y in pts if x is not None and y is not None]
    arr = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]


def _is_metric(key: str) -> bool:
    return key.startswith(_METRIC_PREFIXES) and "loss" not in key


def _numeric_keys(records: Sequence[dict[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        for k, v in r.items():
            if _number(v) is not None:
                seen.setdefault(k, None)
    return list(seen)


def _moving_average(y: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or y.size < 3:
        return y
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window // 2, y[0]), y, np.full(window - 1 - window // 2,
                                                                    y[-1])])
    return np.convolve(padded, kernel, mode="valid")


def _epoch_starts(records: Sequence[dict[str, Any]], xkey: str) -> list[float]:
    """Progress values where a new epoch begins (none when each line is a whole epoch)."""
    starts, last, lines = [], None, 0
    for r in records:
        e, x = _number(r.get("epoch")), _number(r.get(xkey))
        if e is None or x is None:
            continue
        lines += 1
        if last is not None and int(e) != int(last):
            starts.append(x)
        last = e
    return starts if lines > 2 * (len(starts) + 1) else []


def plan_panels(records: Sequence[dict[str, Any]]) -> tuple[tuple[str, str] | None,
                                                           list[tuple[str, list[str]]]]:
    """The progress field (name, axis label) and the panels ``(kind, fields)`` to draw.

    >>> plan_panels([{"epoch": 1, "step": 9, "loss": 0.5, "dev_macro_f1": 0.7}])
    (('step', 'step'), [('loss', ['loss']), ('evaluation', ['dev_macro_f1'])])
    """
    keys = _numeric_keys(records)
    progress = next(((k, label) for k, label in _PROGRESS_KEYS if k in keys), None)
    metrics = [k for k in keys if _is_metric(k)]
    losses = [k for k in keys if "loss" in k]
    lrs = [k for k in keys if k in _LR_KEYS]
    speeds = [k for k in keys if k.endswith("_per_s")]
    panels = [p for p in (("loss", losses), ("learning rate", lrs), ("speed", speeds),
                          ("evaluation", metrics)) if p[1]]
    return progress, panels


def plot_training_curves(model_dir: str | os.PathLike[str], output: str | os.PathLike[str],
                         title: str | None = None) -> Path:
    """Draw the training log of ``model_dir`` into the PNG ``output``; return its path."""
    d = Path(model_dir)
    if not d.is_dir():
        raise TokvecError("no such model directory", path=d)
    records = read_training_log(d / TRAINING_LOG)
    progress, panels = plan_panels(records)
    if progress is None or not panels:
        raise TokvecError("the training log has no plottable fields (need a progress field "
                          "such as step or words_done and a loss, lr, speed or dev metric)",
                          path=d / TRAINING_LOG)
    xkey, xlabel = progress
    ncols = 2 if len(panels) > 1 else 1
    nrows = math.ceil(len(panels) / ncols)
    fig = new_figure(6.0 * ncols, 3.6 * nrows)
    boundaries = _epoch_starts(records, xkey) if xkey != "epoch" else []
    for i, (kind, fields) in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        if kind == "evaluation":
            _draw_metrics(ax, records, fields, xkey, xlabel)
        else:
            _draw_progress_panel(ax, kind, records, fields, xkey, xlabel, boundaries)
    fig.suptitle(title or f"training of {d.name}" + _config_note(d))
    return save_png(fig, output)


def _config_note(d: Path) -> str:
    try:
        cfg = json.loads((d / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    parts = [str(cfg[k]) for k in ("kind", "method", "objective", "head")
             if isinstance(cfg.get(k), str)]
    if isinstance(cfg.get("d_model"), int):
        parts.append(f"d_model={cfg['d_model']}")
    return f" ({', '.join(parts)})" if parts else ""


def _draw_progress_panel(ax: Any, kind: str, records: Sequence[dict[str, Any]],
                         fields: list[str], xkey: str, xlabel: str,
                         boundaries: list[float]) -> None:
    for field in fields:
        x, y = _series(records, xkey, field)
        if x.size == 0:
            continue
        if kind == "loss" and x.size >= 20:
            line = ax.plot(x, y, alpha=0.25, linewidth=0.8)[0]
            smooth = _moving_average(y, max(3, x.size // 25))
            ax.plot(x, smooth, color=line.get_color(), linewidth=1.6,
                    label=f"{field} (moving average)")
        else:
            ax.plot(x, y, marker="o" if x.size < 20 else None, markersize=3, label=field)
    for b in boundaries:
        ax.axvline(b, color="0.7", linewidth=0.7, linestyle=":")
    _readable_counts(ax.xaxis)
    if kind == "speed":
        _readable_counts(ax.yaxis)
    units = {"loss": "loss (nats per prediction)", "learning rate": "learning rate",
             "speed": " / ".join(f.removesuffix("_per_s") for f in fields) + " per second"}
    ax.set_ylabel(units[kind])
    ax.set_xlabel(xlabel + (" (dotted: epoch starts)" if boundaries else ""))
    ax.set_title(kind)
    ax.grid(alpha=0.3)
    if kind == "speed":
        ax.set_ylim(bottom=0)
    ax.legend(fontsize="small")


def _readable_counts(axis: Any) -> None:
    """Tick labels such as ``2.5M`` instead of a ``1e7`` offset."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _pos: human_count(value)))


def _draw_metrics(ax: Any, records: Sequence[dict[str, Any]], fields: list[str], xkey: str,
                  xlabel: str) -> None:
    has_epoch = any(_number(r.get("epoch")) is not None and any(f in r for f in fields)
                    for r in records)
    mkey, mlabel = ("epoch", "epoch") if has_epoch else (xkey, xlabel)
    for field in fields:
        x, y = _series(records, mkey, field)
        if x.size:
            ax.plot(x, y, marker="o", markersize=4, label=field)
    ax.set_xlabel(mlabel)
    ax.set_ylabel("score")
    ax.set_title("evaluation on held-out data")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
