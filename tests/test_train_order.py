"""Chunk order: each epoch reads the corpus chunks shuffled (or in file order), and the learning
rate still decays with the words trained so far, whatever the order."""

from __future__ import annotations

import numpy as np
import pytest
from test_train_helpers import write_group_corpus

from tokvec.static import TrainConfig
from tokvec.static.engines import NumbaEngine
from tokvec.static.trainer import chunk_order, train

BASE = {"dim": 8, "window": 3, "min_count": 1, "sample": 0.0, "epochs": 2, "seed": 3,
        "threads": 1, "tokenizer": "whitespace", "chunk_words": 500, "log_every": 0.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "groups.txt"
    write_group_corpus(path, sentences=600, seed=2)
    return path


def test_shuffled_order_is_a_fresh_permutation_each_epoch_and_reproducible():
    first, second = chunk_order(50, "shuffled", 7, 0), chunk_order(50, "shuffled", 7, 1)
    assert sorted(first.tolist()) == list(range(50))
    assert first.tolist() != list(range(50)) and first.tolist() != second.tolist()
    assert chunk_order(50, "shuffled", 7, 0).tolist() == first.tolist()
    assert chunk_order(50, "shuffled", 8, 0).tolist() != first.tolist()
    assert chunk_order(50, "file", 7, 3).tolist() == list(range(50))


def _record_runs(monkeypatch) -> list[tuple[int, int, int]]:
    """Patch the engine to log (first id, number of ids, pos0) of every chunk it trains."""
    calls: list[tuple[int, int, int]] = []
    real = NumbaEngine.run

    def run(self, ids, ends, pos0, seed):
        calls.append((int(ids[0]), int(ids.shape[0]), int(pos0)))
        return real(self, ids, ends, pos0, seed)

    monkeypatch.setattr(NumbaEngine, "run", run)
    return calls


@pytest.mark.parametrize("order", ["shuffled", "file"])
def test_learning_rate_position_follows_the_visit_order(tmp_path, monkeypatch, corpus, order):
    calls = _record_runs(monkeypatch)
    model = train(corpus, tmp_path / order, TrainConfig(**BASE, chunk_order=order))
    tokens = model.config["training"]["num_tokens"]
    sizes = [n for _, n, _ in calls]
    assert sum(sizes) == 2 * tokens and len(calls) >= 10
    # pos0 is the number of words trained before the chunk: it rises from 0 to the end of the
    # schedule with no gap or overlap, in whatever order the chunks come.
    assert [p for _, _, p in calls] == np.concatenate(([0], np.cumsum(sizes)[:-1])).tolist()
    per_epoch = len(calls) // 2
    epoch_sizes = [sizes[:per_epoch], sizes[per_epoch:]]
    if order == "file":
        assert epoch_sizes[0] == epoch_sizes[1]
    else:
        # Same chunks, another order: the multiset of sizes repeats, the sequence does not.
        assert sorted(epoch_sizes[0]) == sorted(epoch_sizes[1])
        assert [c[:2] for c in calls[:per_epoch]] != [c[:2] for c in calls[per_epoch:]]
    assert model.config["training"]["chunk_order"] == order


def test_shuffled_and_file_order_train_different_vectors_both_useful(tmp_path, corpus):
    from test_train_helpers import group_words, neighbour_accuracy

    shuffled = train(corpus, tmp_path / "s", TrainConfig(**{**BASE, "epochs": 3}))
    in_order = train(corpus, tmp_path / "f",
                     TrainConfig(**{**BASE, "epochs": 3}, chunk_order="file"))
    assert not np.array_equal(shuffled.embeddings, in_order.embeddings)
    for model in (shuffled, in_order):
        assert neighbour_accuracy(model.vectors, group_words()) >= 0.9
