"""Run a dimension sweep: train one model per (d_model, repeat), score it, record it, resume.

Layout of the sweep directory::

    SWEEP_DIR/
      sweep.json      settings, every finished run's figures, the per-dimension summary and
                      the recommendation; rewritten atomically after each run
      sweep.png       quality and cost against d_model
      d100_r0/        the model trained at d_model=100 with seed + 0 (kept)
      ...

A run counts as finished once it is in ``sweep.json``; rerunning the same command skips it, so an
interrupted sweep resumes where it stopped. Settings that change what a run produces (corpus,
method, training options, evaluation files, task) must match those recorded; dimensions, repeats
and the tolerance may change, which extends or re-summarises the sweep.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..atomic import write_json
from ..errors import TokvecError
from ..modeldir import TRAINING_LOG, update_metrics
from ..modelinfo import disk_usage
from ..textio import result_key
from .jobs import job_config, job_kind
from .measure import measure
from .settings import PRIMARY_NAMES, SweepSettings, fingerprint_differences
from .summary import format_table, per_dimension, recommend

SWEEP_JSON = "sweep.json"
SWEEP_PNG = "sweep.png"
SWEEP_FORMAT = 1


def _log(message: str) -> None:
    """A line on stderr that does not break an active progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


def load_state(settings: SweepSettings) -> dict[str, Any]:
    """The sweep.json of ``settings.output`` (checked against the settings), or a new state."""
    path = Path(settings.output) / SWEEP_JSON
    fingerprint = settings.fingerprint()
    if not path.is_file():
        return {"format_version": SWEEP_FORMAT, "tokvec_version": __version__,
                "settings": fingerprint, "runs": []}
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TokvecError(f"malformed JSON ({exc})", path=path) from None
    if not isinstance(state, dict) or not isinstance(state.get("runs"), list):
        raise TokvecError("not a tokvec sweep file", path=path)
    diffs = fingerprint_differences(state.get("settings", {}), fingerprint)
    if diffs:
        raise TokvecError("this sweep directory was made with other settings ("
                          + "; ".join(diffs) + "); use a new -o directory or the same settings",
                          path=path)
    return state


def _throughput(model_dir: Path) -> tuple[float | None, float | None]:
    """``(words_done, words_per_s)`` from the last training-log line that has them."""
    path = model_dir / TRAINING_LOG
    if not path.is_file():
        return None, None
    done = rate = None
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        count = rec.get("words_done", rec.get("tokens_done"))
        elapsed = rec.get("elapsed_s")
        if isinstance(count, int | float) and isinstance(elapsed, int | float) and elapsed > 0:
            done, rate = float(count), float(count) / float(elapsed)
        elif isinstance(rec.get("words_per_s", rec.get("tokens_per_s")), int | float):
            rate = float(rec.get("words_per_s", rec.get("tokens_per_s")))
    return done, rate


def _compact(metrics: dict[str, Any]) -> dict[str, Any]:
    """Evaluation results without per-section detail (kept in the model's metrics.json)."""
    return {name: {k: v for k, v in r.items() if k != "sections"} for name, r in metrics.items()}


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return sum(finite) / len(finite) if finite else float("nan")


def _contextual_parameters(model_dir: Path) -> dict[str, Any]:
    """Parameters per component (safetensors headers) and the input table's size."""
    from ..modelinfo import input_embedding_table, parameter_counts

    table = input_embedding_table(model_dir)
    return {"parameters": parameter_counts(model_dir), "embeddings": int(table.matrix.size)}


def score_run(settings: SweepSettings, model_dir: Path, seed: int) -> dict[str, Any]:
    """Intrinsic (and task) scores of one trained model; the primary score among them."""
    metrics: dict[str, Any] = {}
    scores: dict[str, float] = {}
    if settings.method == "bert":
        info = _contextual_parameters(model_dir)
    else:
        from ..evaluation import evaluate_vectors
        from ..static_model import load_static

        model = load_static(model_dir)
        params = model.info()["parameters"]
        info = {"parameters": params, "embeddings": params.get("embeddings")}
        if settings.similarity or settings.analogy:
            metrics = evaluate_vectors(model.vectors, settings.similarity, settings.analogy,
                                       restrict=settings.restrict)
            update_metrics(model_dir, metrics)  # as `tokvec evaluate` would
    for path in settings.similarity:
        scores[f"{result_key(path)} Spearman"] = metrics[result_key(path)]["spearman"]
    for path in settings.analogy:
        scores[f"{result_key(path)} accuracy"] = metrics[result_key(path)]["accuracy"]
    task = None
    if settings.task is not None:
        from .task import score_task

        task = score_task(model_dir, settings.task, settings.task_options, seed,
                          contextual=settings.method == "bert")
        scores["task dev macro-F1"] = task["dev_macro_f1"]
    if settings.wic:
        from ..contextual.wic import evaluate_wic

        for path in settings.wic:
            metrics[result_key(path)] = evaluate_wic(str(model_dir), path)
            scores[f"{result_key(path)} WiC AUC"] = metrics[result_key(path)]["auc"]
    kind = settings.primary_kind()
    if kind == "task":
        primary = scores["task dev macro-F1"]
    elif kind == "wic":
        primary = _nanmean([metrics[result_key(p)]["auc"] for p in settings.wic])
    else:
        stems = settings.similarity if kind == "similarity" else settings.analogy
        key = "spearman" if kind == "similarity" else "accuracy"
        primary = _nanmean([metrics[result_key(p)][key] for p in stems])
    scores["primary"] = primary
    return {"metrics": _compact(metrics), "task": task, "scores": scores, "info": info}


