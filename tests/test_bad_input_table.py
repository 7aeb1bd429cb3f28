"""Every CLI verb against bad input: one clear line, exit status 2, nothing written.

One table, one case per row: the arguments (with ``{placeholders}`` for the prepared inputs),
and a fragment the error line must contain. Each case also checks that no traceback is printed
and that the output path named in the arguments was not created.
"""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from tokvec.cli import main
from tokvec.static_model import StaticModel

WORDS = ["king", "queen", "man", "woman", "cat", "dog"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "empty.txt").write_bytes(b"")
    (d / "blank.txt").write_bytes(b"  \n\n\t\n")
    (d / "binary.bin").write_bytes(b"\x00\x01\x02PK\x03\x04" * 100)
    (d / "latin1.txt").write_bytes(b"good line\nna\xefve caf\xe9\n")
    (d / "corpus.txt").write_text("the cat sat on the mat\nthe dog sat on the log\n" * 30)
    (d / "text.txt").write_text("the cat\n")
    (d / "vec_bad_count.txt").write_text("2 3\ncat 0.1 0.2 0.3\ndog 0.1 0.2\n")
    (d / "vec_nan_word.txt").write_text("2 3\ncat 0.1 0.2 0.3\ndog 0.1 zero 0.3\n")
    (d / "vec_header.txt").write_text("two three\ncat 0.1 0.2 0.3\n")
    (d / "vec_rows.txt").write_text("5 2\ncat 0.1 0.2\ndog 0.3 0.4\n")
    (d / "vec_dup.txt").write_text("cat 0.1 0.2\ncat 0.3 0.4\n")
    rows = b"".join(w.encode() + b" " + struct.pack("<3f", 1, 2, 3) for w in ["cat", "dog"])
    (d / "vec_trunc.bin").write_bytes(b"2 3\n" + rows[:-5])
    (d / "pairs_short.tsv").write_text("cat\tdog\n")
    (d / "pairs_nan.tsv").write_text("cat\tdog\thigh\n")
    (d / "analogy_bad.txt").write_text(": s\nman king woman\n")
    (d / "wic_bad.tsv").write_text("maybe\tbank\tThe bank.\tThe river bank.\n")
    (d / "train.tsv").write_text("pos\tgood film\nneg\tbad film\n" * 10)
    (d / "nolabel.tsv").write_text("pos\tgood film\njust text without a tab\n")
    model = d / "model"
    StaticModel.from_vectors(WORDS, np.eye(6, dtype=np.float32)).save(model)
    bad_cfg = d / "badcfg"
    bad_cfg.mkdir()
    (bad_cfg / "config.json").write_text("{broken")
    evil = d / "evil"
    evil.mkdir()
    (evil / "config.json").write_text('{"format_version": 1, "kind": "python-code"}')
    outside = d / "outside"
    outside.mkdir()
    (outside / "config.json").write_text(
        '{"format_version": 1, "kind": "static", "embeddings_file": "/etc/passwd"}')
    notable = d / "notable"
    notable.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        (notable / name).write_bytes((model / name).read_bytes())
    locked = d / "locked.txt"
    locked.write_text("secret words here\n")
    os.chmod(locked, 0)
    return d


