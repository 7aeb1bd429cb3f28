"""Pretraining runs unchanged under torchrun: two CPU processes (gloo), one model written."""

from __future__ import annotations

import json
import os

import numpy as np
from conftest import run_torchrun

from tokvec.contextual import load_contextual

SENTENCES = ["the cat sat on the mat .", "a dog ran in the park .",
             "she put money in the bank .", "the river bank was wet .", "he swung the bat .",
             "a bat flew out of the cave ."]
WORDS = [w for s in SENTENCES for w in s.split()]


def test_two_processes_train_one_model(tmp_path):
    rng = np.random.default_rng(0)
    lines = [" ".join(WORDS[j] for j in range(i % 20, i % 20 + 12)) for i in range(400)]
    rng.shuffle(lines)
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "m"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKVEC_PROGRESS": "0"}
    proc = run_torchrun(
        ["--standalone", "--nproc_per_node", "2",
         "-m", "tokvec.cli", "pretrain", str(corpus), "-o", str(out), "--d-model", "32",
         "--layers", "1", "--heads", "2", "--ffn", "64", "--seq-len", "16", "--batch-size", "8",
         "--steps", "30", "--vocab-size", "80", "--lr", "3e-3", "--dropout", "0",
         "--log-every", "5", "--threads", "1"], out, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stderr.count("pretrained 30 steps") == 1  # rank 0 alone reports
    log = [json.loads(line) for line in (out / "training.jsonl").open()]
    assert [e["step"] for e in log] == [5, 10, 15, 20, 25, 30]  # written once, by rank 0
    assert log[-1]["loss"] < log[0]["loss"] - 0.3
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["training"]["world_size"] == 2
    assert cfg["training"]["tokens_seen"] > 30 * 8 * 16  # more than one rank's batches
    model = load_contextual(out)
    assert model.embed(["the bat flew"], pool="cls").shape == (1, 32)
