"""Queries follow the model's normalisation: a lowercased model answers ``King`` as ``king``."""

from __future__ import annotations

import numpy as np
import pytest

from tokvec.cli import main
from tokvec.errors import TokvecError
from tokvec.static_model import StaticModel


@pytest.fixture(scope="module")
def lowercased_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("lc")
    corpus = d / "c.txt"
    rng = np.random.default_rng(0)
    words = ["King", "queen", "Man", "woman", "Cat", "dog", "the", "of", "Royal", "palace"]
    corpus.write_text("\n".join(" ".join(rng.choice(words, 12)) for _ in range(400)) + "\n",
                      encoding="utf-8")
    assert main(["train", str(corpus), "-o", str(d / "m"), "--lowercase", "--epochs", "1",
                 "--dim", "8", "--threads", "1", "--min-count", "1"]) == 0
    return d / "m"


def _out(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_mixed_case_queries_answer_on_a_lowercased_model(lowercased_model, capsys):
    m = str(lowercased_model)
    code, upper, _ = _out(capsys, "neighbors", m, "King", "-k", "3")
    assert code == 0
    assert _out(capsys, "neighbors", m, "king", "-k", "3")[1] == upper
    assert _out(capsys, "similarity", m, "Cat", "DOG")[1] == \
        _out(capsys, "similarity", m, "cat", "dog")[1]
    assert _out(capsys, "analogy", m, "MAN", "King", "Woman", "-k", "2")[1] == \
        _out(capsys, "analogy", m, "man", "king", "woman", "-k", "2")[1]


def test_python_api_normalises_too(lowercased_model):
    kv = StaticModel.load(lowercased_model).vectors
    assert kv.most_similar("King", topn=3) == kv.most_similar("king", topn=3)
    assert kv.similarity("Cat", "DOG") == kv.similarity("cat", "dog")
    assert kv.analogy("Man", "KING", "woman", topn=2) == kv.analogy("man", "king", "woman", topn=2)
    assert "QUEEN" in kv
    # The query word itself is excluded whichever spelling it was asked in.
    assert "king" not in [w for w, _ in kv.most_similar("KING", topn=5)]


def test_unknown_word_error_names_the_normalisation(lowercased_model, capsys):
    code, _, err = _out(capsys, "neighbors", str(lowercased_model), "Kingdom")
    assert code == 2
    assert err.count("\n") == 1
    assert "'Kingdom' is not in the vocabulary" in err
    assert "lowercasing as 'kingdom'" in err


def test_cased_model_keeps_exact_matching(tmp_path):
    m = StaticModel.from_vectors(["Apple", "apple"], np.eye(2, dtype=np.float32))
    kv = m.vectors
    assert kv.similarity("Apple", "apple") == 0.0  # two rows: case is not folded
    with pytest.raises(TokvecError, match="after Unicode NFKC"):
        kv.get_vector("APPLE")
    # NFKC still applies: a full-width query finds the ordinary spelling.
    assert kv.row("ａｐｐｌｅ") == kv.row("apple")
