"""Evaluation agrees with gensim's evaluate_word_pairs / evaluate_word_analogies."""

from __future__ import annotations

import numpy as np
import pytest

from tokvec.errors import TokvecError
from tokvec.evaluation import (
    evaluate_analogy,
    evaluate_similarity,
    evaluate_vectors,
    read_analogy_file,
    spearman,
)
from tokvec.vectors import StaticVectors


def _structured_vectors(seed: int = 0, n_pairs: int = 60, dim: int = 16):
    """Pairs (x_i, y_i) related by a shared offset, plus distractors in mixed case."""
    rng = np.random.default_rng(seed)
    offset = rng.normal(size=dim)
    words, rows = [], []
    for i in range(n_pairs):
        x = rng.normal(size=dim)
        words += [f"x{i}", f"y{i}"]
        rows += [x, x + offset + rng.normal(scale=0.6, size=dim)]
    for i in range(40):
        words.append(f"Noise{i}" if i % 2 else f"noise{i}")
        rows.append(rng.normal(size=dim))
    words += ["X0", "Y1"]  # other casings, rarer: the lowercase forms must win
    rows += [rng.normal(size=dim), rng.normal(size=dim)]
    return StaticVectors(words, np.array(rows, dtype=np.float32))


def _files(tmp_path, kv, seed: int = 1):
    rng = np.random.default_rng(seed)
    pairs = tmp_path / "pairs.tsv"
    lines = ["# a comment"]
    for _ in range(80):
        a, b = rng.choice(len(kv.words) - 2, 2, replace=False)
        lines.append(f"{kv.words[a].upper()}\t{kv.words[b]}\t{rng.uniform(0, 10):.2f}")
    lines.append("unknownword\tx1\t3.0")
    pairs.write_text("\n".join(lines) + "\n")
    analogies = tmp_path / "analogies.txt"
    lines = [": pairs"]
    for _ in range(150):
        i, j = rng.choice(60, 2, replace=False)
        lines.append(f"x{i} y{i} x{j} y{j}")
    lines += [": other", "x1 y1 zzz y2", "X0 y0 x3 y3"]
    analogies.write_text("\n".join(lines) + "\n")
    return pairs, analogies


def _gensim_kv(kv):
    gensim_models = pytest.importorskip("gensim.models")
    g = gensim_models.KeyedVectors(kv.dim)
    g.add_vectors(kv.words, kv.vectors)
    return g


def test_similarity_matches_gensim(tmp_path):
    kv = _structured_vectors()
    pairs, _ = _files(tmp_path, kv)
    ours = evaluate_similarity(kv, pairs)
    pearson, (rho, _), oov_ratio = _gensim_kv(kv).evaluate_word_pairs(str(pairs))
    assert ours["spearman"] == pytest.approx(rho, abs=1e-6)
    assert ours["pearson"] == pytest.approx(pearson[0], abs=1e-6)
    assert ours["oov"] == 1 and ours["pairs"] == 81
    assert ours["oov_ratio"] * 100 == pytest.approx(oov_ratio)


def test_analogy_matches_gensim(tmp_path):
    kv = _structured_vectors()
    _, analogies = _files(tmp_path, kv)
    ours = evaluate_analogy(kv, analogies, restrict=30000)
    g = _gensim_kv(kv)
    covered_acc, _ = g.evaluate_word_analogies(str(analogies), restrict_vocab=30000)
    all_acc, _ = g.evaluate_word_analogies(str(analogies), restrict_vocab=30000,
                                           dummy4unknown=True)
    assert ours["accuracy_covered"] == pytest.approx(covered_acc)
    assert ours["accuracy"] == pytest.approx(all_acc)
    assert ours["questions"] == 152 and ours["covered"] == 151
    assert 0.3 < ours["accuracy_covered"] < 1.0  # structured: many right, not all


def test_analogy_restriction_matches_gensim(tmp_path):
    kv = _structured_vectors(seed=3)
    _, analogies = _files(tmp_path, kv, seed=4)
    ours = evaluate_analogy(kv, analogies, restrict=70)
    covered_acc, _ = _gensim_kv(kv).evaluate_word_analogies(str(analogies), restrict_vocab=70)
    assert ours["accuracy_covered"] == pytest.approx(covered_acc)
    assert ours["covered"] < 151


def test_spearman_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 50).astype(float)  # many ties
    y = x + rng.normal(size=50)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)


def test_evaluate_vectors_keys_by_stem(tmp_path):
    kv = _structured_vectors()
    pairs, analogies = _files(tmp_path, kv)
    out = evaluate_vectors(kv, similarity=[pairs], analogy=[analogies])
    assert set(out) == {"pairs", "analogies"}
    assert {"spearman", "pairs", "oov"} <= set(out["pairs"])
    assert {"accuracy", "accuracy_covered", "questions", "covered"} <= set(out["analogies"])


@pytest.mark.parametrize("content, message", [
    ("a\tb\n", "expected 3 tab-separated fields"),
    ("a\tb\tnot-a-number\n", "is not a number"),
    ("", "no word pairs"),
])
def test_bad_similarity_file(tmp_path, content, message):
    path = tmp_path / "bad.tsv"
    path.write_text(content)
    kv = _structured_vectors()
    with pytest.raises(TokvecError, match=message):
        evaluate_similarity(kv, path)


def test_bad_analogy_file_names_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(": s\na b c d\na b c\n")
    with pytest.raises(TokvecError, match=r"bad.txt:3: expected 4 words"):
        read_analogy_file(path)
