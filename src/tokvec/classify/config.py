"""Fine-tuning settings, with defaults chosen per head.

Any field left at ``None`` takes its head's default from :data:`HEAD_DEFAULTS` when the config is
resolved; ``docs/classify.md`` lists the table.

>>> cfg = FinetuneConfig(head="cnn").resolved()
>>> cfg.optimizer, cfg.lr, cfg.dropout, cfg.widths
('adam', 0.001, 0.5, [3, 4, 5])
>>> FinetuneConfig(head="encoder", lr=5e-5).resolved().lr
5e-05
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from ..errors import TokvecError
from .heads import HEADS

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "linear", "cosine")
POOLS = {"bilstm": ("max", "mean"), "encoder": ("cls", "mean")}

HEAD_DEFAULTS: dict[str, dict[str, Any]] = {
    "bag": {"optimizer": "adam", "lr": 5e-3, "batch_size": 32, "epochs": 20, "dropout": 0.0,
            "weight_decay": 0.0, "schedule": "linear", "warmup": 0.0, "patience": 4,
            "max_len": None, "hidden": 0, "grad_clip": 5.0},
    "cnn": {"optimizer": "adam", "lr": 1e-3, "batch_size": 50, "epochs": 10, "dropout": 0.5,
            "weight_decay": 0.0, "schedule": "constant", "warmup": 0.0, "patience": 3,
            "max_len": 256, "grad_clip": 5.0},
    "bilstm": {"optimizer": "adam", "lr": 1e-3, "batch_size": 32, "epochs": 10, "dropout": 0.3,
               "weight_decay": 0.0, "schedule": "constant", "warmup": 0.0, "patience": 3,
               "max_len": 256, "hidden": 128, "pool": "max", "grad_clip": 5.0},
    "encoder": {"optimizer": "adamw", "lr": 1e-4, "batch_size": 32, "epochs": 3,
                "dropout": 0.1, "weight_decay": 0.01, "schedule": "linear", "warmup": 0.1,
                "patience": 2, "max_len": None, "pool": "cls", "grad_clip": 1.0,
                "layer_decay": 1.0},
}


@dataclass
class FinetuneConfig:
    """Everything that decides a fine-tuning run (``None``: the head's default)."""

    head: str = "bag"
    optimizer: str | None = None
    lr: float | None = None
    weight_decay: float | None = None
    dropout: float | None = None
    epochs: int | None = None
    batch_size: int | None = None
    patience: int | None = None
    schedule: str | None = None
    warmup: float | None = None
    max_len: int | None = None
    train_embeddings: bool | None = None
    freeze_encoder: bool = False
    bigrams: bool = False
    buckets: int = 200_000
    hidden: int | None = None
    filters: int = 100
    widths: list[int] = field(default_factory=lambda: [3, 4, 5])
    layers: int = 1
    pool: str | None = None
    # encoder head: layer-wise learning-rate decay; layer l of L trains at lr * decay^(L - l)
    layer_decay: float | None = None
    seed: int = 0
    threads: int | None = None
    # vocabulary when training from scratch (base "none") or extending a static base
    dim: int = 100
    tokenizer: str = "word"
    lowercase: bool = False
    min_count: int = 1
    extend_vocab: bool = True
    grad_clip: float | None = None
    checkpoint_interval: float = 30.0
    # fit a softmax temperature on the dev set after training (tokvec.classify.calibration)
    calibrate: bool = True
    # a multilingual base: the language of the training texts (tokvec.classify.languages)
    language: str | None = None

    def resolved(self) -> FinetuneConfig:
        """A copy with every ``None`` replaced by the head's default, checked."""
        if self.head not in HEADS:
            raise TokvecError(f"unknown head {self.head!r}; choose one of {', '.join(HEADS)}")
        defaults = HEAD_DEFAULTS[self.head]
        updates = {k: v for k, v in defaults.items()
                   if k in {f.name for f in fields(self)} and getattr(self, k) is None
                   and k != "max_len"}
        if self.max_len is None:
            updates["max_len"] = defaults["max_len"]
        if self.train_embeddings is None:
            updates["train_embeddings"] = True
        cfg = replace(self, **updates)
        cfg.check()
        return cfg

    def check(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise TokvecError(f"unknown optimizer {self.optimizer!r}; choose one of "
                              f"{', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise TokvecError(f"unknown schedule {self.schedule!r}; choose one of "
                              f"{', '.join(SCHEDULES)}")
        allowed = POOLS.get(self.head)
        if self.pool is not None and (allowed is None or self.pool not in allowed):
            where = f"choose one of {', '.join(allowed)}" if allowed else "it has no pooling"
            raise TokvecError(f"pooling {self.pool!r} does not apply to the {self.head} head; "
                              f"{where}")
        if self.layer_decay is not None and self.head != "encoder":
            raise TokvecError("--layer-decay applies to the encoder head only")
        if self.layer_decay is not None and not 0.0 < self.layer_decay <= 1.0:
            raise TokvecError(f"layer decay must be in (0, 1], got {self.layer_decay}")
        if self.bigrams and self.head != "bag":
            raise TokvecError("--bigrams applies to the bag head only")
        if self.dropout is not None and not 0.0 <= self.dropout < 1.0:
            raise TokvecError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.warmup is not None and not 0.0 <= self.warmup < 1.0:
            raise TokvecError(f"warmup is a fraction of the steps in [0, 1), got {self.warmup}")
        if any(w < 1 for w in self.widths) or not self.widths:
            raise TokvecError(f"convolution widths must be positive, got {self.widths}")
        for name in ("lr", "epochs", "batch_size", "buckets", "dim", "filters", "layers"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise TokvecError(f"{name.replace('_', ' ')} must be positive, got {value}")

    def head_options(self) -> dict[str, Any]:
        """The settings that shape the network (stored in config.json to rebuild it)."""
        if self.head == "bag":
            return {"hidden": self.hidden or 0}
        if self.head == "cnn":
            return {"filters": self.filters, "widths": list(self.widths)}
        if self.head == "bilstm":
            return {"hidden": self.hidden or 128, "layers": self.layers,
                    "pool": self.pool or "max"}
        return {"pool": self.pool or "cls"}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FinetuneConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
