"""What one sweep run trains: a JSON-ready job, built and checked before anything runs.

A job is ``{"kind": "static" | "bert", "corpus", "output", "config"}``. Static jobs call
:func:`tokvec.static.train` with a ``TrainConfig`` (``dim`` = the sweep's d_model); ``bert`` jobs
call :func:`tokvec.contextual.pretrain.pretrain` (``d_model`` = the sweep's d_model and, unless
given, a feed-forward width of ``4 * d_model`` as in BERT). Seeds are ``seed + repeat``.

>>> job_config("sgns", {"epochs": 3}, dim=50, repeat=2)["seed"]
3
>>> job_config("bert", {"steps": 10}, dim=64, repeat=0)["ffn"]
256
"""

from __future__ import annotations

from typing import Any

from ..errors import TokvecError

BERT_OPTIONS = ("layers", "heads", "ffn", "seq_len", "batch_size", "steps", "epochs", "lr",
                "threads", "seed", "vocab_size", "tokenizer", "objective", "max_minutes",
                "warmup", "dropout", "mask_prob", "norm", "generator_scale")


def job_kind(method: str) -> str:
    return "bert" if method == "bert" else "static"


def job_config(method: str, options: dict[str, Any], dim: int, repeat: int) -> dict[str, Any]:
    """The trainer's settings for one (dim, repeat) run, validated."""
    if method == "bert":
        from ..contextual.pretrain import PretrainOptions, resolve_options

        unknown = sorted(set(options) - set(BERT_OPTIONS))
        if unknown:
            raise TokvecError("--method bert does not take "
                              + ", ".join("--" + k.replace("_", "-") for k in unknown))
        base_seed = options.get("seed", PretrainOptions().seed)
        config = {**options, "arch": "bert", "d_model": dim, "seed": int(base_seed) + repeat,
                  "ffn": options.get("ffn", 4 * dim)}
        resolve_options(config, None).arch_config(vocab_size=8)  # checks d_model vs heads
        return config
    from ..static import TrainConfig

    base_seed = options.get("seed", TrainConfig().seed)
    config = {**options, "method": method, "dim": dim, "seed": int(base_seed) + repeat}
    TrainConfig(**config).resolved()
    return config


def interrupted_checkpoint(job: dict[str, Any]) -> bool:
    """Whether an interrupted earlier attempt at ``job`` left a checkpoint to continue from."""
    from pathlib import Path

    if job["kind"] == "bert":
        return (Path(job["output"]) / "checkpoint" / "state.json").is_file()
    from ..static.checkpoint import has_checkpoint
    from ..static.trainer import work_dir_for

    return has_checkpoint(work_dir_for(job["output"]))


def run_job(job: dict[str, Any]) -> None:
    """Train what ``job`` describes into ``job["output"]``.

    A run that was interrupted (Ctrl-C, SIGTERM: the trainers checkpoint on the way out)
    continues from its checkpoint; the sweep's settings check guarantees the same settings.
    """
    resume = interrupted_checkpoint(job)
    if job["kind"] == "static":
        from ..static import TrainConfig, train

        train(job["corpus"], job["output"], TrainConfig(**job["config"]), resume=resume)
    elif job["kind"] == "bert":
        from ..contextual.pretrain import pretrain

        pretrain([job["corpus"]], job["output"], dict(job["config"]), resume=resume)
    else:
        raise TokvecError(f"unknown training job kind {job['kind']!r}")


def preload(kind: str) -> None:
    """Import the trainer's modules (so a child's baseline memory includes them)."""
    import importlib

    importlib.import_module("tokvec.contextual.pretrain" if kind == "bert" else "tokvec.static")
