"""GloVe: co-occurrence counting (exact, bounded memory), the AdaGrad update, resume, errors."""

from __future__ import annotations

import json
import math
import tracemalloc
from collections import defaultdict

import numpy as np
import pytest

from tokvec.errors import TokvecError
from tokvec.static.cooccur import count_cooccurrences
from tokvec.static.glove import (
    CHECKPOINT,
    COOCCUR_DIR,
    TrainingInterrupted,
    _Params,
    _train_records,
    train_glove,
)

GROUPS = [np.arange(5 + 6 * g, 11 + 6 * g) for g in range(4)]  # ids 0-4 stay unused


def group_corpus(n_sentences: int = 600, seed: int = 0) -> list[np.ndarray]:
    """Sentences of 8 words drawn from one of four 6-word groups."""
    rng = np.random.default_rng(seed)
    return [rng.choice(GROUPS[k % 4], size=8).astype(np.int32) for k in range(n_sentences)]


def zipf_corpus(vocab: int, n_sentences: int, seed: int = 0) -> list[np.ndarray]:
    """Sentences of 0-30 ids with Zipf frequencies (id 0 most frequent), some of length 0/1."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab + 1)
    p /= p.sum()
    return [rng.choice(vocab, size=int(rng.integers(0, 31)), p=p) for _ in range(n_sentences)]


def brute_force_counts(sentences: list[np.ndarray], window: int) -> dict[tuple[int, int], float]:
    counts: dict[tuple[int, int], float] = defaultdict(float)
    for s in sentences:
        for i in range(len(s)):
            for d in range(1, min(window, i) + 1):
                a, b = int(s[i - d]), int(s[i])
                counts[a, b] += 1.0 / d
                counts[b, a] += 1.0 / d
    return counts


def sorted_records(data) -> np.ndarray:
    return np.sort(data.read_all(), order=["row", "col"])


def test_counts_are_distance_weighted_and_spilling_changes_nothing(tmp_path):
    corpus = zipf_corpus(vocab=2000, n_sentences=1500)
    window = 5
    whole = count_cooccurrences(lambda: iter(corpus), 2000, window, tmp_path / "a")
    spilled = count_cooccurrences(lambda: iter(corpus), 2000, window, tmp_path / "b",
                                  memory_limit_mb=0.05)
    no_dense = count_cooccurrences(lambda: iter(corpus), 2000, window, tmp_path / "c",
                                   memory_limit_mb=0.05, dense_fraction=0.0)
    assert whole.n_runs <= 1 and whole.n_buckets == 1
    assert spilled.n_runs >= 5 and no_dense.n_runs >= 5      # several sorted runs on disk
    assert spilled.n_buckets > 1
    reference = sorted_records(whole)
    assert np.array_equal(sorted_records(spilled), reference)
    assert np.array_equal(sorted_records(no_dense), reference)

    expected = brute_force_counts(corpus, window)
    assert reference.size == len(expected) == whole.n_pairs
    got = np.array([expected[int(r), int(c)] for r, c in zip(reference["row"], reference["col"],
                                                             strict=True)])
    np.testing.assert_allclose(reference["val"], got, rtol=1e-6)
    assert whole.n_tokens == sum(s.size for s in corpus)
    np.testing.assert_allclose(whole.row_weights().sum(), sum(expected.values()), rtol=1e-9)


def test_counting_memory_stays_near_the_limit(tmp_path):
    corpus = zipf_corpus(vocab=3000, n_sentences=12000, seed=1)   # ~180k tokens, ~1.8M events
    limit_mb = 0.5
    count_cooccurrences(lambda: iter(corpus[:2000]), 3000, 10, tmp_path / "warm",
                        memory_limit_mb=0.05)                 # load every kernel first
    tracemalloc.start()
    try:
        data = count_cooccurrences(lambda: iter(corpus), 3000, 10, tmp_path / "run",
                                   memory_limit_mb=limit_mb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    events_bytes = 8 * 10 * sum(s.size for s in corpus)       # what an unbounded buffer needs
    assert events_bytes > 20 * limit_mb * 2**20
    assert data.n_runs >= 10 and data.n_buckets > 1
    # the documented bound: the limit, plus 8 bytes per vocabulary entry, plus a small floor
    assert peak < 1.1 * limit_mb * 2**20 + 8 * 3000 + 2**16
    assert max(data.bucket_sizes) * 12 <= limit_mb * 2**20


def test_update_matches_reference_formulas():
    rng = np.random.default_rng(3)
    vocab, dim = 6, 5
    params = _Params.initial(vocab, dim, seed=4)
    rec = np.zeros(40, dtype=[("row", "<i4"), ("col", "<i4"), ("val", "<f4")])
    rec["row"] = rng.integers(0, vocab, 40)
    rec["col"] = rng.integers(0, vocab, 40)
    rec["val"] = rng.uniform(0.2, 150.0, 40)
    ref = {k: v.astype(np.float64) for k, v in params.tensors().items()}
    lr, x_max, alpha = 0.05, 100.0, 0.75
    ref_cost = 0.0
    for i, j, x in rec:                    # glove.c, one record at a time, in float64
        diff = ref["W"][i] @ ref["W_tilde"][j] + ref["b"][i] + ref["b_tilde"][j] - math.log(x)
        fdiff = (1.0 if x > x_max else (x / x_max) ** alpha) * diff
        ref_cost += 0.5 * fdiff * diff
        fdiff *= lr
        g1, g2 = fdiff * ref["W_tilde"][j], fdiff * ref["W"][i]
        step1, step2 = g1 / np.sqrt(ref["gradsq_W"][i]), g2 / np.sqrt(ref["gradsq_W_tilde"][j])
        ref["gradsq_W"][i] += g1 * g1
        ref["gradsq_W_tilde"][j] += g2 * g2
        ref["W"][i] -= step1
        ref["W_tilde"][j] -= step2
        ref["b"][i] -= fdiff / math.sqrt(ref["gradsq_b"][i])
        ref["b_tilde"][j] -= fdiff / math.sqrt(ref["gradsq_b_tilde"][j])
        ref["gradsq_b"][i] += fdiff * fdiff
        ref["gradsq_b_tilde"][j] += fdiff * fdiff
    p = params
    cost = _train_records(rec, 0, rec.size, p.W, p.W_tilde, p.b, p.b_tilde, p.gradsq_W,
                          p.gradsq_W_tilde, p.gradsq_b, p.gradsq_b_tilde, lr, x_max, alpha)
    assert cost == pytest.approx(ref_cost, rel=1e-4)
    for name, value in params.tensors().items():
        np.testing.assert_allclose(value, ref[name], rtol=1e-4, atol=1e-6, err_msg=name)


def test_groups_come_out_as_clusters(tmp_path):
    corpus = group_corpus()
    reports: list[dict] = []
    W, W_tilde = train_glove(lambda: iter(corpus), 29, dim=16, window=4, epochs=25, threads=2,
                             x_max=10.0, work_dir=tmp_path, log=reports.append)
    assert W.shape == W_tilde.shape == (29, 16) and W.dtype == np.float32
    vectors = W + W_tilde
    assert not vectors[:5].any()                            # ids that never occur: zero rows
    unit = vectors[5:] / np.linalg.norm(vectors[5:], axis=1, keepdims=True)
    sim = unit @ unit.T
    np.fill_diagonal(sim, -np.inf)
    group = np.repeat(np.arange(4), 6)
    assert (group[sim.argmax(axis=1)] == group).all()       # nearest neighbour: same group
    same = group[:, None] == group[None, :]
    np.fill_diagonal(sim, np.nan)
    assert np.nanmean(sim[same]) > np.nanmean(sim[~same]) + 0.5

    assert {"epoch", "step", "loss", "lr", "pairs_per_s", "progress"} <= set(reports[0])
    progress = [r["progress"] for r in reports]
    assert progress == sorted(progress) and progress[0] > 0 and progress[-1] == 1.0
    assert 25 * 2 <= len(reports) <= 25 * 6                   # a few per epoch
    assert reports[-1]["step"] == 25 * 4 * 36                 # 4 groups x 6 x 6 directed pairs
    assert reports[-1]["loss"] < 0.1 * reports[0]["loss"]
    assert not (tmp_path / COOCCUR_DIR).exists() and not (tmp_path / CHECKPOINT).exists()


class StopAfter:
    """should_stop() that says yes on its n-th call."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls == self.n


