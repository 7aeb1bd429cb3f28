"""The fast word splitting of static training equals the HuggingFace pipeline (its definition)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tokvec.static.corpus import prepare_corpus, read_line_blocks
from tokvec.static.wordsplit import SENTINEL, WordSplitter
from tokvec.tokenization import Tokenizer

VARIED = [
    "The cat sat on the mat.",
    "Don't stop believing: it's only 3.5 miles -- (really) [sic] {ok} <tag> a+b=c ~x^y `q` |p|",
    "E-mail: me@example.com; cost $4.99 & 50% off! #1 \"quoted\" 'single' back\\slash/",
    "Tabs\tand\x0bvertical\x0cform\rfeed   spaces",
    "Odd\x1cseparators\x1dare\x1enot\x1fwhitespace for HF",
    "Café naïve résumé — Unicode words… «guillemets» „quotes“",
    "ΟΔΟΣ Σίσυφος ΣΟΦΟΣ: final sigma; İstanbul ıi; STRASSE straße",
    "Full-width ＡＢＣ１２３！ ligature ﬁne ① ² ㍿ ㈱",
    "Non\u00a0breaking\u2003em\u3000ideographic\u2028line\u2029para\u0085nel",
    "我爱北京天安门，今天天气很好。中国人民银行发布了新的政策！",
    "Emoji 🙂👍🏽 and ZWJ 👨‍👩‍👧 zero\u200bwidth soft\u00adhyphen",
    "Combining e\u0301 vs é, Hangul 한국어, Arabic العربية, Hebrew עברית",
    "Math ∑ ∞ ≤ ≥ ± × ÷ → ⇒ ∀x∈ℝ; currency € £ ¥ ₹; dashes ‐ ‑ ‒ – — ―",
    "MiXeD CaSe WORDS with ALLCAPS and camelCase and snake_case",
    "   leading and trailing spaces   ",
    "",
    "...,,,!!!???",
]
KINDS = ["word", "whitespace", "char", "zh-char", "zh-word"]


def _hf_words(kind: str, lowercase: bool, lines: list[str]) -> list[list[str]]:
    probe = WordSplitter.for_kind(kind, lowercase).tokenizer
    return [probe.words(line) for line in lines]


def _random_ascii_lines(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = [chr(c) for c in range(1, 128) if c != 10]
    weights = [8 if chr(c).isalnum() or c == 32 else 1 for c in range(1, 128) if c != 10]
    return ["".join(rng.choices(alphabet, weights, k=rng.randint(0, 40))) for _ in range(n)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("lowercase", [False, True])
def test_split_equals_hf_pipeline(kind, lowercase):
    lines = VARIED + _random_ascii_lines(300, seed=len(kind) + lowercase)
    split = WordSplitter.for_kind(kind, lowercase)
    expected = _hf_words(kind, lowercase, lines)
    assert [split(line) for line in lines] == expected
    block = split.block("\n".join(lines) + "\n")
    flat = [w for words in expected for w in [*words, SENTINEL]]
    assert block == flat


@pytest.mark.parametrize("kind", ["word", "whitespace", "char"])
def test_every_ascii_character_alone_and_between_letters(kind):
    lines = [f"{ch}" for ch in map(chr, range(1, 128)) if ch != "\n"]
    lines += [f"aB{ch}Cd e{ch}{ch}f" for ch in map(chr, range(1, 128)) if ch != "\n"]
    for lowercase in (False, True):
        split = WordSplitter.for_kind(kind, lowercase)
        assert [split(x) for x in lines] == _hf_words(kind, lowercase, lines)


def test_encoded_corpus_equals_hf_encoding_and_vocabulary(tmp_path):
    lines = (VARIED * 3) + _random_ascii_lines(200, seed=7)
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for kind in ("word", "whitespace"):
        corpus = prepare_corpus(path, tmp_path / f"work-{kind}", min_count=2, kind=kind,
                                lowercase=True)
        reference = Tokenizer.train([path], kind=kind, min_count=2, lowercase=True)
        ours = corpus.tokenizer.vocabulary()
        theirs = reference.vocabulary()
        assert ours.tokens == theirs.tokens
        assert ours.counts.tolist() == theirs.counts.tolist()
        # The id stream: HF encoding of each line with specials/unknowns dropped.
        expected = []
        for ids in reference.encode_file(path):
            kept = ids[ids >= 5]
            if kept.size:
                expected.append(kept.tolist())
        got = [s.tolist() for s in corpus.sentences()]
        assert got == expected


def test_max_vocab_keeps_most_frequent_words(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a a a a b b b c c d\n" * 3, encoding="utf-8")
    corpus = prepare_corpus(path, tmp_path / "w", min_count=1, max_vocab=2, kind="whitespace")
    assert corpus.tokenizer.vocabulary().tokens[5:] == ["a", "b"]
    assert corpus.num_tokens == 21
    assert np.array_equal(corpus.counts[5:], [12, 9])


def test_long_lines_are_cut_into_10000_token_sentences(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(" ".join(["x", "y"] * 12_500) + "\nx y\n", encoding="utf-8")
    corpus = prepare_corpus(path, tmp_path / "w", min_count=1, kind="whitespace")
    assert [len(s) for s in corpus.sentences()] == [10_000, 10_000, 5_000, 2]


def test_block_reader_reports_bad_utf8_line(tmp_path):
    from tokvec.errors import TokvecError

    path = tmp_path / "bad.txt"
    path.write_bytes(b"fine\nstill fine\nbad \xff here\n")
    with pytest.raises(TokvecError, match=r"bad.txt:3: invalid UTF-8 at byte 4"):
        list(read_line_blocks(path, block_bytes=8))
    text = "".join(read_line_blocks(path, errors="replace"))
    assert "bad \ufffd here" in text
