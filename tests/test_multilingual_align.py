"""Procrustes alignment with CSLS refinement recovers a rotation from a dictionary."""

from __future__ import annotations

import numpy as np
import pytest

from tokvec.errors import TokvecError
from tokvec.multilingual.align import (
    AlignSettings,
    align_models,
    align_spaces,
    mutual_csls_pairs,
    normalise,
    procrustes,
)
from tokvec.multilingual.retrieval import retrieve
from tokvec.static_model import StaticModel

N, D = 400, 20


def _spaces(noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    tgt = rng.normal(size=(N, D)).astype(np.float32)
    rotation = np.linalg.qr(rng.normal(size=(D, D)))[0]
    src = (tgt @ rotation + noise * rng.normal(size=(N, D))).astype(np.float32)
    return src, tgt, rotation


def _p_at_1(result, rows: np.ndarray) -> float:
    top = retrieve(result.target, result.source[rows], 1, "nn")[:, 0]
    return float(np.mean(top == rows))


def test_procrustes_is_orthogonal_and_exact_on_a_rotation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 6))
    q = np.linalg.qr(rng.normal(size=(6, 6)))[0]
    w = procrustes(x, x @ q)
    np.testing.assert_allclose(w @ w.T, np.eye(6), atol=1e-10)
    np.testing.assert_allclose(w, q, atol=1e-10)


def test_normalise_gives_unit_centred_rows():
    m = normalise(np.random.default_rng(2).normal(3, 1, size=(100, 5)))
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1, atol=1e-5)
    assert np.abs(m.mean(axis=0)).max() < 0.2


def test_align_recovers_the_rotation_on_held_out_pairs():
    src, tgt, _ = _spaces(noise=0.3)
    seed = np.stack([np.arange(150)] * 2, axis=1)
    held_out = np.arange(150, N)
    plain = align_spaces(src, tgt, seed, AlignSettings(refine=0))
    assert _p_at_1(plain, held_out) > 0.97
    refined = align_spaces(src, tgt, seed, AlignSettings(refine=3))
    assert _p_at_1(refined, held_out) >= _p_at_1(plain, held_out) - 0.01
    assert [r["round"] for r in refined.rounds] == [0, 1, 2, 3]


def test_refinement_helps_a_small_noisy_seed():
    src, tgt, _ = _spaces(noise=0.9, seed=3)
    seed = np.stack([np.arange(25)] * 2, axis=1)
    held_out = np.arange(25, N)
    plain = align_spaces(src, tgt, seed, AlignSettings(refine=0))
    for mode in ("replace", "union"):
        refined = align_spaces(src, tgt, seed, AlignSettings(refine=3, refine_dictionary=mode))
        assert _p_at_1(refined, held_out) >= _p_at_1(plain, held_out) - 0.01, mode
    assert _p_at_1(refined, held_out) > 0.5


def test_mutual_csls_pairs_on_identical_spaces_is_the_identity():
    x = normalise(np.random.default_rng(4).normal(size=(60, 8)))
    pairs = mutual_csls_pairs(x, x, k=5)
    assert pairs.tolist() == [[i, i] for i in range(60)]


def test_align_models_checks_dimensions_and_coverage():
    a = StaticModel.from_vectors(["uno", "dos"], np.eye(2, dtype=np.float32))
    b = StaticModel.from_vectors(["one", "two"], np.eye(3, dtype=np.float32)[:2])
    with pytest.raises(TokvecError, match="source model has 2 dimensions and the target model 3"):
        align_models(a, b, [("uno", "one")], "es", "en")
    c = StaticModel.from_vectors(["one", "two"], np.eye(2, dtype=np.float32))
    with pytest.raises(TokvecError, match="read 2 lines, 0 pairs covered by both models"):
        align_models(a, c, [("tres", "one"), ("uno", "three")], "es", "en")
    with pytest.raises(TokvecError, match="both 'en'"):
        align_models(a, c, [("uno", "one")], "en", "en")


def test_align_models_writes_a_joint_model_with_the_settings(tmp_path):
    src, tgt, _ = _spaces(noise=0.1)
    s = StaticModel.from_vectors([f"s{i}" for i in range(N)], src)
    t = StaticModel.from_vectors([f"t{i}" for i in range(N)], tgt)
    pairs = [(f"s{i}", f"t{i}") for i in range(100)] + [("s1", "unknown")]
    joint = align_models(s, t, pairs, "xx", "yy", AlignSettings(refine=1))
    assert joint.languages == ["xx", "yy"]
    info = joint.config["alignment"]
    assert info["pairs_covered"] == 100 and info["dictionary_lines"] == 101
    assert info["refine"] == 1 and info["csls_k"] == 10 and len(info["rounds"]) == 2
    out = joint.vectors.most_similar("s300", lang="yy", topn=1)
    assert out[0][0] == "t300"
