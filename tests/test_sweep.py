"""`tokvec sweep`: one model per (d_model, repeat), figures, plot, recommendation, resume."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from tokvec.cli import main
from tokvec.errors import TokvecError
from tokvec.plots import PNG_MAGIC
from tokvec.sweep import SweepSettings, run_sweep

CLASSES = {
    "animal": ["cat", "dog", "horse", "cow", "sheep", "goat"],
    "food": ["bread", "apple", "cheese", "rice", "soup", "cake"],
    "place": ["house", "garden", "field", "barn", "kitchen", "market"],
}
VERBS = ["eats", "likes", "finds", "wants"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A small corpus with word classes, a similarity file and a labelled task on it."""
    d = tmp_path_factory.mktemp("sweepdata")
    rng = np.random.default_rng(0)
    lines = []
    for _ in range(1500):
        a, f, p = (rng.choice(CLASSES[c]) for c in ("animal", "food", "place"))
        lines.append(f"the {a} {rng.choice(VERBS)} the {f} in the {p}")
    (d / "corpus.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = []
    for name, words in CLASSES.items():
        others = [w for n, ws in CLASSES.items() if n != name for w in ws]
        for i, w in enumerate(words):
            pairs.append(f"{w}\t{words[(i + 1) % len(words)]}\t{8 + i % 2}")
            pairs.append(f"{w}\t{others[(3 * i) % len(others)]}\t{1 + i % 3}")
    (d / "pairs.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    for split, n in (("train", 60), ("dev", 30)):
        rows = []
        for i in range(n):
            label = "animal" if i % 2 else "food"
            words = rng.choice(CLASSES[label], size=3)
            rows.append(f"{label}\t{' '.join(words)} {rng.choice(VERBS)}")
        (d / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return d


TRAIN = {"epochs": 2, "min_count": 1, "threads": 1, "window": 3, "seed": 7}


def settings(data, out, **kw) -> SweepSettings:
    base = {"corpus": str(data / "corpus.txt"), "output": str(out), "dims": [4, 8],
            "repeats": 2, "train_options": dict(TRAIN), "similarity": [str(data / "pairs.tsv")],
            "isolate": False}
    base.update(kw)
    return SweepSettings(**base)


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def finished(data, tmp_path_factory):
    """A 2-dimension x 2-repeat sweep run once in-process (shared by the tests below)."""
    out = tmp_path_factory.mktemp("sweep") / "sw"
    state = run_sweep(settings(data, out), log=lambda m: None)
    return out, state


def test_sweep_records_every_run(finished):
    out, state = finished
    saved = json.loads((out / "sweep.json").read_text())
    assert saved == json.loads(json.dumps(state))  # what was returned is what was written
    runs = saved["runs"]
    assert [(r["dim"], r["repeat"], r["seed"]) for r in runs] == [
        (4, 0, 7), (4, 1, 8), (8, 0, 7), (8, 1, 8)]
    for r in runs:
        model = out / r["model"]
        assert (model / "config.json").is_file() and (model / "training.jsonl").is_file()
        cfg = json.loads((model / "config.json").read_text())
        assert cfg["d_model"] == r["dim"]
        assert r["train_seconds"] > 0 and r["words_per_s"] > 0
        assert r["peak_rss_bytes"] >= r["baseline_rss_bytes"] > 10 * 2**20
        assert r["memory_method"].startswith("in-process RSS")
        assert r["parameters"] >= r["embedding_parameters"] == cfg["vocab_size"] * r["dim"]
        assert r["disk_bytes"] == sum(p.stat().st_size for p in model.iterdir() if p.is_file())
        assert set(r["metrics"]["pairs"]) >= {"spearman", "pairs", "oov"}
        assert r["scores"]["primary"] == r["scores"]["pairs Spearman"] \
            == r["metrics"]["pairs"]["spearman"]
        # the model directory carries the same scores, as `tokvec evaluate` writes them
        metrics = json.loads((model / "metrics.json").read_text())
        assert metrics["pairs"]["spearman"] == r["metrics"]["pairs"]["spearman"]
    # two seeds give different vectors
    assert runs[0]["scores"]["primary"] != runs[1]["scores"]["primary"]


def test_summary_and_recommendation(finished):
    out, state = finished
    summary = state["summary"]
    rows = {r["dim"]: r for r in summary["per_dim"]}
    assert sorted(rows) == [4, 8] and summary["primary_metric"] == "mean Spearman"
    for dim, row in rows.items():
        vals = [r["scores"]["primary"] for r in state["runs"] if r["dim"] == dim]
        p = row["scores"]["primary"]
        assert p["mean"] == pytest.approx(np.mean(vals))
        assert (p["min"], p["max"]) == (min(vals), max(vals))
    rec = summary["recommendation"]
    means = {d: rows[d]["scores"]["primary"]["mean"] for d in rows}
    best = max(means, key=means.get)
    assert rec["best_dim"] == best
    assert rec["dim"] == min(d for d in means if means[d] >= means[best] - 0.01)
    assert rec["text"].startswith(f"d={rec['dim']}: ")
    assert rows[8]["costs"]["parameters"]["mean"] > rows[4]["costs"]["parameters"]["mean"]


def test_sweep_plot_is_a_real_png(finished):
    out, _ = finished
    assert png_size(out / "sweep.png") == (1430, 715)
    assert (out / "sweep.png").stat().st_size > 40_000


def test_rerun_skips_finished_runs_and_extends(finished, data, tmp_path):
    out, state = finished
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_dir()}
    messages: list[str] = []
    again = run_sweep(settings(data, out), log=messages.append)
    assert messages == [f"resuming: 4 finished run(s) in {out / 'sweep.json'} are kept"]
    assert again["runs"] == json.loads(json.dumps(state["runs"]))
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir() if p.is_dir()} == mtimes
    # changing what a run produces is refused, naming the difference
    with pytest.raises(TokvecError, match="epochs"):
        run_sweep(settings(data, out, train_options={**TRAIN, "epochs": 3}))


def test_cli_sweep_resumes_and_prints_table(data, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["sweep", str(data / "corpus.txt"), "-o", str(out), "--dims", "4", "--epochs", "1",
            "--min-count", "1", "--threads", "1", "--seed", "3",
            "--eval-similarity", str(data / "pairs.tsv"), "--in-process"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "d_model" in printed and "mean Spearman (primary)" in printed
    assert "recommendation: d=4: the best mean Spearman" in printed
    first = json.loads((out / "sweep.json").read_text())["runs"]
    model_mtime = (out / "d4_r0" / "config.json").stat().st_mtime_ns
    assert main([*args[:5], "4,6", *args[6:]]) == 0
    captured = capsys.readouterr()
    assert "resuming: 1 finished run(s)" in captured.err
    runs = json.loads((out / "sweep.json").read_text())["runs"]
    assert runs[0] == first[0] and [r["dim"] for r in runs] == [4, 6]
    assert (out / "d4_r0" / "config.json").stat().st_mtime_ns == model_mtime


def test_child_process_measurement(data, tmp_path):
    state = run_sweep(settings(data, tmp_path / "child", dims=[4], repeats=1, isolate=True),
                      log=lambda m: None)
    (run,) = state["runs"]
    assert run["memory_method"] == "child peak RSS (VmHWM)"
    # the child's own peak, not this (torch-loaded) process's size folded in at fork
    assert run["peak_rss_bytes"] >= run["baseline_rss_bytes"] > 10 * 2**20
    assert run["baseline_rss_bytes"] < 200 * 2**20
    assert not list((tmp_path / "child").glob(".job*"))  # the job files are cleaned up


def test_sweep_agrees_with_train_then_evaluate(finished, data, tmp_path, capsys):
    """Same seed, one thread: `tokvec train` + `tokvec evaluate` give the sweep's scores."""
    out, state = finished
    run = next(r for r in state["runs"] if r["dim"] == 8 and r["repeat"] == 1)
    model = tmp_path / "alone"
    assert main(["train", str(data / "corpus.txt"), "-o", str(model), "--dim", "8",
                 "--seed", str(run["seed"]), "--epochs", "2", "--min-count", "1",
                 "--threads", "1", "--window", "3"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(model), "--similarity", str(data / "pairs.tsv"),
                 "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["pairs"]["spearman"] == run["metrics"]["pairs"]["spearman"]
    assert alone["pairs"]["oov"] == run["metrics"]["pairs"]["oov"]


def test_task_is_the_primary_metric(data, tmp_path):
    state = run_sweep(settings(data, tmp_path / "task", dims=[4, 8], repeats=1,
                               task=(str(data / "train.tsv"), str(data / "dev.tsv")),
                               task_options={"epochs": 3}),
                      log=lambda m: None)
    assert state["summary"]["primary_metric"] == "dev macro-F1"
    for run in state["runs"]:
        task = run["task"]
        assert 0.0 <= task["dev_macro_f1"] <= 1.0
        assert run["scores"]["primary"] == run["scores"]["task dev macro-F1"] \
            == task["dev_macro_f1"]
        task_dir = tmp_path / "task" / task["model"]
        metrics = json.loads((task_dir / "metrics.json").read_text())
        assert metrics["dev"]["macro_f1"] == task["dev_macro_f1"]
        assert "pairs Spearman" in run["scores"]  # intrinsic scores are still recorded


def test_bad_requests_fail_cleanly(data, tmp_path, capsys):
    corpus = str(data / "corpus.txt")
    assert main(["sweep", corpus, "-o", str(tmp_path / "a"), "--dims", "4"]) == 2
    assert "needs a quality measure" in capsys.readouterr().err
    assert main(["sweep", str(tmp_path / "none.txt"), "-o", str(tmp_path / "b"),
                 "--eval-similarity", str(data / "pairs.tsv")]) == 2
    assert "no such corpus file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["sweep", corpus, "-o", str(tmp_path / "c"), "--dims", "4,x"])
    assert exc.value.code == 2
    assert "comma-separated integers" in capsys.readouterr().err
    assert main(["sweep", corpus, "-o", str(tmp_path / "d"), "--dims", "4", "--lr", "0.0001",
                 "--eval-similarity", str(data / "pairs.tsv")]) == 2
    assert "min_lr" in capsys.readouterr().err
    for name in "abcd":
        assert not (tmp_path / name / "sweep.json").exists()


def test_bert_sweep_is_scored_by_a_linear_probe(data, tmp_path):
    out = tmp_path / "bert"
    options = {"layers": 1, "heads": 2, "steps": 2, "seq_len": 16, "batch_size": 4,
               "vocab_size": 80, "threads": 1}
    state = run_sweep(settings(data, out, method="bert", dims=[8], repeats=1,
                               train_options=options, similarity=[],
                               task=(str(data / "train.tsv"), str(data / "dev.tsv")),
                               task_options={"epochs": 1}),
                      log=lambda m: None)
    (run,) = state["runs"]
    assert run["config"]["d_model"] == 8 and run["config"]["ffn"] == 32
    cfg = json.loads((out / "d8_r0" / "config.json").read_text())
    assert cfg["kind"] == "bert"
    assert run["embedding_parameters"] == 8 * cfg["vocab_size"] < run["parameters"]
    assert run["task"]["head"] == "encoder" and 0 <= run["scores"]["primary"] <= 1
    with pytest.raises(TokvecError, match="scored by fine-tuning on --task"):
        run_sweep(settings(data, tmp_path / "b2", method="bert", train_options=options))


def test_electra_sweep_under_a_time_budget_is_scored_on_word_senses(data, tmp_path, capsys):
    wic = tmp_path / "wic.tsv"  # the corpus's words in two kinds of context
    wic.write_text("".join(
        f"{'same' if i % 2 else 'different'}\tcat\tthe cat eats the fish in the park\t"
        f"the {'cat' if i % 2 else 'fish'} likes the cat in the {'park' if i % 2 else 'cat'}\n"
        for i in range(6)), encoding="utf-8")
    out = tmp_path / "electra"
    code = main(["sweep", str(data / "corpus.txt"), "-o", str(out), "--method", "bert",
                 "--dims", "8,16", "--objective", "electra", "--max-minutes", "0.02",
                 "--layers", "1", "--heads", "2", "--seq-len", "16", "--batch-size", "4",
                 "--vocab-size", "80", "--threads", "1", "--eval-wic", str(wic),
                 "--in-process"])
    assert code == 0
    state = json.loads((out / "sweep.json").read_text())
    assert state["summary"]["primary_metric"] == "mean WiC AUC"
    for run in state["runs"]:
        assert run["config"]["objective"] == "electra" and run["config"]["max_minutes"] == 0.02
        assert 0.0 <= run["scores"]["wic WiC AUC"] <= 1.0
        assert run["pretrain_loss"] > 0 and run["train_seconds"] >= 1.0
    table = capsys.readouterr().out
    assert "pretrain loss" in table and "recommendation:" in table
    assert png_size(out / "sweep.png")[0] > 0


def test_interrupted_model_continues_from_its_checkpoint(finished, data, tmp_path):
    """A run stopped mid-training resumes from the trainer's checkpoint on the next sweep."""
    from safetensors.numpy import load_file

    from tokvec.static import TrainConfig
    from tokvec.static.interrupt import TrainingInterrupted
    from tokvec.static.trainer import train, work_dir_for
    from tokvec.sweep.jobs import job_config

    out = tmp_path / "stopped"
    config = TrainConfig(**job_config("sgns", TRAIN, dim=4, repeat=0))
    with pytest.raises(TrainingInterrupted):
        train(data / "corpus.txt", out / "d4_r0", config, should_stop=lambda chunks: True)
    state_path = work_dir_for(out / "d4_r0") / "checkpoint" / "state.json"
    state = json.loads(state_path.read_text())
    state["elapsed_s"] = 1e6  # a mark: a resumed run continues its clock from here
    state_path.write_text(json.dumps(state))
    run_sweep(settings(data, out, dims=[4], repeats=1), log=lambda m: None)
    last = json.loads((out / "d4_r0" / "training.jsonl").read_text().splitlines()[-1])
    assert last["elapsed_s"] >= 1e6
    resumed = load_file(str(out / "d4_r0" / "embeddings.safetensors"))["embeddings"]
    whole = load_file(str(finished[0] / "d4_r0" / "embeddings.safetensors"))["embeddings"]
    np.testing.assert_array_equal(resumed, whole)  # threads=1: bit-identical to no interruption
