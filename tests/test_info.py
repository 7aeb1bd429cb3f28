"""`tokvec info`: parameters, dense against one-hot memory, disk size, config, metrics."""

from __future__ import annotations

import json
import re

import numpy as np
from safetensors.numpy import save_file

from tokvec.cli import main
from tokvec.modeldir import update_metrics
from tokvec.modelinfo import parameter_counts, tensor_shapes
from tokvec.static_model import StaticModel

V_WORDS, DIM = 995, 16  # 1000 rows with the 5 special tokens


def make_model(tmp_path, extra=None):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(V_WORDS)]
    model = StaticModel.from_vectors(words, rng.normal(size=(V_WORDS, DIM)).astype(np.float32),
                                     counts=list(range(V_WORDS, 0, -1)))
    if extra:
        model.extra_tensors.update(extra)
    d = tmp_path / "model"
    model.save(d)
    return d


def test_info_json_figures(tmp_path, capsys):
    d = make_model(tmp_path, {"context": np.zeros((1000, DIM), np.float32)})
    assert main(["info", str(d), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["vocab_size"] == 1000 and info["d_model"] == DIM
    assert info["parameters"] == {"embeddings": 1000 * DIM, "context": 1000 * DIM}
    assert info["parameters_total"] == 2 * 1000 * DIM
    mem = info["memory"]
    assert mem["dense_bytes"] == 1000 * DIM * 4
    assert mem["onehot_bytes"] == 1000 * 1000 * 4
    assert mem["dense_bytes_per_token"] == DIM * 4
    assert mem["onehot_bytes_per_token"] == 1000 * 4
    assert mem["ratio_onehot_to_dense"] == 1000 / DIM
    assert mem["onehot_sparse_bytes_per_token"] == 12
    on_disk = {p.name: p.stat().st_size for p in d.iterdir()}
    assert info["files"] == on_disk
    assert info["disk_bytes"] == sum(on_disk.values())
    assert info["config"]["method"] == "imported" and info["config"]["d_model"] == DIM
    assert info["metrics"] is None


def test_info_text_is_human_readable_and_shows_latest_metrics(tmp_path, capsys):
    d = make_model(tmp_path)
    update_metrics(d, {"wordsim353": {"spearman": 0.61, "pairs": 353, "oov": 2}})
    assert main(["info", str(d)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"embeddings +16,000\n", out)
    assert "dense table" in out and "62.5 KiB" in out  # 1000 x 16 x 4 bytes
    assert "one-hot matrix" in out and "3.8 MiB" in out  # 1000 x 1000 x 4 bytes
    assert "62.5 x" in out  # 1000 / 16
    assert "sparse one-hot" in out
    assert "embeddings.safetensors" in out and "KiB" in out
    assert '"spearman": 0.61' in out
    assert "method               imported" in out


def test_parameters_from_headers_without_loading(tmp_path):
    d = tmp_path / "enc"
    d.mkdir()
    save_file({"bert.embeddings.word_embeddings.weight": np.zeros((50, 8), np.float32),
               "bert.encoder.layer.0.attention.query.weight": np.zeros((8, 8), np.float32),
               "bert.encoder.layer.0.attention.query.bias": np.zeros(8, np.float32),
               "cls.predictions.bias": np.zeros(50, np.float32)},
              str(d / "model.safetensors"))
    assert tensor_shapes(d)["model.safetensors"]["bert.encoder.layer.0.attention.query.bias"] \
        == [8]
    assert parameter_counts(d) == {"embeddings": 400, "encoder": 72, "cls": 50}


def test_info_errors_are_one_line(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert "no such model directory" in err and "\n" not in err
    (tmp_path / "plain").mkdir()
    assert main(["info", str(tmp_path / "plain")]) == 2
    assert "config.json is missing" in capsys.readouterr().err
    d = make_model(tmp_path)
    (d / "embeddings.safetensors").write_bytes(b"not safetensors")
    assert main(["info", str(d)]) == 2
    assert "safetensors" in capsys.readouterr().err
