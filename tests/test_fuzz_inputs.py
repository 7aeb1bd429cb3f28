"""Fuzzing the readers of user files: a short, seeded pass (the long one is ``bench/fuzz.py``).

Every reader of a vector file, an evaluation file, a task file, and the model-directory loader,
fed near-valid and random inputs (see ``tests/fuzz_targets.py``), must return a sane result or
raise :class:`TokvecError` naming the file. Below them, one regression test per bug the fuzzer
found.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import re
import struct
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from fuzz_targets import (
    FACTORIES,
    MODEL,
    Case,
    Target,
    UnlocatedError,
    base_models,
    load_and_use_model,
    mutated,
    run_case,
    target,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokvec.errors import TokvecError
from tokvec.formats import read_vectors
from tokvec.modeldir import load_model

EXAMPLES = {"modeldir": 60}  # per target; each example writes files and calls the reader
DEFAULT_EXAMPLES = 40


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_reader_survives_fuzzed_input(name):
    fuzzed = target(name)

    @settings(derandomize=True, database=None, deadline=None,
              max_examples=EXAMPLES.get(name, DEFAULT_EXAMPLES),
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                     HealthCheck.large_base_example])
    @given(fuzzed.strategy)
    def reader_returns_or_raises_tokvec_error(case):
        run_case(fuzzed, case)

    reader_returns_or_raises_tokvec_error()


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_atheris_decoder_makes_cases(name):
    """The raw-bytes decoder used by atheris gives cases the target runs; its seeds are valid."""
    fuzzed = target(name)
    for data in (b"", b"\x00", b"\xff" * 40, bytes(range(256))):
        assert run_case(fuzzed, fuzzed.from_bytes(data)) in ("ok", "error")
    assert fuzzed.seeds
    for seed in fuzzed.seeds:
        assert run_case(fuzzed, fuzzed.from_bytes(seed)) == "ok", fuzzed.from_bytes(seed)


def test_harness_tells_crashes_from_tokvec_errors(tmp_path):
    def call(root, case):
        raise {"a": ValueError("boom"), "b": TokvecError("bad", path=root / "f"),
               "c": TokvecError("bad, somewhere")}[case.options["what"]]

    planted = Target("planted", None, call, None)
    with pytest.raises(ValueError, match="boom"):
        run_case(planted, Case({}, {"what": "a"}))
    assert run_case(planted, Case({"f": b"x"}, {"what": "b"})) == "error"
    with pytest.raises(UnlocatedError):
        run_case(planted, Case({}, {"what": "c"}))
    case = Case({"d/x.bin": b"\x00\xff"}, {"limit": 2})
    assert Case.load(case.dump()) == case and "'\\x00\\xff'" in case.describe()


# ---------------------------------------------------------------- regressions: vector files
def expect_error(path, pattern, *args, **kwargs):
    with pytest.raises(TokvecError) as exc:
        read_vectors(path, *args, **kwargs)
    assert re.search(pattern, str(exc.value)), str(exc.value)
    assert str(exc.value).startswith(str(path))


def test_corrupt_gzip_data_is_a_tokvec_error(tmp_path):
    # zlib.error (not an OSError) escaped from the gzip stream
    packed = gzip.compress(b"cat 1 2\ndog 3 4\n" * 50, mtime=0)
    path = tmp_path / "v.txt.gz"
    path.write_bytes(packed[:10] + b"\x07" + packed[11:])  # a deflate block of reserved type 3
    for fmt in ("auto", "glove", "word2vec-bin"):
        expect_error(path, r"corrupt gzip data", fmt)


PACKERS = {"gz": lambda b: gzip.compress(b, mtime=0), "bz2": bz2.compress, "xz": lzma.compress}


@settings(derandomize=True, database=None, deadline=None, max_examples=60,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(sorted(PACKERS)),
       st.one_of(st.just(b"the cat sat\nna\xefve\n\n" * 40), st.binary(max_size=300)),
       st.data())
def test_mutated_compressed_text_raises_only_tokvec_errors(kind, text, data):
    """Every text reader on damaged gzip, bzip2 or xz bytes: lines, or a TokvecError naming
    the file (never EOFError, zlib.error, OSError, lzma.LZMAError, ...)."""
    from tokvec.static.corpus import read_line_blocks
    from tokvec.textio import iter_lines, require_nonempty

    packed = data.draw(mutated(PACKERS[kind](text), max_ops=2))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"c.txt.{kind}"
        path.write_bytes(packed)
        for read in (lambda: list(iter_lines(path, errors="replace")),
                     lambda: list(read_line_blocks(path, errors="replace")),
                     lambda: require_nonempty(path), lambda: read_vectors(path)):
            try:
                read()
            except TokvecError as exc:
                assert str(exc).startswith(str(path)), str(exc)


@pytest.mark.parametrize("data, fmt", [
    (b"1 99999999999\ncat 1 2\n", "word2vec"),  # allocated DIM columns per line: MemoryError
    (b"1 99999999999\ncat \x00\x00\x80\x3f\n", "word2vec-bin"),
    (b"1 1099511627775\ncat 1\n", "fasttext"),  # numpy: "array is too big" (ValueError)
    (b"1 1099511627775\ncat \x00\x00\x80\x3f\n", "word2vec-bin"),
])
def test_header_with_huge_dim_is_refused_without_allocating(tmp_path, data, fmt):
    path = tmp_path / "v.bin"
    path.write_bytes(data)
    expect_error(path, r"expected \d+ values after the word, got \d|truncated", fmt)


@pytest.mark.parametrize("header", [b"1 1099511627776", b"99999999999999999999 2"])
def test_header_numbers_beyond_64_bits_are_malformed(tmp_path, header):
    path = tmp_path / "v.txt"
    path.write_bytes(header + b"\ncat 1 2\n")
    expect_error(path, r":1: malformed header: .* announces more than", "word2vec")


def test_blank_lines_do_not_cost_dim_columns_each(tmp_path):
    # 200k blank lines and 300 columns once asked for 2 x 240 MB (a scratch row per line, and a
    # matrix preallocated for a row per line)
    path = tmp_path / "v.txt"
    row = b"cat " + b" ".join([b"0.5"] * 300) + b"\n"
    path.write_bytes(b"\n" * 200_000 + row + b"\n" * 10 + b"dog " + row[4:])
    tracemalloc.start()
    try:
        words, matrix = read_vectors(path, "glove")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert words == ["cat", "dog"] and matrix.shape == (2, 300)
    assert peak < 100 * 2**20, peak
    path.write_bytes(b"\n" * 200_000 + row + b"\n" + b"dog 1\n")
    expect_error(path, r":200003: expected 300 values after the word, got 1", "glove")


def test_binary_rows_with_empty_words_are_named_not_truncated(tmp_path):
    # the scan's row bound was too small for rows without a word: the rest read as truncated
    path = tmp_path / "v.bin"
    path.write_bytes(b"100 1\n" + b" \x00\x00\x80\x3f" * 100)
    expect_error(path, r"row 1: empty word", "word2vec-bin")


# ---------------------------------------------------------------- regressions: model directories
def model_dir(tmp_path, **changes):
    """The fuzzer's valid base directory, with files replaced (bytes) or removed (None)."""
    files = dict(base_models()["plain"])
    for name, data in changes.items():
        key = f"{MODEL}/{name.replace('__', '.')}"
        if data is None:
            files.pop(key)
        else:
            files[key] = data
    Case(files).write(tmp_path)
    return tmp_path / MODEL


