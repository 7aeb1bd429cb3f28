"""A 2-D map of a vocabulary: the most frequent ordinary words, projected and labelled.

Rows are scaled to unit length (cosine geometry) and projected with PCA (numpy SVD, always
available), t-SNE (scikit-learn) or UMAP (umap-learn). Labels are drawn small and in frequency
order; a label that would overlap one already drawn is skipped (its marker stays), so the map
stays legible at any size.

"Ordinary words" are vocabulary entries other than special tokens and subword continuation pieces
(``##ing``), with at least one letter (punctuation and numbers are left out); byte-level BPE and
Unigram word-start markers (``Ġ``, ``▁``) are stripped from labels.

>>> import numpy as np
>>> words = ["cat", "dog", "car", "bus", ",", "[PAD]"]
>>> ordinary_words(words, limit=10)
[0, 1, 2, 3]
>>> project(np.eye(4, dtype=np.float32), "pca").shape
(4, 2)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import TokvecError
from ..textio import iter_lines
from ..vocab import DEFAULT_SPECIALS
from .common import new_figure, save_png

METHODS = ("pca", "tsne", "umap")
_WORD_START = ("Ġ", "▁")


def display_label(token: str) -> str:
    """The token as a reader would write it (word-start markers removed)."""
    return token[1:] if token[:1] in _WORD_START and len(token) > 1 else token


def is_ordinary(token: str) -> bool:
    """A whole word with at least one letter: not a special, not a ``##`` continuation."""
    if token in DEFAULT_SPECIALS or token.startswith("##"):
        return False
    return any(ch.isalpha() for ch in display_label(token))


def ordinary_words(tokens: Sequence[str], limit: int,
                   order: Sequence[int] | None = None) -> list[int]:
    """Indices of the first ``limit`` ordinary tokens, in ``order`` (default: index order)."""
    picked: list[int] = []
    for i in (order if order is not None else range(len(tokens))):
        if is_ordinary(tokens[i]):
            picked.append(int(i))
            if len(picked) == limit:
                break
    return picked


def words_from_list(path: str | os.PathLike[str], tokens: Sequence[str]) -> tuple[list[int],
                                                                                  list[str]]:
    """Indices of the words listed in ``path`` (one per line, ``#`` comments) and the missing."""
    index = {t: i for i, t in enumerate(tokens)}
    marked = {display_label(t): i for i, t in enumerate(tokens) if t[:1] in _WORD_START}
    found: list[int] = []
    missing: list[str] = []
    for _, line in iter_lines(path, skip_blank=True):
        word = line.strip()
        if word.startswith("#"):
            continue
        i = index.get(word, marked.get(word))
        if i is None:
            missing.append(word)
        elif i not in found:
            found.append(i)
    return found, missing


