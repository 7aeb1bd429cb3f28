"""Static word embeddings: skip-gram, CBOW, fastText-style subwords (and GloVe), trained fast.

The hot loops are numba kernels (a torch path serves GPUs); the corpus is encoded once into an
on-disk id file and streamed. Heavy imports (numba, torch) happen only when training starts.

>>> from tokvec.static import TrainConfig
>>> TrainConfig(method="cbow").resolved().lr
0.05
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import METHODS, TrainConfig

if TYPE_CHECKING:
    from ..static_model import StaticModel


def train(corpus_path: Any, output_dir: Any, config: TrainConfig | None = None,
          resume: bool = False) -> StaticModel:
    """Train static vectors on ``corpus_path`` and save a model directory at ``output_dir``.

    See :func:`tokvec.static.trainer.train` for the details.
    """
    from .trainer import train as _train

    return _train(corpus_path, output_dir, config or TrainConfig(), resume=resume)


__all__ = ["METHODS", "TrainConfig", "train"]