def config_with(**entries) -> bytes:
    cfg = json.loads(base_models()["plain"][f"{MODEL}/config.json"])
    return json.dumps({**cfg, **entries}).encode()


HF_SIZES = {"vocab_size": 8, "hidden_size": 4, "num_hidden_layers": 1, "num_attention_heads": 1,
            "intermediate_size": 4, "max_position_embeddings": 8}


@pytest.mark.parametrize("name, data, pattern", [
    # json.loads raised ValueError (over 4300 digits) and RecursionError: not JSONDecodeError
    ("config__json", b'{"format_version": ' + b"1" * 5000 + b"}", r"config.json: malformed JSON"),
    ("config__json", b"[" * 100_000, r"config.json: malformed JSON"),
    ("tokenizer_config__json", b"[" * 100_000, r"tokenizer_config.json: malformed JSON"),
    # a NUL byte in a *_file name made Path.resolve raise ValueError
    ("config__json", config_with(head_file="a\x00b"), r"config.json: unusable file name"),
    # counts of the wrong type made numpy raise ValueError / TypeError
    ("tokenizer_config__json", b'{"kind": "word", "counts": "abc"}', r"'counts' must be a list"),
    ("tokenizer_config__json", b'{"kind": "word", "counts": 5}', r"'counts' must be a list"),
    ("tokenizer_config__json", b'{"kind": "word", "counts": [1, null]}', r"'counts' must be"),
    ("tokenizer_config__json", b'{"kind": ["word"]}', r"unknown tokenizer kind"),
    # a contextual kind whose dropout is not a number: TypeError from the comparison
    ("config__json", config_with(kind="bert", dropout="x"), r"dropout must be in \[0, 1\)"),
    ("config__json", config_with(kind="bilstm", d_model=4, dropout=None), r"dropout must be"),
    ("config__json", config_with(kind="bert", layer_norm_eps="x"), r"layer_norm_eps must be"),
    # a HuggingFace config: an unhashable hidden_act (TypeError), a number that is not one
    ("config__json", json.dumps({"model_type": "bert", "hidden_act": ["gelu"]}).encode(),
     r"config.json: hidden_act \['gelu'\] is not supported"),
    ("config__json", json.dumps({"model_type": "bert", **HF_SIZES, "vocab_size": "x"}).encode(),
     r"config.json: a value of the wrong type"),
    ("config__json", json.dumps({"model_type": "bert", **HF_SIZES, "hidden_size": None}).encode(),
     r"config.json: a value of the wrong type"),
])
def test_model_directory_errors_are_tokvec_errors(tmp_path, name, data, pattern):
    model_dir(tmp_path, **{name: data})
    with pytest.raises(TokvecError, match=pattern):
        load_and_use_model(tmp_path, Case({}))  # counts = 5 loaded, then failed in use


def test_static_table_without_columns_is_refused(tmp_path):
    # (|V|, 0) loaded, then info() divided by zero
    from safetensors.numpy import save

    data = save({"embeddings": np.zeros((8, 0), np.float32)}, metadata={"format": "np"})
    with pytest.raises(TokvecError, match=r"at least one column, got shape \(8, 0\)"):
        model_dir(tmp_path, embeddings__safetensors=data, config__json=config_with(d_model=None))
        load_and_use_model(tmp_path, Case({}))


def test_safetensors_header_lengths_are_tokvec_errors(tmp_path):
    data = base_models()["plain"][f"{MODEL}/embeddings.safetensors"]
    for prefix in (2**63, 2**64 - 1, 0):
        with pytest.raises(TokvecError, match="not a readable safetensors file"):
            load_model(model_dir(tmp_path, embeddings__safetensors=struct.pack("<Q", prefix)
                                 + data[8:]))
