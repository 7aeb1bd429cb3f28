"""Pretraining: packing, masking, schedule, the training loop, checkpoints and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from tokvec.contextual import load_contextual
from tokvec.contextual.bert import TransformerEncoder
from tokvec.contextual.config import EncoderConfig
from tokvec.contextual.data import BlockOrder, Masker, PackedBlocks, encode_stream
from tokvec.contextual.optim import lr_factor, param_groups
from tokvec.contextual.pretrain import pretrain
from tokvec.errors import TokvecError
from tokvec.modeldir import load_model
from tokvec.tokenization import Tokenizer

SENTENCES = [
    "the cat sat on the mat", "the dog sat on the rug", "a bird sang in the tree",
    "the river bank was wet", "she paid money into the bank", "he swung the bat hard",
    "a bat flew from the cave", "the children played in the park",
]
TINY = {"d_model": 32, "layers": 2, "heads": 2, "ffn": 64, "seq_len": 16, "batch_size": 8,
        "vocab_size": 120, "log_every": 2, "lr": 3e-3, "dropout": 0.0, "threads": 1}


def _corpus(path, lines=300, seed=0):
    rng = np.random.default_rng(seed)
    text = [" ".join(SENTENCES[i] for i in rng.integers(0, len(SENTENCES), 2))
            for _ in range(lines)]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def test_packing_has_no_padding_and_cls_first(tmp_path):
    corpus = _corpus(tmp_path / "c.txt", lines=20)
    tok = Tokenizer.train([corpus], kind="wordpiece", vocab_size=80, lowercase=True)
    stream = encode_stream(tok, [corpus], sep_id=3)
    assert (stream == 3).sum() == 20 and stream[-1] == 3  # [SEP] after each line
    blocks = PackedBlocks(stream, seq_len=10, cls_id=2)
    batch = blocks.batch(np.arange(blocks.n_blocks))
    assert batch.shape == (len(stream) // 9, 10)
    assert (batch[:, 0] == 2).all() and not (batch == 0).any()
    assert batch[:, 1:].reshape(-1).tolist() == stream[: blocks.n_blocks * 9].tolist()


def test_block_order_shards_are_disjoint_and_cover_each_epoch():
    orders = [BlockOrder(n_blocks=23, batch_size=4, rank=r, world_size=3, seed=5)
              for r in range(3)]
    assert orders[0].steps_per_epoch == 2 and orders[0].blocks_per_rank == 7
    seen = [np.concatenate([o.indices(s) for s in range(2)]) for o in orders]
    flat = np.concatenate(seen)
    assert len(flat) == len(set(flat.tolist())) == 21
    assert not np.array_equal(orders[0].indices(0), orders[0].indices(2))  # reshuffled epoch


def test_masking_rates_and_specials():
    g = torch.Generator().manual_seed(0)
    masker = Masker(vocab_size=1000, mask_id=4, special_ids=[0, 1, 2, 3, 4], generator=g)
    ids = torch.randint(5, 1000, (64, 128))
    ids[:, 0] = 2
    inputs, positions, targets = masker(ids)
    assert abs(len(positions) / ids.numel() - 0.15) < 0.01
    assert not (positions % 128 == 0).any()  # [CLS] never chosen
    assert torch.equal(targets, ids.reshape(-1)[positions])
    corrupted = inputs.reshape(-1)[positions]
    share_mask = (corrupted == 4).float().mean().item()
    share_same = (corrupted == targets).float().mean().item()
    assert abs(share_mask - 0.8) < 0.03 and abs(share_same - 0.1) < 0.03
    assert (corrupted >= 4).all()  # random replacements are ordinary tokens
    untouched = torch.ones(ids.numel(), dtype=torch.bool)
    untouched[positions] = False
    assert torch.equal(inputs.reshape(-1)[untouched], ids.reshape(-1)[untouched])


def test_whole_word_masking_masks_every_piece_of_a_chosen_word():
    g = torch.Generator().manual_seed(0)
    continues = torch.zeros(1000, dtype=torch.bool)
    continues[500:] = True  # ids 500+ continue the word before them
    masker = Masker(vocab_size=1000, mask_id=4, special_ids=[0, 1, 2, 3, 4], generator=g,
                    continues_word=continues)
    # Words of one to three pieces: a start (5..499) then 0-2 continuations (500..999).
    rng = np.random.default_rng(0)
    pieces = []
    while len(pieces) < 64 * 128:
        pieces += [int(rng.integers(5, 500))] + [int(x) for x in
                                                  rng.integers(500, 1000, rng.integers(0, 3))]
    ids = torch.tensor(pieces[:64 * 128]).view(64, 128)
    ids[:, 0] = 2
    inputs, positions, targets = masker(ids)
    chosen = torch.zeros(ids.numel(), dtype=torch.bool)
    chosen[positions] = True
    flat = ids.reshape(-1)
    inner = continues[flat] & (torch.arange(flat.numel()) % 128 != 0)
    inner[torch.arange(flat.numel()) % 128 == 1] = False  # the piece after [CLS] starts a word
    follows = inner.nonzero().squeeze(1)
    assert torch.equal(chosen[follows], chosen[follows - 1])  # a word is masked whole or not
    assert abs(len(positions) / ids.numel() - 0.15) < 0.02
    assert not (positions % 128 == 0).any() and torch.equal(targets, flat[positions])
    with pytest.raises(TokvecError, match="1000 entries for a vocabulary of 999"):
        Masker(999, 4, [0, 1, 2, 3, 4], continues_word=continues)


def test_wordpiece_continuations_are_the_double_hash_pieces(tmp_path):
    corpus = _corpus(tmp_path / "c.txt")
    tok = Tokenizer.train([corpus], kind="wordpiece", vocab_size=120, lowercase=True)
    table = tok.continues_word()
    vocab = tok.hf.get_vocab()
    assert table.shape == (tok.vocab_size,) and table.any()
    assert all(table[i] == t.startswith("##") for t, i in vocab.items())
    for kind, mark in (("bpe", "\u0120"), ("unigram", "\u2581")):
        sub = Tokenizer.train([corpus], kind=kind, vocab_size=150)
        table = sub.continues_word()
        starts = [t for t, i in sub.hf.get_vocab().items() if not table[i]]
        assert any(t.startswith(mark) for t in starts) and table.any()
        assert all(t.startswith(mark) or t.startswith("[") for t in starts)
    assert not Tokenizer.train([corpus], kind="word").continues_word().any()


def test_bf16_whole_word_run_learns_records_and_resumes_exactly(tmp_path):
    corpus = _corpus(tmp_path / "c.txt")
    Tokenizer.train([corpus], kind="wordpiece", vocab_size=120, lowercase=True).save(
        tmp_path / "tok")
    opts = {**TINY, "steps": 40, "checkpoint_every": 0, "tokenizer": str(tmp_path / "tok"),
            "precision": "bf16", "mask_unit": "word"}
    pretrain([corpus], tmp_path / "full", opts)
    log = [json.loads(line) for line in (tmp_path / "full" / "training.jsonl").open()]
    assert log[-1]["loss"] < log[0]["loss"] - 0.5
    training = json.loads((tmp_path / "full" / "config.json").read_text())["training"]
    assert training["precision"] == "bf16" and training["mask_unit"] == "word"
    full = load_contextual(tmp_path / "full")
    assert all(v.dtype == torch.float32 for v in full.module.state_dict().values())

    def interrupt(step, loss):
        if step == 15:
            os.kill(os.getpid(), signal.SIGINT)

    assert pretrain([corpus], tmp_path / "part", opts, on_step=interrupt).interrupted
    with pytest.raises(TokvecError, match="--precision cannot change when resuming"):
        pretrain([corpus], tmp_path / "part", {"precision": "fp32"}, resume=True)
    pretrain([corpus], tmp_path / "part", {}, resume=True)
    part = load_contextual(tmp_path / "part")
    for name, value in full.module.state_dict().items():
        torch.testing.assert_close(part.module.state_dict()[name], value, rtol=1e-5, atol=1e-6)
    with pytest.raises(TokvecError, match="--mask-unit applies to --arch bert only"):
        pretrain([corpus], tmp_path / "l", {**TINY, "arch": "bilstm", "mask_unit": "word"})
    with pytest.raises(TokvecError, match="precision must be one of fp32, bf16"):
        pretrain([corpus], tmp_path / "l", {**TINY, "precision": "fp16"})
    assert not (tmp_path / "l").exists()


def test_weight_decay_only_on_matrices():
    enc = TransformerEncoder(EncoderConfig(50, 8, 1, 2, 16, 8))
    decay, no_decay = param_groups([enc], 0.1)
    assert all(p.dim() >= 2 for p in decay["params"]) and decay["weight_decay"] == 0.1
    assert all(p.dim() < 2 for p in no_decay["params"]) and no_decay["weight_decay"] == 0.0
    assert enc.tok_emb.weight in decay["params"]
    assert lr_factor(0, 10, 100) == 0.0 and lr_factor(10, 10, 100) == 1.0
    assert lr_factor(100, 10, 100) == 0.0


@pytest.mark.parametrize("arch", ["bert", "bilstm"])
def test_pretrain_loss_falls_and_model_loads(tmp_path, arch):
    corpus = _corpus(tmp_path / "c.txt")
    result = pretrain([corpus], tmp_path / "m", {**TINY, "arch": arch, "steps": 40})
    log = [json.loads(line) for line in (tmp_path / "m" / "training.jsonl").open()]
    assert [e["step"] for e in log] == list(range(2, 41, 2))
    assert {"step", "loss", "lr", "tokens_per_s"} <= set(log[0])
    assert log[-1]["loss"] < log[0]["loss"] - 0.5
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json", "embeddings.safetensors", "encoder.safetensors", "tokenizer.json",
        "tokenizer_config.json", "training.jsonl"]  # checkpoint and work files are gone
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["kind"] == arch and cfg["training"]["steps_done"] == 40 == result.steps
    model = load_model(tmp_path / "m")
    assert model.embed(["the bat flew"], pool="mean").shape == (1, 32)


def test_interrupt_then_resume_equals_an_uninterrupted_run(tmp_path):
    corpus = _corpus(tmp_path / "c.txt")
    # One tokenizer for both runs: the WordPiece trainer may order equal-count pieces
    # differently from run to run.
    Tokenizer.train([corpus], kind="wordpiece", vocab_size=120, lowercase=True).save(
        tmp_path / "tok")
    opts = {**TINY, "steps": 12, "checkpoint_every": 0, "tokenizer": str(tmp_path / "tok")}
    pretrain([corpus], tmp_path / "full", opts)

    def interrupt(step, loss):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)

    stopped = pretrain([corpus], tmp_path / "part", opts, on_step=interrupt)
    assert stopped.interrupted and stopped.steps == 5
    state = json.loads((tmp_path / "part" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 5 and state["epoch"] == 0 and state["batch_in_epoch"] == 5
    with pytest.raises(TokvecError, match="cannot change when resuming"):
        pretrain([corpus], tmp_path / "part", {"d_model": 64}, resume=True)
    done = pretrain([corpus], tmp_path / "part", {}, resume=True)
    assert not done.interrupted and done.steps == 12
    a, b = load_contextual(tmp_path / "full"), load_contextual(tmp_path / "part")
    for name, value in a.module.state_dict().items():
        torch.testing.assert_close(b.module.state_dict()[name], value, rtol=1e-5, atol=1e-6)
    steps = [json.loads(x)["step"] for x in (tmp_path / "part" / "training.jsonl").open()]
    assert steps == list(range(2, 13, 2))  # no duplicate lines after resuming


def test_time_budget_stops_and_writes_the_model(tmp_path):
    corpus = _corpus(tmp_path / "c.txt")
    result = pretrain([corpus], tmp_path / "m", {**TINY, "steps": 100_000, "log_every": 1000,
                                                 "max_minutes": 0.02})
    assert not result.interrupted and 0 < result.steps < 100_000 and result.seconds >= 1.2
    log = [json.loads(line) for line in (tmp_path / "m" / "training.jsonl").open()]
    assert log[-1]["step"] == result.steps  # the last, partial interval is logged
    assert log[-1]["lr"] < TINY["lr"]  # the decay followed the budget, not the 100k steps
    assert load_model(tmp_path / "m").config["training"]["steps_done"] == result.steps


def test_resume_without_checkpoint_and_tiny_corpus(tmp_path):
    corpus = _corpus(tmp_path / "c.txt", lines=2)
    with pytest.raises(TokvecError, match="no checkpoint"):
        pretrain([corpus], tmp_path / "m", {}, resume=True)
    with pytest.raises(TokvecError, match="fewer than one block"):
        pretrain([corpus], tmp_path / "m", {**TINY, "seq_len": 512, "steps": 1})


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tokvec.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_cli_errors_are_one_line(tmp_path):
    proc = _cli("pretrain", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "m"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file" in proc.stderr
    assert not (tmp_path / "m" / "config.json").exists()
    corpus = _corpus(tmp_path / "c.txt", lines=10)
    proc = _cli("pretrain", str(corpus), "-o", str(tmp_path / "m"), "--d-model", "30",
                "--heads", "4")
    assert proc.returncode == 2 and "divisible" in proc.stderr
    proc = _cli("pretrain", str(corpus), "-o", str(tmp_path / "m"), "--seq-len", "4096")
    assert proc.returncode == 2 and "fewer than one block" in proc.stderr
    assert not (tmp_path / "m").exists()  # nothing half-made is left behind


def test_auto_precision_is_resolved_and_recorded(tmp_path):
    from tokvec.contextual.precision import resolve_precision

    corpus = _corpus(tmp_path / "c.txt", lines=40)
    pretrain([corpus], tmp_path / "m", {**TINY, "steps": 2, "precision": "auto"})
    training = json.loads((tmp_path / "m" / "config.json").read_text())["training"]
    assert training["precision"] == resolve_precision("auto", torch.device("cpu"))
    assert training["precision"] in ("fp32", "bf16")


def test_a_budget_alone_runs_past_one_epoch(tmp_path):
    corpus = _corpus(tmp_path / "c.txt", lines=40)
    result = pretrain([corpus], tmp_path / "m", {**TINY, "log_every": 1000,
                                                 "max_minutes": 0.03})
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())["training"]
    per_epoch = cfg["total_steps"] // 100_000
    assert per_epoch >= 1 and result.steps > 2 * per_epoch  # epochs, not one
    assert cfg["warmup_steps"] == max(1, per_epoch // 20)
    assert result.seconds >= 1.8
