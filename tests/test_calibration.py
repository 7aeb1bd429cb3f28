"""Calibrated probabilities: log-loss and ECE, temperature scaling after fine-tuning, and how
``tokvec predict`` reports and prints them."""

from __future__ import annotations

import json
import math
import random

import numpy as np
import pytest
from test_classify_train import NEGATIVE, NEUTRAL, POSITIVE, write_tsv

from tokvec.classify import (
    FinetuneConfig,
    TaskModel,
    expected_calibration_error,
    finetune,
    fit_calibration,
    fit_temperature,
    log_loss,
    log_loss_from_logits,
    probability_report,
)
from tokvec.classify.calibration import golden_section, temperature_from_config
from tokvec.classify.metrics import softmax
from tokvec.cli import main
from tokvec.cli.predict import probability
from tokvec.errors import TokvecError

PROBABILITY_KEYS = ("ece", "ece_uncalibrated", "log_loss", "log_loss_uncalibrated")


# ----- metrics on hand-computed examples ----------------------------------------------------
def test_log_loss_by_hand():
    # gold probabilities 0.9, 0.5, 0.2 -> (-ln 0.9 - ln 0.5 - ln 0.2) / 3
    p = np.array([[0.9, 0.1], [0.5, 0.5], [0.8, 0.2]])
    expected = -(math.log(0.9) + math.log(0.5) + math.log(0.2)) / 3
    assert log_loss(p, [0, 1, 1]) == pytest.approx(expected, abs=1e-12)
    assert log_loss(p, [0, 1, 1]) == pytest.approx(0.8026, abs=1e-4)
    # a certain mistake is clipped, not infinite
    assert log_loss(np.array([[1.0, 0.0]]), [1]) == pytest.approx(-math.log(1e-15))
    assert math.isnan(log_loss(np.zeros((0, 2)), []))


def test_log_loss_agrees_with_scikit_learn_and_with_logits():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, 3.0, size=(200, 4))
    y = rng.integers(0, 4, size=200)
    p = softmax(z)
    assert log_loss(p, y) == pytest.approx(sklearn_metrics.log_loss(y, p, labels=range(4)),
                                           rel=1e-9)
    assert log_loss_from_logits(z, y) == pytest.approx(log_loss(p, y), rel=1e-9)
    assert log_loss_from_logits(z, y, 2.5) == pytest.approx(log_loss(softmax(z, 2.5), y),
                                                            rel=1e-9)
    # far beyond float64 softmax's range the logit form stays exact: margin 2000 -> loss 2000
    assert log_loss_from_logits(np.array([[1000.0, -1000.0]]), [1]) == pytest.approx(2000.0)


def test_ece_by_hand():
    # 10 rows at confidence 0.7 of which 7 right: perfectly calibrated
    p = np.tile([0.7, 0.3], (10, 1))
    assert expected_calibration_error(p, [0] * 7 + [1] * 3) == pytest.approx(0.0, abs=1e-12)
    # the same rows all right: gap 0.3; all wrong: gap 0.7
    assert expected_calibration_error(p, [0] * 10) == pytest.approx(0.3)
    assert expected_calibration_error(p, [1] * 10) == pytest.approx(0.7)
    # two bins: 0.95 (1 of 2 right, gap 0.45) and 0.6 (right, gap 0.4) -> 2/3*.45 + 1/3*.4
    p = np.array([[0.95, 0.05], [0.05, 0.95], [0.4, 0.6]])
    assert expected_calibration_error(p, [0, 0, 1]) == pytest.approx(0.3 + 0.4 / 3)
    # three classes: confidences 0.5 (right) and 0.8 (wrong): (0.5 + 0.8) / 2
    p = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    assert expected_calibration_error(p, [0, 1]) == pytest.approx(0.65)
    assert math.isnan(expected_calibration_error(np.zeros((0, 3)), []))
    with pytest.raises(ValueError, match="gold class"):
        expected_calibration_error(p, [0, 3])


def test_ece_bins_are_right_closed_and_match_a_plain_loop():
    # with 15 bins, 1/3 = 5/15 is the upper edge of bin 5 (index 4), and 1.0 is in the last
    conf = np.array([1 / 3 + 1e-9, 0.999, 1.0, 0.5, 0.5, 0.2])
    p = np.stack([conf, 1 - conf], axis=1)
    y = [0, 1, 0, 0, 1, 1]
    rng = np.random.default_rng(1)
    z = rng.normal(0.0, 2.0, size=(500, 3))
    y2 = rng.integers(0, 3, size=500)
    for proba, gold in ((p, y), (softmax(z), y2)):
        top = proba.max(1)
        right = proba.argmax(1) == np.asarray(gold)
        total = 0.0
        for b in range(15):
            inside = (top > b / 15) & (top <= (b + 1) / 15)
            if inside.any():
                total += inside.sum() * abs(right[inside].mean() - top[inside].mean())
        assert expected_calibration_error(proba, gold) == pytest.approx(total / len(top))


