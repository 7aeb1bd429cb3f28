"""Split lines into the words a word-level tokvec tokenizer sees, fast, with HF as the definition.

The HuggingFace pipeline (NFKC, optional lowercase, whitespace split, punctuation split for
``word``, character split for ``char``/``zh-char``) defines the tokens, but calling it costs
several microseconds per token. For ASCII lines the same result follows from plain Python, and
the steps are exact there:

- NFKC leaves every ASCII character unchanged, and lowercasing maps only ``A-Z``;
- HF splits on Rust's ``char::is_whitespace``, which for ASCII is ``\\t \\n \\v \\f \\r`` and space
  (Python's ``str.split`` also splits on ``\\x1c-\\x1f``, so lines holding those take a regex);
- HF's punctuation test for ASCII is ``char::is_ascii_punctuation``, Python's
  ``string.punctuation``; each punctuation character is its own token.

Lines with any non-ASCII character (about 2% of typical English text) go through the HF pipeline
itself (``Tokenizer.words``), so Unicode version differences between Python and the Rust crates
cannot change a single token. ``zh-word`` segments with jieba first, then applies the same rule
to the segmented line. ``tests/test_train_tokenize.py`` checks the equality on varied text.

>>> split = WordSplitter.for_kind("word", lowercase=True)
>>> split("Hello, World!  It's 3.5 km")
['hello', ',', 'world', '!', 'it', "'", 's', '3', '.', '5', 'km']
>>> split("Café au lait")
['café', 'au', 'lait']
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

_PUNCT = re.escape(string.punctuation)
# ASCII whitespace as Rust's char::is_whitespace sees it (no \x1c-\x1f).
_ASCII_WS = "\\t\\n\\x0b\\x0c\\r "
_WORD_RE = re.compile(f"[{_PUNCT}]|[^{_ASCII_WS}{_PUNCT}]+")
_PIECE_RE = re.compile(f"[^{_ASCII_WS}]+")
SENTINEL = "\x00"  # marks line ends in block results (NUL never reaches here: input refuses it)


def _whitespace_ascii(line: str) -> list[str]:
    if "\x1c" in line or "\x1d" in line or "\x1e" in line or "\x1f" in line:
        return _PIECE_RE.findall(line)
    return line.split()


def _word_ascii(line: str) -> list[str]:
    return _WORD_RE.findall(line)


def _char_ascii(line: str) -> list[str]:
    return list("".join(_whitespace_ascii(line)))


_ASCII_SPLITTERS: dict[str, Callable[[str], list[str]]] = {
    "word": _word_ascii, "whitespace": _whitespace_ascii, "zh-word": _whitespace_ascii,
    "char": _char_ascii, "zh-char": _char_ascii,
}


class WordSplitter:
    """Callable ``line -> words`` equal to ``tokenizer.words(line)`` for word-level kinds."""

    def __init__(self, tokenizer: Any) -> None:
        if tokenizer.kind not in _ASCII_SPLITTERS:
            raise ValueError(f"no word splitter for tokenizer kind {tokenizer.kind!r}")
        self.tokenizer = tokenizer
        self.lowercase = bool(tokenizer.lowercase)
        self._ascii = _ASCII_SPLITTERS[tokenizer.kind]
        hf = tokenizer.hf
        self._normalize = hf.normalizer.normalize_str if hf.normalizer is not None else None
        self._pretokenize = hf.pre_tokenizer.pre_tokenize_str
        self._segment = tokenizer.segment if tokenizer.kind == "zh-word" else None

    @classmethod
    def for_kind(cls, kind: str, lowercase: bool = False) -> WordSplitter:
        """A splitter for a tokenizer ``kind`` before any vocabulary exists."""
        from ..tokenization import Tokenizer
        from ..vocab import DEFAULT_SPECIALS, Vocabulary

        vocab = Vocabulary(list(DEFAULT_SPECIALS))
        return cls(Tokenizer.from_vocabulary(vocab, kind=kind, lowercase=lowercase))

    def __call__(self, line: str) -> list[str]:
        if self._segment is not None:
            line = self._segment(line)
        if line.isascii():
            return self._ascii(line.lower() if self.lowercase else line)
        return self._hf(line)

    def _hf(self, line: str) -> list[str]:
        if self._normalize is not None:
            line = self._normalize(line)
        return [w for w, _ in self._pretokenize(line)]

    def block(self, text: str) -> list[str]:
        """Words of many lines (``text`` ends with a newline), ``SENTINEL`` after each line.

        One pass of C-level string operations: non-ASCII lines are replaced by their HF words
        joined with spaces (HF words hold no whitespace, no ASCII punctuation within a longer
        word, and re-splitting them is a no-op), line ends become ``" \\x00 "``, and the ASCII rule
        splits everything at once.

        >>> WordSplitter.for_kind("whitespace").block("a b\\n\\nc\\n")
        ['a', 'b', '\\x00', '\\x00', 'c', '\\x00']
        """
        if self._segment is not None:
            out: list[str] = []
            for line in text.split("\n")[:-1]:
                out.extend(self(line))
                out.append(SENTINEL)
            return out
        cased = text.lower() if self.lowercase else text
        if not text.isascii():
            lines = cased.split("\n")
            for i, line in enumerate(text.split("\n")):
                if not line.isascii():
                    lines[i] = " ".join(self._hf(line))
            cased = "\n".join(lines)
        return self._ascii(cased.replace("\n", f" {SENTINEL} "))