class StopPast:
    """should_stop() that says yes once a log report has passed ``progress``."""

    def __init__(self, progress: float) -> None:
        self.progress, self.seen = progress, 0.0

    def log(self, report: dict) -> None:
        self.seen = report["progress"]

    def __call__(self) -> bool:
        return self.seen >= self.progress


def test_interrupted_and_resumed_equals_uninterrupted(tmp_path):
    corpus = zipf_corpus(vocab=300, n_sentences=400, seed=5)
    kwargs = dict(dim=8, window=3, epochs=3, threads=1, seed=7, memory_limit_mb=0.1)
    W_ref, Wt_ref = train_glove(lambda: iter(corpus), 300, work_dir=tmp_path / "ref", **kwargs)

    work = tmp_path / "interrupted"
    progress = []
    for k, stop in enumerate([StopPast(0.1), StopPast(0.5), StopAfter(1)]):
        with pytest.raises(TrainingInterrupted) as info:
            train_glove(lambda: iter(corpus), 300, work_dir=work, should_stop=stop,
                        log=getattr(stop, "log", None), resume=k > 0, **kwargs)
        assert info.value.checkpoint == work / CHECKPOINT and info.value.checkpoint.is_file()
        progress.append(info.value.progress)
        assert json.loads((work / CHECKPOINT).read_text())["offset"] > 0   # inside a bucket
    assert 0.1 < progress[0] < 1 / 3 < 0.5 < progress[1] < 2 / 3   # mid-epoch 1, mid-epoch 2
    assert progress[2] == progress[1]                              # stopped again at once
    assert len(list(work.glob("glove_checkpoint.*.safetensors"))) == 1
    W, Wt = train_glove(lambda: iter([]), 300, work_dir=work, resume=True, **kwargs)
    assert np.array_equal(W, W_ref) and np.array_equal(Wt, Wt_ref)


