"""``tokvec align`` and every query verb on a joint model; bad input: one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tokvec.cli import main
from tokvec.formats import read_vectors, write_vectors
from tokvec.modeldir import load_model
from tokvec.multilingual import MultilingualModel
from tokvec.static_model import StaticModel

N, D = 120, 12
SHARED = ["no", "me", "he"]          # Spanish and English spellings of different words
ES_WORDS = ["perro", "gato", "sí"] + SHARED + [f"es{i}" for i in range(N)]
EN_WORDS = ["dog", "cat", "yes"] + SHARED + [f"en{i}" for i in range(N)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("ml")
    rng = np.random.default_rng(0)
    en = rng.normal(size=(len(EN_WORDS), D)).astype(np.float32)
    rotation = np.linalg.qr(rng.normal(size=(D, D)))[0]
    es = (en @ rotation + 0.05 * rng.normal(size=en.shape)).astype(np.float32)
    StaticModel.from_vectors(EN_WORDS, en).save(d / "en")
    write_vectors(d / "wiki.es.vec", ES_WORDS, es, "fasttext")   # a vector file side
    StaticModel.from_vectors(ES_WORDS[:10], np.ones((10, D + 1), np.float32)).save(d / "wide")
    pairs = list(zip(ES_WORDS, EN_WORDS, strict=True))
    (d / "train.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in pairs[:80]))
    (d / "es-en.test.tsv").write_text("".join(f"{s}\t{t}\n" for s, t in pairs[80:])
                                      + "fuera\tout\n")
    (d / "none.tsv").write_text("uno\tone\ndos\ttwo\n\nperro\tcanine\n")
    (d / "bad.tsv").write_text("perro\tdog\ngato cat\n")
    (d / "empty_field.tsv").write_text("perro\t\n")
    code = main(["align", str(d / "wiki.es.vec"), str(d / "en"), "-o", str(d / "joint"),
                 "--dictionary", str(d / "train.tsv"), "--refine", "2"])
    assert code == 0
    StaticModel.from_vectors(EN_WORDS, en).save(d / "static")
    return d


def test_align_writes_a_joint_model_and_records_the_settings(data, capsys):
    cfg = json.loads((data / "joint" / "config.json").read_text())
    assert cfg["kind"] == "multilingual" and cfg["languages"] == ["es", "en"]
    info = cfg["alignment"]
    assert info["dictionary"].endswith("train.tsv") and info["dictionary_lines"] == 80
    assert info["pairs_covered"] == 80 and info["refine"] == 2 and len(info["rounds"]) == 3
    assert info["source"]["lang"] == "es" and info["target"]["words"] == len(EN_WORDS)
    assert isinstance(load_model(data / "joint"), MultilingualModel)


def test_align_prints_progress_and_a_summary_on_stderr(data, tmp_path, capsys):
    code = main(["align", str(data / "wiki.es.vec"), str(data / "en"), "-o",
                 str(tmp_path / "j"), "--dictionary", str(data / "train.tsv"),
                 "--refine", "0", "--src-lang", "spa", "--tgt-lang", "eng"])
    captured = capsys.readouterr()
    assert code == 0 and captured.out == ""
    assert "aligned spa" in captured.err.splitlines()[-1]
    assert load_model(tmp_path / "j").languages == ["spa", "eng"]


def test_neighbors_across_languages(data, capsys):
    joint = str(data / "joint")
    assert main(["neighbors", joint, "perro", "--lang", "en", "-k", "1"]) == 0
    assert capsys.readouterr().out.split()[0] == "dog"
    assert main(["neighbors", joint, "no", "--src-lang", "es", "--lang", "en", "-k", "1",
                 "--retrieval", "csls", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["word"] == "no"
    assert main(["neighbors", joint, "es100", "--lang", "en", "-k", "1"]) == 0   # held out
    assert capsys.readouterr().out.split()[0] == "en100"
    assert main(["neighbors", joint, "perro", "-k", "3"]) == 0    # in its own language
    out = capsys.readouterr().out.split()[::2]
    assert "perro" not in out and not set(out) & {"dog", "cat"}


def test_similarity_and_analogy_on_a_joint_model(data, capsys):
    joint = str(data / "joint")
    assert main(["similarity", joint, "gato", "cat"]) == 0
    assert float(capsys.readouterr().out) > 0.9
    assert main(["similarity", joint, "no", "no", "--lang1", "es", "--lang2", "en"]) == 0
    assert float(capsys.readouterr().out) > 0.9    # aligned: the translations coincide
    assert main(["similarity", joint, "no", "yes", "--lang1", "en", "--lang2", "en"]) == 0
    assert float(capsys.readouterr().out) < 0.9
    assert main(["analogy", joint, "es1", "es2", "es3", "-k", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_evaluate_bli_reports_precision_and_merges_metrics(data, capsys):
    joint = str(data / "joint")
    for retrieval in ("nn", "csls"):
        assert main(["evaluate", joint, "--bli", str(data / "es-en.test.tsv"),
                     "--retrieval", retrieval, "--json"]) == 0
        r = json.loads(capsys.readouterr().out)["es-en.test"]
        assert r["p@1"] > 0.95 and r["p@10"] >= r["p@5"] >= r["p@1"]
        assert r["words"] == len(ES_WORDS) - 80 and r["oov"] == 1
        assert r["retrieval"] == retrieval and (r["src_lang"], r["tgt_lang"]) == ("es", "en")
    metrics = json.loads((data / "joint" / "metrics.json").read_text())
    assert metrics["es-en.test"]["retrieval"] == "csls"
    assert main(["evaluate", joint, "--bli", str(data / "es-en.test.tsv"), "--no-save"]) == 0
    assert "p@1 1.0000" in capsys.readouterr().out


def test_evaluate_similarity_of_one_language(data, tmp_path, capsys):
    pairs = tmp_path / "sim.tsv"
    pairs.write_text("dog\tcat\t5\nen1\ten2\t1\nen3\ten4\t3\n")
    assert main(["evaluate", str(data / "joint"), "--similarity", str(pairs), "--lang", "en",
                 "--json", "--no-save"]) == 0
    assert json.loads(capsys.readouterr().out)["sim"]["oov"] == 0


def test_info_and_export(data, tmp_path, capsys):
    joint = str(data / "joint")
    assert main(["info", joint, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "multilingual" and info["d_model"] == D
    assert "tokenizers/" in info["files"]
    assert main(["info", joint]) == 0
    assert "multilingual" in capsys.readouterr().out
    out = tmp_path / "en.vec"
    assert main(["export", joint, "-o", str(out), "--format", "word2vec", "--lang", "en"]) == 0
    words, _ = read_vectors(out)
    assert words == EN_WORDS
    both = tmp_path / "all.txt"
    assert main(["export", joint, "-o", str(both), "--format", "glove"]) == 0
    words, matrix = read_vectors(both)
    assert words[0] == "es:perro" and "en:no" in words and "es:no" in words
    assert len(words) == len(ES_WORDS) + len(EN_WORDS) and matrix.shape[1] == D


def test_static_models_accept_csls_neighbours(data, capsys):
    assert main(["neighbors", str(data / "static"), "dog", "--retrieval", "csls", "-k", "2"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


CASES = [
    ("align {d}/wiki.es.vec {d}/en -o {out} --dictionary {d}/none.tsv",
     "read 3 lines, 0 pairs covered by both models"),
    ("align {d}/wiki.es.vec {d}/en -o {out} --dictionary {d}/bad.tsv",
     "bad.tsv:2: expected 2 tab-separated fields"),
    ("align {d}/wiki.es.vec {d}/en -o {out} --dictionary {d}/empty_field.tsv",
     "empty_field.tsv:1: expected 2 tab-separated fields"),
    ("align {d}/wide {d}/en -o {out} --dictionary {d}/train.tsv --src-lang xx",
     f"source model has {D + 1} dimensions and the target model {D}"),
    ("align {d}/wiki.es.vec {d}/static -o {out} --dictionary {d}/train.tsv",
     "cannot tell the target language from the name 'static'; give --tgt-lang"),
    ("align {d}/wiki.es.vec {d}/en -o {out} --dictionary {d}/missing.tsv", "no such file"),
    ("align {d}/nowhere.vec {d}/en -o {out} --dictionary {d}/train.tsv",
     "no such source model directory or vector file"),
    ("align {d}/wiki.es.vec {d}/en -o {out} --dictionary {d}/train.tsv --src-lang en",
     "both 'en'"),
    ("align {d}/wiki.es.vec {d}/joint -o {out} --dictionary {d}/train.tsv --tgt-lang en",
     "must be a static model"),
    ("align {d}/wiki.es.vec {d}/en -o {out} --dictionary {d}/train.tsv --src-lang a/b",
     "invalid language name"),
    ("neighbors {d}/joint perro --lang fr", "no language 'fr' (it has es, en)"),
    ("neighbors {d}/joint perro --src-lang fr", "no language 'fr' (it has es, en)"),
    ("neighbors {d}/joint no --lang en", "'no' is in 2 languages (es, en)"),
    ("neighbors {d}/joint nada", "not found in any one language of the model (es, en)"),
    ("neighbors {d}/static dog --lang en", "--lang applies to multilingual models only"),
    ("similarity {d}/joint no dog", "'no' is in 2 languages (es, en)"),
    ("similarity {d}/joint perro dog --lang2 fr", "no language 'fr' (it has es, en)"),
    ("analogy {d}/joint es1 es2 es3 --lang fr", "no language 'fr' (it has es, en)"),
    ("evaluate {d}/joint --bli {d}/es-en.test.tsv --tgt-lang fr",
     "no language 'fr' (it has es, en)"),
    ("evaluate {d}/joint --bli {d}/bad.tsv", "bad.tsv:2: expected 2 tab-separated fields"),
    ("evaluate {d}/static --bli {d}/es-en.test.tsv", "--bli needs a multilingual model"),
    ("evaluate {d}/joint --similarity {d}/es-en.test.tsv",
     "name the language to score with --lang"),
    ("export {d}/joint -o {out} --format glove --lang fr", "no language 'fr' (it has es, en)"),
    ("export {d}/static -o {out} --format glove --lang en",
     "--lang applies to multilingual models only"),
]


@pytest.mark.parametrize(("argv", "fragment"), CASES)
def test_bad_input_is_one_clear_line(data, tmp_path, capsys, argv, fragment):
    out = tmp_path / "out"
    before = (data / "joint" / "metrics.json").read_bytes() if (
        data / "joint" / "metrics.json").exists() else None
    try:
        code = main(argv.format(d=data, out=out).split())
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, err
    assert fragment in err, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("usage:")]
    assert len(lines) == 1, err
    assert captured.out == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []
    after = (data / "joint" / "metrics.json").read_bytes() if (
        data / "joint" / "metrics.json").exists() else None
    assert before == after
