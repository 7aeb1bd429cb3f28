"""Compressed input: every verb that reads text reads gzip, bzip2 and xz files, streamed.

Compression is recognised by magic bytes (``tokvec.textio.open_checked``), line numbers in errors
count decompressed lines, a truncated or corrupt archive is one clear error line (exit 2, nothing
written), progress bars count bytes on disk, and training on ``corpus.txt.gz`` gives the same
model as training on ``corpus.txt``.
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from tokvec.classify.data import read_labelled, read_texts
from tokvec.cli import main
from tokvec.contextual.wic import read_wic
from tokvec.errors import TokvecError
from tokvec.evaluation import read_analogy_file, read_similarity_file
from tokvec.formats import detect_format, read_vectors
from tokvec.static.corpus import read_line_blocks
from tokvec.static_model import StaticModel
from tokvec.textio import (
    DecompressedStream,
    ReadError,
    iter_line_batches,
    iter_lines,
    open_checked,
    require_nonempty,
)
from tokvec.tokenization import Tokenizer

COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gz": lambda data: gzip.compress(data, mtime=0),
    "bz2": lambda data: bz2.compress(data, compresslevel=1),  # 100k blocks: several per file
    "xz": lzma.compress,
}
NAMES = {"gz": "gzip", "bz2": "bzip2", "xz": "xz"}
KINDS = sorted(COMPRESS)

VOCAB = ["the", "cat", "dog", "sat", "on", "mat", "log", "king", "queen", "man", "woman", "river",
         "bank", "money", "ran", "away", "big", "small", "red", "blue", "fox", "jumps", "over",
         "lazy", "bird", "sings", "tree", "grows"]
WORDS = ["king", "queen", "man", "woman", "cat", "dog"]


def corpus_text(lines: int = 300, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    return "".join(" ".join(rng.choices(VOCAB, k=rng.randint(3, 12))) + "\n"
                   for _ in range(lines)).encode()


def labelled_text(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = ("pos", "neg")[i % 2]
        cue = ["good", "great", "fun"] if label == "pos" else ["bad", "dull", "awful"]
        words = rng.sample(VOCAB, 4) + rng.sample(cue, 2)
        rng.shuffle(words)
        rows.append(f"{label}\t{' '.join(words)}\n")
    return "".join(rows).encode()


def decompressible_lines(kind: str, data: bytes) -> int:
    """Newlines in what a streaming decompressor gets out of (possibly truncated) ``data``."""
    decoder = {"gz": lambda: zlib.decompressobj(31), "bz2": bz2.BZ2Decompressor,
               "xz": lzma.LZMADecompressor}[kind]()
    return decoder.decompress(data).count(b"\n")


def pack(path: Path, kind: str) -> Path:
    """``path``'s bytes compressed into ``path.KIND`` beside it."""
    packed = path.with_name(f"{path.name}.{kind}")
    packed.write_bytes(COMPRESS[kind](path.read_bytes()))
    return packed


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Plain inputs and their .gz, .bz2 and .xz copies (made once for the module)."""
    d = tmp_path_factory.mktemp("compressed")
    (d / "corpus.txt").write_bytes(corpus_text())
    (d / "train.tsv").write_bytes(labelled_text(48, 1))
    (d / "dev.tsv").write_bytes(labelled_text(16, 2))
    (d / "texts.txt").write_text("the cat sat\n\na big red fox\n", encoding="utf-8")
    (d / "pairs.tsv").write_text("king\tqueen\t8.5\nman\twoman\t8.0\ncat\tdog\t7.0\n"
                                 "king\tcat\t1.0\n", encoding="utf-8")
    (d / "analogy.txt").write_text(": family\nman king woman queen\nking man queen woman\n",
                                   encoding="utf-8")
    (d / "wic.tsv").write_text("same\tbank\tthe river bank\tthe bank of the river\n"
                               "different\tbank\tthe river bank\tthe bank lends money\n",
                               encoding="utf-8")
    rng = np.random.default_rng(0)
    matrix = rng.normal(size=(len(WORDS), 4)).astype(np.float32)
    (d / "glove.txt").write_text("".join(f"{w} {' '.join(map(repr, row.tolist()))}\n"
                                         for w, row in zip(WORDS, matrix, strict=True)))
    (d / "vectors.vec").write_text(f"{len(WORDS)} 4\n" + "".join(
        f"{w} {' '.join(map(repr, row.tolist()))} \n" for w, row in zip(WORDS, matrix,
                                                                       strict=True)))
    (d / "vectors.bin").write_bytes(f"{len(WORDS)} 4\n".encode() + b"".join(
        w.encode() + b" " + struct.pack("<4f", *row) + b"\n"
        for w, row in zip(WORDS, matrix, strict=True)))
    StaticModel.from_vectors(WORDS, matrix).save(d / "static")
    for name in ("corpus.txt", "train.tsv", "dev.tsv", "texts.txt", "pairs.tsv", "analogy.txt",
                 "wic.tsv", "glove.txt", "vectors.vec", "vectors.bin"):
        for kind in KINDS:
            pack(d / name, kind)
    return d


def run(capsys, *argv: object) -> tuple[int, str, str]:
    """Run the CLI in-process: (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def tensors(model_dir: Path) -> dict[str, np.ndarray]:
    return load_file(str(model_dir / "embeddings.safetensors"))


# ------------------------------------------------------------------------------------ library
@pytest.mark.parametrize("kind", KINDS)
def test_text_readers_give_the_plain_result(data, kind):
    plain, packed = data / "corpus.txt", data / f"corpus.txt.{kind}"
    assert list(iter_lines(packed)) == list(iter_lines(plain))
    assert list(iter_line_batches(packed, 7)) == list(iter_line_batches(plain, 7))
    assert "".join(read_line_blocks(packed, block_bytes=100)) == plain.read_text()
    require_nonempty(packed)
    for name, read in (("train.tsv", read_labelled), ("texts.txt", read_texts),
                       ("pairs.tsv", read_similarity_file), ("analogy.txt", read_analogy_file),
                       ("wic.tsv", read_wic)):
        got, want = read(data / f"{name}.{kind}"), read(data / name)
        if name == "train.tsv":
            got, want = (got.texts, got.labels, got.lines), (want.texts, want.labels, want.lines)
        elif name == "wic.tsv":
            got, want = [vars(p) for p in got], [vars(p) for p in want]
        assert got == want, name
    tok = Tokenizer.train([packed], kind="word")
    assert tok.hf.to_str() == Tokenizer.train([plain], kind="word").hf.to_str()
    assert [a.tolist() for a in tok.encode_file(packed)] == \
        [a.tolist() for a in tok.encode_file(plain)]
    with open_checked(packed) as handle:
        assert isinstance(handle, DecompressedStream) and handle.compression == NAMES[kind]


def test_compression_is_told_by_content_not_by_name(tmp_path):
    text = b"one two\nthree\n"
    disguised = tmp_path / "corpus.txt"
    disguised.write_bytes(lzma.compress(text))
    plain_named_gz = tmp_path / "plain.txt.gz"
    plain_named_gz.write_bytes(text)
    starts_like_bzip2 = tmp_path / "bzh.txt"
    starts_like_bzip2.write_bytes(b"BZh9 is how bzip2 files start\n")
    assert [t for _, t in iter_lines(disguised)] == ["one two", "three"]
    assert [t for _, t in iter_lines(plain_named_gz)] == ["one two", "three"]
    assert [t for _, t in iter_lines(starts_like_bzip2)] == ["BZh9 is how bzip2 files start"]


class Counter:
    """A stand-in for a tqdm bar: counts what ``update`` is given."""

    disable = False

    def __init__(self) -> None:
        self.n = 0

    def update(self, n: int) -> None:
        self.n += n


@pytest.mark.parametrize("kind", [*KINDS, "plain"])
def test_progress_counts_bytes_on_disk(data, kind):
    path = data / ("corpus.txt" if kind == "plain" else f"corpus.txt.{kind}")
    for read in (lambda bar: list(iter_lines(path, progress=bar)),
                 lambda bar: list(read_line_blocks(path, progress=bar, block_bytes=1000))):
        bar = Counter()
        read(bar)
        assert bar.n == path.stat().st_size  # on-disk bytes, not decompressed bytes
    bar, seen = Counter(), []
    with open_checked(path, progress=bar) as handle:
        while handle.read(4096):
            seen.append(bar.n)
    assert seen == sorted(seen) and bar.n == path.stat().st_size


@pytest.mark.parametrize("kind", KINDS)
def test_vector_files_are_detected_and_read_decompressed(data, kind):
    for name, fmt in (("glove.txt", "glove"), ("vectors.vec", "fasttext"),
                      ("vectors.bin", "word2vec-bin")):
        packed = data / f"{name}.{kind}"
        assert detect_format(packed) == fmt, name
        words, matrix = read_vectors(packed)
        want_words, want = read_vectors(data / name)
        assert words == want_words == WORDS
        np.testing.assert_array_equal(matrix, want)


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_vector_file_names_file_and_line(tmp_path, capsys, kind):
    text = b"".join(b"w%d 0.5 0.25\n" % i for i in range(40_000))
    packed = COMPRESS[kind](text)
    path = tmp_path.parent / f"{tmp_path.name}-v.txt.{kind}"
    path.write_bytes(packed[:len(packed) * 2 // 3])
    line = decompressible_lines(kind, path.read_bytes()) + 1
    message = f"{path}:{line}: compressed file ends early (truncated {NAMES[kind]} archive)"
    for fmt in ("auto", "glove"):
        with pytest.raises(TokvecError) as err:
            read_vectors(path, fmt)
        assert str(err.value) == message
    code, _, err = run(capsys, "import", path, "-o", tmp_path / "out")
    assert code == 2 and err.strip().splitlines() == [f"tokvec import: error: {message}"], err
    assert [p.name for p in tmp_path.iterdir()] == []


# --------------------------------------------------------------------------- every CLI verb
@pytest.mark.parametrize("kind", KINDS)
def test_train_is_bit_identical_to_plain(data, tmp_path, capsys, kind):
    args = ("--dim", "8", "--epochs", "1", "--min-count", "1", "--threads", "1", "--seed", "7",
            "--window", "2")
    assert run(capsys, "train", data / "corpus.txt", "-o", tmp_path / "plain", *args)[0] == 0
    code, _, err = run(capsys, "train", data / f"corpus.txt.{kind}", "-o", tmp_path / kind,
                       *args)
    assert code == 0, err
    want, got = tensors(tmp_path / "plain"), tensors(tmp_path / kind)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name].dtype == want[name].dtype and got[name].tobytes() == \
            want[name].tobytes(), name
    assert (tmp_path / kind / "tokenizer.json").read_bytes() == \
        (tmp_path / "plain" / "tokenizer.json").read_bytes()


@pytest.mark.parametrize("kind", KINDS)
def test_vocab_and_tokenizer_verbs(data, tmp_path, capsys, kind):
    for corpus, tag in ((data / "corpus.txt", "plain"), (data / f"corpus.txt.{kind}", kind)):
        assert run(capsys, "vocab", corpus, "-o", tmp_path / f"{tag}.tsv", "--min-count",
                   "1")[0] == 0
        assert run(capsys, "tokenizer", "train", corpus, "-o", tmp_path / f"{tag}-tok",
                   "--kind", "word")[0] == 0  # (wordpiece training is not deterministic)
        code, _, err = run(capsys, "tokenizer", "encode", tmp_path / "plain-tok", "-i", corpus,
                           "-o", tmp_path / f"{tag}-ids.txt", "--ids")
        assert code == 0, err
    for a, b in (("plain.tsv", f"{kind}.tsv"), ("plain-ids.txt", f"{kind}-ids.txt"),
                 ("plain-tok/tokenizer.json", f"{kind}-tok/tokenizer.json")):
        assert (tmp_path / a).read_bytes() == (tmp_path / b).read_bytes(), a


@pytest.mark.parametrize("kind", KINDS)
def test_import_init_and_evaluate_verbs(data, tmp_path, capsys, kind):
    for suffix, out in (("", "plain"), (f".{kind}", kind)):
        code, _, err = run(capsys, "import", data / f"vectors.bin{suffix}", "-o", tmp_path / out)
        assert code == 0, err
    assert tensors(tmp_path / kind)["embeddings"].tobytes() == \
        tensors(tmp_path / "plain")["embeddings"].tobytes()
    code, _, err = run(capsys, "init", data / "static", "-o", tmp_path / "init", "--pretrained",
                       data / f"glove.txt.{kind}")
    assert code == 0, err
    reports = []
    for suffix in ("", f".{kind}"):
        code, out, err = run(capsys, "evaluate", data / "static",
                             "--similarity", data / f"pairs.tsv{suffix}",
                             "--analogy", data / f"analogy.txt{suffix}", "--json")
        assert code == 0, err
        reports.append(sorted(json.dumps(v, sort_keys=True) for v in json.loads(out).values()))
    assert reports[0] == reports[1]


@pytest.fixture(scope="module")
def bert(data, tmp_path_factory) -> Path:
    """A tiny BERT pretrained (a few steps) on the plain corpus."""
    out = tmp_path_factory.mktemp("bert") / "bert"
    assert main(["pretrain", str(data / "corpus.txt"), "-o", str(out), "--d-model", "16",
                 "--layers", "1", "--heads", "2", "--ffn", "32", "--seq-len", "16",
                 "--batch-size", "4", "--steps", "2", "--vocab-size", "80", "--threads", "1",
                 "--dropout", "0"]) == 0
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_pretrain_embed_and_wic(data, bert, tmp_path, capsys, kind):
    code, _, err = run(capsys, "pretrain", data / f"corpus.txt.{kind}", "-o", tmp_path / "m",
                       "--d-model", "16", "--layers", "1", "--heads", "2", "--ffn", "32",
                       "--seq-len", "16", "--batch-size", "4", "--steps", "2", "--vocab-size",
                       "80", "--threads", "1", "--dropout", "0")
    assert code == 0, err
    assert (tmp_path / "m" / "encoder.safetensors").is_file()
    for suffix, name in (("", "plain.npy"), (f".{kind}", f"{kind}.npy")):
        code, _, err = run(capsys, "embed", bert, "--input", data / f"texts.txt{suffix}",
                           "-o", tmp_path / name, "--threads", "1")
        assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "plain.npy"),
                                  np.load(tmp_path / f"{kind}.npy"))
    code, out, err = run(capsys, "evaluate", bert, "--wic", data / f"wic.tsv.{kind}", "--json")
    assert code == 0, err
    assert next(iter(json.loads(out).values()))["pairs"] == 2