def test_resume_refuses_missing_or_mismatched_checkpoint(tmp_path):
    corpus = group_corpus(100)
    with pytest.raises(TokvecError, match="co-occurrence"):
        train_glove(lambda: iter(corpus), 29, dim=4, epochs=2, work_dir=tmp_path, resume=True)
    with pytest.raises(TrainingInterrupted):
        train_glove(lambda: iter(corpus), 29, dim=4, epochs=2, work_dir=tmp_path,
                    should_stop=StopAfter(2))
    with pytest.raises(TokvecError, match="other settings"):
        train_glove(lambda: iter(corpus), 29, dim=5, epochs=2, work_dir=tmp_path, resume=True)
    with pytest.raises(TokvecError, match="window 10, not 3"):
        train_glove(lambda: iter(corpus), 29, dim=4, window=3, epochs=2, work_dir=tmp_path,
                    resume=True)
    W, _ = train_glove(lambda: iter(corpus), 29, dim=4, epochs=2, work_dir=tmp_path,
                       resume=True)
    assert W.shape == (29, 4)


def test_stop_while_counting_keeps_nothing(tmp_path):
    corpus = group_corpus(100)
    with pytest.raises(TrainingInterrupted, match="while counting") as info:
        train_glove(lambda: iter(corpus), 29, dim=4, epochs=2, work_dir=tmp_path,
                    should_stop=StopAfter(1))
    assert info.value.checkpoint is None
    assert not (tmp_path / COOCCUR_DIR).exists() and not (tmp_path / CHECKPOINT).exists()
    with pytest.raises(TokvecError, match="co-occurrence"):
        train_glove(lambda: iter(corpus), 29, dim=4, epochs=2, work_dir=tmp_path, resume=True)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"dim": 0}, "dim must be a positive integer"),
    ({"dim": -3}, "dim must be a positive integer"),
    ({"window": 0}, "window must be a positive integer"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"threads": 0}, "threads must be a positive integer"),
    ({"lr": 0.0}, "lr must be a positive number"),
    ({"x_max": float("nan")}, "x_max must be a positive number"),
    ({"alpha": -1.0}, "alpha must be a number >= 0"),
    ({"memory_limit_mb": 0}, "memory_limit_mb must be a positive number"),
    ({"vocab_size": 0}, "vocab_size must be a positive integer"),
])
def test_bad_arguments_raise(tmp_path, kwargs, message):
    args = {"vocab_size": 29, "work_dir": tmp_path, **kwargs}
    with pytest.raises(TokvecError, match=message):
        train_glove(lambda: iter(group_corpus(10)), **args)


@pytest.mark.parametrize(("corpus", "message"), [
    ([], "no pair of tokens"),
    ([np.array([], np.int32), np.array([7], np.int64)], "no pair of tokens"),
    ([np.array([5, 6]), np.array([5, 29])], "sentence 2: token id 29 outside"),
    ([np.array([[5, 6]])], "sentence 1: expected a 1-D integer array"),
    ([np.array([0.5, 1.5])], "sentence 1: expected a 1-D integer array"),
])
def test_bad_corpus_raises(tmp_path, corpus, message):
    with pytest.raises(TokvecError, match=message):
        train_glove(lambda: iter(corpus), 29, dim=4, epochs=1, work_dir=tmp_path)
    assert not (tmp_path / COOCCUR_DIR).exists()             # no partial output left behind
