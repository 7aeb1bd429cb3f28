"""Zero-shot cross-lingual transfer: a classifier trained on one language of a joint model
predicts another's texts (``finetune --lang``, ``predict --lang``, ``TaskModel.for_language``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file
from test_classify_train import NEGATIVE, NEUTRAL, POSITIVE, make_rows, write_tsv

from tokvec.classify import FinetuneConfig, TaskModel, finetune
from tokvec.cli import main
from tokvec.errors import TokvecError
from tokvec.modeldir import load_model
from tokvec.modelinfo import model_info
from tokvec.multilingual.model import MultilingualModel
from tokvec.static_model import StaticModel

# English word -> its "Spanish" translation; "actor" is spelt the same in both languages.
TRANSLATION = dict(zip(
    POSITIVE + NEGATIVE + NEUTRAL,
    ["bueno", "genial", "soberbio", "bonito", "fino", "malo", "horrible", "pobre", "aburrido",
     "feo", "el", "pelicula", "trama", "actor", "cine", "historia", "era", "una"], strict=True))


def translate(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(label, " ".join(TRANSLATION[w] for w in text.split())) for label, text in rows]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A joint en-es model whose translated words share one vector, and the data files."""
    d = tmp_path_factory.mktemp("zero-shot")
    words = list(TRANSLATION)
    vectors = np.random.default_rng(0).normal(size=(len(words), 16)).astype(np.float32)
    en = StaticModel.from_vectors(words, vectors)
    es = StaticModel.from_vectors([TRANSLATION[w] for w in words], vectors)
    MultilingualModel.from_static({"en": en, "es": es}).save(d / "joint")
    en.save(d / "mono")
    rows = {"train": make_rows(96, 1), "dev": make_rows(30, 2), "test": make_rows(40, 3)}
    for name, r in rows.items():
        write_tsv(d / f"{name}.tsv", r)
    write_tsv(d / "es-test.tsv", translate(rows["test"]))
    (d / "es.txt").write_text("".join(text + "\n" for _, text in translate(rows["test"])),
                              encoding="utf-8")
    return d


def train(world, out, **kw):
    cfg = {"language": "en", "epochs": 20, "lr": 0.05, "seed": 0, **kw}
    return finetune(world / "joint", out, world / "train.tsv", world / "dev.tsv",
                    world / "test.tsv", FinetuneConfig(**cfg), log=None)


@pytest.mark.parametrize("head,extra", [
    ("bag", {}),
    ("cnn", {"filters": 8, "widths": [1, 2], "dropout": 0.0, "lr": 0.01}),
    ("bilstm", {"hidden": 8, "lr": 0.02, "dropout": 0.0, "epochs": 10}),
])
def test_trained_on_one_language_predicts_the_other(tmp_path, world, head, extra):
    model = train(world, tmp_path / "task", head=head, **extra)
    assert model.language == "en" and model.metrics["test"]["accuracy"] >= 0.9
    spanish = model.for_language("es")
    assert spanish.language == "es" and spanish.temperature == model.temperature
    assert spanish.evaluate(world / "es-test.tsv")["accuracy"] >= 0.9
    # Same vectors, same head: the Spanish texts score exactly as their English originals.
    en_texts = [t for _, t in make_rows(40, 3)]
    es_texts = [t for _, t in translate(make_rows(40, 3))]
    np.testing.assert_allclose(spanish.predict_proba(es_texts), model.predict_proba(en_texts),
                               atol=1e-6)
    assert model.for_language("en") is model
    assert model.network.embed.weight.requires_grad is False


def test_task_directory_round_trip(tmp_path, world):
    out = tmp_path / "task"
    model = train(world, out, epochs=10)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["languages"] == ["en", "es"] and cfg["language"] == "en"
    assert cfg["training"]["train_embeddings"] is False
    assert cfg["base"]["kind"] == "multilingual"
    for lang in ("en", "es"):
        assert (out / "tokenizers" / lang / "tokenizer.json").is_file()
        assert (out / "tokenizers" / lang / "tokenizer_config.json").is_file()
    assert not (out / "tokenizer.json").exists()
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == [
        "config.json", "embeddings.safetensors", "head.safetensors", "metrics.json",
        "training.jsonl"]
    tables = load_file(str(out / "embeddings.safetensors"))
    joint = MultilingualModel.load(world / "joint")
    np.testing.assert_array_equal(tables["embeddings"], joint.embeddings)
    np.testing.assert_array_equal(tables["language"], joint.language_ids())
    loaded = TaskModel.load(out)
    assert isinstance(load_model(out), TaskModel)
    assert loaded.language == "en" and loaded.languages == ["en", "es"]
    texts = ["bueno trama", "malo feo el", "unseen"]
    np.testing.assert_allclose(loaded.for_language("es").predict_proba(texts),
                               model.for_language("es").predict_proba(texts), atol=1e-6)
    # A switched model saves the same directory: the training language stays the default.
    loaded.for_language("es").save(tmp_path / "again")
    assert TaskModel.load(tmp_path / "again").language == "en"
    info = model_info(out)
    assert info["vocab_size"] == joint.embeddings.shape[0] and info["d_model"] == 16


