"""Every tokenizer kind trains, encodes, saves, and reloads with plain `tokenizers`."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer as HFTokenizer

from tokvec.errors import TokvecError
from tokvec.tokenization import KINDS, Tokenizer
from tokvec.vocab import DEFAULT_SPECIALS


@pytest.mark.parametrize("kind", ["word", "whitespace", "char", "bpe", "wordpiece", "unigram"])
def test_english_kinds_round_trip(kind, en_corpus, tmp_path):
    size = {"bpe": 400, "wordpiece": 120, "unigram": 120}.get(kind)  # bpe: 256 bytes first
    tok = Tokenizer.train([en_corpus], kind=kind, vocab_size=size, lowercase=True)
    assert tok.vocabulary().tokens[: len(DEFAULT_SPECIALS)] == list(DEFAULT_SPECIALS)
    if size:
        assert tok.vocab_size <= size
    text = "The cat chased the dog."
    ids = tok.encode(text)
    assert ids and all(0 <= i < tok.vocab_size for i in ids)
    tok.save(tmp_path / "tok")
    again = Tokenizer.load(tmp_path / "tok")
    assert again.kind == kind and again.encode(text) == ids
    # The saved file is a standard tokenizer.json that plain `tokenizers` loads.
    plain = HFTokenizer.from_file(str(tmp_path / "tok" / "tokenizer.json"))
    assert plain.encode(text, add_special_tokens=False).ids == ids


def test_word_tokenizer_splits_punctuation_and_lowercases(en_corpus):
    tok = Tokenizer.train([en_corpus], kind="word", lowercase=True)
    assert tok.tokens("Don't stop, Cat!") == ["don", "'", "t", "stop", ",", "cat", "!"]
    assert tok.words("Café!") == ["café", "!"]


def test_char_tokenizer_is_one_token_per_character(en_corpus):
    tok = Tokenizer.train([en_corpus], kind="char")
    assert tok.tokens("cat sat") == ["c", "a", "t", "s", "a", "t"]


def test_word_vocabulary_min_count_and_order(en_corpus):
    tok = Tokenizer.train([en_corpus], kind="word", lowercase=True, min_count=40)
    vocab = tok.vocabulary()
    counts = vocab.counts[vocab.num_specials:]
    assert (counts >= 40).all()
    assert list(counts) == sorted(counts, reverse=True)
    # "." and "the" both occur 120 times: equal counts are ordered by code point.
    assert vocab.tokens[vocab.num_specials: vocab.num_specials + 3] == [".", "the", "cat"]
    # Unknown words map to [UNK].
    assert tok.tokens("zebra") == ["[UNK]"]


def test_word_vocabulary_max_size(en_corpus):
    tok = Tokenizer.train([en_corpus], kind="word", vocab_size=10)
    assert tok.vocab_size == 10


def test_zh_char_and_word(zh_corpus):
    chars = Tokenizer.train([zh_corpus], kind="zh-char")
    assert chars.tokens("我爱北京") == ["我", "爱", "北", "京"]
    words = Tokenizer.train([zh_corpus], kind="zh-word")
    assert words.tokens("我爱北京天安门") == ["我", "爱", "北京", "天安门"]


def test_zh_word_round_trip(zh_corpus, tmp_path):
    words = Tokenizer.train([zh_corpus], kind="zh-word")
    words.save(tmp_path / "t")
    again = Tokenizer.load(tmp_path / "t")
    assert again.kind == "zh-word"
    assert again.tokens("今天天气很好") == words.tokens("今天天气很好")


def test_wordpiece_adds_cls_sep_when_asked(en_corpus):
    tok = Tokenizer.train([en_corpus], kind="wordpiece", vocab_size=100, lowercase=True)
    enc = tok.encode_batch(["the cat"], add_special_tokens=True)[0]
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"


def test_encode_file_streams_lines(en_corpus):
    tok = Tokenizer.train([en_corpus], kind="word")
    arrays = list(tok.encode_file(en_corpus))
    assert len(arrays) == 120
    assert arrays[0].tolist() == tok.encode("The cat sat on the mat.")


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"   \n\n", "empty"),
    (b"caf\xe9 ok\n", "invalid UTF-8"),
    (b"abc\x00def\n", "binary data"),
])
def test_bad_corpus(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(TokvecError, match=message):
        Tokenizer.train([path], kind="word")


def test_invalid_utf8_replace_mode(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf\xe9 ok\nfine line\n")
    tok = Tokenizer.train([path], kind="whitespace", errors="replace")
    assert "caf\ufffd" in tok.vocabulary()


def test_invalid_utf8_names_the_line(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"good\nalso good\nbad \xff\n")
    with pytest.raises(TokvecError, match=r"c.txt:3: invalid UTF-8"):
        Tokenizer.train([path], kind="word")


def test_huge_line_is_handled(tmp_path):
    path = tmp_path / "huge.txt"
    path.write_text(("word " * 2_100_000) + "\nshort line\n")  # a 10 MB line
    tok = Tokenizer.train([path], kind="whitespace")
    assert tok.vocabulary().counts[tok.token_to_id("word")] == 2_100_000


def test_unknown_kind_and_missing_file(tmp_path):
    with pytest.raises(TokvecError, match="unknown tokenizer kind"):
        Tokenizer.train([tmp_path / "x"], kind="nonsense")
    with pytest.raises(TokvecError, match="no such file"):
        Tokenizer.train([tmp_path / "missing.txt"], kind="word")
    assert "zh-word" in KINDS
