"""Fuzz targets: every reader of a user's file, with inputs that are random or nearly valid.

Shared by ``tests/test_fuzz_inputs.py`` (a short, seeded pass in the suite) and
``bench/fuzz.py`` (the long pass, hypothesis and atheris). A target is a reader plus

* ``strategy``: a hypothesis strategy of :class:`Case` (the files to write, the reader's options),
  mostly near-valid files (a valid layout with wrong counts, odd numbers, invalid UTF-8, a BOM,
  CRLF, blank lines, truncation, corrupt gzip, ...) and some random bytes;
* ``from_bytes``: the same kind of case made from raw bytes, for atheris' mutator.

:func:`run_case` writes a case into a fresh temporary directory and calls the reader. The reader
must return a sane result (checked) or raise :class:`~tokvec.errors.TokvecError`, naming the file
where the target says it should; anything else propagates: it is a bug.
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import struct
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st

from tokvec.errors import TokvecError


# ---------------------------------------------------------------------------- cases and targets
@dataclass
class Case:
    """Files (relative path -> bytes) and the options the reader is called with."""

    files: dict[str, bytes]
    options: dict[str, Any] = field(default_factory=dict)

    def write(self, root: Path) -> None:
        for name, data in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def describe(self, width: int = 300) -> str:
        """A printable reproducer: options and each file's bytes (repr, truncated)."""
        parts = [f"options={self.options!r}"]
        for name, data in self.files.items():
            shown = repr(data[:width]) + (f"... ({len(data)} bytes)" if len(data) > width else "")
            parts.append(f"{name}: {shown}")
        return "\n".join(parts)

    def dump(self) -> str:
        """JSON with hex contents: the whole case, for saving a reproducer."""
        return json.dumps({"options": self.options,
                           "files": {k: v.hex() for k, v in self.files.items()}})

    @classmethod
    def load(cls, text: str) -> Case:
        data = json.loads(text)
        return cls({k: bytes.fromhex(v) for k, v in data["files"].items()}, data["options"])


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Case]
    call: Callable[[Path, Case], Any]
    from_bytes: Callable[[bytes], Case]
    names_file: bool = True  # TokvecError messages must name the file (path, or path:line)
    seeds: tuple[bytes, ...] = ()  # valid inputs for ``from_bytes``: atheris' starting corpus


class UnlocatedError(AssertionError):
    """A TokvecError that does not say which file is at fault."""


def run_case(target: Target, case: Case) -> str:
    """``"ok"`` or ``"error"`` (a TokvecError); any other exception propagates."""
    with tempfile.TemporaryDirectory(prefix="tokvec-fuzz-") as tmp:
        root = Path(tmp)
        case.write(root)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                target.call(root, case)
            except TokvecError as exc:
                if target.names_file and str(root) not in str(exc):
                    raise UnlocatedError(f"TokvecError without the file: {exc}") from exc
                return "error"
    return "ok"


# ---------------------------------------------------------------------------- building blocks
WORDS = st.one_of(
    st.sampled_from([b"cat", b"dog", b"the", b"a", b"Caf\xc3\xa9", b"\xe5\x8c\x97\xe4\xba\xac",
                     b"[UNK]", b"1", b"-2.5", b"nan", b"inf", b". . .", b"a\xc2\xa0b",
                     b"\xef\xbb\xbfcat", b"\xff\xfe", b"\xe5\x8c", b"#x", b":", b"same",
                     b"\xed\xa0\x80", b"\x00", b"a\rb", b"\x1c"]),
    st.binary(min_size=1, max_size=6),
    st.text(min_size=1, max_size=5).map(lambda s: s.encode("utf-8", "surrogatepass")),
)
NUMBERS = st.one_of(
    st.floats(width=32).map(lambda x: repr(x).encode()),
    st.floats().map(lambda x: repr(x).encode()),
    st.integers(-10**20, 10**20).map(lambda i: str(i).encode()),
    st.sampled_from([b"0", b"-0", b"1e39", b"-1e39", b"1e-50", b"3.4028236e38", b"1e400",
                     b"nan", b"-inf", b"Infinity", b"0x10", b"1_0", b"+.5", b"5.", b".", b"-",
                     b"1e", b"1e+", b"e5", b"\xd9\xa3", b"\xef\xbc\x91", b"9" * 30,
                     b"0." + b"0" * 400 + b"1", b"1e99999999", b"--1", b"1.2.3", b"1e-400",
                     b"123456789012345678", b"0.1234567890123456789"]),
)
SEPARATORS = st.sampled_from([b" ", b" ", b" ", b"\t", b"  ", b" \t ", b"\x0b", b"\x0c", b"\r",
                              b"\xc2\xa0"])
