"""d_model for translation, by measurement: ``tokvec seq2seq ... --sweep-d-model 128,256,384``.

One model per d_model is trained under the same budget (``max_minutes``, ``steps`` or
``epochs`` of the base configuration) into ``OUTPUT/d{N}``; the feed-forward width is scaled
with it (``ffn = 4 * d_model``, as in the base model) and the head count is kept, unless it does
not divide d_model. Each model is scored on the dev files (greedy BLEU and chrF), and the runs go
through the same summary, recommendation and figure as ``tokvec sweep``: the smallest d_model
whose dev BLEU is within ``tolerance`` BLEU points of the best. ``OUTPUT/sweep.json`` is written
after every model, so rerunning the same command resumes; ``OUTPUT/sweep.png`` at the end.
The models train one after another in this process, so the peak memory recorded for each is
the process's high-water mark so far.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..atomic import write_json
from ..errors import TokvecError
from ..sweep.measure import maxrss_bytes
from ..sweep.plot import plot_sweep
from ..sweep.summary import format_table, per_dimension, recommend
from .config import Seq2SeqConfig

SWEEP_JSON = "sweep.json"
SWEEP_PNG = "sweep.png"
PRIMARY = "dev BLEU"


def _config_at(base: dict[str, Any], dim: int) -> dict[str, Any]:
    heads = int(base.get("heads", Seq2SeqConfig.heads))
    while dim % heads:
        heads -= 1
    return {**base, "d_model": dim, "ffn": 4 * dim, "heads": heads}


def _parameters(model_dir: Path) -> int:
    """Trained weights (a tied table counted once; the fixed output bias left out)."""
    from safetensors import safe_open

    total = 0
    for name in ("embeddings.safetensors", "seq2seq.safetensors"):
        with safe_open(str(model_dir / name), "np") as f:
            for key in f.keys():  # noqa: SIM118 - safe_open has no __iter__
                if key != "out_bias":
                    total += math.prod(f.get_slice(key).get_shape())
    return total


def sweep_d_model(pairs: Sequence[tuple[str, str]], dev: tuple[str, str],
                  output: str | os.PathLike[str], dims: Sequence[int],
                  config: dict[str, Any] | None = None, tolerance: float = 0.5,
                  log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train and score one translation model per d_model; return the sweep state."""
    from .train import train_seq2seq

    if dev is None:
        raise TokvecError("a d_model sweep needs --dev-src and --dev-tgt to score each model")
    base = dict(config or {})
    for dim in dims:  # bad options fail before anything is trained
        Seq2SeqConfig(**_config_at(base, dim))
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    path = out / SWEEP_JSON
    settings = {"task": "translation", "pairs": [list(p) for p in pairs], "dev": list(dev),
                "config": base, "tolerance": tolerance}
    state: dict[str, Any] = {"settings": settings, "runs": []}
    if path.is_file():
        old = json.loads(path.read_text(encoding="utf-8"))
        if old.get("settings") != settings:
            raise TokvecError("this sweep directory holds a sweep with other settings; use "
                              "another directory", path=path)
        state = old
    done = {int(r["dim"]) for r in state["runs"]}
    for dim in dims:
        if dim in done:
            log(f"d={dim}: kept from {path}")
            continue
        start = time.monotonic()
        result = train_seq2seq(pairs, out / f"d{dim}", _config_at(base, dim), dev=dev)
        seconds = time.monotonic() - start
        if result.interrupted:
            raise KeyboardInterrupt
        assert result.dev is not None
        model_dir = out / f"d{dim}"
        run = {"dim": dim, "repeat": 0,
               "scores": {"dev BLEU": result.dev["dev_bleu"], "dev chrF": result.dev["dev_chrf"],
                          "primary": result.dev["dev_bleu"]},
               "parameters": _parameters(model_dir), "train_seconds": seconds,
               "words_per_s": result.target_tokens / max(result.seconds, 1e-9),
               "peak_rss_bytes": maxrss_bytes(),
               "disk_bytes": sum(f.stat().st_size for f in model_dir.iterdir() if f.is_file()),
               "steps": result.steps, "dev_loss": result.dev["dev_loss"]}
        state["runs"].append(run)
        state["runs"].sort(key=lambda r: r["dim"])
        state["summary"] = _summary(state, tolerance)
        write_json(path, state)
        log(f"d={dim}: {result.steps} steps in {seconds:.0f} s, dev BLEU "
            f"{run['scores']['dev BLEU']:.2f}, chrF {run['scores']['dev chrF']:.2f}")
    state["summary"] = _summary(state, tolerance)
    write_json(path, state)
    plot_sweep({**state, "settings": {"method": "seq2seq", "corpus": pairs[0][0]}},
               out / SWEEP_PNG)
    return state


def _summary(state: dict[str, Any], tolerance: float) -> dict[str, Any]:
    rows = per_dimension(state["runs"])
    return {"primary_metric": PRIMARY, "tolerance": tolerance, "repeats": 1, "per_dim": rows,
            "recommendation": recommend(rows, tolerance, PRIMARY)}


def sweep_report(state: dict[str, Any]) -> str:
    """The table (``words/s`` is target tokens per second here) and the recommendation."""
    summary = state["summary"]
    rec = summary.get("recommendation")
    return (format_table(summary["per_dim"], PRIMARY) + "\nrecommendation: "
            + (rec["text"] if rec else "none"))
