"""Fine-tuning static heads end to end: learning, saving, loading, resume, bad input."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from tokvec.classify import FinetuneConfig, TaskModel, finetune
from tokvec.errors import TokvecError
from tokvec.modeldir import load_model
from tokvec.static_model import StaticModel

POSITIVE = ["good", "great", "superb", "lovely", "fine"]
NEGATIVE = ["bad", "awful", "poor", "dull", "ugly"]
NEUTRAL = ["the", "film", "plot", "actor", "movie", "story", "was", "a"]


def make_rows(n: int, seed: int, labels=("pos", "neg")) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = labels[i % len(labels)]
        cue = POSITIVE if label == labels[0] else NEGATIVE
        words = rng.sample(NEUTRAL, 4) + rng.sample(cue, 2)
        rng.shuffle(words)
        rows.append((label, " ".join(words)))
    return rows


def write_tsv(path, rows):
    path.write_text("".join(f"{label}\t{text}\n" for label, text in rows), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path):
    return (write_tsv(tmp_path / "train.tsv", make_rows(96, 1)),
            write_tsv(tmp_path / "dev.tsv", make_rows(30, 2)),
            write_tsv(tmp_path / "test.tsv", make_rows(30, 3)))


def quiet(**kw):
    base = {"dim": 16, "epochs": 8, "seed": 0}
    base.update(kw)
    return FinetuneConfig(**base)


@pytest.mark.parametrize("head,extra", [
    ("bag", {"lr": 0.05}),
    ("bag", {"lr": 0.05, "bigrams": True, "buckets": 500, "epochs": 15}),
    ("bag", {"lr": 0.02, "hidden": 8}),
    ("cnn", {"filters": 8, "widths": [1, 2], "dropout": 0.0, "lr": 0.01}),
    ("bilstm", {"hidden": 8, "lr": 0.02, "dropout": 0.0}),
])
def test_each_head_learns_and_round_trips(tmp_path, files, head, extra):
    train, dev, test = files
    out = tmp_path / "task"
    model = finetune("none", out, train, dev, test, quiet(head=head, **extra), log=None)
    assert model.metrics["test"]["accuracy"] >= 0.9
    loaded = TaskModel.load(out)
    texts = ["the film was superb", "a dull plot", "unseen words only"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts),
                               atol=1e-6)
    assert isinstance(load_model(out), TaskModel)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["kind"] == "classifier" and cfg["labels"] == ["neg", "pos"]
    assert (out / "embeddings.safetensors").is_file() and (out / "head.safetensors").is_file()
    assert not (out / "checkpoint").exists()
    assert loaded.evaluate(test)["accuracy"] == pytest.approx(model.metrics["test"]["accuracy"])


def test_training_log_and_metrics(tmp_path, files):
    train, dev, test = files
    out = tmp_path / "task"
    finetune("none", out, train, dev, test, quiet(lr=0.05, epochs=3, patience=0), log=None)
    records = [json.loads(x) for x in (out / "training.jsonl").read_text().splitlines()]
    header, epochs, end = records[0], records[1:-1], records[-1]
    assert header["event"] == "start"
    assert header["class_balance"]["train"]["pos"] == {"count": 48, "proportion": 0.5}
    assert [r["epoch"] for r in epochs] == [1, 2, 3]
    for r in epochs:
        for key in ("step", "loss", "dev_accuracy", "dev_macro_f1", "lr", "examples_per_s"):
            assert key in r
    assert epochs[-1]["step"] == 3 * 3  # 96 examples, batch 32 -> 3 steps per epoch
    assert end["event"] == "end" and end["epochs"] == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= {"dev", "test", "best_epoch"}
    assert metrics["test"]["confusion"]["pos"]["pos"] >= 1


def test_early_stopping_keeps_best_weights(tmp_path, files):
    train, dev, _ = files
    out = tmp_path / "task"
    model = finetune("none", out, train, dev, None,
                     quiet(lr=0.05, epochs=30, patience=2), log=None)
    records = [json.loads(x) for x in (out / "training.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r.get("event") == "epoch"]
    best = max(r["dev_macro_f1"] for r in epochs)
    assert len(epochs) < 30  # stopped early (dev is perfect early on)
    assert model.metrics["dev"]["macro_f1"] == pytest.approx(best, abs=1e-6)
    assert model.metrics["best_epoch"] == next(r["epoch"] for r in epochs
                                               if r["dev_macro_f1"] == best)


def test_resume_continues_exactly(tmp_path, files):
    train, dev, _ = files
    cfg = quiet(head="bag", lr=0.02, epochs=4, patience=0, dropout=0.3, hidden=8, bigrams=True,
                buckets=300, checkpoint_interval=0)
    full = finetune("none", tmp_path / "full", train, dev, None, cfg, log=None)

    def stop_after_two(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune("none", tmp_path / "cut", train, dev, None, cfg, log=None,
                 on_epoch=stop_after_two)
    assert (tmp_path / "cut" / "checkpoint" / "state.json").is_file()
    resumed = finetune("none", tmp_path / "cut", train, dev, None, resume=True, log=None)
    texts = ["the film was superb", "a dull plot", "story"]
    np.testing.assert_allclose(resumed.predict_proba(texts), full.predict_proba(texts),
                               atol=1e-6)
    log = (tmp_path / "cut" / "training.jsonl").read_text()
    assert '"event": "resume"' in log
    with pytest.raises(TokvecError, match="no checkpoint"):
        finetune("none", tmp_path / "cut", train, dev, None, resume=True, log=None)


def test_resume_from_an_older_checkpoint(tmp_path, files):
    """With a long checkpoint interval only epoch 1 is saved; resuming redoes epochs 2-3."""
    train, dev, _ = files
    cfg = quiet(head="bag", lr=0.02, epochs=4, patience=0, checkpoint_interval=1e9)
    full = finetune("none", tmp_path / "full", train, dev, None, cfg, log=None)

    def stop_after_three(record):
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune("none", tmp_path / "cut", train, dev, None, cfg, log=None,
                 on_epoch=stop_after_three)
    state = json.loads((tmp_path / "cut" / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 1
    resumed = finetune("none", tmp_path / "cut", train, dev, None, resume=True, log=None)
    np.testing.assert_allclose(resumed.predict_proba(["superb plot", "dull"]),
                               full.predict_proba(["superb plot", "dull"]), atol=1e-6)
    records = [json.loads(x) for x in (tmp_path / "cut" / "training.jsonl").read_text()
               .splitlines()]
    assert [r["epoch"] for r in records if r["event"] == "epoch"] == [1, 2, 3, 4]


def _static_base(tmp_path):
    words = POSITIVE + NEGATIVE + ["the", "film"]
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(len(words), 6)).astype(np.float32)
    vecs[: len(POSITIVE), 0] += 3.0  # a "sentiment" direction
    vecs[len(POSITIVE): 2 * len(POSITIVE), 0] -= 3.0
    path = tmp_path / "base"
    StaticModel.from_vectors(words, vecs).save(path)
    return path, dict(zip(words, vecs, strict=True))


def test_static_base_trainable_adds_missing_training_words(tmp_path, files):
    train, dev, _ = files
    base, _ = _static_base(tmp_path)
    model = finetune(str(base), tmp_path / "task", train, dev, None,
                     quiet(lr=0.05, min_count=2), log=None)
    vocab = model.featurizer.tokenizer.vocabulary()
    assert "plot" in vocab and "actor" in vocab  # added from training data
    info = model.config["vocabulary"]
    assert info["added_words"] == 6 and info["base_vocab_size"] == 17
    assert model.metrics["dev"]["accuracy"] >= 0.9


def test_vector_file_base_is_imported(tmp_path, files):
    train, dev, _ = files
    _, vectors = _static_base(tmp_path)
    glove = tmp_path / "vectors.txt"  # GloVe text: word and values, no header
    glove.write_text("".join(w + " " + " ".join(f"{x:.6f}" for x in v) + "\n"
                             for w, v in vectors.items()), encoding="utf-8")
    model = finetune(str(glove), tmp_path / "task", train, dev, None,
                     quiet(lr=0.05, lowercase=True), log=None)
    assert model.config["base"]["kind"] == "vectors"
    assert model.config["d_model"] == 6
    assert model.metrics["dev"]["accuracy"] >= 0.9


def test_frozen_static_base_keeps_vectors_and_adds_nothing(tmp_path, files):
    train, dev, _ = files
    base, vectors = _static_base(tmp_path)
    model = finetune(str(base), tmp_path / "task", train, dev, None,
                     quiet(lr=0.05, train_embeddings=False), log=None)
    assert model.config["vocabulary"]["added_words"] == 0
    table = model.network.embed.weight.detach().numpy()
    tok = model.featurizer.tokenizer
    for word, vec in vectors.items():
        np.testing.assert_array_equal(table[tok.token_to_id(word)], vec)
    assert model.metrics["dev"]["accuracy"] >= 0.9  # the sentiment direction is enough


def test_pretrained_rows_move_when_trainable(tmp_path, files):
    train, dev, _ = files
    base, vectors = _static_base(tmp_path)
    model = finetune(str(base), tmp_path / "task", train, dev, None,
                     quiet(lr=0.05, epochs=3), log=None)
    tok = model.featurizer.tokenizer
    row = model.network.embed.weight.detach().numpy()[tok.token_to_id("good")]
    assert not np.allclose(row, vectors["good"])


def test_multiclass_string_labels_with_spaces(tmp_path):
    labels = ("very good", "très mauvais", "meh")
    rng = random.Random(0)
    cues = {labels[0]: POSITIVE, labels[1]: NEGATIVE, labels[2]: ["so", "okay", "average"]}

    def rows(n, seed):
        rng.seed(seed)
        out = []
        for i in range(n):
            label = labels[i % 3]
            out.append((label, " ".join([*rng.sample(NEUTRAL, 3), rng.choice(cues[label])])))
        return out

    train = write_tsv(tmp_path / "train.tsv", rows(90, 1))
    dev = write_tsv(tmp_path / "dev.tsv", rows(30, 2))
    model = finetune("none", tmp_path / "task", train, dev, None,
                     quiet(lr=0.05, epochs=15), log=None)
    assert sorted(model.labels) == sorted(labels)
    assert model.predict(["the film was okay so average"]) == ["meh"]
    proba = model.predict_proba(["superb"])
    assert proba.shape == (1, 3) and proba.sum() == pytest.approx(1.0, abs=1e-5)


def test_chinese_character_tokenizer(tmp_path):
    pos, neg = ["很好", "喜欢", "满意"], ["很差", "失望", "垃圾"]
    rng = random.Random(0)

    def rows(n, seed):
        rng.seed(seed)
        return [("pos" if i % 2 == 0 else "neg",
                 "这个手机" + rng.choice(pos if i % 2 == 0 else neg) + "。") for i in range(n)]

    train = write_tsv(tmp_path / "train.tsv", rows(60, 1))
    dev = write_tsv(tmp_path / "dev.tsv", rows(20, 2))
    model = finetune("none", tmp_path / "task", train, dev, None,
                     quiet(lr=0.05, tokenizer="zh-char", epochs=10), log=None)
    assert model.featurizer.tokenizer.kind == "zh-char"
    assert model.featurizer.tokenizer.tokens("很好") == ["很", "好"]
    assert model.predict(["真的很满意", "太失望了"]) == ["pos", "neg"]


def test_class_only_in_dev_is_refused_before_writing(tmp_path, files):
    train, _, _ = files
    dev = write_tsv(tmp_path / "dev2.tsv", [("pos", "good"), ("neutral", "the film")])
    out = tmp_path / "task"
    with pytest.raises(TokvecError) as err:
        finetune("none", out, train, dev, None, quiet(), log=None)
    assert str(err.value).startswith(f"{dev}:2: label 'neutral' does not occur")
    assert not out.exists()


def test_long_texts_are_cut_and_reported(tmp_path, files):
    train, dev, _ = files
    long_row = [("pos", " ".join(["film"] * 50 + ["superb"]))]
    train2 = write_tsv(tmp_path / "train2.tsv",
                       make_rows(40, 1) + long_row)
    messages: list[str] = []
    model = finetune("none", tmp_path / "task", train2, dev, None,
                     quiet(head="cnn", max_len=10, filters=4, lr=0.01), log=messages.append)
    warning = next(m for m in messages if "window" in m)
    assert warning.startswith(f"{train2}:41: text has 51 tokens, more than the window of 10")
    header = json.loads((tmp_path / "task" / "training.jsonl").read_text().splitlines()[0])
    assert header["truncated"]["train"] == 1
    assert model.predict([" ".join(["plot"] * 500)])[0] in ("pos", "neg")


def test_bad_options_and_bases(tmp_path, files):
    train, dev, _ = files
    with pytest.raises(TokvecError, match="no such base"):
        finetune(str(tmp_path / "missing"), tmp_path / "t", train, dev, None, quiet(), log=None)
    with pytest.raises(TokvecError, match="encoder head"):
        finetune("none", tmp_path / "t", train, dev, None, quiet(head="encoder"), log=None)
    with pytest.raises(TokvecError, match="bag head only"):
        finetune("none", tmp_path / "t", train, dev, None, quiet(head="cnn", bigrams=True),
                 log=None)
    with pytest.raises(TokvecError, match="pooling"):
        FinetuneConfig(head="cnn", pool="cls").resolved()
    finetune("none", tmp_path / "cls", train, dev, None, quiet(epochs=1), log=None)
    with pytest.raises(TokvecError, match="already a classifier"):
        finetune(str(tmp_path / "cls"), tmp_path / "t", train, dev, None, quiet(), log=None)
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(TokvecError, match="not a model directory"):
        finetune("none", precious, train, dev, None, quiet(epochs=1), log=None)
    assert (precious / "notes.txt").read_text(encoding="utf-8") == "keep me"
    base, _ = _static_base(tmp_path)
    with pytest.raises(TokvecError, match="replace the base"):
        finetune(str(base), base, train, dev, None, quiet(epochs=1), log=None)


def test_sgd_and_adamw_optimisers_train(tmp_path, files):
    train, dev, _ = files
    for opt, lr in (("sgd", 2.0), ("adamw", 0.05)):
        model = finetune("none", tmp_path / opt, train, dev, None,
                         quiet(optimizer=opt, lr=lr, epochs=12, weight_decay=0.01), log=None)
        assert model.metrics["dev"]["accuracy"] >= 0.9, opt
    assert torch.get_num_threads() >= 1


def test_row_adam_equals_torch_sparse_adam():
    from tokvec.classify.optim import RowAdam

    torch.manual_seed(0)
    ours, theirs = (torch.nn.Embedding(500, 8, sparse=True) for _ in range(2))
    theirs.weight.data.copy_(ours.weight.data)
    opts = (RowAdam(ours.parameters(), lr=0.01), torch.optim.SparseAdam(theirs.parameters(),
                                                                         lr=0.01))
    for _ in range(30):
        idx = torch.randint(0, 500, (40,))  # repeated rows included
        for emb, opt in zip((ours, theirs), opts, strict=True):
            opt.zero_grad()
            (emb(idx) ** 2).sum().backward()
            opt.step()
    torch.testing.assert_close(ours.weight, theirs.weight, rtol=0, atol=1e-6)
    assert opts[0].state_dict()["state"][0]["step"] == 30
