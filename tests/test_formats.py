"""Vector file formats: exact round trips, auto-detection, bad input, gensim compatibility, CLI."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokvec.cli import main
from tokvec.errors import TokvecError
from tokvec.formats import (
    FORMATS,
    detect_format,
    export_model,
    import_vectors,
    read_vectors,
    write_vectors,
)
from tokvec.formats.kernels import LINE_OK, format_block, parse_block
from tokvec.static_model import StaticModel

WORDS = ["the", "Café", "北京", "naïve", "a\u00a0b", "[x]", "don't", "Ω"]


def tricky_matrix(rows: int = len(WORDS), dim: int = 7, seed: int = 0) -> np.ndarray:
    """Trained-looking values plus the awkward ones: -0.0, tiny, huge, subnormal, 0.1."""
    rng = np.random.default_rng(seed)
    m = (rng.standard_normal((rows, dim)) * 0.3).astype(np.float32)
    awkward = [-0.0, 1e-45, 3.4028235e38, -1.1754944e-38, 0.1, 1e16, np.float32(1) / 3,
               123456789.0, -7e-5, 1e-4]
    m.ravel()[:len(awkward)] = awkward[:m.size]
    return m


def bits(m: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(m, dtype=np.float32).view(np.uint32)


def message(exc_info: pytest.ExceptionInfo) -> str:
    return str(exc_info.value)


# ---------------------------------------------------------------- round trips and detection
@pytest.mark.parametrize("fmt, name", [
    ("word2vec", "v.txt"), ("word2vec-bin", "v.bin"), ("glove", "v.txt"),
    ("fasttext", "v.vec"), ("tsv", "vectors.tsv"), ("tsv", "proj_dir"),
    ("word2vec-bin", "v.bin.gz"), ("glove", "v.txt.gz"),
])
def test_round_trip_is_bit_exact_and_detected(tmp_path, fmt, name):
    m = tricky_matrix()
    path = tmp_path / name
    write_vectors(path, WORDS, m, fmt)
    assert detect_format(path) == fmt
    words, back = read_vectors(path)
    assert words == WORDS
    assert back.dtype == np.float32 and np.array_equal(bits(back), bits(m))


def test_text_layouts_match_the_tools(tmp_path):
    m = np.array([[0.418, -1.5], [0.25, 2.0]], np.float32)
    for fmt, expected in [("word2vec", "2 2\ncat 0.418 -1.5\ndog 0.25 2\n"),
                          ("glove", "cat 0.418 -1.5\ndog 0.25 2\n"),
                          ("fasttext", "2 2\ncat 0.418 -1.5 \ndog 0.25 2 \n")]:
        write_vectors(tmp_path / fmt, ["cat", "dog"], m, fmt)
        assert (tmp_path / fmt).read_text() == expected
    write_vectors(tmp_path / "vectors.tsv", ["cat", "hot dog"], m, "tsv")
    assert (tmp_path / "vectors.tsv").read_text() == "0.418\t-1.5\n0.25\t2\n"
    assert (tmp_path / "metadata.tsv").read_text() == "cat\nhot dog\n"
    write_vectors(tmp_path / "v.bin", ["cat", "dog"], m, "word2vec-bin")
    expected_bin = (b"2 2\ncat " + m[0].astype("<f4").tobytes() + b"\ndog "
                    + m[1].astype("<f4").tobytes() + b"\n")
    assert (tmp_path / "v.bin").read_bytes() == expected_bin
    with gzip.open(tmp_path / "g.txt.gz", "wb") as f:
        f.write(b"cat 0.418 -1.5\n")
    assert read_vectors(tmp_path / "g.txt.gz")[0] == ["cat"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=40))
def test_printed_floats_read_back_exactly(values):
    m = np.array(values, dtype=np.float32).reshape(1, -1)
    text = format_block(m, b" ")
    back = np.array([[float(t) for t in text.split()]], np.float32)
    assert np.array_equal(bits(back), bits(m))
    parsed = np.zeros_like(m)
    status, *_ = parse_block(np.frombuffer(text, np.uint8), m.shape[1], False, parsed)
    if status[0] == LINE_OK:
        assert np.array_equal(bits(parsed), bits(m))


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"\A[-+]?(\d{1,18}(\.\d{0,18})?|\.\d{1,18})([eE][-+]?\d{1,2})?\Z"))
def test_fast_number_parser_agrees_with_python_float(token):
    parsed = np.zeros((1, 1), np.float32)
    status, *_ = parse_block(np.frombuffer(token.encode(), np.uint8), 1, False, parsed)
    with np.errstate(over="ignore"):
        expected = np.float32(float(token))
    if status[0] == LINE_OK:  # otherwise the line goes to Python's float()
        assert bits(parsed)[0, 0] == bits(np.array([expected]))[0]


def test_reader_tolerances(tmp_path):
    path = tmp_path / "g.txt"
    path.write_bytes(b"\n cat  1\t2 \r\n\n. . . 3 4\ndog nan -inf\n")
    words, m = read_vectors(path, "glove")
    assert words == ["cat", ". . .", "dog"]  # blank lines skipped; a word with spaces
    assert m[0].tolist() == [1, 2] and np.isnan(m[2, 0]) and m[2, 1] == -np.inf


def test_limit_keeps_the_first_rows_and_skips_count_checks(tmp_path):
    m = tricky_matrix(rows=50, dim=3)
    words = [f"w{i}" for i in range(50)]
    for fmt in FORMATS:
        path = tmp_path / (f"{fmt}.tsv" if fmt == "tsv" else fmt)
        write_vectors(path, words, m, fmt)
        got, back = read_vectors(path, fmt, limit=7)
        assert got == words[:7] and np.array_equal(bits(back), bits(m[:7]))
    bad = tmp_path / "short.txt"
    bad.write_text("100 1\na 1\nb 2\nc x y\n")
    assert read_vectors(bad, limit=2)[0] == ["a", "b"]


def test_binary_reads_gensim_layout_without_newlines(tmp_path):
    m = tricky_matrix(rows=3, dim=4)
    raw = b"3 4\n" + b"".join(w.encode() + b" " + r.astype("<f4").tobytes()
                               for w, r in zip(["a", "bb", "ccc"], m, strict=True))
    (tmp_path / "g.bin").write_bytes(raw)
    words, back = read_vectors(tmp_path / "g.bin")
    assert words == ["a", "bb", "ccc"] and np.array_equal(bits(back), bits(m))
    (tmp_path / "odd.bin").write_bytes(binary_file([b"\n\nlead", b"in\nside"], 1))
    assert read_vectors(tmp_path / "odd.bin")[0] == ["lead", "in\nside"]


# ---------------------------------------------------------------- bad input
def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_wrong_value_count_names_file_and_line(tmp_path):
    lines = [f"w{i} " + " ".join(["0.5"] * 50) for i in range(20)]
    lines[15] = "w15 " + " ".join(["0.5"] * 49)
    path = write(tmp_path, "v.txt", ("20 50\n" + "\n".join(lines) + "\n").encode())
    with pytest.raises(TokvecError) as exc:
        read_vectors(path)
    assert message(exc) == f"{path}:17: expected 50 values after the word, got 49"


@pytest.mark.parametrize("data, fmt, pattern", [
    (b"", "auto", r"file is empty"),
    (b"", "glove", r"file is empty"),
    (b"", "word2vec-bin", r"file is empty"),
    (b"\n\n", "glove", r"no vectors in the file"),
    (b"two 3\ncat 1 2 3\n", "word2vec", r":1: malformed header: expected 'COUNT DIM'"),
    (b"2 0\n", "word2vec", r":1: malformed header"),
    (b"1 2\ncat 1 x\n", "auto", r":2: value 2 is not a number: 'x'"),
    (b"cat 1 2\ndog 1 2 3\n", "auto", r":2: expected 2 values after the word, got 3"),
    (b"cat 1 2\ndog 1e39 2\n", "glove", r":2: value 1 \('1e39'\) is out of float32 range"),
    (b"cat\n", "glove", r":1: no values after the word"),
    (b"3 1\na 1\nb 2\n", "auto", r"header announces 3 vectors but the file has 2"),
    (b"1 1\na 1\nb 2\n", "auto", r":3: the header announces 1 vectors but the file has more"),
    (b"0 4\n", "auto", r"no vectors in the file"),
    (b"99999999999 3\na 1 2 3\n", "auto", r"announces 99999999999 vectors but the file has 1"),
    (b"a 1\nb 2\na 3\n", "glove", r":3: duplicate word 'a' \(first on line 1\)"),
    (b"a 1\nb\xff\xfe 2\n", "glove", r":2: invalid UTF-8 in the word at byte 1"),
])
def test_bad_text_input(tmp_path, data, fmt, pattern):
    path = write(tmp_path, "v.txt", data)
    with pytest.raises(TokvecError) as exc:
        read_vectors(path, fmt)
    assert re.search(pattern, message(exc)), message(exc)
    assert message(exc).startswith(str(path))


def binary_file(words, dim, count=None, newline=True):
    rows = [w + b" " + np.arange(dim, dtype="<f4").tobytes() + (b"\n" if newline else b"")
            for w in words]
    return f"{len(words) if count is None else count} {dim}\n".encode() + b"".join(rows)


@pytest.mark.parametrize("data, pattern", [
    (binary_file([b"a", b"b", b"c"], 4)[:-9], r"row 3: truncated: the file ends 10 bytes into"),
    (binary_file([b"a", b"b"], 4, count=3), r"header announces 3 vectors but the file ends "
                                           r"after 2"),
    (binary_file([b"a", b"b", b"c"], 4, count=2), r"header announces 2 vectors but data "
                                                 r"follows row 2"),
    (binary_file([b"a", b"b", b"a"], 4), r"row 3: duplicate word 'a' \(first on row 1\)"),
    (binary_file([b"a", b"\xe5\x8c", b"c"], 4), r"row 2: invalid UTF-8 in the word"),
    (b"2 4\n" + b"x" * 5000, r"row 1: no space within 4096 bytes"),
    (binary_file([b"a"], 4, count=10**12), r"announces 1000000000000 vectors but the file ends "
                                           r"after 1"),
    (b"x y\n\x00\x01", r":1: malformed header"),
])
def test_bad_binary_input(tmp_path, data, pattern):
    path = write(tmp_path, "v.bin", data)
    with pytest.raises(TokvecError) as exc:
        read_vectors(path, "word2vec-bin")
    assert re.search(pattern, message(exc)), message(exc)
    assert message(exc).startswith(str(path))


def test_invalid_utf8_replace_and_duplicates_first(tmp_path):
    # word2vec.c cuts words at a byte limit, so Google's files hold half characters
    path = write(tmp_path, "v.bin", binary_file([b"ok", b"\xe5\x8c", b"\xe5\x8d", b"z"], 2))
    with pytest.raises(TokvecError, match="duplicate word '\ufffd'"):
        read_vectors(path, encoding_errors="replace")
    with pytest.warns(UserWarning, match=r"dropped 1 duplicate word\(s\).*row 3"):
        words, m = read_vectors(path, encoding_errors="replace", duplicates="first")
    assert words == ["ok", "\ufffd", "z"] and m.shape == (3, 2)


def test_projector_pair_errors(tmp_path):
    (tmp_path / "vectors.tsv").write_text("1\t2\n3\t4\n")
    with pytest.raises(TokvecError, match=r"need their words in metadata\.tsv"):
        read_vectors(tmp_path / "vectors.tsv")
    (tmp_path / "metadata.tsv").write_text("a\nb\nc\n")
    with pytest.raises(TokvecError, match=r"metadata\.tsv has 3 words but vectors\.tsv has 2"):
        read_vectors(tmp_path)
    (tmp_path / "metadata.tsv").write_text("word\tpos\na\tDT\nb\tNN\n")  # header + columns
    assert read_vectors(tmp_path / "vectors.tsv")[0] == ["a", "b"]
    (tmp_path / "vectors.tsv").write_text("1\t2\n\n3\t4\n")
    with pytest.raises(TokvecError, match=r"vectors.tsv:2: blank line"):
        read_vectors(tmp_path)
    (tmp_path / "vectors.tsv").write_text("1\t2\n3\n")
    with pytest.raises(TokvecError, match=r"vectors.tsv:2: expected 2 values on the line, "
                                          r"got 1"):
        read_vectors(tmp_path)


def test_bad_arguments_and_unwritable_words(tmp_path):
    m = np.ones((2, 3), np.float32)
    out = tmp_path / "v.txt"
    out.write_text("old")
    for words, pattern in [(["a b", "c"], "contains whitespace"), (["a", "a"], "duplicate"),
                           (["a"], "1 words but 2 matrix rows"), (["a", ""], "empty")]:
        with pytest.raises(TokvecError, match=pattern):
            write_vectors(out, words, m, "word2vec")
    assert out.read_text() == "old"  # nothing written on error
    with pytest.raises(TokvecError, match="unknown vector format 'npy'"):
        write_vectors(out, ["a", "b"], m, "npy")
    with pytest.raises(TokvecError, match="limit must be a positive integer"):
        read_vectors(out, limit=0)
    with pytest.raises(TokvecError, match="encoding_errors must be one of"):
        read_vectors(out, encoding_errors="ignore")
    with pytest.raises(TokvecError, match="no such file"):
        read_vectors(tmp_path / "missing.txt")


# ---------------------------------------------------------------- gensim, both ways
@pytest.mark.parametrize("binary", [False, True])
def test_gensim_files_read_by_tokvec_and_back(tmp_path, binary):
    gensim_models = pytest.importorskip("gensim.models")
    m = tricky_matrix(rows=len(WORDS) - 1)
    words = [w for w in WORDS if "\u00a0" not in w]  # gensim splits text lines on any space
    kv = gensim_models.KeyedVectors(vector_size=m.shape[1])
    kv.add_vectors(words, m)
    theirs = tmp_path / "gensim.out"
    kv.save_word2vec_format(str(theirs), binary=binary)
    got, back = read_vectors(theirs)
    assert got == words and np.array_equal(bits(back), bits(m))

    ours = tmp_path / "tokvec.out"
    write_vectors(ours, words, m, "word2vec-bin" if binary else "word2vec")
    loaded = gensim_models.KeyedVectors.load_word2vec_format(str(ours), binary=binary)
    assert loaded.index_to_key == words
    assert np.array_equal(bits(loaded.vectors), bits(m))


def test_gensim_reads_our_glove_and_fasttext(tmp_path):
    gensim_models = pytest.importorskip("gensim.models")
    m = tricky_matrix()
    words = [w for w in WORDS if "\u00a0" not in w]
    m = m[:len(words)]
    write_vectors(tmp_path / "g.txt", words, m, "glove")
    write_vectors(tmp_path / "f.vec", words, m, "fasttext")
    glove = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "g.txt"),
                                                            no_header=True)
    vec = gensim_models.KeyedVectors.load_word2vec_format(str(tmp_path / "f.vec"))
    for kv in (glove, vec):
        assert kv.index_to_key == words and np.array_equal(bits(kv.vectors), bits(m))


# ---------------------------------------------------------------- models and the CLI
def test_import_keeps_file_order_and_export_leaves_out_specials(tmp_path):
    m = tricky_matrix()
    write_vectors(tmp_path / "v.txt", WORDS, m, "glove")
    model = import_vectors(tmp_path / "v.txt", lowercase=True)
    assert model.config["source"] == {"path": str(tmp_path / "v.txt"), "format": "glove",
                                      "rows": len(WORDS)}
    ids = [model.vocabulary.get(w) for w in WORDS]
    assert ids == sorted(ids) and ids[0] == model.vocabulary.num_specials
    assert model.tokenizer.lowercase
    export_model(model, tmp_path / "out.bin", "word2vec-bin")
    words, back = read_vectors(tmp_path / "out.bin")
    assert words == WORDS and np.array_equal(bits(back), bits(m))
    trained_like = StaticModel.from_vectors(["b", "a"], np.eye(2, dtype=np.float32))
    export_model(trained_like, tmp_path / "ab.txt", "word2vec")
    assert (tmp_path / "ab.txt").read_text() == "2 2\nb 1 0\na 0 1\n"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_export_round_trip(tmp_path, capsys):
    m = tricky_matrix()
    write_vectors(tmp_path / "v.bin", WORDS, m, "word2vec-bin")
    code, out, err = run(capsys, "import", tmp_path / "v.bin", "-o", tmp_path / "model",
                         "--limit", 5)
    assert code == 0 and out == ""
    assert err.count("\n") == 1 and "5 words x 7 dims (word2vec-bin)" in err
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["source"]["format"] == "word2vec-bin"
    code, _, err = run(capsys, "export", tmp_path / "model", "-o", tmp_path / "e.tsv",
                       "--format", "tsv")
    assert code == 0 and err.count("\n") == 1 and "exported 5 words x 7 dims (tsv)" in err
    words, back = read_vectors(tmp_path / "e.tsv")
    assert words == WORDS[:5] and np.array_equal(bits(back), bits(m[:5]))


def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    bad = write(tmp_path, "bad.txt", b"2 3\ncat 1 2 3\ndog 1 2\n")
    code, _, err = run(capsys, "import", bad, "-o", tmp_path / "model")
    assert code == 2 and err.count("\n") == 1
    assert err == f"tokvec import: error: {bad}:3: expected 3 values after the word, got 2\n"
    assert not (tmp_path / "model").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt"]

    good = write(tmp_path, "good.txt", b"cat 1 2\ndog 3 4\n")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine")
    code, _, err = run(capsys, "import", good, "-o", tmp_path / "notes")
    assert code == 2 and "not a model directory" in err and err.count("\n") == 1
    assert (tmp_path / "notes" / "keep.txt").read_text() == "mine"

    dup = write(tmp_path, "dup.txt", b"cat 1 2\ncat 3 4\ndog 5 6\n")
    code, _, err = run(capsys, "import", dup, "-o", tmp_path / "m2", "--duplicates", "first")
    assert code == 0 and err.startswith("tokvec import: warning: ") and "2 words" in err

    code, _, err = run(capsys, "import", good, "-o", tmp_path / "m3")
    assert code == 0
    code, _, err = run(capsys, "export", tmp_path / "m3", "-o", tmp_path / "x.txt",
                       "--format", "word2vec-bin")
    assert code == 0
    code, _, err = run(capsys, "export", tmp_path / "nowhere", "-o", tmp_path / "y.txt",
                       "--format", "glove")
    assert code == 2 and err.count("\n") == 1 and not (tmp_path / "y.txt").exists()