def project(matrix: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """2-D coordinates of the unit-normalised rows of ``matrix``."""
    if method not in METHODS:
        raise TokvecError(f"unknown projection {method!r}; choose one of {', '.join(METHODS)}")
    x = np.asarray(matrix, dtype=np.float64)
    if x.shape[0] < 3:
        raise TokvecError(f"a map needs at least 3 words, got {x.shape[0]}")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    if method == "pca":
        centred = x - x.mean(axis=0)
        u, s, _ = np.linalg.svd(centred, full_matrices=False)
        coords = u[:, :2] * s[:2]
        if coords.shape[1] < 2:
            coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
        # Fix the sign of each axis so the picture is reproducible across LAPACK builds.
        signs = np.sign(coords[np.abs(coords).argmax(axis=0), range(2)])
        return coords * np.where(signs == 0, 1, signs)
    if method == "tsne":
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            raise TokvecError("--method tsne needs scikit-learn (pip install scikit-learn)") \
                from None
        perplexity = float(min(30.0, max(2.0, (x.shape[0] - 1) / 3)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", metric="cosine",
                    random_state=seed).fit_transform(x)
    try:
        import umap
    except ImportError:
        raise TokvecError("--method umap needs umap-learn (pip install umap-learn)") from None
    reducer = umap.UMAP(n_components=2, metric="cosine", random_state=seed,
                        n_neighbors=min(15, x.shape[0] - 1))
    return np.asarray(reducer.fit_transform(x))


def _boxes_overlap(a: Any, b: Any) -> bool:
    return not (a.x1 < b.x0 or b.x1 < a.x0 or a.y1 < b.y0 or b.y1 < a.y0)


def _place_labels(fig: Any, ax: Any, coords: np.ndarray, labels: Sequence[str]) -> int:
    """Draw labels in order, dropping any that would overlap a drawn one; return the count."""
    renderer = fig.canvas.get_renderer()
    fig.draw_without_rendering()  # fixes the layout, hence the label positions ...
    fig.set_layout_engine("none")  # ... and keeps it fixed when the labels are added
    drawn: list[Any] = []
    cell = 40.0  # pixels: a grid over drawn boxes keeps the overlap test cheap
    grid: dict[tuple[int, int], list[int]] = {}
    for (x, y), label in zip(coords, labels, strict=True):
        text = ax.annotate(label, (x, y), xytext=(2, 2), textcoords="offset points",
                           fontsize=6.5, color="0.1")
        box = text.get_window_extent(renderer).expanded(1.05, 1.1)
        cells = [(i, j) for i in range(int(box.x0 // cell), int(box.x1 // cell) + 1)
                 for j in range(int(box.y0 // cell), int(box.y1 // cell) + 1)]
        near = {k for c in cells for k in grid.get(c, ())}
        if any(_boxes_overlap(box, drawn[k]) for k in near):
            text.remove()
            continue
        drawn.append(box)
        for c in cells:
            grid.setdefault(c, []).append(len(drawn) - 1)
    return len(drawn)


def plot_vocabulary_map(labels: Sequence[str], matrix: np.ndarray,
                        output: str | os.PathLike[str], method: str = "pca", seed: int = 0,
                        title: str = "vocabulary map") -> Path:
    """Project ``matrix`` (one row per label) to 2-D and draw the labelled map as a PNG."""
    if len(labels) != matrix.shape[0]:
        raise TokvecError(f"{len(labels)} labels for {matrix.shape[0]} vectors")
    coords = project(matrix, method, seed)
    fig = new_figure(11, 9)
    ax = fig.add_subplot()
    ax.scatter(coords[:, 0], coords[:, 1], s=7, color="tab:blue", alpha=0.45, linewidths=0)
    axis = {"pca": "principal component", "tsne": "t-SNE dimension",
            "umap": "UMAP dimension"}[method]
    ax.set_xlabel(f"{axis} 1 (unitless)")
    ax.set_ylabel(f"{axis} 2 (unitless)")
    ax.grid(alpha=0.2)
    ax.margins(0.06)
    heading = ax.set_title(f"{title}\n{len(labels)} words", fontsize="medium")
    shown = _place_labels(fig, ax, coords, [display_label(w) for w in labels])
    heading.set_text(f"{title}\n{len(labels)} words, {method.upper()} of unit vectors; "
                     f"{shown} labels shown (overlapping ones skipped, rarer words first)")
    return save_png(fig, output)


def plot_model_map(model_dir: str | os.PathLike[str], output: str | os.PathLike[str],
                   n_words: int = 300, word_list: str | os.PathLike[str] | None = None,
                   method: str = "pca", seed: int = 0) -> dict[str, Any]:
    """Map the input embedding rows of any model directory (static or contextual).

    Without ``word_list`` the ``n_words`` most frequent ordinary words are shown (by training
    counts where the model has them, else in id order). Returns what was drawn: the output path,
    the words and the listed words that were missing from the vocabulary.
    """
    from ..modelinfo import input_embedding_table

    if n_words < 3:
        raise TokvecError(f"--words must be at least 3, got {n_words}")
    table = input_embedding_table(model_dir)
    missing: list[str] = []
    if word_list is not None:
        rows, missing = words_from_list(word_list, table.tokens)
        if len(rows) < 3:
            raise TokvecError(f"only {len(rows)} of the listed words are in the vocabulary; "
                              "a map needs at least 3", path=word_list)
        basis = "listed words"
    else:
        order = (np.argsort(-table.counts, kind="stable") if table.counts is not None
                 else None)
        rows = ordinary_words(table.tokens, n_words, order)
        basis = ("most frequent words" if table.counts is not None
                 else "first words in id order (no counts stored)")
        if len(rows) < 3:
            raise TokvecError(f"the vocabulary has only {len(rows)} ordinary words",
                              path=model_dir)
    labels = [table.tokens[i] for i in rows]
    matrix = table.matrix[rows]
    name = Path(model_dir).resolve().name
    title = f"{name}: {basis} (d_model={table.matrix.shape[1]}, table {table.name!r})"
    path = plot_vocabulary_map(labels, matrix, output, method=method, seed=seed, title=title)
    return {"output": str(path), "words": [display_label(w) for w in labels],
            "missing": missing, "method": method}