@pytest.mark.parametrize("kind", KINDS)
def test_finetune_and_predict(data, tmp_path, capsys, kind):
    code, _, err = run(capsys, "finetune", "none", "-o", tmp_path / "task",
                       "--train", data / f"train.tsv.{kind}", "--dev", data / f"dev.tsv.{kind}",
                       "--dim", "8", "--epochs", "1", "--threads", "1")
    assert code == 0, err
    outputs = []
    for suffix in ("", f".{kind}"):
        code, out, err = run(capsys, "predict", tmp_path / "task", "--input",
                             data / f"texts.txt{suffix}")
        assert code == 0, err
        outputs.append(out)
    assert outputs[0] == outputs[1] and len(outputs[0].splitlines()) == 3
    code, out, err = run(capsys, "predict", tmp_path / "task", "--input",
                         data / f"dev.tsv.{kind}", "--metrics")
    assert code == 0, err
    assert "accuracy" in json.loads(out)


@pytest.mark.parametrize("kind", KINDS)
def test_sweep(data, tmp_path, capsys, kind):
    code, out, err = run(capsys, "sweep", data / f"corpus.txt.{kind}", "-o", tmp_path / "sw",
                         "--dims", "4", "--epochs", "1", "--min-count", "1", "--threads", "1",
                         "--seed", "3", "--eval-similarity", data / f"pairs.tsv.{kind}",
                         "--in-process")
    assert code == 0, err
    assert "d_model" in out
    assert len(json.loads((tmp_path / "sw" / "sweep.json").read_text())["runs"]) == 1


