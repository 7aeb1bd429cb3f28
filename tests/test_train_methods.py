"""Each static method trains, learns the synthetic groups, reports a falling true loss, and saves a
loadable model; fasttext answers for unseen words (English and Chinese)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from test_train_helpers import neighbour_accuracy, write_group_corpus

from tokvec.modeldir import load_model
from tokvec.static import TrainConfig, train
from tokvec.static.sampling import alias_probabilities, alias_table, noise_weights
from tokvec.static_model import StaticModel

SMALL = {"dim": 24, "window": 3, "min_count": 1, "sample": 0.0, "epochs": 4, "seed": 3,
         "tokenizer": "whitespace", "chunk_words": 4000, "log_every": 0.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "groups.txt"
    groups = write_group_corpus(path, sentences=1500, seed=1)
    return path, groups


@pytest.mark.parametrize("method,extra", [
    ("sgns", {"threads": 2}),
    ("sgns", {"threads": 1, "shared_negatives": False}),
    ("cbow", {"threads": 2, "lr": 0.05}),
    ("fasttext", {"threads": 2, "buckets": 50_000}),
])
def test_method_learns_groups_and_saves_a_loadable_model(tmp_path, corpus, method, extra):
    path, groups = corpus
    out = tmp_path / "model"
    model = train(path, out, TrainConfig(method=method, **{**SMALL, **extra}))
    assert neighbour_accuracy(model.vectors, groups) >= 0.9
    loaded = load_model(out)
    assert isinstance(loaded, StaticModel)
    assert loaded.config["method"] == method
    assert loaded.config["training"]["dim"] == SMALL["dim"]
    assert np.array_equal(loaded.embeddings, model.embeddings)
    assert not loaded.embeddings[:5].any() and loaded.embeddings[5:].any()
    assert loaded.extra_tensors["context"].shape == loaded.embeddings.shape
    assert not loaded.extra_tensors["context"][:5].any()
    assert loaded.extra_tensors["counts"][5:].sum() == loaded.config["training"]["num_tokens"]
    assert not (tmp_path / "model.work").exists()
    rows = [json.loads(line) for line in (out / "training.jsonl").read_text().splitlines()]
    assert len(rows) == SMALL["epochs"]
    for key in ("step", "loss", "lr", "words_per_s", "epoch", "words_done", "elapsed_s"):
        assert key in rows[-1]
    losses = [r["loss"] for r in rows]
    assert losses[-1] < losses[0] - 0.1, losses
    assert rows[-1]["words_done"] == SMALL["epochs"] * loaded.config["training"]["num_tokens"]
    assert rows[0]["lr"] > rows[-1]["lr"]


@pytest.mark.parametrize("method", ["sgns", "cbow"])
def test_torch_engine_runs_on_cpu_and_learns(tmp_path, corpus, method):
    path, groups = corpus
    cfg = TrainConfig(method=method, engine="torch", device="cpu", threads=1, torch_batch=256,
                      **{**SMALL, "epochs": 5})
    model = train(path, tmp_path / "m", cfg)
    assert model.config["training"]["engine"] == "TorchEngine"
    assert neighbour_accuracy(model.vectors, groups) >= 0.8
    rows = [json.loads(x) for x in (tmp_path / "m" / "training.jsonl").read_text().splitlines()]
    assert rows[-1]["loss"] < rows[0]["loss"]


@pytest.mark.parametrize("chinese", [False, True])
def test_fasttext_gives_unseen_words_vectors_near_their_stem(tmp_path, chinese):
    path = tmp_path / "c.txt"
    groups = write_group_corpus(path, sentences=1500, seed=2, chinese=chinese)
    ngrams = {"minn": 1, "maxn": 3} if chinese else {}
    model = train(path, tmp_path / "m", TrainConfig(method="fasttext", buckets=100_003,
                                                    threads=1, **{**SMALL, **ngrams}))
    loaded = StaticModel.load(tmp_path / "m")
    assert loaded.config["subwords"] == {"minn": ngrams.get("minn", 3),
                                         "maxn": ngrams.get("maxn", 6), "buckets": 100_003}
    # An in-vocabulary word's stored vector is the composed fastText vector.
    assert np.allclose(loaded.subwords.vector(groups[0][0]), loaded.word_vector(groups[0][0]))
    hits = 0
    for g, words in enumerate(groups):
        unseen = words[0][:-1] + ("雪" if chinese else "qqq")
        assert unseen not in loaded.vectors
        vec = loaded.vectors.get_vector(unseen)
        assert vec.shape == (SMALL["dim"],) and np.isfinite(vec).all()
        sims = [np.mean([loaded.vectors.similarity(unseen, w) for w in grp]) for grp in groups]
        hits += int(np.argmax(sims) == g)
    assert hits >= len(groups) - 1
    assert np.array_equal(model.embeddings, loaded.embeddings)


def test_fasttext_without_any_known_ngram_returns_none(tmp_path, corpus):
    path, _ = corpus
    model = train(path, tmp_path / "m", TrainConfig(method="fasttext", buckets=1 << 30,
                                                    threads=1, **{**SMALL, "epochs": 1}))
    assert model.subwords.vector("\u2603\u2604\u2605") is None
    assert model.subwords.vector("koraqq") is not None


def test_kernel_loss_is_the_true_negative_sampling_loss():
    from tokvec.static.kernels_w2v import chunk_seed, sgns_chunk, sgns_shared_chunk

    rng = np.random.default_rng(0)
    vocab, dim = 9, 8
    w_in = rng.normal(size=(vocab, dim)).astype(np.float32)
    w_out = rng.normal(size=(vocab, dim)).astype(np.float32)
    counts = np.zeros(vocab)
    counts[8] = 1  # all noise mass on word 8, which the corpus never uses
    noise_p, noise_a = alias_table(noise_weights(counts))
    keep = np.full(vocab, 1 << 32, dtype=np.uint64)
    ids = np.array([5, 6, 7], dtype=np.uint32)
    ends = np.array([3], dtype=np.int64)

    def softplus(x):
        return math.log1p(math.exp(-abs(x))) + max(x, 0.0)

    expected = 0.0
    for centre, ctx in [(5, 6), (6, 5), (6, 7), (7, 6)]:
        expected += softplus(-float(w_in[ctx] @ w_out[centre]))
        expected += 2 * softplus(float(w_in[ctx] @ w_out[8]))
    for kernel in (sgns_chunk, sgns_shared_chunk):
        stats = np.zeros(2)
        kernel(ids, ends, w_in.copy(), w_out.copy(), keep, noise_p, noise_a, 1, 2, 1e-30,
               1e-31, 0, 3, chunk_seed(0, 0, 0), stats)
        assert stats[1] == 4
        assert stats[0] == pytest.approx(expected, rel=1e-5)


def test_alias_table_draws_the_unigram_075_distribution():
    counts = np.array([0, 0, 50, 7, 3, 1, 1, 400])
    p, a = alias_table(noise_weights(counts))
    target = counts ** 0.75 / (counts ** 0.75).sum()
    assert np.allclose(alias_probabilities(p, a), target, atol=1e-9)


def test_glove_dispatch(tmp_path, corpus):
    pytest.importorskip("tokvec.static.glove")
    path, groups = corpus
    cfg = TrainConfig(method="glove", dim=16, window=3, min_count=1, epochs=10, threads=1,
                      tokenizer="whitespace")
    model = train(path, tmp_path / "g", cfg)
    assert model.config["method"] == "glove"
    assert not model.embeddings[:5].any()
    assert (tmp_path / "g" / "training.jsonl").is_file()
    assert neighbour_accuracy(model.vectors, groups) >= 0.8
    assert model.config["training"]["x_max"] == 10.0


def test_glove_x_max_reaches_the_weighting(tmp_path, corpus):
    pytest.importorskip("tokvec.static.glove")
    path, _ = corpus
    runs = [train(path, tmp_path / f"g{x}", TrainConfig(method="glove", dim=8, window=3,
                                                        min_count=1, epochs=2, threads=1,
                                                        tokenizer="whitespace", x_max=x))
            for x in (10.0, 100.0)]
    assert runs[1].config["training"]["x_max"] == 100.0
    assert not np.array_equal(runs[0].embeddings, runs[1].embeddings)
