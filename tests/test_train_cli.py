"""``tokvec train`` on the command line: a working run, and bad input refused cleanly."""

from __future__ import annotations

import json

import pytest

from tokvec.cli import main
from tokvec.modeldir import load_model
from tokvec.static import TrainConfig
from tokvec.static.config import METHODS


def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(["train", *argv])
    return code, capsys.readouterr().err


def test_cli_trains_a_word_tokenized_lowercased_model(tmp_path, capsys, en_corpus):
    out = tmp_path / "m"
    code, err = _run(capsys, str(en_corpus), "-o", str(out), "--dim", "12", "--min-count", "2",
                     "--epochs", "2", "--lowercase", "--threads", "1", "--sample", "0")
    assert code == 0, err
    assert "sgns model" in err and "words/s" in err
    model = load_model(out)
    assert "cat" in model.vectors and "The" not in model.vectors.index and "," in model.vectors
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["kind"] == "static" and cfg["method"] == "sgns"
    assert cfg["training"]["lowercase"] is True and cfg["training"]["tokenizer"] == "word"
    assert cfg["training"]["lr"] == 0.025 and cfg["training"]["window"] == 5
    assert (out / "training.jsonl").is_file()


@pytest.mark.parametrize("flag,value,message", [
    ("--dim", "0", "--dim must be a positive integer, got 0"),
    ("--dim", "-3", "--dim must be a positive integer, got -3"),
    ("--window", "0", "--window must be a positive integer, got 0"),
    ("--negative", "-1", "--negative must be an integer >= 0, got -1"),
    ("--negative", "0", "--negative must be >= 1 for --method sgns"),
    ("--sample", "-0.5", "--sample must be a finite number >= 0, got -0.5"),
    ("--lr", "0", "--lr must be a positive number, got 0.0"),
    ("--lr", "-1", "--lr must be a positive number, got -1.0"),
    ("--epochs", "0", "--epochs must be a positive integer, got 0"),
    ("--min-count", "0", "--min-count must be a positive integer, got 0"),
    ("--threads", "0", "--threads must be a positive integer, got 0"),
    ("--method", "word2vec", "--method must be one of sgns, cbow, glove, fasttext"),
    ("--tokenizer", "bpe", "--tokenizer must be one of word, whitespace"),
    ("--maxn", "2", "--maxn (2) must be >= --minn (3)"),
    ("--device", "tpu", "--device must be one of auto, cpu, cuda"),
    ("--x-max", "0", "--x-max must be a positive number, got 0.0"),
    ("--memory-mb", "-5", "--memory-mb must be a positive number, got -5.0"),
    ("--chunk-order", "random", "--chunk-order must be one of shuffled, file, got 'random'"),
    ("--engine", "torch --method fasttext", "the GPU (torch) path trains sgns and cbow"),
])
def test_nonsense_flags_give_one_line_and_write_nothing(tmp_path, capsys, en_corpus, flag,
                                                        value, message):
    out = tmp_path / "m"
    code, err = _run(capsys, str(en_corpus), "-o", str(out), flag, *value.split())
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert message in err and err.startswith("tokvec train: error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == [en_corpus.name]


def test_empty_corpus_is_refused(tmp_path, capsys):
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n")
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "m"))
    assert code == 2 and "empty.txt: file is empty" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt"]


def test_min_count_above_every_count_is_refused(tmp_path, capsys):
    path = tmp_path / "c.txt"
    path.write_text("a b c a b a a a a a\n" * 1 + "b\n")
    code, err = _run(capsys, str(path), "-o", str(tmp_path / "m"), "--min-count", "50")
    assert code == 2
    assert "c.txt: --min-count 50 is above every count (max 7)" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]


def test_missing_corpus_and_missing_checkpoint(tmp_path, capsys, en_corpus):
    code, err = _run(capsys, str(tmp_path / "nope.txt"), "-o", str(tmp_path / "m"))
    assert code == 2 and "nope.txt: no such file" in err
    code, err = _run(capsys, str(en_corpus), "-o", str(tmp_path / "m"), "--resume")
    assert code == 2 and "nothing to resume" in err


def test_method_defaults_follow_word2vec_and_glove():
    assert [TrainConfig(method=m).resolved().lr for m in METHODS] == [0.025, 0.05, 0.05, 0.05]
    glove = TrainConfig(method="glove").resolved()
    assert (glove.window, glove.epochs, glove.x_max) == (10, 25, 10.0)
    sg = TrainConfig().resolved()
    assert (sg.dim, sg.window, sg.negative, sg.min_count, sg.sample, sg.epochs) == (
        100, 5, 5, 5, 1e-3, 5)
    assert sg.threads >= 1


def test_cuda_requested_without_a_gpu_is_refused(tmp_path, capsys, en_corpus):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, err = _run(capsys, str(en_corpus), "-o", str(tmp_path / "m"), "--device", "cuda")
    assert code == 2 and "--device cuda: no CUDA device is available" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == [en_corpus.name]