CASES = [
    # tokenizer / vocab
    ("tokenizer train {d}/empty.txt -o {out}", "empty"),
    ("tokenizer train {d}/blank.txt -o {out}", "empty"),
    ("tokenizer train {d}/binary.bin -o {out}", "binary data"),
    ("tokenizer train {d}/latin1.txt -o {out}", "latin1.txt:2: invalid UTF-8"),
    ("tokenizer train {d}/missing.txt -o {out}", "no such file"),
    ("tokenizer train {d} -o {out}", "is a directory"),
    ("tokenizer encode {d}/model -i {d}/missing.txt -o {out}", "no such file"),
    ("tokenizer encode {d}/nowhere -i {d}/text.txt -o {out}", "no tokenizer.json"),
    ("vocab {d}/empty.txt -o {out}", "empty"),
    ("vocab {d}/latin1.txt -o {out}", "invalid UTF-8"),
    ("init {d}/model -o {out} --pretrained {d}/vec_bad_count.txt", "expected 3 values"),
    # train
    ("train {d}/empty.txt -o {out}", "empty"),
    ("train {d}/binary.bin -o {out}", "binary"),
    ("train {d}/missing.txt -o {out}", "no such file"),
    ("train {d}/corpus.txt -o {out} --min-count 1000", "above every count"),
    ("train {d}/corpus.txt -o {out} --window 0", "window"),
    ("train {d}/corpus.txt -o {out} --dim 0", "dim"),
    ("train {d}/corpus.txt -o {out} --epochs 0", "epochs"),
    ("train {d}/corpus.txt -o {out} --lr -1", "lr"),
    ("train {d}/corpus.txt -o {out} --negative -2", "negative"),
    # import / export
    ("import {d}/vec_bad_count.txt -o {out}", "vec_bad_count.txt:3: expected 3 values"),
    ("import {d}/vec_nan_word.txt -o {out}", "vec_nan_word.txt:3"),
    ("import {d}/vec_header.txt -o {out} --format word2vec", "vec_header.txt:1"),
    ("import {d}/vec_rows.txt -o {out}", "vec_rows.txt"),
    ("import {d}/vec_dup.txt -o {out}", "duplicate"),
    ("import {d}/vec_trunc.bin -o {out}", "truncated"),
    ("import {d}/empty.txt -o {out}", "empty"),
    ("import {d}/missing.txt -o {out}", "no such file"),
    ("export {d}/nowhere -o {out} --format glove", "no such model directory"),
    # queries and evaluation
    ("neighbors {d}/model unicorn", "not in the vocabulary"),
    ("neighbors {d}/badcfg cat", "malformed JSON"),
    ("neighbors {d}/evil cat", "unknown model kind"),
    ("neighbors {d}/outside cat", "outside the model directory"),
    ("neighbors {d}/notable cat", "missing model file"),
    ("analogy {d}/model man king unicorn", "not in the vocabulary"),
    ("similarity {d}/empty.txt cat dog", "expected a model directory"),
    ("evaluate {d}/model --similarity {d}/pairs_short.tsv", "pairs_short.tsv:1: expected 3"),
    ("evaluate {d}/model --similarity {d}/pairs_nan.tsv", "is not a number"),
    ("evaluate {d}/model --analogy {d}/analogy_bad.txt", "analogy_bad.txt:2: expected 4"),
    ("evaluate {d}/model --similarity {d}/missing.tsv", "no such file"),
    # contextual
    ("pretrain {d}/empty.txt -o {out} --steps 1", "empty"),
    ("pretrain {d}/missing.txt -o {out}", "no such file"),
    ("embed {d}/model --input {d}/missing.txt -o {out}.npy", "no such file"),
    ("evaluate {d}/model --wic {d}/wic_bad.tsv", "wic_bad.tsv:1"),
    # fine-tuning
    ("finetune none -o {out} --train {d}/empty.txt --dev {d}/train.tsv", "empty"),
    ("finetune none -o {out} --train {d}/nolabel.tsv --dev {d}/train.tsv", "nolabel.tsv:2"),
    ("finetune {d}/nowhere -o {out} --train {d}/train.tsv --dev {d}/train.tsv", "nowhere"),
    ("predict {d}/model --input {d}/text.txt", "classifier"),
    ("predict {d}/nowhere --input {d}/text.txt", "no such model directory"),
    # info, plots, sweep
    ("info {d}/nowhere", "no such model directory"),
    ("plot {d}/model -o {out}.png", "no training log"),
    ("map {d}/badcfg -o {out}.png", "malformed JSON"),
    ("sweep {d}/missing.txt -o {out} --dims 10", "no such corpus file"),
    # permission denied (skipped where the tests run as root, who reads everything)
    ("vocab {d}/locked.txt -o {out}", "permission denied"),
    ("train {d}/locked.txt -o {out}", "permission denied"),
]


@pytest.mark.parametrize("argv, fragment", CASES, ids=[c[0].split()[0] + ":" + c[1]
                                                        for c in CASES])
def test_bad_input_is_one_clear_line(inputs, tmp_path, capsys, argv, fragment):
    if "locked" in argv and os.geteuid() == 0:
        pytest.skip("root reads files without permission bits")
    out = tmp_path / "out"
    args = argv.format(d=inputs, out=out).split()
    try:
        code = main(args)
    except SystemExit as exc:  # argparse rejects some values before the verb runs
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("usage:")]
    assert len(lines) == 1, err
    assert not out.exists() and not out.with_suffix(".npy").exists()
    assert not out.with_suffix(".png").exists()
    leftovers = [p.name for p in tmp_path.iterdir()]
    assert leftovers == [], leftovers


def test_table_covers_every_verb_and_enough_cases():
    verbs = {c[0].split()[0] for c in CASES}
    assert len(CASES) >= 40
    assert verbs >= {"tokenizer", "vocab", "init", "train", "import", "export", "neighbors",
                     "analogy", "similarity", "evaluate", "pretrain", "embed", "finetune",
                     "predict", "info", "plot", "map", "sweep"}
