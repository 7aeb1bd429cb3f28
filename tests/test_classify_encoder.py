"""The encoder head: fine-tuning a (tiny, randomly initialised) contextual model end to end."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_classify_train import make_rows, write_tsv

from tokvec.classify import FinetuneConfig, TaskModel, finetune
from tokvec.contextual import ContextualModel, load_contextual
from tokvec.contextual.config import EncoderConfig
from tokvec.errors import TokvecError
from tokvec.tokenization import Tokenizer


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("enc")
    train = write_tsv(d / "train.tsv", make_rows(96, 1))
    dev = write_tsv(d / "dev.tsv", make_rows(30, 2))
    corpus = d / "corpus.txt"
    corpus.write_text("".join(text + "\n" for _, text in make_rows(200, 5)), encoding="utf-8")
    tok = Tokenizer.train([corpus], kind="wordpiece", vocab_size=80, lowercase=True)
    torch.manual_seed(0)
    arch = EncoderConfig(tok.vocab_size, d_model=16, layers=1, heads=2, ffn=32, max_len=32)
    ContextualModel.create("bert", arch, tok).save(d / "bert")
    return d, train, dev


@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_encoder_head_learns_and_is_self_contained(setup, pool):
    d, train, dev = setup
    out = d / f"task-{pool}"
    model = finetune(str(d / "bert"), out, train, dev, None,
                     FinetuneConfig(head="encoder", pool=pool, lr=3e-3, epochs=6, warmup=0.1,
                                    batch_size=16), log=None)
    assert model.metrics["dev"]["accuracy"] >= 0.9
    assert (out / "encoder" / "config.json").is_file()
    assert (out / "head.safetensors").is_file() and (out / "tokenizer.json").is_file()
    loaded = TaskModel.load(out)
    texts = ["the film was superb and lovely", "dull awful", "the"]
    np.testing.assert_allclose(loaded.predict_proba(texts), model.predict_proba(texts),
                               atol=1e-5)
    # The base is unchanged; the task directory carries the fine-tuned encoder.
    base = load_contextual(d / "bert").module.state_dict()
    tuned = load_contextual(out / "encoder").module.state_dict()
    assert any(not torch.equal(base[k], tuned[k]) for k in base)


def test_freeze_encoder_trains_only_the_output_layer(setup):
    d, train, dev = setup
    out = d / "task-frozen"
    finetune(str(d / "bert"), out, train, dev, None,
             FinetuneConfig(head="encoder", freeze_encoder=True, lr=1e-2, epochs=2), log=None)
    base = load_contextual(d / "bert").module.state_dict()
    tuned = load_contextual(out / "encoder").module.state_dict()
    assert all(torch.equal(base[k], tuned[k]) for k in base)


def test_layer_decay_gives_each_depth_its_own_rate(setup):
    from tokvec.classify.heads import EncoderClassifier
    from tokvec.classify.optim import layer_depths, make_optimizers

    d, train, dev = setup
    network = EncoderClassifier(load_contextual(d / "bert").module, 16, 2)
    cfg = FinetuneConfig(head="encoder", layer_decay=0.5).resolved()
    (opt,) = make_optimizers(network, cfg)
    depths, top = layer_depths(network)
    assert top == 2  # one block: embeddings 0, block 1, classifier and final norm 2
    scale = {id(p): g["lr_scale"] for g in opt.param_groups for p in g["params"]}
    assert set(scale) == {id(p) for p in network.parameters()}
    enc = network.encoder
    assert scale[id(enc.tok_emb.weight)] == 0.25 and scale[id(enc.blocks[0].qkv.weight)] == 0.5
    assert scale[id(network.out.weight)] == 1.0
    assert all(g["weight_decay"] == 0.0 for g in opt.param_groups
               if any(p.ndim < 2 for p in g["params"]))
    tuned = finetune(str(d / "bert"), d / "task-decay", train, dev, None,
                     FinetuneConfig(head="encoder", lr=3e-3, epochs=6, batch_size=16,
                                    layer_decay=0.8), log=None)
    assert tuned.metrics["dev"]["accuracy"] >= 0.9
    with pytest.raises(TokvecError, match="--layer-decay applies to the encoder head only"):
        FinetuneConfig(head="bag", layer_decay=0.8).resolved()
    with pytest.raises(TokvecError, match=r"layer decay must be in \(0, 1\]"):
        FinetuneConfig(head="encoder", layer_decay=1.5).resolved()


def test_texts_beyond_the_window_are_cut_with_a_warning(setup):
    d, train, dev = setup
    long = write_tsv(d / "long.tsv", [*make_rows(40, 1), ("pos", "superb " * 40)])
    messages: list[str] = []
    finetune(str(d / "bert"), d / "task-long", long, dev, None,
             FinetuneConfig(head="encoder", epochs=1), log=messages.append)
    assert any(m.startswith(f"{long}:41: text has ") and "more than the window of 32" in m
               for m in messages), messages
    with pytest.raises(TokvecError, match="exceeds the model's window"):
        finetune(str(d / "bert"), d / "task-x", train, dev, None,
                 FinetuneConfig(head="encoder", max_len=64, epochs=1), log=None)
