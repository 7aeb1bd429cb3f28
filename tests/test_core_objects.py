"""Vocabulary, embedding table, word vectors and the static model directory."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file

from tokvec.errors import TokvecError
from tokvec.modeldir import load_model, read_config
from tokvec.static_model import StaticModel
from tokvec.table import EmbeddingTable, memory_report
from tokvec.vectors import StaticVectors, top_k
from tokvec.vocab import UNK, Vocabulary


def test_vocabulary_specials_first_then_frequency():
    v = Vocabulary.from_counts({"b": 3, "a": 3, "c": 9, "rare": 1}, min_count=2, max_size=7)
    assert v.tokens == ["[PAD]", UNK, "[CLS]", "[SEP]", "[MASK]", "c", "b"]
    assert v.counts.tolist() == [0, 0, 0, 0, 0, 9, 3]
    assert v.id("rare") == v.unk_id and v.get("rare") is None
    with pytest.raises(TokvecError, match="min_count"):
        Vocabulary.from_counts({"a": 1}, min_count=0)
    with pytest.raises(TokvecError, match="duplicate"):
        Vocabulary(["a", "a"])


@pytest.mark.parametrize("init", ["normal", "uniform", "xavier"])
def test_table_initialisation_is_seeded_and_stated(init):
    a = EmbeddingTable.initialise(1000, 50, init, seed=3, zero_rows=[0])
    b = EmbeddingTable.initialise(1000, 50, init, seed=3, zero_rows=[0])
    assert a.weights.dtype == np.float32 and np.array_equal(a.weights, b.weights)
    assert not a.weights[0].any()
    w = a.weights[1:]
    if init == "normal":
        assert w.std() == pytest.approx(1 / np.sqrt(50), rel=0.05)
    elif init == "uniform":
        assert np.abs(w).max() <= 0.5 / 50
    else:
        assert np.abs(w).max() <= np.sqrt(6 / 1050)
    with pytest.raises(TokvecError, match="d_model"):
        EmbeddingTable.initialise(10, 0)


def test_lookup_pads_and_masks():
    t = EmbeddingTable.initialise(10, 3, seed=0, zero_rows=[0])
    rows, mask = t.lookup([[1, 2], [3, 4, 5, 6]], pad_id=0, max_len=3)
    assert rows.shape == (2, 3, 3)
    assert mask.tolist() == [[True, True, False], [True, True, True]]
    assert np.array_equal(rows[0, 2], t.weights[0]) and np.array_equal(rows[1, 2], t.weights[5])
    with pytest.raises(TokvecError, match="out of range"):
        t.lookup([[99]])


def test_memory_report_dense_against_onehot():
    r = memory_report(30000, 100)
    assert r["dense_bytes"] == 30000 * 100 * 4
    assert r["onehot_bytes"] == 30000 * 30000 * 4
    assert r["ratio_onehot_to_dense"] == 300


def test_fill_from_pretrained_reports_coverage():
    t = EmbeddingTable.initialise(3, 2, seed=0)
    report = t.fill_from(["Cat", "dog", "emu"], vectors={"cat": np.ones(2), "dog": np.zeros(2)})
    assert report["found_exact"] == 1 and report["found_lowercase"] == 1
    assert report["missing"] == 1 and report["missing_examples"] == ["emu"]
    assert np.array_equal(t.weights[0], np.ones(2))


def test_top_k_is_exact_across_blocks(monkeypatch):
    import tokvec.vectors as vectors_module

    monkeypatch.setattr(vectors_module, "_BLOCK_ROWS", 7)  # force many blocks
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(100, 8)).astype(np.float32)
    queries = rng.normal(size=(3, 8)).astype(np.float32)
    ids, scores = top_k(rows, queries, 5)
    brute = np.argsort(-(queries @ rows.T), axis=1)[:, :5]
    assert np.array_equal(ids, brute)
    ids, _ = top_k(rows, queries, 5, restrict=20)
    assert ids.max() < 20


def test_static_vectors_queries():
    words = ["paris", "france", "rome", "italy", "berlin"]
    m = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 0], [1, -1, 0]], np.float32)
    kv = StaticVectors(words, m)
    assert kv.analogy("france", "paris", "italy")[0][0] == "rome"
    assert [w for w, _ in kv.most_similar("paris", topn=2)] == ["france", "rome"]
    assert kv.similarity("paris", "paris") == pytest.approx(1.0)
    with pytest.raises(TokvecError, match="not in the vocabulary"):
        kv.get_vector("madrid")


def test_model_directory_round_trip_and_plain_formats(tmp_path):
    m = StaticModel.from_vectors(["a", "b", "c"], np.arange(6, dtype=np.float32).reshape(3, 2))
    m.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["format_version"] == 1 and cfg["kind"] == "static" and cfg["d_model"] == 2
    # Tables load with plain safetensors; specials occupy the first rows.
    table = load_file(str(tmp_path / "m" / "embeddings.safetensors"))["embeddings"]
    assert table.shape == (8, 2) and not table[:5].any()
    again = load_model(tmp_path / "m")
    assert again.vectors.words == ["a", "b", "c"]
    assert np.array_equal(again.vectors.get_vector("c"), [4, 5])
    assert not list(tmp_path.glob(".m.*"))  # no temporary leftovers


@pytest.mark.parametrize("config, message", [
    ("{not json", "malformed JSON"),
    ('["a list"]', "expected a JSON object"),
    ('{"kind": "static"}', "format_version"),
    ('{"format_version": 99, "kind": "static"}', "newer than this tokvec"),
    ('{"format_version": 1, "kind": "evil"}', "unknown model kind"),
    ('{"format_version": 1, "kind": "static", "weights_file": "../../etc/passwd"}',
     "outside the model directory"),
])
def test_bad_model_config_refused(tmp_path, config, message):
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text(config)
    with pytest.raises(TokvecError, match=message):
        load_model(d)


def test_missing_model_and_missing_table(tmp_path):
    with pytest.raises(TokvecError, match="no such model directory"):
        read_config(tmp_path / "nope")
    m = StaticModel.from_vectors(["a"], np.ones((1, 2), np.float32))
    m.save(tmp_path / "m")
    (tmp_path / "m" / "embeddings.safetensors").unlink()
    with pytest.raises(TokvecError, match="missing model file"):
        load_model(tmp_path / "m")


def test_truncated_table_refused(tmp_path):
    m = StaticModel.from_vectors(["a"], np.ones((1, 2), np.float32))
    m.save(tmp_path / "m")
    path = tmp_path / "m" / "embeddings.safetensors"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(TokvecError, match="safetensors"):
        load_model(tmp_path / "m")
