"""Aggregate a sweep's runs per dimension, pick a d_model, and print the table.

Each run record carries ``scores`` (``{"wordsim353 Spearman": 0.51, ..., "primary": 0.50}``) and
cost figures. Per dimension we keep the mean, min, max and standard deviation over repeats.
The recommendation is the smallest d_model whose mean primary score is within ``tolerance`` of
the best mean.

>>> runs = [{"dim": d, "repeat": 0, "scores": {"primary": q}, "parameters": 10 * d,
...          "train_seconds": d / 10, "peak_rss_bytes": 1e8, "disk_bytes": 4e3 * d,
...          "words_per_s": 1e5}
...         for d, q in [(25, 0.40), (50, 0.47), (100, 0.512), (300, 0.518)]]
>>> rows = per_dimension(runs)
>>> rec = recommend(rows, 0.01, "mean Spearman")
>>> rec["dim"], rec["best_dim"]
(100, 300)
>>> print(rec["text"].replace(", at", ",\\nat"))
d=100: mean Spearman 0.512, within 0.01 of the best 0.518 at d=300,
at 1/3 of the parameters and 1/3 of the training time
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

COSTS = ("train_seconds", "words_per_s", "peak_rss_bytes", "baseline_rss_bytes",
         "parameters", "disk_bytes", "pretrain_loss")


def _stats(values: Sequence[float]) -> dict[str, float]:
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if arr.size == 0:
        nan = float("nan")
        return {"mean": nan, "min": nan, "max": nan, "std": nan, "n": 0}
    return {"mean": float(arr.mean()), "min": float(arr.min()), "max": float(arr.max()),
            "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0, "n": int(arr.size)}


def score_names(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Score names in first-seen order, ``primary`` last."""
    names: dict[str, None] = {}
    for run in runs:
        for name in run.get("scores", {}):
            if name != "primary":
                names.setdefault(name, None)
    return [*names, "primary"]


def per_dimension(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per dimension: run count, score statistics and cost statistics."""
    names = score_names(runs)
    rows = []
    for dim in sorted({int(r["dim"]) for r in runs}):
        group = [r for r in runs if int(r["dim"]) == dim]
        rows.append({
            "dim": dim, "runs": len(group),
            "scores": {n: _stats([r["scores"].get(n) for r in group]) for n in names},
            "costs": {c: _stats([r.get(c) for r in group]) for c in COSTS
                      if any(r.get(c) is not None for r in group)},
        })
    return rows


def _ratio_text(part: float, whole: float) -> str:
    """``1/3`` when a small fraction fits within 2%, else a percentage."""
    ratio = part / whole
    frac = Fraction(ratio).limit_denominator(10)
    if frac.numerator and abs(float(frac) - ratio) <= 0.02 * ratio:
        return str(frac) if frac != 1 else "the same number"
    return f"{100 * ratio:.0f}%"


def recommend(rows: Sequence[dict[str, Any]], tolerance: float,
              primary_name: str) -> dict[str, Any] | None:
    """The smallest dimension whose mean primary score is within ``tolerance`` of the best."""
    scored = [r for r in rows if math.isfinite(r["scores"]["primary"]["mean"])]
    if not scored:
        return None
    best = max(scored, key=lambda r: (r["scores"]["primary"]["mean"], -r["dim"]))
    best_value = best["scores"]["primary"]["mean"]
    chosen = min((r for r in scored if r["scores"]["primary"]["mean"] >= best_value - tolerance),
                 key=lambda r: r["dim"])
    value = chosen["scores"]["primary"]["mean"]
    out: dict[str, Any] = {"dim": chosen["dim"], "primary_metric": primary_name,
                           "value": value, "best_dim": best["dim"], "best_value": best_value,
                           "tolerance": tolerance}
    parts, not_saved = [], []
    for cost, what in (("parameters", "the parameters"), ("train_seconds", "the training time")):
        a, b = chosen["costs"].get(cost), best["costs"].get(cost)
        if a and b and b["mean"] > 0 and math.isfinite(a["mean"]):
            out[f"{cost}_ratio"] = a["mean"] / b["mean"]
            if a["mean"] < b["mean"]:
                parts.append(f"{_ratio_text(a['mean'], b['mean'])} of {what}")
            elif cost == "train_seconds":
                not_saved.append(f"its training time was not shorter ({a['mean']:.0f} s "
                                 f"against {b['mean']:.0f} s)")
    if chosen is best:
        smaller = [r for r in scored if r["dim"] < chosen["dim"]]
        text = f"d={chosen['dim']}: the best {primary_name} {value:.3f}"
        if smaller:
            near = max(smaller, key=lambda r: r["dim"])
            text += (f"; no smaller d_model is within {tolerance:g} (d={near['dim']}: "
                     f"{near['scores']['primary']['mean']:.3f})")
        if chosen["dim"] == max(r["dim"] for r in scored) and len(scored) > 1:
            text += "; quality still rises at the largest d_model tried, so try larger ones"
    else:
        text = (f"d={chosen['dim']}: {primary_name} {value:.3f}, within {tolerance:g} of the "
                f"best {best_value:.3f} at d={best['dim']}")
        if parts:
            text += ", at " + " and ".join(parts)
        if not_saved:
            text += "; " + "; ".join(not_saved)
    spread = chosen["scores"]["primary"]
    if spread["n"] > 1 and spread["max"] - spread["min"] > tolerance:
        text += (f" (the spread over repeats at d={chosen['dim']}, "
                 f"{spread['max'] - spread['min']:.3f}, exceeds the tolerance: more repeats "
                 "would make the choice firmer)")
    out["text"] = text
    return out


def _fmt_bytes(n: float) -> str:
    return "-" if not math.isfinite(n) else f"{n / 2**20:.1f}"


def format_table(rows: Sequence[dict[str, Any]], primary_name: str) -> str:
    """The per-dimension table printed after a sweep (means; ``±`` is half the min-max range)."""
    names = [n for n in score_names_from_rows(rows) if n != "primary"]
    pretrained = any("pretrain_loss" in r["costs"] for r in rows)
    header = ["d_model", "runs", f"{primary_name} (primary)", *names,
              *(["pretrain loss"] if pretrained else []), "params", "train s", "words/s",
              "peak MiB", "disk MiB"]
    lines = []
    for r in rows:
        p = r["scores"]["primary"]
        half = (p["max"] - p["min"]) / 2 if p["n"] > 1 else None
        primary = f"{p['mean']:.4f}" + (f" ± {half:.4f}" if half is not None else "")
        costs = r["costs"]

        def cost(name: str, fmt: str, costs: dict[str, Any] = costs) -> str:
            c = costs.get(name)
            return "-" if c is None or not math.isfinite(c["mean"]) else format(c["mean"], fmt)

        peak = costs.get("peak_rss_bytes", {}).get("mean", float("nan"))
        disk = costs.get("disk_bytes", {}).get("mean", float("nan"))
        lines.append([str(r["dim"]), str(r["runs"]), primary,
                      *(f"{r['scores'][n]['mean']:.4f}" for n in names),
                      *([cost("pretrain_loss", ".4f")] if pretrained else []),
                      cost("parameters", ",.0f"), cost("train_seconds", ".1f"),
                      cost("words_per_s", ",.0f"), _fmt_bytes(peak), _fmt_bytes(disk)])
    widths = [max(len(h), *(len(row[i]) for row in lines)) for i, h in enumerate(header)]
    out = ["  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))]
    out += ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in lines]
    return "\n".join(out)


def score_names_from_rows(rows: Sequence[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for r in rows:
        for n in r["scores"]:
            names.setdefault(n, None)
    return list(names)
