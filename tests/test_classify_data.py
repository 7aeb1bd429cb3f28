"""Reading labelled files, labels, metrics and featurization for the classifier."""

from __future__ import annotations

import numpy as np
import pytest

from tokvec.classify.data import LabelMap, check_classes, read_labelled, read_texts
from tokvec.classify.features import Featurizer, batch_order
from tokvec.classify.metrics import class_balance, classification_report
from tokvec.errors import TokvecError
from tokvec.static_model import StaticModel


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_labelled_keeps_tabs_in_text_and_skips_blank_lines(tmp_path):
    path = _write(tmp_path, "t.tsv", "pos\tgood\tfun\n\n  \nneg\tbad\r\n")
    data = read_labelled(path)
    assert data.labels == ["pos", "neg"]
    assert data.texts == ["good\tfun", "bad"]
    assert data.lines == [1, 4]


@pytest.mark.parametrize(("content", "line", "words"), [
    ("pos\tok\nno label here\n", 2, "no tab"),
    ("pos\tok\n\tnothing before the tab\n", 2, "empty label"),
    ("pos\tok\nneg\t   \n", 2, "no text"),
])
def test_bad_lines_name_file_and_line(tmp_path, content, line, words):
    path = _write(tmp_path, "bad.tsv", content)
    with pytest.raises(TokvecError) as err:
        read_labelled(path)
    assert err.value.line == line
    assert err.value.path == str(path)
    assert words in str(err.value)
    assert str(err.value).startswith(f"{path}:{line}: ")


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_labelled_file(tmp_path, content):
    path = _write(tmp_path, "empty.tsv", content)
    with pytest.raises(TokvecError, match="empty"):
        read_labelled(path)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(TokvecError, match="no such file"):
        read_labelled(tmp_path / "nope.tsv")


def test_read_texts_keeps_blank_lines_aligned(tmp_path):
    path = _write(tmp_path, "in.txt", "one\n\nthree\n")
    assert read_texts(path) == ["one", "", "three"]
    with pytest.raises(TokvecError, match="empty"):
        read_texts(_write(tmp_path, "e.txt", "\n"))


def test_label_map_refuses_unknown_label_with_line(tmp_path):
    labels = LabelMap.from_labels(["b", "a", "b"])
    assert labels.labels == ["a", "b"]
    with pytest.raises(TokvecError) as err:
        labels.encode(["a", "c"], path="dev.tsv", lines=[3, 9])
    assert str(err.value).startswith("dev.tsv:9: label 'c' does not occur")


def test_single_class_training_data_is_refused(tmp_path):
    data = read_labelled(_write(tmp_path, "one.tsv", "pos\ta\npos\tb\n"))
    with pytest.raises(TokvecError, match="at least 2"):
        check_classes(data)


def test_report_matches_hand_computation():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    r = classification_report(gold, pred)
    assert r["accuracy"] == pytest.approx(4 / 6)
    # a: p=1, r=2/3 -> f1 0.8; b: p=1/2, r=1/2 -> 0.5; c: p=1/2, r=1 -> 2/3
    assert r["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert r["confusion"]["a"] == {"a": 2, "b": 1, "c": 0}
    assert r["per_class"]["c"]["support"] == 1


def test_report_counts_labels_outside_the_given_order():
    r = classification_report(["x", "new"], ["x", "x"], labels=["x", "y"])
    assert r["labels"] == ["x", "y", "new"]
    assert r["confusion"]["new"]["x"] == 1
    assert r["macro_f1"] == pytest.approx((2 / 3 + 0.0) / 2)  # y neither seen nor predicted


def test_class_balance_reports_imbalance():
    bal = class_balance(["neg"] * 9 + ["pos"])
    assert bal["neg"] == {"count": 9, "proportion": 0.9}
    assert list(bal) == ["neg", "pos"]


def _tokenizer():
    words = ["good", "bad", "film", "very"]
    return StaticModel.from_vectors(words, np.eye(4, dtype=np.float32)).tokenizer


def test_featurizer_truncates_and_reports():
    feat = Featurizer(_tokenizer(), max_len=3)
    enc = feat.encode(["good film", "very very very good film", ""])
    assert [len(x) for x in enc.ids] == [2, 3, 1]
    assert enc.truncated == [1]
    assert enc.lengths[1] == 5
    assert enc.ids[2].tolist() == [feat.unk_id]  # an empty text reads as one [UNK]


def test_featurizer_with_special_tokens_keeps_cls_and_sep():
    feat = Featurizer(_tokenizer(), max_len=4, special_tokens=True)
    ids = feat.encode(["very very very good film"]).ids[0].tolist()
    assert ids[0] == feat.cls_id and ids[-1] == feat.sep_id and len(ids) == 4


def test_bigrams_hash_unknown_words_by_surface_and_are_stable():
    feat = Featurizer(_tokenizer(), bigram_buckets=1000)
    a = feat.encode(["good zebra", "good yak"]).bigrams
    assert a is not None
    assert a[0].tolist() != a[1].tolist()  # both unknown, but different surfaces
    again = Featurizer(_tokenizer(), bigram_buckets=1000).encode(["good zebra"]).bigrams
    assert again is not None and again[0].tolist() == a[0].tolist()


def test_batch_order_covers_every_example_once():
    lengths = list(np.random.default_rng(1).integers(1, 50, 103))
    batches = batch_order(lengths, 8, np.random.default_rng(0))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(103))
    assert max(len(b) for b in batches) == 8