EOLS = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b" \n", b"", b"\r", b"\n\n"])
TEXTS = st.one_of(
    st.sampled_from([b"The cat sat.", b"a b c", b"", b" ", b"\xef\xbb\xbfhello", b"\xff",
                     b"bank of the river", b"x\x00y", b"\xe4\xbd\xa0\xe5\xa5\xbd", b"\r"]),
    st.text(max_size=12).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=12),
)
RANDOM_BYTES = st.binary(max_size=300)


@st.composite
def mutated(draw: st.DrawFn, data: bytes, max_ops: int = 3) -> bytes:
    """``data`` after a few byte-level edits: truncate, insert, delete, flip, duplicate."""
    for _ in range(draw(st.sampled_from([0, 0, 0, *range(1, max_ops + 1)]))):
        op = draw(st.sampled_from(["truncate", "insert", "delete", "flip", "duplicate", "bom"]))
        at = draw(st.integers(0, len(data)))
        if op == "truncate":
            data = data[:at]
        elif op == "insert":
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + draw(st.integers(1, 8)):]
        elif op == "flip" and at < len(data):
            data = data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
        elif op == "duplicate":
            data = data[:at] + data[at:at + draw(st.integers(1, 16))] + data[at:]
        elif op == "bom":
            data = b"\xef\xbb\xbf" + data
    return data


@st.composite
def packed(draw: st.DrawFn, data: bytes) -> bytes:
    """Usually ``data`` as is; sometimes gzip-compressed, whole, cut short or corrupted."""
    mode = draw(st.sampled_from(["plain"] * 6 + ["gzip", "cut", "corrupt"]))
    if mode == "plain":
        return data
    packed_data = gzip.compress(data, mtime=0)
    if mode == "cut":
        return packed_data[:draw(st.integers(2, max(2, len(packed_data) - 1)))]
    if mode == "corrupt":
        at = draw(st.integers(10, max(10, len(packed_data) - 1)))
        return packed_data[:at] + draw(st.binary(min_size=1, max_size=6)) + packed_data[at + 1:]
    return packed_data


def header_number(true: int) -> st.SearchStrategy[bytes]:
    """A header's COUNT or DIM: usually right, sometimes off, huge, negative or not a number."""
    return st.one_of(
        st.just(str(true).encode()), st.just(str(true).encode()),
        st.integers(0, true + 3).map(lambda i: str(i).encode()),
        st.sampled_from([b"99999999999", b"4294967297", b"1099511627775", b"4611686018427387904",
                         b"9" * 25, b"-1", b"0", b"1e3", b"x", b"", b"2 2", b"\xd9\xa3"]))


CLEAN_WORDS = st.one_of(st.sampled_from([b"cat", b"dog", b"the", b"Caf\xc3\xa9", b"[x]"]),
                        st.text(st.characters(codec="utf-8", exclude_characters=" \t\n\r\x0b\x0c"),
                                min_size=1, max_size=5).map(str.encode))
CLEAN_NUMBERS = st.one_of(st.floats(width=32, allow_nan=False).map(lambda x: repr(x).encode()),
                          st.integers(-999, 999).map(lambda i: str(i).encode()))


