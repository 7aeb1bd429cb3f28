"""WiC evaluation (AUC, best-threshold accuracy, file errors) and the ``tokvec embed`` verb."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from tokvec.cli import main
from tokvec.contextual import ContextualModel
from tokvec.contextual.config import EncoderConfig
from tokvec.contextual.wic import best_accuracy, evaluate_wic, read_wic, roc_auc
from tokvec.errors import TokvecError
from tokvec.static_model import StaticModel
from tokvec.tokenization import Tokenizer

WIC = Path(__file__).parent / "data" / "wic_small.tsv"


def _brute_auc(scores, labels):
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def test_auc_matches_pairwise_count_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.integers(0, 5, 30).astype(float)  # many ties
        labels = rng.random(30) < 0.5
        assert roc_auc(scores, labels) == pytest.approx(_brute_auc(scores, labels))
    acc, t = best_accuracy(np.array([0.1, 0.4, 0.35, 0.8]), np.array([False, False, True, True]))
    assert (acc, t) == (0.75, 0.35)


def test_shipped_file_is_balanced_and_well_formed():
    pairs = read_wic(WIC)
    assert 100 <= len(pairs) <= 200
    assert sum(p.same for p in pairs) == len(pairs) // 2
    assert len({p.word for p in pairs}) >= 30


@pytest.mark.parametrize(("line", "message"), [
    ("same\tbank\tonly three fields", "expected 4 tab-separated fields"),
    ("maybe\tbank\ta bank\tthe bank", "label must be 'same' or 'different'"),
    ("same\t\ta bank\tthe bank", "empty word"),
])
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "w.tsv"
    path.write_text(f"# comment\nsame\tbank\ta bank\tthe bank\n{line}\n", encoding="utf-8")
    with pytest.raises(TokvecError, match=message) as err:
        read_wic(path)
    assert str(err.value).startswith(f"{path}:3: ")


def _static_model():
    pairs = read_wic(WIC)
    words = sorted({w.strip(".,").lower() for p in pairs for s in (p.first, p.second)
                    for w in s.split()})
    rng = np.random.default_rng(0)
    return StaticModel.from_vectors(words, rng.normal(size=(len(words), 8)).astype(np.float32),
                                    lowercase=True)


def test_static_vectors_give_chance_auc():
    result = evaluate_wic(_static_model(), WIC)
    assert result["auc"] == 0.5 and result["accuracy"] == 0.5
    assert result["pairs"] == 148 and result["skipped"] == 0


def test_contextual_model_scores_differ_by_context(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(p.first for p in read_wic(WIC)) + "\n", encoding="utf-8")
    tok = Tokenizer.train([corpus], kind="wordpiece", vocab_size=400, lowercase=True)
    torch.manual_seed(0)
    model = ContextualModel.create(
        "bert", EncoderConfig(tok.vocab_size, 16, 1, 2, 32, 64), tok)
    result = evaluate_wic(model, WIC)
    assert result["pairs"] == 148 and 0.0 <= result["auc"] <= 1.0 and result["auc"] != 0.5
    missing = tmp_path / "w.tsv"
    missing.write_text("same\tzebra\tthe bank\tthe bat\n", encoding="utf-8")
    with pytest.raises(TokvecError, match="found in no pair"):
        evaluate_wic(model, missing)


@pytest.fixture
def embed(capsys):
    """Run ``tokvec embed`` in-process: (exit code, stderr)."""
    def run(*args):
        code = main(["embed", *args])
        return code, capsys.readouterr().err
    return run


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    d = tmp_path_factory.mktemp("embed")
    corpus = d / "c.txt"
    corpus.write_text("the river bank\nthe bank lends money\nunbelievable things happen\n" * 5,
                      encoding="utf-8")
    tok = Tokenizer.train([corpus], kind="wordpiece", vocab_size=60, lowercase=True)
    torch.manual_seed(0)
    ContextualModel.create("bert", EncoderConfig(tok.vocab_size, 8, 1, 2, 16, 16), tok).save(
        d / "bert")
    StaticModel.from_vectors(["river", "bank"], np.eye(2, dtype=np.float32)).save(d / "static")
    inp = d / "in.txt"
    inp.write_text("the river bank\nunbelievable\n\n" + "bank " * 20 + "\n", encoding="utf-8")
    return d, inp


def test_embed_sentence_formats_agree(tiny_dirs, tmp_path, embed):
    d, inp = tiny_dirs
    for name in ("v.npy", "v.safetensors", "v.tsv"):
        code, err = embed(str(d / "bert"), "--input", str(inp), "-o", str(tmp_path / name))
        assert code == 0, err
    a = np.load(tmp_path / "v.npy")
    b = load_file(str(tmp_path / "v.safetensors"))["embeddings"]
    c = np.loadtxt(tmp_path / "v.tsv", delimiter="\t")
    assert a.shape == (4, 8) and a.dtype == np.float32  # one row per input line, blank included
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)
    assert f"1 line(s) longer than the model's 16 positions were truncated (first: {inp}:4)" \
        in err


def test_embed_tokens_and_words_jsonl(tiny_dirs, tmp_path, embed):
    d, inp = tiny_dirs
    code, err = embed(str(d / "bert"), "--input", str(inp), "--pool", "none", "-o",
                      str(tmp_path / "t.jsonl"))
    assert code == 0, err
    rows = [json.loads(line) for line in (tmp_path / "t.jsonl").open()]
    assert len(rows) == 4 and rows[0]["tokens"][0] == "[CLS]"
    assert rows[0]["words"] == ["the", "river", "bank"]
    first = rows[1]
    pieces = [i for i, w in enumerate(first["word_ids"]) if w == 0]
    assert len(pieces) > 1  # "unbelievable" is split: its word vector is the mean of its pieces
    np.testing.assert_allclose(np.mean([first["vectors"][i] for i in pieces], axis=0),
                               first["word_vectors"][0], atol=2e-6)


def test_embed_static_model_and_errors(tiny_dirs, tmp_path, embed):
    d, inp = tiny_dirs
    code, err = embed(str(d / "static"), "--input", str(inp), "-o", str(tmp_path / "s.npy"))
    assert code == 0, err
    vectors = np.load(tmp_path / "s.npy")
    np.testing.assert_allclose(vectors[0], [1 / 3, 1 / 3])  # "the" is unknown: a zero row
    for args, message in [(["--pool", "cls"], "no [CLS] vector"),
                          (["-o", str(tmp_path / "x.csv")], "unknown output format"),
                          (["--pool", "none", "-o", str(tmp_path / "x.npy")], ".jsonl")]:
        out = ["-o", str(tmp_path / "s2.npy")] if "-o" not in args else []
        code, err = embed(str(d / "static"), "--input", str(inp), *out, *args)
        assert code == 2 and message in err
        assert err.count("\n") == 1 and not (tmp_path / "s2.npy").exists()
