"""ELECTRA pretraining (``--objective electra``): loss, saved model, exact resume, refusals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import torch
from conftest import run_torchrun
from safetensors.numpy import load_file
from test_contextual_pretrain import TINY, _corpus

from tokvec.contextual import load_contextual
from tokvec.contextual.bert import TransformerEncoder
from tokvec.contextual.config import EncoderConfig
from tokvec.contextual.electra import ElectraObjective, generator_config
from tokvec.contextual.pretrain import pretrain
from tokvec.errors import TokvecError, TrainingDiverged
from tokvec.tokenization import Tokenizer

ELECTRA = {**TINY, "objective": "electra", "generator_scale": 0.5}


@pytest.fixture
def corpus(tmp_path):
    path = _corpus(tmp_path / "c.txt")
    Tokenizer.train([path], kind="wordpiece", vocab_size=120, lowercase=True).save(
        tmp_path / "tok")
    return path


def test_generator_shares_the_table_and_sampling_has_no_gradient():
    disc = TransformerEncoder(EncoderConfig(60, 16, 2, 2, 32, 8, dropout=0.0))
    obj = ElectraObjective(disc, generator_config(disc.cfg, 0.5, layers=1), [0, 1, 2, 3])
    assert obj.generator.cfg.d_model == 8 and obj.generator.cfg.layers == 1
    assert not hasattr(obj.generator, "tok_emb")  # no table of its own
    assert not any(k.startswith("discriminator.") for k in obj.extra_state())
    ids = torch.randint(4, 60, (3, 8))
    positions = torch.tensor([1, 2, 9, 20])
    masked = ids.clone().view(-1)
    masked[positions] = 3
    torch.manual_seed(0)
    obj(masked.view(3, 8), positions, ids.view(-1)[positions]).backward()
    assert set(obj.stats) == {"mlm_loss", "disc_loss", "disc_accuracy", "replaced"}
    assert 0.0 <= obj.stats["disc_accuracy"] <= 1.0
    grads = {name: p.grad for name, p in obj.named_parameters()}
    assert all(g is not None for g in grads.values())  # every part trains (DDP needs it)


def test_electra_loss_falls_and_saves_a_plain_bert(tmp_path, corpus):
    opts = {**ELECTRA, "steps": 30, "tokenizer": str(tmp_path / "tok")}
    result = pretrain([corpus], tmp_path / "m", opts)
    log = [json.loads(line) for line in (tmp_path / "m" / "training.jsonl").open()]
    assert [e["step"] for e in log] == list(range(2, 31, 2))
    assert {"step", "loss", "lr", "tokens_per_s", "mlm_loss", "disc_loss",
            "disc_accuracy", "replaced"} <= set(log[0])
    assert log[-1]["loss"] < log[0]["loss"] - 1.0
    assert log[-1]["mlm_loss"] < log[0]["mlm_loss"] - 0.5
    entry = log[-1]
    assert entry["loss"] == pytest.approx(entry["mlm_loss"] + 50 * entry["disc_loss"], rel=1e-3)
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["config.json", "electra.safetensors", "embeddings.safetensors",
                     "encoder.safetensors", "tokenizer.json", "tokenizer_config.json",
                     "training.jsonl"]
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["kind"] == "bert" and cfg["objective"] == "electra"
    assert cfg["electra"]["generator"]["d_model"] == 16 and cfg["electra"]["disc_weight"] == 50
    assert cfg["training"]["objective"] == "electra" and result.steps == 30
    model = load_contextual(tmp_path / "m")
    assert model.head is None  # the discriminator, no MLM head
    assert model.embed(["the bat flew"], pool="mean").shape == (1, 32)
    extra = load_file(str(tmp_path / "m" / "electra.safetensors"))
    assert any(k.startswith("generator.") for k in extra) and "disc_head.out.weight" in extra


def test_electra_resume_is_bit_identical(tmp_path, corpus):
    opts = {**ELECTRA, "steps": 10, "checkpoint_every": 0, "tokenizer": str(tmp_path / "tok")}
    pretrain([corpus], tmp_path / "full", opts)

    def interrupt(step, loss):
        if step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    assert pretrain([corpus], tmp_path / "part", opts, on_step=interrupt).interrupted
    weights = load_file(str(tmp_path / "part" / "checkpoint" / "model.safetensors"))
    assert any(k.startswith("electra.generator.") for k in weights)
    with pytest.raises(TokvecError, match="cannot change when resuming"):
        pretrain([corpus], tmp_path / "part", {"disc_weight": 10.0}, resume=True)
    assert pretrain([corpus], tmp_path / "part", {}, resume=True).steps == 10
    a, b = load_contextual(tmp_path / "full"), load_contextual(tmp_path / "part")
    for name, value in a.module.state_dict().items():
        assert torch.equal(b.module.state_dict()[name], value), name
    ga, gb = (load_file(str(tmp_path / d / "electra.safetensors")) for d in ("full", "part"))
    assert ga.keys() == gb.keys() and all((ga[k] == gb[k]).all() for k in ga)
    logs = [(tmp_path / d / "training.jsonl").read_text().splitlines() for d in ("full", "part")]
    strip = [[{k: v for k, v in json.loads(x).items() if k not in ("tokens_per_s", "elapsed_s")}
              for x in log] for log in logs]
    assert strip[0] == strip[1]


def test_mlm_runs_keep_their_layout(tmp_path, corpus):
    pretrain([corpus], tmp_path / "m", {**TINY, "steps": 2, "tokenizer": str(tmp_path / "tok")})
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["objective"] == "masked-lm" and "electra" not in cfg
    assert not (tmp_path / "m" / "electra.safetensors").exists()
    log = json.loads((tmp_path / "m" / "training.jsonl").read_text().splitlines()[0])
    assert "disc_loss" not in log


@pytest.mark.parametrize("options, message", [
    ({"objective": "electra", "arch": "bilstm"}, "needs --arch bert"),
    ({"objective": "electra", "generator_scale": 1.5}, "generator-scale must be"),
    ({"objective": "electra", "generator_layers": 9}, "generator-layers must be"),
    ({"generator_scale": 0.5}, "applies to --objective electra only"),
    ({"objective": "gan"}, "unknown objective"),
])
def test_bad_combinations_are_refused(tmp_path, corpus, options, message):
    with pytest.raises(TokvecError, match=message):
        pretrain([corpus], tmp_path / "m", {**TINY, **options})
    assert not (tmp_path / "m").exists()


def test_cli_refuses_electra_with_bilstm_in_one_line(tmp_path, corpus):
    proc = subprocess.run([sys.executable, "-m", "tokvec.cli", "pretrain", str(corpus), "-o",
                           str(tmp_path / "m"), "--arch", "bilstm", "--objective", "electra"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0
    assert "needs --arch bert" in proc.stderr


def test_electra_under_torchrun_two_processes(tmp_path, corpus):
    out = tmp_path / "m"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKVEC_PROGRESS": "0"}
    proc = run_torchrun(
        ["--standalone", "--nproc_per_node", "2",
         "-m", "tokvec.cli", "pretrain", str(corpus), "-o", str(out), "--objective", "electra",
         "--d-model", "32", "--layers", "1", "--heads", "2", "--ffn", "64", "--seq-len", "16",
         "--batch-size", "8", "--steps", "6", "--tokenizer", str(tmp_path / "tok"),
         "--dropout", "0", "--log-every", "3", "--threads", "1"], out, env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    log = [json.loads(line) for line in (out / "training.jsonl").open()]
    assert [e["step"] for e in log] == [3, 6] and "disc_accuracy" in log[0]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["objective"] == "electra" and cfg["training"]["world_size"] == 2
    assert load_contextual(out).embed(["the bat"], pool="cls").shape == (1, 32)


def test_electra_time_budget_and_divergence_guard(tmp_path, corpus):
    tok = str(tmp_path / "tok")
    result = pretrain([corpus], tmp_path / "m", {**ELECTRA, "steps": 100_000, "tokenizer": tok,
                                                 "log_every": 1000, "max_minutes": 0.01})
    assert not result.interrupted and 0 < result.steps < 100_000
    log = [json.loads(line) for line in (tmp_path / "m" / "training.jsonl").open()]
    assert log[-1]["step"] == result.steps and "disc_loss" in log[-1]
    with pytest.raises(TrainingDiverged, match="nothing was saved"):
        pretrain([corpus], tmp_path / "bad", {**ELECTRA, "steps": 20, "lr": 1e30, "warmup": 1,
                                              "checkpoint_every": 0, "tokenizer": tok})
    assert not (tmp_path / "bad").exists()
