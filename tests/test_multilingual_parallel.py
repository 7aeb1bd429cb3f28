"""``tokvec train-parallel``: translations end up nearest each other; bad input is one line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tokvec.cli import main
from tokvec.errors import TokvecError
from tokvec.modeldir import load_model
from tokvec.multilingual import MultilingualModel
from tokvec.multilingual.parallel import ParallelConfig, count_lines, encode_side, train_parallel
from tokvec.static.interrupt import TrainingInterrupted

V, LINES, LENGTH = 40, 600, 6


def _corpus(seed: int = 0) -> tuple[list[list[str]], list[list[str]], dict[str, str]]:
    """English-like lines over V words (Zipf-ish) and a word-for-word substitution of them,
    in shuffled word order per line; returns (src lines, tgt lines, src -> tgt)."""
    rng = np.random.default_rng(seed)
    en_words = [f"w{i}" for i in range(V)]
    xx_of = {w: f"x{j}" for w, j in zip(en_words, rng.permutation(V), strict=True)}
    p = 1.0 / np.arange(1, V + 1) ** 0.5
    p /= p.sum()
    en = [[en_words[i] for i in rng.choice(V, LENGTH, p=p)] for _ in range(LINES)]
    xx = [[xx_of[w] for w in rng.permutation(line)] for line in en]
    return xx, en, {x: w for w, x in xx_of.items()}


def _write(path, lines) -> None:
    path.write_text("".join(" ".join(line) + "\n" for line in lines), encoding="utf-8")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("tp")
    xx, en, gold = _corpus()
    _write(d / "train.xx", xx)
    _write(d / "train.en", en)
    code = main(["train-parallel", str(d / "train.xx"), str(d / "train.en"), "-o",
                 str(d / "joint"), "--src-lang", "xx", "--tgt-lang", "en", "--dim", "16",
                 "--epochs", "20", "--lr", "0.1", "--min-count", "1", "--sample", "0",
                 "--threads", "1"])
    assert code == 0
    return d, gold


def test_translations_are_nearest_each_other(data):
    d, gold = data
    model = load_model(d / "joint")
    assert isinstance(model, MultilingualModel) and model.languages == ["xx", "en"]
    right = sum(model.vectors.most_similar(x, src_lang="xx", lang="en", topn=1)[0][0] == w
                for x, w in gold.items())
    assert right / len(gold) >= 0.9


def test_the_model_records_training_and_answers_neighbors(data, capsys):
    d, gold = data
    cfg = json.loads((d / "joint" / "config.json").read_text())
    assert cfg["kind"] == "multilingual" and cfg["method"] == "train-parallel"
    assert cfg["training"]["objective"] == "sid" and cfg["training"]["lines"] == LINES
    assert (d / "joint" / "training.jsonl").read_text().strip()
    assert not (d / "joint.work").exists()
    x = next(iter(gold))
    capsys.readouterr()
    assert main(["neighbors", str(d / "joint"), x, "--lang", "en", "-k", "1", "--json"]) == 0
    assert gold[x] in capsys.readouterr().out


def test_every_objective_trains(tmp_path):
    xx, en, gold = _corpus(1)
    _write(tmp_path / "a.xx", xx[:200])
    _write(tmp_path / "b.en", en[:200])
    for objective in ("sid", "mono+cross", "sid+mono+cross"):
        cfg = ParallelConfig(src_lang="xx", tgt_lang="en", objective=objective, dim=8,
                             epochs=2, min_count=1, threads=2)
        model = train_parallel(tmp_path / "a.xx", tmp_path / "b.en", tmp_path / objective, cfg)
        assert np.isfinite(model.embeddings).all() and model.d_model == 8


def test_encoding_keeps_lines_aligned(tmp_path):
    (tmp_path / "t.txt").write_text("a b\nrare\n\nb a b\n", encoding="utf-8")
    side = encode_side(tmp_path / "t.txt", tmp_path / "w", "whitespace", False, min_count=2)
    assert side.ends.tolist() == [2, 2, 2, 5] and count_lines(tmp_path / "t.txt") == 4


def test_config_refuses_nonsense():
    with pytest.raises(TokvecError, match="--objective"):
        ParallelConfig(src_lang="a", tgt_lang="b", objective="sid+sid").validate()
    with pytest.raises(TokvecError, match="--dim"):
        ParallelConfig(src_lang="a", tgt_lang="b", dim=0).validate()


CASES = [
    ("train-parallel {d}/a.xx {d}/short.en -o {out} --src-lang xx --tgt-lang en",
     "SRC has 3 lines, TGT has 2: line N of one must translate line N of the other"),
    ("train-parallel {d}/a.xx {d}/empty.en -o {out} --src-lang xx --tgt-lang en", "empty"),
    ("train-parallel {d}/a.xx {d}/b.en -o {out} --src-lang en --tgt-lang en",
     "both 'en'"),
    ("train-parallel {d}/a.xx {d}/nowhere.en -o {out} --src-lang xx --tgt-lang en",
     "nowhere.en"),
    ("train-parallel {d}/a.xx {d}/b.en -o {out} --src-lang xx --tgt-lang en --objective bogus",
     "--objective"),
    ("train-parallel {d}/a.xx {d}/b.en -o {out} --src-lang xx --tgt-lang en --resume",
     "nothing to resume"),
    ("train-parallel {d}/a.xx {d}/b.en -o {out} --src-lang xx --tgt-lang en --min-count 9",
     "--min-count 9 is above every count"),
]


@pytest.mark.parametrize(("argv", "fragment"), CASES)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, argv, fragment):
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.xx").write_text("x1 x2\nx2 x3\nx1\n", encoding="utf-8")
    (d / "b.en").write_text("w1 w2\nw2 w3\nw1\n", encoding="utf-8")
    (d / "short.en").write_text("w1 w2\nw2 w3\n", encoding="utf-8")
    (d / "empty.en").write_text("", encoding="utf-8")
    out = tmp_path / "out"
    try:
        code = main(argv.format(d=d, out=out).split())
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert fragment in captured.err, captured.err
    lines = [ln for ln in captured.err.splitlines() if ln.strip() and not ln.startswith("usage:")]
    assert len(lines) == 1 and "Traceback" not in captured.err
    assert captured.out == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_a_stop_request_writes_nothing(tmp_path):
    xx, en, _ = _corpus(2)
    _write(tmp_path / "a.xx", xx)
    _write(tmp_path / "b.en", en)
    cfg = ParallelConfig(src_lang="xx", tgt_lang="en", dim=8, epochs=3, min_count=1,
                         threads=1, chunk_words=500)
    with pytest.raises(TrainingInterrupted, match="keeps no checkpoint, nothing was written"):
        train_parallel(tmp_path / "a.xx", tmp_path / "b.en", tmp_path / "out", cfg,
                       should_stop=lambda step: step >= 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xx", "b.en"]
