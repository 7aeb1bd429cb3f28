"""Tokenizers: word, whitespace, character, BPE, WordPiece, Unigram; Chinese by character or word.

All are HuggingFace ``tokenizers`` pipelines (normalizer, pre-tokenizer, model, decoder), trained
on the user's corpus and saved as the standard ``tokenizer.json``. Beside it,
``tokenizer_config.json`` records what ``tokenizers`` cannot: the tokvec kind, lowercasing, the
Chinese word segmenter, and the token counts seen in training.

Word-level kinds (``word``, ``whitespace``, ``char``, ``zh-char``, ``zh-word``) build their
vocabulary with :class:`~tokvec.vocab.Vocabulary` (specials first, then by descending frequency,
equal counts in code-point order, ``min_count`` and ``max_size`` applied). Subword kinds
(``bpe``, ``wordpiece``, ``unigram``) use the trainers of ``tokenizers`` with a target
``vocab_size``. ``zh-word`` segments with jieba
before the whitespace split; plain ``tokenizers`` users feed it pre-segmented text.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "c.txt")
>>> _ = open(path, "w").write("The cat sat.\\nThe dog sat, too.\\n")
>>> tok = Tokenizer.train([path], kind="word", lowercase=True)
>>> tok.tokens("The cat sat.")
['the', 'cat', 'sat', '.']
>>> tok.vocabulary().tokens[5:8]
['.', 'sat', 'the']
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, processors, trainers
from tokenizers import Tokenizer as HFTokenizer

from .atomic import atomic_file, write_json
from .errors import TokvecError
from .textio import byte_progress, iter_line_batches, require_nonempty
from .vocab import CLS, DEFAULT_SPECIALS, SEP, UNK, Vocabulary

WORD_LEVEL_KINDS = ("word", "whitespace", "char", "zh-char", "zh-word")
SUBWORD_KINDS = ("bpe", "wordpiece", "unigram")
KINDS = WORD_LEVEL_KINDS + SUBWORD_KINDS
CONFIG_NAME = "tokenizer_config.json"
TOKENIZER_NAME = "tokenizer.json"
_BATCH_LINES = 8192


def _normalizer(kind: str, lowercase: bool) -> Any:
    steps = [normalizers.NFKC()]
    if kind == "wordpiece":
        return normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                          strip_accents=None, lowercase=lowercase)
    if lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


def _pre_tokenizer(kind: str) -> Any:
    if kind == "word":
        return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                        pre_tokenizers.Punctuation()])
    if kind in ("whitespace", "zh-word"):
        return pre_tokenizers.WhitespaceSplit()
    if kind in ("char", "zh-char"):
        return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                        pre_tokenizers.Split(Regex("."), "isolated")])
    if kind == "bpe":
        return pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True)
    if kind == "wordpiece":
        return pre_tokenizers.BertPreTokenizer()
    if kind == "unigram":
        return pre_tokenizers.Metaspace()
    raise TokvecError(f"unknown tokenizer kind {kind!r}; choose one of {', '.join(KINDS)}")


def _decoder(kind: str) -> Any:
    if kind == "bpe":
        return decoders.ByteLevel()
    if kind == "wordpiece":
        return decoders.WordPiece(prefix="##")
    if kind == "unigram":
        return decoders.Metaspace()
    return None


def _assemble(kind: str, lowercase: bool, model: Any) -> HFTokenizer:
    hf = HFTokenizer(model)
    hf.normalizer = _normalizer(kind, lowercase)
    hf.pre_tokenizer = _pre_tokenizer(kind)
    decoder = _decoder(kind)
    if decoder is not None:
        hf.decoder = decoder
    return hf


def _add_post_processor(hf: HFTokenizer) -> None:
    """``[CLS] A [SEP]`` (and pairs) when the vocabulary has those specials."""
    cls_id, sep_id = hf.token_to_id(CLS), hf.token_to_id(SEP)
    if cls_id is None or sep_id is None:
        return
    hf.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}", pair=f"{CLS} $A {SEP} $B:1 {SEP}:1",
        special_tokens=[(CLS, cls_id), (SEP, sep_id)])


def _jieba() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


class Tokenizer:
    """A trained tokenizer: a HuggingFace pipeline plus tokvec's kind, casing and counts."""

    def __init__(self, hf: HFTokenizer, kind: str, lowercase: bool = False,
                 counts: Sequence[int] | np.ndarray | None = None) -> None:
        if kind not in KINDS:
            raise TokvecError(f"unknown tokenizer kind {kind!r}; choose one of {', '.join(KINDS)}")
        self.hf = hf
        self.kind = kind
        self.lowercase = lowercase
        self.counts = None if counts is None else np.asarray(counts, dtype=np.int64)

    # ----- training -------------------------------------------------------------------------
    @classmethod
    def train(cls, files: Sequence[str | os.PathLike[str]], kind: str = "word",
              vocab_size: int | None = None, min_count: int = 1, lowercase: bool = False,
              specials: Sequence[str] = DEFAULT_SPECIALS, errors: str = "strict",
              progress: bool = False) -> Tokenizer:
        """Train a tokenizer of ``kind`` on text ``files`` (streamed, line by line).

        Word-level kinds keep tokens seen ``min_count`` times or more, at most ``vocab_size`` in
        all (specials included); subword kinds learn ``vocab_size`` pieces (default 30,000).
        """
        if kind not in KINDS:
            raise TokvecError(f"unknown tokenizer kind {kind!r}; choose one of {', '.join(KINDS)}")
        if vocab_size is not None and vocab_size <= len(specials):
            raise TokvecError(f"vocab size must exceed the {len(specials)} special tokens, "
                              f"got {vocab_size}")
        if min_count < 1:
            raise TokvecError(f"min count must be >= 1, got {min_count}")
        files = [Path(f) for f in files]
        if not files:
            raise TokvecError("no corpus files given")
        for f in files:
            require_nonempty(f)
        probe = cls(_assemble(kind, lowercase, models.WordLevel({UNK: 0}, unk_token=UNK)), kind,
                    lowercase)

        def lines(desc: str) -> Iterator[str]:
            bar = byte_progress(files, desc, enabled=progress)
            try:
                for f in files:
                    for batch in iter_line_batches(f, _BATCH_LINES, errors, progress=bar):
                        yield from probe._segment_all(batch)
            finally:
                bar.close()

        if kind in WORD_LEVEL_KINDS:
            hf = _assemble(kind, lowercase, models.WordLevel({UNK: 0}, unk_token=UNK))
            trainer = trainers.WordLevelTrainer(vocab_size=1 << 31 - 1, min_frequency=min_count,
                                                special_tokens=list(specials), show_progress=False)
            hf.train_from_iterator(lines("counting words"), trainer=trainer)
        else:
            size = vocab_size or 30000
            if kind == "bpe":
                model = models.BPE(unk_token=UNK)
                trainer = trainers.BpeTrainer(
                    vocab_size=size, min_frequency=min_count, special_tokens=list(specials),
                    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
            elif kind == "wordpiece":
                model = models.WordPiece(unk_token=UNK)
                trainer = trainers.WordPieceTrainer(
                    vocab_size=size, min_frequency=min_count, special_tokens=list(specials),
                    show_progress=False)
            else:
                model = models.Unigram()
                trainer = trainers.UnigramTrainer(
                    vocab_size=size, special_tokens=list(specials), unk_token=UNK,
                    show_progress=False)
            hf = _assemble(kind, lowercase, model)
            hf.train_from_iterator(lines("learning subwords"), trainer=trainer)
        tok = cls(hf, kind, lowercase)
        counts = np.zeros(hf.get_vocab_size(), dtype=np.int64)
        for ids in tok._encode_chunks(lines("counting tokens")):
            counts += np.bincount(ids, minlength=counts.shape[0])[: counts.shape[0]]
        if kind in WORD_LEVEL_KINDS:
            # Reorder by descending frequency (specials first) and apply the size cap.
            vocab = Vocabulary.from_counts(
                sorted((hf.id_to_token(i), int(c)) for i, c in enumerate(counts)
                       if hf.id_to_token(i) not in specials),
                min_count=min_count, max_size=vocab_size, specials=specials)
            return cls.from_vocabulary(vocab, kind=kind, lowercase=lowercase)
        tok.counts = counts
        _add_post_processor(hf)
        return tok

    @classmethod
    def from_vocabulary(cls, vocab: Vocabulary, kind: str = "word",
                        lowercase: bool = False) -> Tokenizer:
        """A word-level tokenizer over a fixed vocabulary (e.g. imported vectors)."""
        if kind not in WORD_LEVEL_KINDS:
            raise TokvecError(f"a fixed vocabulary needs a word-level kind, not {kind!r}")
        if UNK not in vocab:
            raise TokvecError("the vocabulary needs an [UNK] token")
        hf = _assemble(kind, lowercase, models.WordLevel(vocab.as_dict(), unk_token=UNK))
        _add_post_processor(hf)
        return cls(hf, kind, lowercase, vocab.counts)

    # ----- use ------------------------------------------------------------------------------
    def _segment_all(self, texts: Iterable[str]) -> list[str]:
        if self.kind != "zh-word":
            return list(texts)
        jieba = _jieba()
        return [" ".join(jieba.lcut(t)) for t in texts]

    def _encode_chunks(self, lines: Iterable[str]) -> Iterator[np.ndarray]:
        """Ids of many lines at a time, concatenated (line breaks dropped): for counting."""
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= _BATCH_LINES:
                yield np.concatenate(list(self._encode_arrays(batch)))
                batch = []
        if batch:
            yield np.concatenate(list(self._encode_arrays(batch)))

    def _encode_arrays(self, batch: list[str]) -> Iterator[np.ndarray]:
        for enc in self.hf.encode_batch(batch, add_special_tokens=False):
            yield np.asarray(enc.ids, dtype=np.int64)

    def segment(self, text: str) -> str:
        """Text as the HuggingFace pipeline expects it (jieba word breaks for ``zh-word``)."""
        return self._segment_all([text])[0]

    def tokens(self, text: str) -> list[str]:
        """The tokens of ``text`` (unknown word-level tokens appear as ``[UNK]``)."""
        return self.hf.encode(self.segment(text), add_special_tokens=False).tokens

    def words(self, text: str) -> list[str]:
        """Normalized pre-tokens of ``text``: the words a static model looks up."""
        normalized = self.segment(text)
        if self.hf.normalizer is not None:
            normalized = self.hf.normalizer.normalize_str(normalized)
        return [w for w, _ in self.hf.pre_tokenizer.pre_tokenize_str(normalized)]

    def normalize(self, text: str) -> str:
        """``text`` through the tokenizer's normaliser, as training saw the corpus.

        >>> tok = Tokenizer.from_vocabulary(Vocabulary(["[UNK]", "king"]), lowercase=True)
        >>> tok.normalize("Ｋing"), tok.normalization
        ('king', 'Unicode NFKC and lowercasing')
        """
        return text if self.hf.normalizer is None else self.hf.normalizer.normalize_str(text)

    @property
    def normalization(self) -> str:
        """What :meth:`normalize` does, in words (for messages): e.g. ``NFKC and lowercasing``."""
        if self.hf.normalizer is None:
            return "no normalisation"
        base = "BERT's text cleaning" if self.kind == "wordpiece" else "Unicode NFKC"
        return f"{base} and lowercasing" if self.lowercase else base

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Token ids of one text."""
        return self.hf.encode(self.segment(text), add_special_tokens=add_special_tokens).ids

    def encode_batch(self, texts: Sequence[str], add_special_tokens: bool = False) -> list[Any]:
        """HuggingFace encodings (ids, tokens, offsets, word ids) of many texts, in parallel."""
        return self.hf.encode_batch(self._segment_all(texts),
                                    add_special_tokens=add_special_tokens)

    def encode_file(self, path: str | os.PathLike[str], errors: str = "strict",
                    progress: bool = False) -> Iterator[np.ndarray]:
        """Stream a corpus file as one id array per non-blank line (both cores used)."""
        bar = byte_progress([path], "encoding", enabled=progress)
        try:
            for batch in iter_line_batches(path, _BATCH_LINES, errors, progress=bar):
                yield from self._encode_arrays(self._segment_all(batch))
        finally:
            bar.close()

    def vocabulary(self) -> Vocabulary:
        """The vocabulary in id order, with training counts where known."""
        size = self.hf.get_vocab_size()
        tokens = [""] * size
        for token, index in self.hf.get_vocab().items():
            if index < size:
                tokens[index] = token
        counts = self.counts if self.counts is not None and len(self.counts) == size else None
        return Vocabulary(tokens, counts, DEFAULT_SPECIALS)

    @property
    def vocab_size(self) -> int:
        return self.hf.get_vocab_size()

    def continues_word(self) -> np.ndarray:
        """One bool per id: ``True`` for a piece that continues the word before it.

        WordPiece marks continuations with ``##``; byte-level BPE and unigram mark word
        *starts* (``Ġ``, ``▁``), so there a piece without the mark continues a word. Word-level
        kinds and special tokens never continue one. Whole-word masking reads this.

        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "c.txt")
        >>> _ = open(path, "w").write("playing played plays player\\n" * 20)
        >>> tok = Tokenizer.train([path], kind="wordpiece", vocab_size=40)
        >>> pieces = [tok.hf.id_to_token(int(i)) for i in tok.continues_word().nonzero()[0]]
        >>> all(p.startswith("##") for p in pieces) and len(pieces) > 0
        True
        """
        size = self.vocab_size
        table = np.zeros(size, dtype=bool)
        if self.kind in WORD_LEVEL_KINDS:
            return table
        specials = set(DEFAULT_SPECIALS)
        start_mark = {"bpe": "\u0120", "unigram": "\u2581"}.get(self.kind)
        for token, index in self.hf.get_vocab().items():
            if index >= size or token in specials:
                continue
            table[index] = (token.startswith("##") if start_mark is None
                            else not token.startswith(start_mark))
        return table

    def token_to_id(self, token: str) -> int | None:
        return self.hf.token_to_id(token)

    # ----- persistence ----------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "lowercase": self.lowercase,
                "segmenter": "jieba" if self.kind == "zh-word" else None,
                "counts": None if self.counts is None else self.counts.tolist()}

    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write ``tokenizer.json`` and ``tokenizer_config.json`` into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with atomic_file(d / TOKENIZER_NAME, "w") as handle:
            handle.write(self.hf.to_str(pretty=False))
        write_json(d / CONFIG_NAME, self.config())

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Tokenizer:
        """Load from a directory holding ``tokenizer.json`` (and tokvec's config, if present)."""
        d = Path(directory)
        path = d / TOKENIZER_NAME if d.is_dir() else d
        if not path.is_file():
            raise TokvecError("no tokenizer.json found", path=d)
        try:
            hf = HFTokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises a bare Exception on malformed files
            raise TokvecError(f"not a valid tokenizer.json ({exc})", path=path) from None
        cfg_path = path.with_name(CONFIG_NAME)
        cfg: dict[str, Any] = {}
        if cfg_path.is_file():
            try:
                cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
            except (ValueError, RecursionError) as exc:  # also 4300+ digit ints, deep nesting
                raise TokvecError(f"malformed JSON ({exc})", path=cfg_path) from None
            if not isinstance(cfg, dict):
                raise TokvecError("expected a JSON object", path=cfg_path)
        kind = cfg.get("kind") or _guess_kind(hf)
        if kind not in KINDS:
            raise TokvecError(f"unknown tokenizer kind {kind!r}; choose one of "
                              f"{', '.join(KINDS)}", path=cfg_path)
        counts = cfg.get("counts")
        if counts is not None and not (
                isinstance(counts, list)
                and all(type(c) is int and 0 <= c < 1 << 63 for c in counts)):
            raise TokvecError("'counts' must be a list of non-negative integers",
                              path=cfg_path)
        return cls(hf, kind, bool(cfg.get("lowercase", False)), counts)


def _guess_kind(hf: HFTokenizer) -> str:
    """Kind of a foreign tokenizer.json (e.g. a BERT checkpoint's) from its model type."""
    model = json.loads(hf.to_str())["model"]["type"]
    return {"WordPiece": "wordpiece", "BPE": "bpe", "Unigram": "unigram"}.get(model, "word")
