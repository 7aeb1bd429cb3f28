"""The sweep figure: quality against d_model beside cost against d_model.

Left: one line per score (mean over repeats, error bars from min to max), the primary score
drawn thick with the tolerance band below its best mean, and the recommended d_model marked.
Right, stacked: training time, peak memory (with the pre-training baseline dashed) and
parameters, each against d_model. The d_model axis is logarithmic with a tick at every
dimension tried.

>>> import tempfile
>>> from tokvec.sweep.summary import per_dimension
>>> runs = [{"dim": d, "repeat": r, "scores": {"ws Spearman": q + r / 100, "primary": q},
...          "parameters": 1000 * d, "train_seconds": d / 10, "peak_rss_bytes": 2e8 + 1e6 * d,
...          "baseline_rss_bytes": 1.5e8, "disk_bytes": 4e3 * d, "words_per_s": 1e5}
...         for d, q in [(25, 0.40), (50, 0.47), (100, 0.51)] for r in range(2)]
>>> state = {"settings": {"method": "sgns", "corpus": "/c.txt"}, "runs": runs,
...          "summary": {"per_dim": per_dimension(runs), "primary_metric": "mean Spearman",
...                      "tolerance": 0.01, "recommendation": None}}
>>> path = plot_sweep(state, tempfile.mkdtemp() + "/sweep.png")
>>> path.stat().st_size > 20_000
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..plots.common import new_figure, save_png


def _series(rows: list[dict[str, Any]], group: str, name: str) -> tuple[np.ndarray, ...]:
    pts = [(r["dim"], r[group][name]["mean"], r[group][name]["min"], r[group][name]["max"])
           for r in rows if name in r[group] and np.isfinite(r[group][name]["mean"])]
    arr = np.asarray(pts, dtype=float).reshape(-1, 4)
    return arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]


def _dim_axis(ax: Any, dims: list[int]) -> None:
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(dims))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(d) for d in dims])
    ax.grid(alpha=0.3)


def _errorbar(ax: Any, x: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              **kwargs: Any) -> Any:
    yerr = np.vstack([mean - lo, hi - mean])
    return ax.errorbar(x, mean, yerr=yerr if np.any(yerr > 0) else None, capsize=3,
                       marker="o", markersize=4, **kwargs)


def plot_sweep(state: dict[str, Any], output: str | os.PathLike[str]) -> Path:
    """Draw ``state`` (a sweep.json object with its summary) into the PNG ``output``."""
    summary = state["summary"]
    rows = summary["per_dim"]
    dims = [r["dim"] for r in rows]
    repeats = max((r["runs"] for r in rows), default=1)
    fig = new_figure(13, 6.5)
    grid = fig.add_gridspec(3, 2, width_ratios=[1.6, 1])
    ax = fig.add_subplot(grid[:, 0])
    names = [n for n in rows[0]["scores"] if n != "primary"] if rows else []
    primary = summary["primary_metric"]
    x, mean, lo, hi = _series(rows, "scores", "primary")
    duplicate = False  # the primary score is one of the lines already (a single file, the task)
    for name in names:
        nx, nmean, nlo, nhi = _series(rows, "scores", name)
        if nx.size:
            _errorbar(ax, nx, nmean, nlo, nhi, label=name, linewidth=1.2, alpha=0.85)
            duplicate |= nmean.shape == mean.shape and bool(np.allclose(nmean, mean))
    if x.size and not duplicate:
        _errorbar(ax, x, mean, lo, hi, label=f"{primary} (primary)", color="black",
                  linewidth=2.4)
    rec = summary.get("recommendation")
    if rec:
        best, tol = rec["best_value"], rec["tolerance"]
        ax.axhspan(best - tol, best, color="tab:green", alpha=0.12,
                   label=f"within {tol:g} of the best {primary}")
        ax.axvline(rec["dim"], color="tab:green", linestyle="--", linewidth=1.2,
                   label=f"recommended d_model = {rec['dim']}")
    _dim_axis(ax, dims)
    ax.set_xlabel("d_model (vector dimensions, log scale)")
    ax.set_ylabel("score (Spearman ρ, accuracy or macro-F1; higher is better)")
    spread = "error bars: min to max over " + (f"{repeats} repeats" if repeats > 1
                                              else "repeats (1 run each)")
    ax.set_title(f"quality against d_model\n{spread}", fontsize="medium")
    ax.legend(fontsize="small", loc="lower right")

    _, params, _, _ = _series(rows, "costs", "parameters")
    millions = params.size == 0 or params.max() >= 1e6
    costs = [("train_seconds", "training time (s)", 1.0, "training time"),
             ("peak_rss_bytes", "peak memory (MiB)", 2.0**20, "peak memory"),
             ("parameters", f"parameters ({'millions' if millions else 'thousands'})",
              1e6 if millions else 1e3, "parameters")]
    for i, (key, label, scale, title) in enumerate(costs):
        cax = fig.add_subplot(grid[i, 1])
        x, mean, lo, hi = _series(rows, "costs", key)
        if x.size:
            _errorbar(cax, x, mean / scale, lo / scale, hi / scale, color=f"C{i + 3}",
                      label=title)
        if key == "peak_rss_bytes":
            bx, bmean, _, _ = _series(rows, "costs", "baseline_rss_bytes")
            if bx.size:
                cax.plot(bx, bmean / scale, linestyle="--", color="0.5",
                         label="before training (interpreter + imports)")
            cax.legend(fontsize="x-small")
        _dim_axis(cax, dims)
        cax.set_ylabel(label, fontsize="small")
        cax.set_ylim(bottom=0)
        cax.set_title(title, fontsize="small")
        if i == len(costs) - 1:
            cax.set_xlabel("d_model (log scale)")
    settings = state.get("settings", {})
    corpus = Path(str(settings.get("corpus", ""))).name
    fig.suptitle(f"d_model sweep: {settings.get('method', '')} on {corpus}")
    return save_png(fig, output)