@st.composite
def text_rows(draw: st.DrawFn, dim: int, with_word: bool, sep: bytes | None = None,
              max_rows: int = 6) -> tuple[list[bytes], int]:
    """Lines of ``word v1 ... vDIM`` (or values only), a few with the wrong number of values.

    One file in three is clean (valid words and numbers, right counts) to reach the code past
    the checks; the rest mix in odd numbers and words, blank and junk lines.
    """
    if draw(st.integers(0, 2)) == 0:
        words = [draw(CLEAN_WORDS) for _ in range(draw(st.integers(1, max_rows)))]
        lines = [(sep or b" ").join([w] * with_word + [draw(CLEAN_NUMBERS) for _ in range(dim)])
                 + b"\n" for w in dict.fromkeys(words)]  # any end of line drawn later is harmless
        return lines, len(lines)
    lines = []
    for _ in range(draw(st.integers(0, max_rows))):
        kind = draw(st.sampled_from(["row"] * 6 + ["short", "long", "blank", "word", "junk"]))
        if kind == "blank":
            lines.append(draw(st.sampled_from([b"", b" ", b"\t", b"\r"])))
            continue
        if kind == "junk":
            lines.append(draw(st.binary(max_size=20)))
            continue
        count = {"row": dim, "short": max(0, dim - 1), "long": dim + 1, "word": 0}[kind]
        fields = [draw(NUMBERS) for _ in range(count)]
        if with_word:
            fields.insert(0, draw(WORDS))
        gap = sep if sep is not None else draw(SEPARATORS)
        lines.append(gap.join(fields))
    return lines, sum(1 for line in lines if line.split())


def join_lines(draw: st.DrawFn, lines: list[bytes]) -> bytes:
    return b"".join(line + draw(EOLS) for line in lines)


# ---------------------------------------------------------------------------- vector files
READ_OPTIONS = st.fixed_dictionaries({
    "limit": st.sampled_from([None, None, None, 1, 2, 3]),
    "encoding_errors": st.sampled_from(["strict", "strict", "replace"]),
    "duplicates": st.sampled_from(["error", "error", "first"]),
})


@st.composite
def word2vec_text(draw: st.DrawFn, fasttext: bool = False) -> bytes:
    dim = draw(st.integers(1, 5))
    lines, rows = draw(text_rows(dim, with_word=True))
    if fasttext:
        lines = [line + b" " for line in lines]
    header = draw(header_number(rows)) + draw(SEPARATORS) + draw(header_number(dim))
    return header + draw(EOLS) + join_lines(draw, lines)


@st.composite
def glove_text(draw: st.DrawFn) -> bytes:
    lines, _ = draw(text_rows(draw(st.integers(1, 5)), with_word=True))
    return join_lines(draw, lines)


@st.composite
def word2vec_binary(draw: st.DrawFn) -> bytes:
    dim = draw(st.integers(1, 4))
    if draw(st.integers(0, 2)) == 0:  # a clean file, with or without word2vec.c's newlines
        words = draw(st.lists(CLEAN_WORDS, min_size=1, max_size=5, unique=True))
        matrix = draw(st.lists(st.floats(width=32), min_size=dim * len(words),
                               max_size=dim * len(words)))
        newline = draw(st.sampled_from([b"\n", b""]))
        vectors = np.array(matrix, "<f4").reshape(len(words), dim)
        return f"{len(words)} {dim}\n".encode() + b"".join(
            w + b" " + v.tobytes() + newline for w, v in zip(words, vectors, strict=True))
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        vector = draw(st.one_of(
            st.lists(st.floats(width=32), min_size=dim, max_size=dim).map(
                lambda v: np.array(v, "<f4").tobytes()),
            st.binary(min_size=4 * dim, max_size=4 * dim),
            st.binary(max_size=4 * dim + 6)))
        rows.append(draw(WORDS) + draw(st.sampled_from([b" ", b" ", b" ", b"", b"  "])) + vector
                    + draw(st.sampled_from([b"\n", b"\n", b"", b"\n\n"])))
    header = draw(header_number(len(rows))) + b" " + draw(header_number(dim))
    return header + draw(st.sampled_from([b"\n", b"\n", b"\r\n", b" \n", b""])) + b"".join(rows)


