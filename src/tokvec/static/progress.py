"""Training progress: a tqdm bar and ``training.jsonl``, both fed the true loss.

Each finished chunk reports its words, the summed negative-sampling loss and the number of
examples it was summed over (what the kernel computed, not an estimate). The bar shows words/s,
ETA, the current learning rate and the mean loss of the chunks since the bar's last update;
every ``log_every`` seconds, at each epoch end and, early in the run, when the words done first
pass each of :data:`EARLY_MILESTONES` (0.1%, 0.25%, 0.5%, 1% and 2% of all words, so that a
plot of a short run starts near zero) a JSON line goes to the log with the mean loss over all
examples since the previous line::

    {"step": 12, "epoch": 1, "progress": 0.2, "words_done": 786432, "loss": 2.31,
     "examples": 1841123, "lr": 0.0201, "words_per_s": 612345.0, "elapsed_s": 1.28}

``step`` counts chunks trained so far (across resumes).

>>> import tempfile, json, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "training.jsonl"
>>> m = TrainingMonitor(p, total_words=100, bar=False)
>>> m.update(50, loss_sum=30.0, examples=10, lr=0.02, epoch=1)
>>> m.write_line(epoch=1, lr=0.02)
>>> m.close()
>>> row = json.loads(p.read_text())
>>> row["loss"], row["words_done"], row["step"]
(3.0, 50, 1)
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

EARLY_MILESTONES = (0.001, 0.0025, 0.005, 0.01, 0.02)


class TrainingMonitor:
    """Collects per-chunk results; drives the progress bar and appends ``training.jsonl``."""

    def __init__(self, log_path: Path, total_words: int, words_done: int = 0, step: int = 0,
                 elapsed: float = 0.0, bar: bool = False, log_every: float = 5.0,
                 desc: str = "training") -> None:
        from tqdm.auto import tqdm

        self.total_words = int(total_words)
        self.words_done = int(words_done)
        self.step = int(step)
        self.log_every = float(log_every)
        self._start = time.perf_counter() - float(elapsed)
        self._log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 (closed in close())
        self._bar = tqdm(total=self.total_words, initial=self.words_done, unit="w",
                         unit_scale=True, desc=desc, disable=not bar, dynamic_ncols=True,
                         leave=False, smoothing=0.05)
        self._line_loss = 0.0
        self._line_examples = 0
        self._line_words = 0
        self._line_time = time.perf_counter()
        marks = (int(f * self.total_words) for f in EARLY_MILESTONES)
        self._milestones = [m for m in marks if m > self.words_done] if self.log_every > 0 else []
        self.last_loss: float | None = None

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._start

    def update(self, words: int, loss_sum: float, examples: int, lr: float, epoch: int) -> None:
        """Record one finished chunk."""
        self.words_done += int(words)
        self.step += 1
        self._line_loss += float(loss_sum)
        self._line_examples += int(examples)
        self._line_words += int(words)
        postfix: dict[str, Any] = {"epoch": epoch, "lr": f"{lr:.5f}"}
        if examples:
            postfix["loss"] = f"{loss_sum / examples:.4f}"
        self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(int(words))
        early = bool(self._milestones) and self.words_done >= self._milestones[0]
        if early:
            self._milestones = [m for m in self._milestones if m > self.words_done]
        if early or (self.log_every > 0
                     and time.perf_counter() - self._line_time >= self.log_every):
            self.write_line(epoch, lr)

    def write_line(self, epoch: int, lr: float, **extra: Any) -> None:
        """Append one JSON line covering everything since the previous line (if anything)."""
        if self._line_words == 0 and self._line_examples == 0 and not extra:
            return
        now = time.perf_counter()
        seconds = max(now - self._line_time, 1e-9)
        loss = self._line_loss / self._line_examples if self._line_examples else None
        row = {"step": self.step, "epoch": epoch,
               "progress": round(self.words_done / max(self.total_words, 1), 6),
               "words_done": self.words_done, "loss": loss, "examples": self._line_examples,
               "lr": lr, "words_per_s": round(self._line_words / seconds, 1),
               "elapsed_s": round(self.elapsed, 3), **extra}
        self._log.write(json.dumps(row) + "\n")
        self._log.flush()
        if loss is not None:
            self.last_loss = loss
        self._line_loss, self._line_examples, self._line_words = 0.0, 0, 0
        self._line_time = now

    def log_size(self) -> int:
        self._log.flush()
        return self._log.tell()

    def close(self) -> None:
        self._bar.close()
        self._log.close()
