"""Checkpoint and resume: an interrupted run, resumed, ends bit-identical with --threads 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_train_helpers import write_group_corpus

from tokvec.errors import TokvecError
from tokvec.static import TrainConfig
from tokvec.static.interrupt import TrainingInterrupted
from tokvec.static.trainer import train, work_dir_for
from tokvec.static_model import StaticModel

BASE = {"dim": 16, "window": 3, "min_count": 1, "sample": 1e-2, "epochs": 3, "seed": 11,
        "threads": 1, "tokenizer": "whitespace", "chunk_words": 600, "log_every": 0.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "groups.txt"
    write_group_corpus(path, sentences=500, seed=5)
    return path


@pytest.mark.parametrize("method", ["sgns", "cbow", "fasttext"])
def test_interrupted_and_resumed_equals_uninterrupted(tmp_path, corpus, method):
    extra = {"buckets": 20_000} if method == "fasttext" else {}
    cfg = TrainConfig(method=method, **BASE, **extra)
    whole = train(corpus, tmp_path / "whole", cfg)

    out = tmp_path / "parts"
    # Stop after 9 chunks (the second epoch), checkpointing every few milliseconds on the way.
    frequent = TrainConfig(method=method, **{**BASE, "checkpoint_every": 1e-5}, **extra)
    with pytest.raises(TrainingInterrupted, match="--resume"):
        train(corpus, out, frequent, should_stop=lambda chunks: chunks >= 9)
    work = work_dir_for(out)
    assert not out.exists()
    state = json.loads((work / "checkpoint" / "state.json").read_text())
    assert state["step"] == 9 and state["epoch"] == 1
    assert (work / "checkpoint" / "tables.safetensors").is_file()
    with pytest.raises(TrainingInterrupted):
        train(corpus, out, cfg, resume=True, should_stop=lambda chunks: chunks >= 14)
    resumed = train(corpus, out, cfg, resume=True)
    assert np.array_equal(resumed.embeddings, whole.embeddings)
    assert np.array_equal(resumed.extra_tensors["context"], whole.extra_tensors["context"])
    if method == "fasttext":
        assert np.array_equal(resumed.extra_tensors["ngrams"], whole.extra_tensors["ngrams"])
    rows = [json.loads(x) for x in (out / "training.jsonl").read_text().splitlines()]
    assert rows[-1]["words_done"] == 3 * resumed.config["training"]["num_tokens"]
    assert [r["step"] for r in rows] == sorted(r["step"] for r in rows)
    assert not work.exists()


def test_resume_refuses_changed_settings_and_missing_checkpoint(tmp_path, corpus):
    out = tmp_path / "m"
    with pytest.raises(TokvecError, match="nothing to resume"):
        train(corpus, out, TrainConfig(**BASE), resume=True)
    with pytest.raises(TrainingInterrupted):
        train(corpus, out, TrainConfig(**BASE), should_stop=lambda chunks: chunks >= 2)
    with pytest.raises(TokvecError, match=r"different settings \(dim: 16 -> 20\)"):
        train(corpus, out, TrainConfig(**{**BASE, "dim": 20}), resume=True)


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "TOKVEC_PROGRESS": "0"}
    return subprocess.Popen([sys.executable, "-m", "tokvec", "train", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            **kwargs)


def test_sigint_writes_checkpoint_and_resume_is_bit_identical(tmp_path):
    path = tmp_path / "big.txt"
    write_group_corpus(path, sentences=40_000, seed=9)  # ~360k tokens
    flags = ["--tokenizer", "whitespace", "--dim", "32", "--epochs", "2", "--threads", "1",
             "--min-count", "1", "--seed", "4"]
    whole = _cli(str(path), "-o", str(tmp_path / "whole"), *flags)
    assert whole.wait(timeout=120) == 0, whole.stderr.read()

    out = tmp_path / "cut"
    proc = _cli(str(path), "-o", str(out), *flags)
    log = work_dir_for(out) / "training.jsonl"
    deadline = time.time() + 60
    while not log.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=60)
    err = proc.stderr.read()
    assert code == 130, err
    assert "SIGINT" in err and "--resume" in err and len(err.strip().splitlines()) == 1
    assert (work_dir_for(out) / "checkpoint" / "state.json").is_file()
    assert not out.exists()

    again = _cli(str(path), "-o", str(out), *flags, "--resume")
    assert again.wait(timeout=120) == 0, again.stderr.read()
    a, b = StaticModel.load(tmp_path / "whole"), StaticModel.load(out)
    assert np.array_equal(a.embeddings, b.embeddings)
    assert np.array_equal(a.extra_tensors["context"], b.extra_tensors["context"])
