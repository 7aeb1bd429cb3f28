"""A NaN or infinite loss stops every trainer with one clear error; the last good save survives.

Two kinds of cases: a real divergence (a learning rate of 1e30 overflows float32 on the first
updates) and a fault injected at a chosen step, after checkpoints were written, to check that
the checkpoint on disk is the last good one and that the run resumes from it.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file
from test_classify_train import make_rows, write_tsv
from test_contextual_pretrain import TINY
from test_contextual_pretrain import _corpus as pretrain_corpus
from test_train_helpers import write_group_corpus

from tokvec.classify import FinetuneConfig, finetune
from tokvec.classify import train as classify_train
from tokvec.contextual.bert import MaskedLM
from tokvec.contextual.pretrain import pretrain
from tokvec.errors import TokvecError, TrainingDiverged
from tokvec.static import TrainConfig
from tokvec.static.engines import NumbaEngine
from tokvec.static.trainer import train, work_dir_for

STATIC = {"dim": 8, "window": 3, "min_count": 1, "sample": 0.0, "epochs": 2, "threads": 1,
          "tokenizer": "whitespace", "chunk_words": 500, "log_every": 0.0, "progress": False}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("guards") / "groups.txt"
    write_group_corpus(path, sentences=300, seed=3)
    return path


@pytest.mark.parametrize("method", ["sgns", "cbow", "fasttext"])
def test_static_overflowing_learning_rate_stops_cleanly(tmp_path, corpus, method):
    extra = {"buckets": 2000} if method == "fasttext" else {}
    with pytest.raises(TrainingDiverged, match=r"training diverged at step 1: the loss became "
                                               r"nan; nothing was saved; lower the learning"):
        train(corpus, tmp_path / "m", TrainConfig(method=method, lr=1e30, **STATIC, **extra))
    assert not (tmp_path / "m").exists()


def test_static_fault_keeps_last_checkpoint_and_resumes(tmp_path, corpus, monkeypatch):
    cfg = TrainConfig(method="sgns", seed=4, **{**STATIC, "checkpoint_every": 1e-9})
    whole = train(corpus, tmp_path / "whole", TrainConfig(method="sgns", seed=4, **STATIC))
    real_run, calls = NumbaEngine.run, []

    def broken(self, *args):
        calls.append(1)
        loss, examples = real_run(self, *args)
        return (math.inf if len(calls) == 5 else loss), examples

    monkeypatch.setattr(NumbaEngine, "run", broken)
    out = tmp_path / "m"
    with pytest.raises(TrainingDiverged, match=r"at step 5: the loss became inf; kept the last "
                                               r"good checkpoint in .*m\.work/checkpoint"):
        train(corpus, out, cfg)
    assert not out.exists()
    state = json.loads((work_dir_for(out) / "checkpoint" / "state.json").read_text())
    assert state["step"] == 4
    tables = load_file(str(work_dir_for(out) / "checkpoint" / "tables.safetensors"))
    assert all(np.isfinite(t).all() for t in tables.values())
    monkeypatch.setattr(NumbaEngine, "run", real_run)
    resumed = train(corpus, out, cfg, resume=True)
    assert np.array_equal(resumed.embeddings, whole.embeddings)


def test_static_cli_reports_divergence_in_one_line(tmp_path, corpus):
    proc = subprocess.run([sys.executable, "-m", "tokvec", "train", str(corpus), "-o",
                           str(tmp_path / "m"), "--lr", "1e30", "--dim", "8", "--min-count",
                           "1", "--threads", "1", "--tokenizer", "whitespace"],
                          capture_output=True, text=True,
                          env={**os.environ, "TOKVEC_PROGRESS": "0"})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines == ["tokvec train: error: training diverged at step 1: the loss became nan; "
                     "nothing was saved; lower the learning rate"]
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "m").exists()


def test_pretrain_fault_keeps_last_checkpoint(tmp_path, monkeypatch):
    corpus = pretrain_corpus(tmp_path / "c.txt")
    real_forward, calls = MaskedLM.forward, []

    def broken(self, *args, **kwargs):
        calls.append(1)
        loss = real_forward(self, *args, **kwargs)
        return loss * float("nan") if len(calls) == 6 else loss

    monkeypatch.setattr(MaskedLM, "forward", broken)
    out = tmp_path / "m"
    opts = {**TINY, "steps": 10, "checkpoint_every": 1e-9}
    with pytest.raises(TrainingDiverged, match=r"at step 6: the loss became nan; kept the last "
                                               r"good checkpoint in .*checkpoint \(step 5\)"):
        pretrain([corpus], out, opts)
    assert not (out / "config.json").exists()
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["step"] == 5
    weights = load_file(str(out / "checkpoint" / "model.safetensors"))
    assert all(np.isfinite(w).all() for w in weights.values())
    monkeypatch.setattr(MaskedLM, "forward", real_forward)
    done = pretrain([corpus], out, {}, resume=True)
    assert done.steps == 10 and (out / "config.json").is_file()


def test_pretrain_overflow_without_checkpoint_leaves_nothing(tmp_path):
    corpus = pretrain_corpus(tmp_path / "c.txt")
    with pytest.raises(TrainingDiverged, match="nothing was saved"):
        pretrain([corpus], tmp_path / "m", {**TINY, "steps": 20, "lr": 1e30, "warmup": 1,
                                            "checkpoint_every": 0})
    assert not (tmp_path / "m").exists()


def test_finetune_fault_keeps_last_save(tmp_path, monkeypatch):
    train_tsv = write_tsv(tmp_path / "train.tsv", make_rows(64, 1))
    dev_tsv = write_tsv(tmp_path / "dev.tsv", make_rows(20, 2))
    cfg = FinetuneConfig(dim=8, epochs=4, seed=0, lr=0.05, batch_size=16, checkpoint_interval=0)
    real_ce, calls = classify_train.F.cross_entropy, []

    class BrokenF:
        @staticmethod
        def cross_entropy(*args, **kwargs):
            calls.append(1)
            loss = real_ce(*args, **kwargs)
            return loss * float("nan") if len(calls) == 10 else loss   # in epoch 3

    monkeypatch.setattr(classify_train, "F", BrokenF)
    out = tmp_path / "task"
    with pytest.raises(TrainingDiverged, match=r"at step 10: the loss became nan; kept the task "
                                               r"directory .* as saved after epoch 2"):
        finetune("none", out, train_tsv, dev_tsv, None, cfg, log=None)
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 2
    saved = load_file(str(out / "checkpoint" / "state.safetensors"))
    assert saved and all(np.isfinite(w).all() for w in saved.values())
    monkeypatch.setattr(classify_train, "F", torch.nn.functional)
    model = finetune("none", out, train_tsv, dev_tsv, None, resume=True, log=None)
    assert model.labels == ["neg", "pos"]


def test_divergence_is_a_tokvec_error():
    assert issubclass(TrainingDiverged, TokvecError)