def test_probability_report_uses_the_temperature_only_for_the_calibrated_keys():
    z = np.array([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    r = probability_report(z, [0, 1, 1], temperature=2.0)
    assert tuple(r) == PROBABILITY_KEYS
    sig = 1 / (1 + math.exp(-2.0))
    assert r["ece_uncalibrated"] == pytest.approx(sig - 2 / 3)
    assert r["ece"] == pytest.approx(1 / (1 + math.exp(-1.0)) - 2 / 3)
    assert r["log_loss_uncalibrated"] == pytest.approx(
        -(2 * math.log(sig) + math.log(1 - sig)) / 3)
    assert probability_report(np.zeros((0, 2)), []) == dict.fromkeys(PROBABILITY_KEYS)


# ----- fitting the temperature ----------------------------------------------------------------
def _synthetic(n: int, classes: int, scale: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Logits of a calibrated model (labels drawn from its own softmax)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, scale, size=(n, classes))
    p = softmax(z)
    y = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(1)
    return z, y


@pytest.mark.parametrize("factor", [3.0, 0.5])
def test_fit_recovers_a_known_temperature(factor):
    z, y = _synthetic(20_000, 3, 2.0, seed=7)
    assert fit_temperature(z, y) == pytest.approx(1.0, rel=0.05)  # calibrated already
    fitted = fit_temperature(factor * z, y)  # over- (3) or under-confident (0.5) copies
    assert fitted == pytest.approx(factor, rel=0.05)
    assert fit_temperature(factor * z, y) == fitted  # deterministic, bit for bit
    # the fit is the minimum of the NLL: nudging T either way does worse
    nll = log_loss_from_logits(factor * z, y, fitted)
    assert nll <= log_loss_from_logits(factor * z, y, fitted * 1.01)
    assert nll <= log_loss_from_logits(factor * z, y, fitted / 1.01)


def test_fit_edge_cases():
    assert fit_temperature(np.zeros((0, 2)), []) == 1.0
    assert fit_temperature(np.zeros((5, 2)), [0, 1, 0, 1, 0]) == 1.0  # flat: nothing to gain
    # separable data wants T -> 0: the search stops at the bracket and says so
    z = np.array([[1.0, 0.0], [0.0, 1.0]] * 5)
    c = fit_calibration(z, [0, 1] * 5)
    assert c["at_bound"] and c["temperature"] == pytest.approx(math.exp(-5), rel=1e-4)
    assert c["dev_nll_after"] < c["dev_nll_before"]
    assert fit_calibration(np.zeros((0, 2)), [])["method"] == "none"
    assert golden_section(lambda x: abs(x - 0.3), -5, 5, tol=1e-9) == pytest.approx(0.3)


def test_temperature_from_config():
    assert temperature_from_config({}) == 1.0
    assert temperature_from_config({"calibration": {"temperature": 1.5}}) == 1.5
    with pytest.raises(ValueError, match="object"):
        temperature_from_config({"calibration": [1.5]})
    for bad in (0, -1.0, "2", float("inf"), float("nan"), 5e-324, True, None):
        with pytest.raises(ValueError):
            temperature_from_config({"calibration": {"temperature": bad}})


# ----- fine-tuning ------------------------------------------------------------------------------
def noisy_rows(n: int, seed: int, noise: float = 0.25) -> list[tuple[str, str]]:
    """One sentiment cue per text, a quarter of the labels flipped, and a word unique to each
    text that a model can memorise: training drives it to over-confidence."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = "pos" if i % 2 == 0 else "neg"
        words = [*rng.sample(NEUTRAL, 3), rng.choice(POSITIVE if label == "pos" else NEGATIVE),
                 f"id{seed}x{i}"]
        rng.shuffle(words)
        if rng.random() < noise:
            label = "neg" if label == "pos" else "pos"
        rows.append((label, " ".join(words)))
    return rows


def noisy_config(**kw) -> FinetuneConfig:
    base = {"dim": 16, "epochs": 12, "lr": 0.05, "patience": 0, "seed": 0, "threads": 1}
    base.update(kw)
    return FinetuneConfig(**base)


@pytest.fixture(scope="module")
def noisy(tmp_path_factory):
    d = tmp_path_factory.mktemp("noisy")
    train = write_tsv(d / "train.tsv", noisy_rows(200, 1))
    dev = write_tsv(d / "dev.tsv", noisy_rows(100, 2))
    test = write_tsv(d / "test.tsv", noisy_rows(100, 3))
    model = finetune("none", d / "task", train, dev, test, noisy_config(), log=None)
    return d, model


def test_overconfident_model_is_calibrated_on_dev(noisy):
    d, model = noisy
    cfg = json.loads((d / "task" / "config.json").read_text())
    c = cfg["calibration"]
    assert c["method"] == "temperature" and c["fitted_on"] == "dev" and c["examples"] == 100
    assert c["temperature"] > 1.2  # over-confident: the probabilities are softened
    assert c["dev_nll_after"] < c["dev_nll_before"]
    assert model.temperature == c["temperature"] and model.calibrated
    # what is stored is what the dev set says
    dev = model.evaluate(d / "dev.tsv")
    assert dev["log_loss"] == pytest.approx(c["dev_nll_after"], rel=1e-6)
    assert dev["log_loss_uncalibrated"] == pytest.approx(c["dev_nll_before"], rel=1e-6)
    assert dev["ece"] < dev["ece_uncalibrated"]
    end = json.loads((d / "task" / "training.jsonl").read_text().splitlines()[-1])
    assert end["event"] == "end" and end["temperature"] == c["temperature"]
    assert end["dev_nll_after"] == c["dev_nll_after"] and "test_ece" in end
    metrics = json.loads((d / "task" / "metrics.json").read_text())
    assert metrics["calibration"]["temperature"] == c["temperature"]
    for split in ("dev", "test"):
        assert set(PROBABILITY_KEYS) <= set(metrics[split])
    assert metrics["dev"]["log_loss"] == pytest.approx(c["dev_nll_after"])


def test_probabilities_are_tempered_and_labels_unchanged(noisy):
    d, model = noisy
    loaded = TaskModel.load(d / "task")
    texts = ["the film was superb", "a dull plot id1x3", "story", ""]
    logits = loaded.predict_logits(texts)
    np.testing.assert_allclose(loaded.predict_proba(texts),
                               softmax(logits, loaded.temperature), atol=1e-7)
    np.testing.assert_allclose(loaded.predict_proba(texts, calibrated=False), softmax(logits),
                               atol=1e-7)
    assert loaded.predict_proba(texts, dtype=np.float64).dtype == np.float64
    plain, tempered = softmax(logits), softmax(logits, loaded.temperature)
    assert (tempered.max(1) < plain.max(1)).all()  # T > 1 softens every prediction
    assert loaded.predict(texts) == [loaded.labels[i] for i in plain.argmax(1)]


def test_same_seed_same_temperature_and_resume(tmp_path, noisy):
    d, model = noisy
    cfg = noisy_config(epochs=4, checkpoint_interval=0)
    full = finetune("none", tmp_path / "full", d / "train.tsv", d / "dev.tsv", None, cfg,
                    log=None)
    again = finetune("none", tmp_path / "again", d / "train.tsv", d / "dev.tsv", None, cfg,
                     log=None)
    assert full.temperature == again.temperature and full.calibrated

    def stop_after_two(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetune("none", tmp_path / "cut", d / "train.tsv", d / "dev.tsv", None, cfg, log=None,
                 on_epoch=stop_after_two)
    partial = TaskModel.load(tmp_path / "cut")  # usable while training; not yet calibrated
    assert partial.temperature == 1.0 and not partial.calibrated
    resumed = finetune("none", tmp_path / "cut", d / "train.tsv", d / "dev.tsv", None,
                       resume=True, log=None)
    assert resumed.temperature == full.temperature
    texts = ["the film was superb", "a dull plot", "story"]
    np.testing.assert_allclose(resumed.predict_proba(texts), full.predict_proba(texts),
                               atol=1e-6)


def test_no_calibrate_keeps_the_plain_softmax(tmp_path, noisy):
    d, _ = noisy
    model = finetune("none", tmp_path / "t", d / "train.tsv", d / "dev.tsv", None,
                     noisy_config(epochs=2, calibrate=False), log=None)
    c = json.loads((tmp_path / "t" / "config.json").read_text())["calibration"]
    assert c["method"] == "none" and c["temperature"] == 1.0 and c["fitted_on"] is None
    assert not model.calibrated
    r = model.evaluate(d / "dev.tsv")
    assert r["ece"] == r["ece_uncalibrated"] and r["log_loss"] == r["log_loss_uncalibrated"]


def test_model_saved_before_calibration_loads_with_temperature_one(tmp_path, noisy):
    d, model = noisy
    old = tmp_path / "old"
    model.save(old)
    cfg = json.loads((old / "config.json").read_text())
    del cfg["calibration"]
    cfg["training"].pop("calibrate")
    (old / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    loaded = TaskModel.load(old)
    assert loaded.temperature == 1.0 and not loaded.calibrated
    texts = ["the film was superb", "a dull plot"]
    np.testing.assert_allclose(loaded.predict_proba(texts),
                               softmax(model.predict_logits(texts)), atol=1e-7)
    r = loaded.evaluate(d / "test.tsv")
    assert r["ece"] == r["ece_uncalibrated"] and r["temperature"] == 1.0
    # and a broken temperature is refused by name
    cfg["calibration"] = {"temperature": -2}
    (old / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    with pytest.raises(TokvecError, match="temperature"):
        TaskModel.load(old)


# ----- the command line -------------------------------------------------------------------------
def test_predict_metrics_reports_calibration(noisy, tmp_path, capsys):
    d, model = noisy
    capsys.readouterr()
    assert main(["predict", str(d / "task"), "--input", str(d / "test.tsv"), "--metrics"]) == 0
    report = json.loads(capsys.readouterr().out)
    for key in PROBABILITY_KEYS:
        assert isinstance(report[key], float), key
    assert 0.0 <= report["ece"] <= 1.0 and report["log_loss"] > 0
    assert report["temperature"] == model.temperature and report["calibrated"] is True
    assert report["probability_examples"] == 100
    # a gold label the model does not know: scored as wrong, left out of log-loss and ECE
    odd = write_tsv(tmp_path / "odd.tsv", [*noisy_rows(10, 3), ("neutral", "the film")])
    assert main(["predict", str(d / "task"), "--input", str(odd), "--metrics"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["examples"] == 11 and report["probability_examples"] == 10
    ten = model.evaluate(write_tsv(tmp_path / "ten.tsv", noisy_rows(10, 3)))
    assert report["log_loss"] == pytest.approx(ten["log_loss"])
    assert report["ece"] == pytest.approx(ten["ece"])
    assert report["accuracy"] == pytest.approx(ten["accuracy"] * 10 / 11)


def test_finetune_summary_prints_the_temperature(noisy, tmp_path, capsys):
    d, _ = noisy
    capsys.readouterr()
    assert main(["finetune", "none", "-o", str(tmp_path / "t"), "--train", str(d / "train.tsv"),
                 "--dev", str(d / "dev.tsv"), "--dim", "16", "--lr", "0.05", "--epochs", "2",
                 "--threads", "1"]) == 0
    err = capsys.readouterr().err
    t = TaskModel.load(tmp_path / "t").temperature
    assert f"temperature {t:.4g} (dev NLL " in err
    assert main(["finetune", "none", "-o", str(tmp_path / "u"), "--train", str(d / "train.tsv"),
                 "--dev", str(d / "dev.tsv"), "--dim", "16", "--epochs", "1", "--threads", "1",
                 "--no-calibrate"]) == 0
    assert "uncalibrated (temperature 1)" in capsys.readouterr().err


def test_probability_printing_never_rounds_to_zero_or_one():
    assert probability(0.5) == 0.5 and probability(0.1234567) == 0.123457
    assert probability(0.870166666) == 0.870167  # ordinary values: 6 significant digits
    assert probability(0.970166666) == 0.9701667  # above 0.9: 6 of 1 - p
    assert probability(1 - 1.2345678e-9) == 0.99999999876543
    for p in (1 - 1e-7, 1 - 3.3e-10, 1 - 1.1e-15, 0.5 + 1e-9, 1e-7, 2.5e-12, 5e-324):
        shown = probability(p)
        assert 0.0 < shown < 1.0
        assert json.loads(json.dumps(shown)) == shown
        # six significant digits of p, and of 1 - p
        assert abs(shown - p) <= 5e-6 * min(p, 1 - p) + 1e-16
    assert probability(1.0) == 1.0 and probability(0.0) == 0.0


def test_predict_proba_output_is_valid_json_without_false_certainty(noisy, tmp_path, capsys):
    d, _ = noisy
    texts = ["the film was superb", "awful dull ugly poor bad", "good great"]
    inp = tmp_path / "in.txt"
    inp.write_text("".join(t + "\n" for t in texts), encoding="utf-8")
    sharp = tmp_path / "sharp"
    model = TaskModel.load(d / "task")
    model.save(sharp)
    logits = model.predict_logits(texts)
    margin = float(np.abs(logits[:, 0] - logits[:, 1]).max())
    cfg = json.loads((sharp / "config.json").read_text())
    # sharpen: the surest text gets 1 - e^-25 (6 decimals would print 1.0 and 0.0)
    cfg["calibration"]["temperature"] = margin / 25
    (sharp / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    capsys.readouterr()
    assert main(["predict", str(sharp), "--input", str(inp), "--proba"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 3
    values = [v for r in rows for v in r["proba"].values()]
    assert all(0.0 < v < 1.0 for v in values)
    assert min(values) == pytest.approx(math.exp(-25), rel=1e-5)  # not printed as 0
    assert 1 - max(values) == pytest.approx(min(values), rel=1e-5)
    for r in rows:
        assert sum(r["proba"].values()) == pytest.approx(1.0, abs=1e-6)
        assert r["label"] == max(r["proba"], key=r["proba"].get)