def test_cli_zero_shot(tmp_path, world, capsys):
    out = tmp_path / "task"
    assert main(["finetune", str(world / "joint"), "-o", str(out), "--lang", "en",
                 "--train", str(world / "train.tsv"), "--dev", str(world / "dev.tsv"),
                 "--lr", "0.05", "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert "embeddings frozen" in err and "language en of en, es" in err
    assert main(["predict", str(out), "--lang", "es", "--input", str(world / "es-test.tsv"),
                 "--metrics"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["accuracy"] >= 0.9 and report["language"] == "es"
    assert report["training_language"] == "en"
    assert main(["predict", str(out), "--lang", "es", "--input", str(world / "es.txt"),
                 "--proba"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    gold = [label for label, _ in make_rows(40, 3)]
    assert np.mean([r["label"] == g for r, g in zip(rows, gold, strict=True)]) >= 0.9
    # Without --lang the training language reads the input: Spanish words are all unknown.
    assert main(["predict", str(out), "--input", str(world / "es.txt")]) == 0
    assert len(set(capsys.readouterr().out.split())) == 1


@pytest.mark.parametrize("args,message", [
    ([], "is a multilingual model (en, es): give --lang"),
    (["--lang", "fr"], "has no language 'fr' (it has en, es)"),
    (["--lang", "en", "--train-embeddings"], "keeps its table frozen"),
    (["--lang", "en", "--bigrams"], "--bigrams does not apply to a multilingual base"),
])
def test_bad_finetune_input(tmp_path, world, capsys, args, message):
    out = tmp_path / "task"
    code = main(["finetune", str(world / "joint"), "-o", str(out), "--train",
                 str(world / "train.tsv"), "--dev", str(world / "dev.tsv"), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize("base,what", [("mono", "a static model"), ("none", "'none'")])
def test_lang_on_a_monolingual_base(tmp_path, world, capsys, base, what):
    out = tmp_path / "task"
    code = main(["finetune", base if base == "none" else str(world / base), "-o", str(out),
                 "--lang", "en", "--train", str(world / "train.tsv"),
                 "--dev", str(world / "dev.tsv")])
    err = capsys.readouterr().err
    assert code == 2 and f"BASE is {what}" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_predict_input(tmp_path, world, capsys):
    joint_task = tmp_path / "joint-task"
    train(world, joint_task, epochs=2)
    mono_task = tmp_path / "mono-task"
    finetune(world / "mono", mono_task, world / "train.tsv", world / "dev.tsv",
             config=FinetuneConfig(epochs=2), log=None)
    mono = TaskModel.load(mono_task)  # a directory as written before joint bases: still loads
    assert mono.language is None and mono.languages == []
    with pytest.raises(TokvecError, match="monolingual base"):
        mono.for_language("en")
    for task, lang, message in ((joint_task, "fr", "has no language 'fr' (it has en, es)"),
                                (mono_task, "en", "trained on a monolingual base")):
        written = tmp_path / "out.txt"
        code = main(["predict", str(task), "--lang", lang, "--input", str(world / "es.txt"),
                     "-o", str(written)])
        err = capsys.readouterr().err
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1
        assert not written.exists()


def test_resume_over_a_joint_base(tmp_path, world):
    cfg = {"epochs": 4, "patience": 0, "hidden": 8, "dropout": 0.3, "checkpoint_interval": 0}
    full = train(world, tmp_path / "full", **cfg)

    def stop_after_two(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune(world / "joint", tmp_path / "cut", world / "train.tsv", world / "dev.tsv",
                 config=FinetuneConfig(language="en", lr=0.05, **cfg), log=None,
                 on_epoch=stop_after_two)
    resumed = finetune(world / "joint", tmp_path / "cut", world / "train.tsv",
                       world / "dev.tsv", resume=True, log=None)
    assert resumed.language == "en"
    texts = ["bueno trama", "malo feo el"]
    np.testing.assert_allclose(resumed.for_language("es").predict_proba(texts),
                               full.for_language("es").predict_proba(texts), atol=1e-6)
