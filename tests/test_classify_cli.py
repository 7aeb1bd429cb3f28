"""``tokvec finetune`` and ``tokvec predict`` from the command line, including bad input."""

from __future__ import annotations

import json

import pytest
from test_classify_train import make_rows, write_tsv

from tokvec.cli import main


@pytest.fixture(scope="module")
def task(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    train = write_tsv(d / "train.tsv", make_rows(96, 1))
    dev = write_tsv(d / "dev.tsv", make_rows(30, 2))
    test = write_tsv(d / "test.tsv", make_rows(30, 3))
    code = main(["finetune", "none", "-o", str(d / "task"), "--train", str(train),
                 "--dev", str(dev), "--test", str(test), "--dim", "16", "--lr", "0.05",
                 "--epochs", "6", "--threads", "1"])
    assert code == 0
    return d


def test_finetune_writes_a_task_directory(task):
    out = task / "task"
    for name in ("config.json", "tokenizer.json", "embeddings.safetensors", "head.safetensors",
                 "metrics.json", "training.jsonl"):
        assert (out / name).is_file(), name
    assert json.loads((out / "metrics.json").read_text())["test"]["accuracy"] >= 0.9


def test_predict_labels_and_probabilities(task, capsys):
    inp = task / "in.txt"
    inp.write_text("the film was superb and lovely\n\na dull and awful plot\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(task / "task"), "--input", str(inp)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0] == "pos" and lines[2] == "neg"
    assert main(["predict", str(task / "task"), "--input", str(inp), "--proba",
                 "-o", str(task / "out.jsonl")]) == 0
    rows = [json.loads(x) for x in (task / "out.jsonl").read_text().splitlines()]
    assert rows[0]["label"] == "pos" and set(rows[0]["proba"]) == {"neg", "pos"}
    assert sum(rows[2]["proba"].values()) == pytest.approx(1.0, abs=1e-4)


def test_predict_metrics_is_one_json_object(task, capsys):
    capsys.readouterr()
    assert main(["predict", str(task / "task"), "--input", str(task / "test.tsv"),
                 "--metrics"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] >= 0.9 and "macro_f1" in report
    assert set(report["confusion"]) == {"neg", "pos"}
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 30


def test_metrics_with_a_label_the_model_lacks(task, capsys):
    path = write_tsv(task / "odd.tsv", [("pos", "superb film"), ("neutral", "the film")])
    capsys.readouterr()
    assert main(["predict", str(task / "task"), "--input", str(path), "--metrics"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["unknown_labels"] == {"neutral": f"{path}:2"}
    assert report["confusion"]["neutral"]["neutral"] == 0
    assert "neutral" in captured.err


@pytest.mark.parametrize(("content", "message"), [
    ("pos\tgood\nthis line has no label\n", ":2: expected 'label<TAB>text'"),
    ("", "file is empty"),
])
def test_bad_training_file_is_one_line_exit_2(task, tmp_path, capsys, content, message):
    bad = tmp_path / "bad.tsv"
    bad.write_text(content, encoding="utf-8")
    out = tmp_path / "never"
    capsys.readouterr()
    code = main(["finetune", "none", "-o", str(out), "--train", str(bad),
                 "--dev", str(task / "dev.tsv")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and message in err and str(bad) in err
    assert not out.exists()


def test_class_only_in_dev_from_cli(task, tmp_path, capsys):
    dev = write_tsv(tmp_path / "dev.tsv", [("pos", "good"), ("mixed", "good and bad")])
    capsys.readouterr()
    code = main(["finetune", "none", "-o", str(tmp_path / "t"), "--train",
                 str(task / "train.tsv"), "--dev", str(dev)])
    err = capsys.readouterr().err
    assert code == 2 and f"{dev}:2: label 'mixed'" in err and err.count("\n") == 1


def test_predict_on_missing_or_wrong_directory(task, tmp_path, capsys):
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "nope"), "--input", str(task / "dev.tsv")]) == 2
    assert "no such model directory" in capsys.readouterr().err
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["predict", str(task / "task"), "--input", str(empty)]) == 2
    assert "empty" in capsys.readouterr().err


def test_resume_without_checkpoint_is_refused(task, capsys):
    capsys.readouterr()
    code = main(["finetune", "none", "-o", str(task / "task"), "--train",
                 str(task / "train.tsv"), "--dev", str(task / "dev.tsv"), "--resume"])
    assert code == 2 and "no checkpoint" in capsys.readouterr().err
