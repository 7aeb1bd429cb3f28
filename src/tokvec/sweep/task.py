"""Score a sweep model extrinsically: fine-tune a bag-of-vectors classifier on it.

For static models the classifier (:func:`tokvec.classify.finetune`, head ``bag``) averages the
model's word vectors and trains a linear layer on top; the vectors stay frozen
(``train_embeddings=False``), so the dev macro-F1 measures the vectors rather than what
fine-tuning adds. For contextual (bert) models the same idea is a linear probe: head ``encoder``
with the encoder frozen, mean pooling, learning rate 1e-3. The classifier's directory is
``SWEEP_DIR/d{dim}_r{repeat}.task/``; its seed is the run's seed.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def task_dir(model_dir: Path) -> Path:
    """Where the classifier of ``model_dir`` is written (beside it, not inside it)."""
    return model_dir.with_name(model_dir.name + ".task")


def score_task(model_dir: Path, task: tuple[str, str], options: dict[str, Any],
               seed: int, contextual: bool = False) -> dict[str, Any]:
    """Fine-tune on ``task = (train, dev)`` from ``model_dir``; return dev scores."""
    from ..classify import FinetuneConfig, finetune

    if contextual:
        settings = {"head": "encoder", "freeze_encoder": True, "pool": "mean", "lr": 1e-3,
                    **options}
    else:
        settings = {"head": "bag", "train_embeddings": False, **options}
    config = FinetuneConfig(seed=seed, **settings)
    out = task_dir(model_dir)
    start = time.perf_counter()
    model = finetune(str(model_dir), out, task[0], task[1], config=config, log=None)
    dev = model.metrics["dev"]
    return {"dev_macro_f1": float(dev["macro_f1"]), "dev_accuracy": float(dev["accuracy"]),
            "best_epoch": model.metrics.get("best_epoch"), "model": out.name,
            "seconds": time.perf_counter() - start, "head": config.head, "frozen": True}
