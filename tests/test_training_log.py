"""``training.jsonl`` of static training starts early, so a plot of a short run starts near 0."""

from __future__ import annotations

import json

import numpy as np

from tokvec.static import TrainConfig, train
from tokvec.static.progress import EARLY_MILESTONES, TrainingMonitor


def test_monitor_writes_a_line_at_each_early_milestone(tmp_path):
    log = tmp_path / "training.jsonl"
    monitor = TrainingMonitor(log, total_words=100_000, log_every=3600.0)
    for _ in range(300):  # 300 chunks of 10 words: 3% of the run, well inside the hour
        monitor.update(10, loss_sum=5.0, examples=10, lr=0.025, epoch=1)
    monitor.close()
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["words_done"] for r in rows] == [int(f * 100_000) for f in EARLY_MILESTONES]
    assert all(r["loss"] == 0.5 for r in rows)


def test_one_epoch_run_logs_its_first_chunk(tmp_path):
    """Each chunk here is ~4% of the words, so the first milestone falls in the first chunk."""
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(200)]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(" ".join(rng.choice(words, 20)) for _ in range(20_000)) + "\n")
    out = tmp_path / "m"
    train(corpus, out, TrainConfig(dim=8, epochs=1, threads=1, min_count=1, seed=3))
    rows = [json.loads(line) for line in (out / "training.jsonl").read_text().splitlines()]
    assert rows[0]["step"] == 1 and rows[0]["progress"] < 0.05, rows[0]
    assert rows[-1]["progress"] == 1.0
