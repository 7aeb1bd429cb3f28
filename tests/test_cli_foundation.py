"""The foundation verbs from the command line: happy paths and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tokvec.cli import main
from tokvec.static_model import StaticModel


@pytest.fixture
def model_dir(tmp_path):
    words = ["king", "queen", "man", "woman", "cat", "dog"]
    m = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 0, 0], [0, 0, 1, 0],
                  [0, 0, 0, 1], [0, .1, 0, 1]], np.float32)
    StaticModel.from_vectors(words, m).save(tmp_path / "model")
    return tmp_path / "model"


def run(capsys, *argv):
    code = main(list(map(str, argv)))
    out, err = capsys.readouterr()
    return code, out, err


def test_neighbors_analogy_similarity(capsys, model_dir):
    code, out, _ = run(capsys, "neighbors", model_dir, "cat", "-k", "1")
    assert code == 0 and out.split()[0] == "dog"
    code, out, _ = run(capsys, "analogy", model_dir, "man", "king", "woman", "--json")
    assert code == 0 and json.loads(out)[0]["word"] == "queen"
    code, out, _ = run(capsys, "similarity", model_dir, "king", "king")
    assert code == 0 and out.strip() == "1.0000"


def test_evaluate_json_and_metrics_file(capsys, model_dir, tmp_path):
    pairs = tmp_path / "ws.tsv"
    pairs.write_text("king\tqueen\t8\ncat\tdog\t9\nman\tcat\t1\nemu\tcat\t2\n")
    analogies = tmp_path / "google.txt"
    analogies.write_text(": a\nman king woman queen\nman king emu cat\n")
    code, out, _ = run(capsys, "evaluate", model_dir, "--similarity", pairs,
                       "--analogy", analogies, "--json")
    assert code == 0
    result = json.loads(out)
    assert result["ws"]["pairs"] == 4 and result["ws"]["oov"] == 1
    assert result["google"]["accuracy"] == 0.5 and result["google"]["accuracy_covered"] == 1.0
    saved = json.loads((model_dir / "metrics.json").read_text())
    assert saved["google"]["covered"] == 1


def test_tokenizer_vocab_init_pipeline(capsys, en_corpus, tmp_path, model_dir):
    code, _, err = run(capsys, "tokenizer", "train", en_corpus, "-o", tmp_path / "tok",
                       "--kind", "word", "--lowercase")
    assert code == 0 and "tokenizer (word" in err
    text = tmp_path / "in.txt"
    text.write_text("The cat sat.\n")
    code, out, _ = run(capsys, "tokenizer", "encode", tmp_path / "tok", "-i", text)
    assert out.strip() == "the cat sat ."
    code, _, _ = run(capsys, "vocab", en_corpus, "-o", tmp_path / "v.tsv", "--lowercase",
                     "--min-count", "20", "--save-tokenizer", tmp_path / "vt")
    lines = (tmp_path / "v.tsv").read_text().splitlines()
    assert code == 0 and lines[0] == "[PAD]\t0" and lines[5] == ".\t120"
    code, _, err = run(capsys, "init", tmp_path / "vt", "-o", tmp_path / "init",
                       "--pretrained", model_dir)
    assert code == 0 and '"found_exact": 2' in err  # cat and dog
    code, out, _ = run(capsys, "similarity", tmp_path / "init", "cat", "dog")
    assert float(out) > 0.99


@pytest.mark.parametrize("argv, message", [
    (["neighbors", "{model}", "unicorn"], "'unicorn' is not in the vocabulary"),
    (["neighbors", "{tmp}/nowhere", "cat"], "no such model directory"),
    (["evaluate", "{model}"], "give at least one of"),
    (["evaluate", "{model}", "--similarity", "{tmp}/missing.tsv"], "no such file"),
    (["tokenizer", "train", "{tmp}/missing.txt", "-o", "{tmp}/t"], "no such file"),
    (["tokenizer", "encode", "{tmp}", "-i", "{tmp}/x"], "no tokenizer.json"),
])
def test_errors_are_one_line(capsys, model_dir, tmp_path, argv, message):
    argv = [a.format(model=model_dir, tmp=tmp_path) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_bad_flag_values_exit_nonzero(capsys, model_dir):
    with pytest.raises(SystemExit) as exc:
        main(["neighbors", str(model_dir), "cat", "-k", "-3"])
    assert exc.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_failed_run_writes_nothing(capsys, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe broken\n")
    code, _, err = run(capsys, "vocab", bad, "-o", tmp_path / "v.tsv")
    assert code == 2 and "bad.txt:2: invalid UTF-8" in err
    assert not (tmp_path / "v.tsv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.txt"]