# ------------------------------------------------------------------------------- bad archives
def truncated(tmp_path: Path, data: Path, name: str, kind: str) -> tuple[Path, int]:
    """``name``'s compressed copy cut to two thirds: (path, the line the readers reach)."""
    packed = (data / f"{name}.{kind}").read_bytes()
    inputs = tmp_path.parent / f"{tmp_path.name}-inputs"
    inputs.mkdir(exist_ok=True)
    path = inputs / f"{name}.{kind}"
    path.write_bytes(packed[:len(packed) * 2 // 3])
    return path, decompressible_lines(kind, path.read_bytes()) + 1


BIG = 30_000  # corpus lines for the truncation cases: several bzip2 blocks


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("big")
    (d / "big.txt").write_bytes(corpus_text(BIG, seed=1))
    for kind in KINDS:
        pack(d / "big.txt", kind)
    return d


TRUNCATED_VERBS = {
    "train": "train {f} -o {out} --dim 4 --epochs 1 --min-count 1 --threads 1",
    "vocab": "vocab {f} -o {out}",
    "tokenizer-train": "tokenizer train {f} -o {out}",
    "tokenizer-encode": "tokenizer encode {model} -i {f} -o {out}",
    "pretrain": "pretrain {f} -o {out} --steps 1",
    "embed": "embed {model} --input {f} -o {out}.npy",
}


@pytest.mark.parametrize("verb", sorted(TRUNCATED_VERBS))
@pytest.mark.parametrize("kind", KINDS)
def test_truncated_archive_is_one_clear_line(big, data, tmp_path, capsys, kind, verb):
    path, line = truncated(tmp_path, big, "big.txt", kind)
    out = tmp_path / "out"
    argv = TRUNCATED_VERBS[verb].format(f=path, out=out, model=data / "static").split()
    code, _, err = run(capsys, *argv)
    assert code == 2, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"{path}:{line}: compressed file ends early (truncated {NAMES[kind]} archive)" \
        in err, err
    assert not out.exists() and not out.with_suffix(".npy").exists()
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_labelled_file_for_finetune(data, tmp_path, capsys, kind):
    path, line = truncated(tmp_path, data, "train.tsv", kind)
    out = tmp_path / "task"
    code, _, err = run(capsys, "finetune", "none", "-o", out, "--train", path, "--dev",
                       data / "dev.tsv", "--dim", "8", "--epochs", "1", "--threads", "1")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{path}:{line}: compressed file ends early" in err, err
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_archive_is_one_clear_line(big, tmp_path, capsys, kind):
    packed = bytearray((big / f"big.txt.{kind}").read_bytes())
    packed[len(packed) // 2] ^= 0x55
    path = tmp_path.parent / f"{tmp_path.name}-corrupt.txt.{kind}"
    path.write_bytes(bytes(packed))
    for verb in ("train", "vocab"):
        out = tmp_path / verb
        code, _, err = run(capsys, verb, path, "-o", out, "--min-count", "1")
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"corrupt {NAMES[kind]} data" in err and str(path) in err, err
        assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == []


@pytest.mark.parametrize("where", [3, 12_345])
def test_invalid_utf8_in_gzip_names_the_decompressed_line(tmp_path, capsys, where):
    lines = [b"the cat sat on the mat"] * 20_000
    lines[where - 1] = b"the \xff cat"
    path = tmp_path.parent / f"{tmp_path.name}-corpus.txt.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    for verb in ("train", "vocab"):
        out = tmp_path / verb
        code, _, err = run(capsys, verb, path, "-o", out, "--min-count", "1")
        assert code == 2, err
        assert f"{path}:{where}: invalid UTF-8 at byte 4" in err, err
        assert not out.exists()


def test_read_error_is_a_tokvec_error_with_the_line_added():
    err = ReadError("compressed file ends early (truncated gzip archive)", path="c.txt.gz")
    assert isinstance(err, TokvecError) and str(err.at(12)) == \
        "c.txt.gz:12: compressed file ends early (truncated gzip archive)"
    assert err.at(12).at(40).line == 12