def vector_file(layout: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """A layout, or random bytes, then byte edits, then perhaps gzip."""
    return st.one_of(layout, layout, layout, RANDOM_BYTES).flatmap(mutated).flatmap(packed)


ALL_LAYOUTS = st.one_of(word2vec_text(), word2vec_text(fasttext=True), glove_text(),
                        word2vec_binary())
VECTOR_LAYOUTS = {
    "word2vec": (word2vec_text(), "v.txt"),
    "word2vec-bin": (word2vec_binary(), "v.bin"),
    "glove": (glove_text(), "v.txt"),
    "fasttext": (word2vec_text(fasttext=True), "v.vec"),
    "auto": (ALL_LAYOUTS, None),
}
AUTO_NAMES = ["v.txt", "v.vec", "v.bin", "v.txt.gz", "v", "v.bin.gz"]


def check_vectors(words: list[str], matrix: np.ndarray, options: dict[str, Any]) -> None:
    """What every successful read must give."""
    assert isinstance(matrix, np.ndarray) and matrix.dtype == np.float32, matrix.dtype
    assert matrix.ndim == 2 and matrix.shape[0] == len(words) >= 1, (matrix.shape, len(words))
    assert matrix.shape[1] >= 1, matrix.shape
    assert all(isinstance(w, str) and w for w in words), words
    assert len(set(words)) == len(words), words
    if options.get("limit") is not None:
        assert len(words) <= options["limit"], (len(words), options)


def _read_options(case: Case) -> dict[str, Any]:
    return {k: case.options[k] for k in ("limit", "encoding_errors", "duplicates")
            if k in case.options}


def vectors_target(fmt: str) -> Target:
    from tokvec.formats import read_vectors

    layout, name = VECTOR_LAYOUTS[fmt]

    @st.composite
    def strategy(draw: st.DrawFn) -> Case:
        file_name = name or draw(st.sampled_from(AUTO_NAMES))
        return Case({file_name: draw(vector_file(layout))},
                    {**draw(READ_OPTIONS), "fmt": fmt, "name": file_name})

    def call(root: Path, case: Case) -> None:
        words, matrix = read_vectors(root / case.options["name"], case.options["fmt"],
                                     **_read_options(case))
        check_vectors(words, matrix, case.options)

    def from_bytes(data: bytes) -> Case:
        flags, body = (data[0], data[1:]) if data else (0, b"")
        options = {"fmt": fmt, "name": name or AUTO_NAMES[(flags >> 4) % len(AUTO_NAMES)],
                   "limit": [None, 1, 2, 3][flags & 3],
                   "encoding_errors": "replace" if flags & 4 else "strict",
                   "duplicates": "first" if flags & 8 else "error"}
        return Case({options["name"]: body}, options)

    seeds = {"word2vec": [b"2 2\ncat 1 2\ndog 0.5 -1e-3\n"],
             "glove": [b"cat 1 2\ndog 0.5 -1e-3\n"],
             "fasttext": [b"2 2\ncat 1 2 \ndog 0.5 -1e-3 \n"],
             "word2vec-bin": [b"2 1\ncat \x00\x00\x80?\ndog \x00\x00\x00@\n"]}
    seeds["auto"] = [s for key in ("word2vec", "glove", "word2vec-bin") for s in seeds[key]]
    return Target(f"vectors-{fmt}", strategy(), call, from_bytes,
                  seeds=tuple(b"\x00" + s for s in seeds[fmt]))


@st.composite
def projector_case(draw: st.DrawFn) -> Case:
    dim = draw(st.integers(1, 4))
    if draw(st.integers(0, 2)) == 0:  # a clean pair
        words = draw(st.lists(CLEAN_WORDS, min_size=1, max_size=5, unique=True))
        rows = [b"\t".join(draw(CLEAN_NUMBERS) for _ in range(dim)) for _ in words]
        return Case({"proj/vectors.tsv": b"\n".join(rows) + b"\n",
                     "proj/metadata.tsv": b"\n".join(words) + b"\n"},
                    {**draw(READ_OPTIONS), "path": draw(st.sampled_from(["proj",
                                                                         "proj/vectors.tsv"]))})
    sep = draw(st.sampled_from([b"\t"] * 4 + [b" "]))
    lines, _ = draw(text_rows(dim, with_word=False, sep=sep))
    vectors = draw(mutated(join_lines(draw, lines), max_ops=2).flatmap(packed))
    words = [draw(WORDS) for _ in range(draw(st.integers(0, len(lines) + 1)))]
    if words and draw(st.booleans()):  # the projector's multi-column layout: a header line
        words = [b"word\tpos"] + [w + b"\t" + draw(WORDS) for w in words]
    metadata = draw(mutated(join_lines(draw, words), max_ops=2))
    files = {"proj/vectors.tsv": vectors}
    if draw(st.integers(0, 9)):
        files["proj/metadata.tsv"] = metadata
    path = draw(st.sampled_from(["proj", "proj/vectors.tsv", "proj/metadata.tsv"]))
    return Case(files, {**draw(READ_OPTIONS), "path": path})


def projector_target() -> Target:
    from tokvec.formats import read_vectors

    def call(root: Path, case: Case) -> None:
        words, matrix = read_vectors(root / case.options["path"], "tsv", **_read_options(case))
        check_vectors(words, matrix, case.options)

    def from_bytes(data: bytes) -> Case:
        flags, cut, body = (data[0], data[1], data[2:]) if len(data) > 1 else (0, 0, data)
        at = len(body) * cut // 256
        options = {"path": ["proj", "proj/vectors.tsv"][flags & 1],
                   "limit": [None, 2][(flags >> 1) & 1],
                   "encoding_errors": "replace" if flags & 4 else "strict",
                   "duplicates": "first" if flags & 8 else "error"}
        return Case({"proj/vectors.tsv": body[:at], "proj/metadata.tsv": body[at:]}, options)

    vectors, metadata = b"1\t2\n0.5\t-1e-3\n", b"cat\ndog\n"
    body = vectors + metadata
    cut = next(c for c in range(256) if len(body) * c // 256 == len(vectors))
    seed = bytes([0, cut]) + body
    return Target("vectors-tsv", projector_case(), call, from_bytes, seeds=(seed,))


# ---------------------------------------------------------------------------- line-based text
CLEAN_TEXTS = st.text(st.characters(codec="utf-8", exclude_characters="\t\n\r\x00"),
                      min_size=1, max_size=12).map(str.encode)


@st.composite
def tabbed_file(draw: st.DrawFn, fields: list[st.SearchStrategy[bytes]],
                extra_lines: list[bytes], clean_fields: list[st.SearchStrategy[bytes]]) -> bytes:
    """Lines of tab-separated fields (sometimes too few or too many), comments, blank lines;
    one file in three clean (valid fields only)."""
    if draw(st.integers(0, 2)) == 0:
        rows = draw(st.lists(st.tuples(*clean_fields), min_size=1, max_size=5))
        return b"".join(b"\t".join(row) + b"\n" for row in rows)
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["row"] * 5 + ["short", "long", "blank", "extra", "junk"]))
        if kind == "blank":
            lines.append(draw(st.sampled_from([b"", b" ", b"\t", b"\r"])))
        elif kind == "junk":
            lines.append(draw(st.binary(max_size=24)))
        elif kind == "extra" and extra_lines:
            lines.append(draw(st.sampled_from(extra_lines)) + draw(TEXTS))
        else:
            row = [draw(s) for s in fields]
            if kind == "short":
                row = row[:draw(st.integers(0, len(row) - 1))]
            elif kind == "long":
                row.append(draw(TEXTS))
            sep = draw(st.sampled_from([b"\t"] * 6 + [b" ", b"\t\t", b"  "]))
            lines.append(sep.join(row))
    return draw(mutated(join_lines(draw, lines), max_ops=2))


