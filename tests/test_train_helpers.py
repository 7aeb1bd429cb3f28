"""A synthetic language for training tests: words co-occur only within their group.

Each sentence draws its words from one group, so a model that learns anything must put words
of the same group closer together than words of different groups; tests measure that with the
nearest-neighbour group accuracy.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

STEMS = ["kor", "lum", "pex", "tiv", "zan", "mob"]
SUFFIXES = ["ara", "ine", "oto", "usk", "eld", "imp", "ova", "ryx"]
ZH_PREFIXES = ["北京", "上海", "天气", "银行", "手机", "公园"]
ZH_SUFFIXES = list("人市好行号路楼园")


def group_words(chinese: bool = False) -> list[list[str]]:
    """Six groups of eight words; words of a group share a stem (for subword tests)."""
    if chinese:
        return [[p + s for s in ZH_SUFFIXES] for p in ZH_PREFIXES]
    return [[stem + suf for suf in SUFFIXES] for stem in STEMS]


def write_group_corpus(path: Path, sentences: int = 2000, seed: int = 0,
                       chinese: bool = False) -> list[list[str]]:
    """Write ``sentences`` lines of 6-12 words, each line from one group; return the groups."""
    rng = random.Random(seed)
    groups = group_words(chinese)
    with open(path, "w", encoding="utf-8") as out:
        for _ in range(sentences):
            g = rng.randrange(len(groups))
            out.write(" ".join(rng.choices(groups[g], k=rng.randint(6, 12))) + "\n")
    return groups


def neighbour_accuracy(vectors, groups: list[list[str]]) -> float:
    """Share of words whose nearest other word (cosine) is in the same group."""
    words = [w for g in groups for w in g]
    label = {w: i for i, g in enumerate(groups) for w in g}
    mat = np.stack([vectors.get_vector(w) for w in words]).astype(np.float64)
    mat /= np.linalg.norm(mat, axis=1, keepdims=True)
    sims = mat @ mat.T
    np.fill_diagonal(sims, -np.inf)
    nearest = sims.argmax(axis=1)
    return float(np.mean([label[words[i]] == label[words[j]] for i, j in enumerate(nearest)]))


def test_group_corpus_is_reproducible(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    write_group_corpus(a, 50, seed=3)
    write_group_corpus(b, 50, seed=3)
    assert a.read_text() == b.read_text()
    first = a.read_text().splitlines()[0].split()
    assert len({w[:3] for w in first}) == 1  # one group per sentence