def _final_loss(model_dir: Path) -> float | None:
    """The last logged training loss of a pretrained model (MLM, or ELECTRA's sum)."""
    log = model_dir / TRAINING_LOG
    if not log.is_file():
        return None
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    losses = [json.loads(line).get("loss") for line in lines]
    losses = [x for x in losses if isinstance(x, (int, float))]
    return float(losses[-1]) if losses else None


def train_and_score(settings: SweepSettings, dim: int, repeat: int) -> dict[str, Any]:
    """Train the (dim, repeat) model into the sweep directory, measure and score it."""
    out = Path(settings.output)
    name = settings.run_name(dim, repeat)
    model_dir = out / name
    job = {"kind": job_kind(settings.method),
           "config": job_config(settings.method, settings.train_options, dim, repeat),
           "corpus": str(settings.corpus), "output": str(model_dir)}
    seed = int(job["config"]["seed"])
    measured = measure(job, settings.isolate, out)
    scored = score_run(settings, model_dir, seed)
    words_done, words_per_s = _throughput(model_dir)
    parameters = scored["info"]["parameters"]
    return {
        "dim": dim, "repeat": repeat, "seed": seed, "model": name,
        "train_seconds": measured.seconds, "words_done": words_done,
        "words_per_s": words_per_s, "peak_rss_bytes": measured.peak_rss_bytes,
        "baseline_rss_bytes": measured.baseline_rss_bytes,
        "memory_method": measured.memory_method,
        "parameters": int(sum(parameters.values())),
        "embedding_parameters": scored["info"]["embeddings"], "parameters_by_part": parameters,
        "disk_bytes": int(sum(disk_usage(model_dir).values())),
        **({"pretrain_loss": _final_loss(model_dir)} if job["kind"] == "bert" else {}),
        "scores": scored["scores"], "metrics": scored["metrics"], "task": scored["task"],
        "config": job["config"],
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def summarise(state: dict[str, Any], settings: SweepSettings) -> dict[str, Any]:
    """Per-dimension rows and the recommendation for the runs recorded so far."""
    primary_name = PRIMARY_NAMES[settings.primary_kind()]
    rows = per_dimension(state["runs"])
    rec = recommend(rows, settings.tolerance, primary_name)
    incomplete = [r["dim"] for r in rows if r["runs"] < settings.repeats]
    return {"primary_metric": primary_name, "tolerance": settings.tolerance,
            "repeats": settings.repeats, "per_dim": rows, "recommendation": rec,
            "incomplete_dims": incomplete}


def run_sweep(settings: SweepSettings,
              log: Callable[[str], None] = _log) -> dict[str, Any]:
    """Run (or resume) the sweep; write sweep.json after every run and sweep.png at the end."""
    from tqdm.auto import tqdm

    settings = settings.checked()
    out = Path(settings.output)
    if out.exists() and not out.is_dir():
        raise TokvecError("expected a directory for the sweep output, got a file", path=out)
    state = load_state(settings)
    done = {(int(r["dim"]), int(r["repeat"])) for r in state["runs"]}
    # Repeat-major order: the whole curve first, then further seeds refine it.
    todo = [(d, r) for r in range(settings.repeats) for d in settings.dims if (d, r) not in done]
    skipped = len(settings.dims) * settings.repeats - len(todo)
    for dim, repeat in todo:  # bad training options fail here, before anything is written
        job_config(settings.method, settings.train_options, dim, repeat)
    if skipped:
        log(f"resuming: {skipped} finished run(s) in {out / SWEEP_JSON} are kept")
    out.mkdir(parents=True, exist_ok=True)
    bar = tqdm(total=len(todo), desc="sweep", unit="model", disable=not settings.progress,
               dynamic_ncols=True)
    try:
        for dim, repeat in todo:
            bar.set_postfix_str(f"d={dim} repeat {repeat}")
            run = train_and_score(settings, dim, repeat)
            state["runs"].append(run)
            state["runs"].sort(key=lambda r: (r["dim"], r["repeat"]))
            state["summary"] = summarise(state, settings)
            state["tokvec_version"] = __version__
            write_json(out / SWEEP_JSON, state)
            shown = ", ".join(f"{k} {v:.4f}" for k, v in run["scores"].items() if k != "primary")
            log(f"d={dim} repeat {repeat}: trained in {run['train_seconds']:.1f} s, "
                f"peak {run['peak_rss_bytes'] / 2**20:.0f} MiB; {shown}")
            bar.update(1)
    finally:
        bar.close()
    state["summary"] = summarise(state, settings)
    write_json(out / SWEEP_JSON, state)
    from .plot import plot_sweep

    plot_sweep(state, out / SWEEP_PNG)
    return state


def report(state: dict[str, Any]) -> str:
    """The table and recommendation printed after a sweep."""
    summary = state["summary"]
    lines = [format_table(summary["per_dim"], summary["primary_metric"])]
    if summary.get("incomplete_dims"):
        lines.append(f"note: fewer runs than --repeats at d={summary['incomplete_dims']}")
    rec = summary.get("recommendation")
    lines.append("recommendation: " + (rec["text"] if rec else "none (no finite primary score)"))
    return "\n".join(lines)