def text_target(name: str, read: Callable[[Path], Any], fields: list[st.SearchStrategy[bytes]],
                extra_lines: list[bytes], clean_fields: list[st.SearchStrategy[bytes]],
                check: Callable[[Any], None], seed: bytes) -> Target:
    layout = tabbed_file(fields, extra_lines, clean_fields)

    def call(root: Path, case: Case) -> None:
        check(read(root / "input.txt"))

    return Target(name, st.one_of(layout, layout, layout, RANDOM_BYTES).map(
        lambda data: Case({"input.txt": data})), call, lambda data: Case({"input.txt": data}),
        seeds=(seed,))


def _check_similarity(pairs: list[tuple[str, str, float]]) -> None:
    assert pairs and all(isinstance(a, str) and isinstance(b, str) and math.isfinite(s)
                         for a, b, s in pairs), pairs


def _check_analogies(questions: list[tuple[str, tuple[str, ...]]]) -> None:
    assert questions and all(len(q) == 4 for _, q in questions), questions


def _check_wic(pairs: list[Any]) -> None:
    assert pairs and all(p.word and p.first and p.second for p in pairs), pairs


def _check_labelled(data: Any) -> None:
    assert len(data.texts) == len(data.labels) == len(data.lines) >= 1
    assert all(label and "\t" not in label for label in data.labels), data.labels


def _check_texts(texts: list[str]) -> None:
    assert any(t.strip() for t in texts), texts


ANALOGY_ROW = st.lists(WORDS, min_size=3, max_size=5).map(b" ".join)
WIC_LABELS = st.one_of(st.sampled_from([b"same", b"different", b"SAME", b" different ", b"",
                                        b"T", b"F", b"#same"]), WORDS)


