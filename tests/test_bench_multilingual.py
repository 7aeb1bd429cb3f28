"""The pure parts of ``bench/multilingual.py`` (issue 13's benchmark), on tiny data."""

from __future__ import annotations

import doctest
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "multilingual.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_multilingual", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def test_doctests(bench):
    result = doctest.testmod(bench)
    assert result.attempted >= 3 and result.failed == 0


def test_random_rotation_is_orthogonal_and_seeded(bench):
    q = bench.random_rotation(6, seed=3)
    assert np.allclose(q.T @ q, np.eye(6))
    assert np.array_equal(q, bench.random_rotation(6, seed=3))
    assert not np.allclose(q, bench.random_rotation(6, seed=4))


def test_precision_at_counts_any_gold_word(bench):
    ranked = [["a", "b", "c"], ["d", "e", "f"], ["g", "h", "i"]]
    gold = [{"a"}, {"x", "f"}, {"y"}]
    assert bench.precision_at(ranked, gold, ks=(1, 3)) == {"p@1": 1 / 3, "p@3": 2 / 3}
    assert bench.precision_at([], [], ks=(1,)) == {"p@1": 0.0}


def test_markdown_table_leaves_blank_cells(bench):
    table = bench.markdown_table([{"method": "Dice", "retrieval": None, "p@1": 0.25,
                                   "p@5": 0.5, "p@10": 0.75, "words": 4, "oov": 1,
                                   "seconds": 12.34}])
    assert table.splitlines()[-1] == "| Dice |  | 0.250 | 0.500 | 0.750 | 4 | 1 | 12.3 |"


def test_dice_ranks_the_co_occurring_word_first(bench, tmp_path):
    src = tmp_path / "src.txt"
    tgt = tmp_path / "tgt.txt"
    src.write_text("perro come\nperro duerme\ngato come\ngato duerme\nperro corre\n")
    tgt.write_text("dog eats\ndog sleeps\ncat eats\ncat sleeps\ndog runs\n")
    pairs = tmp_path / "dict.tsv"
    pairs.write_text("perro\tdog\ngato\tcat\nsol\tsun\n")
    r = bench.dice_bli(src, tgt, pairs, "word", min_candidate=1)
    assert (r["p@1"], r["words"], r["oov"]) == (1.0, 2, 1)
