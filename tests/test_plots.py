"""Training curves (`tokvec plot`) and vocabulary maps (`tokvec map`): real PNGs, real errors."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from safetensors.numpy import save_file

from tokvec.cli import main
from tokvec.errors import TokvecError
from tokvec.modelinfo import input_embedding_table
from tokvec.plots import PNG_MAGIC, plot_training_curves, project, read_training_log
from tokvec.plots.curves import plan_panels
from tokvec.plots.vocabmap import display_label, is_ordinary, ordinary_words
from tokvec.static_model import StaticModel
from tokvec.tokenization import Tokenizer
from tokvec.vocab import DEFAULT_SPECIALS, Vocabulary

CLUSTERS = {
    "animals": ["cat", "dog", "horse", "cow", "sheep", "goat", "mouse", "bird"],
    "colours": ["red", "green", "blue", "yellow", "black", "white", "purple", "orange"],
    "numbers": ["one", "two", "three", "four", "five", "six", "seven", "eight"],
}


def png_size(path) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR is the first chunk)."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def clustered_model(seed: int = 0, dim: int = 20) -> StaticModel:
    """Three well-separated clusters of words, plus punctuation, in frequency order."""
    rng = np.random.default_rng(seed)
    words, rows = [",", "."], [rng.normal(size=dim), rng.normal(size=dim)]
    centres = {name: rng.normal(size=dim) * 3 for name in CLUSTERS}
    for i in range(len(CLUSTERS["animals"])):
        for name, members in CLUSTERS.items():
            words.append(members[i])
            rows.append(centres[name] + rng.normal(scale=0.3, size=dim))
    counts = list(range(len(words) * 10, 0, -10))
    return StaticModel.from_vectors(words, np.array(rows, dtype=np.float32), counts=counts)


def write_log(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


@pytest.fixture
def static_dir(tmp_path):
    d = tmp_path / "model"
    clustered_model().save(d)
    return d


# ----- training curves ------------------------------------------------------------------------
def test_plot_static_training_log(static_dir, tmp_path):
    rng = np.random.default_rng(1)
    write_log(static_dir / "training.jsonl",
              [{"step": i, "loss": 3 * np.exp(-i / 40) + 0.2 * rng.random(),
                "lr": 0.025 * (1 - i / 120), "words_per_s": 9e5 + 1e4 * rng.random(),
                "epoch": i // 40, "words_done": 5000 * i, "elapsed_s": i * 0.01}
               for i in range(120)])
    out = tmp_path / "curve.png"
    assert main(["plot", str(static_dir), "-o", str(out)]) == 0
    assert png_size(out) == (1320, 792)  # 2 x 2 panels of 6 x 3.6 inches at 110 dpi
    assert out.stat().st_size > 40_000


def test_task_log_plots_dev_metric_per_epoch(static_dir, tmp_path):
    records = [{"event": "start", "config": {"lr": 0.005, "epochs": 3},
                "class_balance": {"train": {"pos": {"count": 5, "proportion": 0.5}}}}]
    records += [{"event": "epoch", "epoch": e, "step": 10 * e, "loss": 1 / e,
                 "dev_accuracy": 0.6 + e / 20, "dev_macro_f1": 0.55 + e / 20, "lr": 0.005,
                 "examples_per_s": 1000.0, "best": True} for e in (1, 2, 3)]
    records.append({"event": "end", "best_epoch": 3, "dev_macro_f1": 0.7})
    write_log(static_dir / "training.jsonl", records)
    progress, panels = plan_panels(read_training_log(static_dir / "training.jsonl"))
    assert progress == ("step", "step")
    assert dict(panels) == {"loss": ["loss"], "learning rate": ["lr"],
                            "speed": ["examples_per_s"],
                            "evaluation": ["dev_accuracy", "dev_macro_f1"]}
    out = plot_training_curves(static_dir, tmp_path / "task.png")
    assert png_size(out) == (1320, 792) and out.stat().st_size > 30_000


def test_single_panel_log_makes_a_narrower_figure(static_dir, tmp_path):
    write_log(static_dir / "training.jsonl", [{"step": i, "loss": 1 / (i + 1)} for i in range(5)])
    out = plot_training_curves(static_dir, tmp_path / "one.png", title="only loss")
    assert png_size(out) == (660, 396)
    assert out.stat().st_size > 10_000


def test_plot_without_training_log_is_a_clear_error(static_dir, tmp_path, capsys):
    out = tmp_path / "curve.png"
    assert main(["plot", str(static_dir), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no training log (training.jsonl)" in err
    assert str(static_dir) in err
    assert not out.exists()


def test_malformed_log_line_names_file_and_line(static_dir, tmp_path):
    (static_dir / "training.jsonl").write_text('{"step": 1, "loss": 2}\n{"step": 2, "lo\n')
    with pytest.raises(TokvecError, match=r"training\.jsonl:2: malformed JSON"):
        plot_training_curves(static_dir, tmp_path / "c.png")
    assert not (tmp_path / "c.png").exists()


def test_log_without_plottable_fields_and_bad_output_name(static_dir, tmp_path, capsys):
    write_log(static_dir / "training.jsonl", [{"event": "start", "note": "nothing numeric"}])
    with pytest.raises(TokvecError, match="no plottable fields"):
        plot_training_curves(static_dir, tmp_path / "c.png")
    write_log(static_dir / "training.jsonl", [{"step": 1, "loss": 1.0}])
    assert main(["plot", str(static_dir), "-o", str(tmp_path / "c.jpg")]) == 2
    assert "must end in .png" in capsys.readouterr().err


# ----- vocabulary map -------------------------------------------------------------------------
def test_ordinary_words_and_labels():
    tokens = [*DEFAULT_SPECIALS, "the", ",", "##ing", "Ġcat", "42", "猫", "▁dog"]
    picked = ordinary_words(tokens, limit=10)
    assert [tokens[i] for i in picked] == ["the", "Ġcat", "猫", "▁dog"]
    assert [display_label(tokens[i]) for i in picked] == ["the", "cat", "猫", "dog"]
    assert ordinary_words(tokens, limit=2) == picked[:2]
    assert not is_ordinary("[MASK]") and not is_ordinary("...")


def test_pca_keeps_clusters_apart():
    model = clustered_model()
    vectors = model.vectors
    words = [w for members in CLUSTERS.values() for w in members]
    coords = project(np.array([vectors.get_vector(w) for w in words]), "pca")
    labels = np.repeat(np.arange(len(CLUSTERS)), len(CLUSTERS["animals"]))
    centres = np.array([coords[labels == k].mean(axis=0) for k in range(len(CLUSTERS))])
    nearest = np.argmin(((coords[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == labels).all()
    again = project(np.array([vectors.get_vector(w) for w in words]), "pca")
    np.testing.assert_allclose(coords, again)  # deterministic, signs fixed


def test_map_cli_draws_frequent_ordinary_words(static_dir, tmp_path, capsys):
    out = tmp_path / "map.png"
    assert main(["map", str(static_dir), "-o", str(out), "--words", "20"]) == 0
    assert "map of 20 words" in capsys.readouterr().err
    assert png_size(out) == (1210, 990)
    assert out.stat().st_size > 40_000


def test_map_from_word_list_warns_about_missing_words(static_dir, tmp_path, capsys):
    listed = tmp_path / "words.txt"
    listed.write_text("# animals and colours\ncat\ndog\nred\nblue\nunicorn\n\n", "utf-8")
    out = tmp_path / "map.png"
    assert main(["map", str(static_dir), "-o", str(out), "--list", str(listed)]) == 0
    err = capsys.readouterr().err
    assert "1 listed words are not in the vocabulary, skipped: unicorn" in err
    assert "map of 4 words" in err
    assert png_size(out)[0] == 1210
    listed.write_text("cat\nunicorn\n", "utf-8")
    assert main(["map", str(static_dir), "-o", str(tmp_path / "m2.png"),
                 "--list", str(listed)]) == 2
    assert "only 1 of the listed words" in capsys.readouterr().err
    assert not (tmp_path / "m2.png").exists()


def test_map_with_tsne(static_dir, tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "tsne.png"
    assert main(["map", str(static_dir), "-o", str(out), "--method", "tsne", "--words",
                 "24"]) == 0
    assert png_size(out) == (1210, 990) and out.stat().st_size > 40_000


def test_map_of_contextual_layout_uses_input_table(tmp_path):
    """A contextual directory: the word-embedding table is chosen, not the output projection."""
    words = [w for members in CLUSTERS.values() for w in members]
    vocab = Vocabulary([*DEFAULT_SPECIALS, *words])
    d = tmp_path / "bert"
    d.mkdir()
    Tokenizer.from_vocabulary(vocab).save(d)
    (d / "config.json").write_text(json.dumps({"format_version": 1, "kind": "bert",
                                               "d_model": 8}))
    rng = np.random.default_rng(0)
    table = rng.normal(size=(len(vocab), 8)).astype(np.float32)
    save_file({"embeddings.position_embeddings.weight": rng.normal(size=(16, 8)).astype(
                   np.float32),
               "mlm.decoder.weight": np.zeros((len(vocab), 8), np.float32),
               "embeddings.word_embeddings.weight": table,
               "encoder.layer.0.weight": np.zeros((8, 8), np.float32)},
              str(d / "encoder.safetensors"))
    found = input_embedding_table(d)
    assert found.name == "embeddings.word_embeddings.weight"
    np.testing.assert_array_equal(found.matrix, table)
    assert found.counts is None  # no counts: the map falls back to id order
    out = tmp_path / "bert.png"
    assert main(["map", str(d), "-o", str(out)]) == 0
    assert png_size(out) == (1210, 990)


def test_map_errors(static_dir, tmp_path, capsys):
    assert main(["map", str(tmp_path / "missing"), "-o", str(tmp_path / "m.png")]) == 2
    assert "no such model directory" in capsys.readouterr().err
    assert main(["map", str(static_dir), "-o", str(tmp_path / "m.png"), "--words", "2"]) == 2
    assert "at least 3" in capsys.readouterr().err
    assert not (tmp_path / "m.png").exists()