def similarity_target() -> Target:
    from tokvec.evaluation import read_similarity_file

    return text_target("similarity", read_similarity_file, [WORDS, WORDS, NUMBERS], [b"#"],
                       [CLEAN_WORDS, CLEAN_WORDS, CLEAN_NUMBERS], _check_similarity,
                       b"# pairs\ncat\tdog\t7.5\nsun\tmoon\t-1e2\n")


def analogy_target() -> Target:
    from tokvec.evaluation import read_analogy_file

    return text_target("analogy", read_analogy_file, [ANALOGY_ROW], [b": ", b":"],
                       [st.lists(CLEAN_WORDS, min_size=4, max_size=4).map(b" ".join)],
                       _check_analogies, b": capitals\nparis france rome italy\n")


def wic_target() -> Target:
    from tokvec.contextual.wic import read_wic

    return text_target("wic", read_wic, [WIC_LABELS, WORDS, TEXTS, TEXTS], [b"#"],
                       [st.sampled_from([b"same", b"different"]), CLEAN_WORDS, CLEAN_TEXTS,
                        CLEAN_TEXTS], _check_wic,
                       b"same\tbank\tthe bank closed\ta bank loan\n")


def labelled_target() -> Target:
    from tokvec.classify.data import read_labelled

    return text_target("labelled", read_labelled, [WORDS, TEXTS], [],
                       [CLEAN_WORDS, CLEAN_TEXTS], _check_labelled,
                       b"pos\tgreat fun\n\nneg\tdull\n")


def texts_target() -> Target:
    from tokvec.classify.data import read_texts

    return text_target("texts", read_texts, [TEXTS], [], [CLEAN_TEXTS], _check_texts,
                       b"one\n\ntwo\n")


# ---------------------------------------------------------------------------- model directories
MODEL = "model"
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json",
               "embeddings.safetensors")
CONFIG_KEYS = [
    "kind", "format_version", "d_model", "vocab_size", "subwords", "minn", "maxn", "buckets",
    "tokenizer", "lowercase", "counts", "method", "model_type", "labels", "head",
    "head_options", "featurizer", "head_file", "encoder_dir", "embeddings_file", "layers",
    "heads", "ffn", "max_len", "dropout", "norm", "activation", "layer_norm_eps",
    "attn_dropout", "hidden", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "intermediate_size", "max_position_embeddings", "hidden_act", "model", "vocab", "type",
    "unk_token", "added_tokens", "normalizer", "pre_tokenizer", "post_processor", "id",
    "content", "segmenter"]
BIG = "__BIG_INTEGER__"  # rendered as a 5000-digit integer, which json.loads refuses to parse
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(),
    st.sampled_from([0, -1, 1, 2, 3, 4, 5, 8, 10**9, 2**31, 2**63, -2**63, 0.5, 1e-12]),
    st.text(max_size=8),
    st.sampled_from(["static", "bert", "bilstm", "hf", "classifier", "word", "wordpiece",
                     "bpe", "unigram", "zh-word", "char", "WordLevel", "WordPiece", "BPE",
                     "../outside.safetensors", "/etc/hostname", "a\x00b", "", ".",
                     "embeddings.safetensors", "encoder", "pre", "post", "gelu", "jieba",
                     "[UNK]", "[PAD]", BIG]))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(CONFIG_KEYS), st.text(max_size=4)), children,
                        max_size=4)),
    max_leaves=8)


@functools.cache
def base_models() -> dict[str, dict[str, bytes]]:
    """Valid static model directories (plain, and with fastText subword vectors), as files."""
    from tokvec.static_model import StaticModel

    rng = np.random.default_rng(0)
    plain = StaticModel.from_vectors(["cat", "dog", "bird"],
                                     rng.standard_normal((3, 4)).astype(np.float32))
    subwords = StaticModel(plain.tokenizer, plain.embeddings,
                           {**plain.config, "method": "fasttext",
                            "subwords": {"minn": 3, "maxn": 5, "buckets": 16}},
                           {"ngrams": rng.standard_normal((3, 4)).astype(np.float32),
                            "ngram_buckets": np.array([1, 5, 9], np.int64)})
    out = {}
    for name, model in (("plain", plain), ("subwords", subwords)):
        with tempfile.TemporaryDirectory() as tmp:
            model.save(Path(tmp) / MODEL)
            out[name] = {f"{MODEL}/{f.name}": f.read_bytes()
                         for f in sorted((Path(tmp) / MODEL).iterdir())}
    return out


def _containers(obj: Any, depth: int = 0) -> list[Any]:
    """Every dict and list inside ``obj`` (``obj`` first), a few levels deep."""
    found = [obj] if isinstance(obj, (dict, list)) else []
    if depth < 4:
        children = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else []
        for child in children:
            found += _containers(child, depth + 1)
    return found


def _render_json(obj: Any) -> bytes:
    text = json.dumps(obj, allow_nan=True)
    return text.replace(json.dumps(BIG), "1" * 5000).encode()


@st.composite
def mutated_json(draw: st.DrawFn, data: bytes) -> bytes:
    """A JSON document with a value replaced, added or removed somewhere inside."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return draw(mutated(data))
    for _ in range(draw(st.integers(1, 3))):
        containers = _containers(obj)
        if not containers or draw(st.integers(0, 19)) == 0:
            obj = draw(JSON_VALUES)  # the whole document
            continue
        target = containers[draw(st.integers(0, len(containers) - 1))]
        value = draw(JSON_VALUES)
        if isinstance(target, dict):
            key = draw(st.sampled_from(list(target) + CONFIG_KEYS))
            if key in target and draw(st.integers(0, 3)) == 0:
                del target[key]
            else:
                target[key] = value
        elif target and draw(st.booleans()):
            target[draw(st.integers(0, len(target) - 1))] = value
        elif draw(st.booleans()):
            target.append(value)
        else:
            del target[draw(st.integers(0, len(target))):]
    return _render_json(obj)


SAFETENSORS_DTYPES = ["F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64", "U8", "U16",
                      "U32", "U64", "BOOL", "F8_E4M3", "F8_E5M2", "C64", "X", ""]


@st.composite
def tensors_file(draw: st.DrawFn) -> bytes:
    """A fresh safetensors file: tables of odd shapes and dtypes, or some missing."""
    from safetensors.numpy import save

    tensors = {}
    for name in draw(st.lists(st.sampled_from(["embeddings", "embeddings", "ngrams",
                                               "ngram_buckets", "context", "x"]),
                              unique=True, max_size=3)):
        shape = draw(st.one_of(
            st.sampled_from([(8, 4), (8, 5), (9, 4), (7, 4), (8,), (8, 4, 1), (0, 4), (8, 0),
                             (3, 4), (16, 4), (3,), (0,), ()]),
            st.lists(st.integers(0, 9), max_size=3).map(tuple)))
        dtype = draw(st.sampled_from([np.float32] * 3 + [np.float16, np.float64, np.int32,
                                                         np.int64, np.uint8, np.bool_]))
        values = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape)
        if values.size and draw(st.booleans()):
            values.flat[0] = draw(st.sampled_from([np.nan, np.inf, -1e30, 1e30]))
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tensors[name] = values.astype(dtype)
    return save(tensors, metadata={"format": "np"})


def safetensors_header(data: bytes) -> dict[str, Any] | None:
    """The JSON header of a safetensors file, or None if it has none that parses."""
    try:
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + size])
    except (ValueError, struct.error, RecursionError):
        return None
    return header if isinstance(header, dict) else None


@st.composite
def mutated_safetensors(draw: st.DrawFn, data: bytes) -> bytes:
    """A safetensors file whose JSON header (dtype, shape, offsets) or length prefix is edited."""
    header = safetensors_header(data)
    if header is None:
        return draw(mutated(data))
    size = struct.unpack("<Q", data[:8])[0]
    name = draw(st.sampled_from(sorted(k for k in header if k != "__metadata__") or ["x"]))
    entry = header.get(name)
    if not isinstance(entry, dict):
        entry = header[name] = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    field_name = draw(st.sampled_from(["dtype", "shape", "data_offsets", "other"]))
    if field_name == "dtype":
        entry["dtype"] = draw(st.sampled_from(SAFETENSORS_DTYPES))
    elif field_name == "shape":
        entry["shape"] = draw(st.lists(st.sampled_from([0, 1, 3, 4, 8, -1, 2**40, 2**64]),
                                       max_size=3))
    elif field_name == "data_offsets":
        entry["data_offsets"] = draw(st.lists(st.sampled_from([0, 4, 16, 96, 128, 2**40, -4]),
                                              min_size=0, max_size=3))
    else:
        header[name] = draw(JSON_VALUES)
    raw = json.dumps(header).encode()
    prefix = draw(st.sampled_from([len(raw), len(raw), len(raw) + 1, len(raw) - 1, 0, 2**63,
                                   2**64 - 1]))
    return struct.pack("<Q", max(0, prefix)) + raw + data[8 + size:]


@st.composite
def model_dir_case(draw: st.DrawFn) -> Case:
    files = dict(base_models()[draw(st.sampled_from(["plain", "subwords"]))])
    for _ in range(draw(st.integers(1, 3))):
        name = f"{MODEL}/" + draw(st.sampled_from(
            ["config.json"] * 3 + ["tokenizer.json", "tokenizer_config.json"] * 2
            + ["embeddings.safetensors"] * 2))
        op = draw(st.sampled_from(["structured"] * 4 + ["bytes", "random", "delete", "deep",
                                                         "empty"]))
        if name not in files or op == "random":
            files[name] = draw(RANDOM_BYTES)
        elif op == "delete":
            del files[name]
        elif op == "empty":
            files[name] = b""
        elif op == "deep":
            files[name] = draw(st.sampled_from([b"[" * 100_000, b'{"a":' * 50_000,
                                                b'{"format_version": 1, "kind": "static", '
                                                b'"d_model": ' + b"1" * 5000 + b"}"]))
        elif op == "bytes":
            files[name] = draw(mutated(files[name]))
        elif name.endswith(".json"):
            files[name] = draw(mutated_json(files[name]))
        elif draw(st.booleans()):
            files[name] = draw(tensors_file())
        else:
            files[name] = draw(mutated_safetensors(files[name]))
    if draw(st.integers(0, 4)) == 0:  # something for a path outside the directory to find
        files["outside.safetensors"] = files.get(f"{MODEL}/embeddings.safetensors", b"")
    return Case(files)


def load_and_use_model(root: Path, case: Case) -> None:
    """Load the directory and use a static model a little, as the query verbs do."""
    from tokvec.modeldir import load_model
    from tokvec.static_model import StaticModel

    model = load_model(root / MODEL)
    if isinstance(model, StaticModel):
        model.info()
        vectors = model.vectors
        if len(vectors):
            vectors.get_vector(vectors.words[0])
        vectors.get_vector_or_none("zqxjk")
        model.tokenizer.encode("cat dog zqxjk")


def model_dir_from_bytes(data: bytes) -> Case:
    """Raw bytes edit one file of a valid directory: replace it, overwrite part, or splice in."""
    flags, body = (data[0], data[1:]) if data else (0, b"")
    files = dict(base_models()["subwords" if flags & 1 else "plain"])
    name = f"{MODEL}/{MODEL_FILES[(flags >> 1) % len(MODEL_FILES)]}"
    original = files[name]
    mode = (flags >> 3) % 3
    if mode == 0:
        files[name] = body
    else:
        at = int.from_bytes(body[:2] or b"\0", "little") % (len(original) + 1)
        payload = body[2:]
        files[name] = (original[:at] + payload + original[at + len(payload):] if mode == 1
                       else original[:at] + payload + original[at:])
    return Case(files)


def model_dir_target() -> Target:
    # each seed splices nothing into one of the files: the valid directory, plain or subwords
    seeds = tuple(bytes([2 << 3 | i << 1 | variant, 0, 0])
                  for i in range(len(MODEL_FILES)) for variant in (0, 1))
    return Target("modeldir", model_dir_case(), load_and_use_model, model_dir_from_bytes,
                  names_file=False, seeds=seeds)


# ---------------------------------------------------------------------------- all of them
FACTORIES: dict[str, Callable[[], Target]] = {
    **{f"vectors-{fmt}": functools.partial(vectors_target, fmt) for fmt in VECTOR_LAYOUTS},
    "vectors-tsv": projector_target, "similarity": similarity_target,
    "analogy": analogy_target, "wic": wic_target, "labelled": labelled_target,
    "texts": texts_target, "modeldir": model_dir_target,
}
"""Every target's name and how to build it (a target imports only the reader it needs)."""


@functools.cache
def target(name: str) -> Target:
    return FACTORIES[name]()
