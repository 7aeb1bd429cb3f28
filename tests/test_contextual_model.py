"""Contextual encoders: shapes, masking, save/load round trips, embedding and pooling."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from tokvec.contextual import ContextualModel, load_contextual
from tokvec.contextual.bert import MaskedLM, TransformerEncoder
from tokvec.contextual.bilstm import reverse_padded
from tokvec.contextual.config import BiLSTMConfig, EncoderConfig
from tokvec.contextual.embedding import as_contextual, token_vectors
from tokvec.errors import TokvecError
from tokvec.modeldir import load_model
from tokvec.static_model import StaticModel
from tokvec.tokenization import Tokenizer

TEXTS = ["the river bank was muddy", "she went to the bank to borrow money",
         "a bat flew out of the cave", "he swung the bat at the ball"] * 10


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    path = tmp_path_factory.mktemp("c") / "c.txt"
    path.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    return Tokenizer.train([path], kind="wordpiece", vocab_size=120, lowercase=True)


def _bert(tok, norm="pre", seed=0):
    torch.manual_seed(seed)
    cfg = EncoderConfig(tok.vocab_size, d_model=16, layers=2, heads=2, ffn=32, max_len=12,
                        norm=norm)
    return ContextualModel.create("bert", cfg, tok)


def _bilstm(tok, seed=0):
    torch.manual_seed(seed)
    return ContextualModel.create(
        "bilstm", BiLSTMConfig(tok.vocab_size, d_model=16, layers=2, hidden=24, max_len=12),
        tok)


@pytest.mark.parametrize("make", [lambda t: _bert(t, "pre"), lambda t: _bert(t, "post"),
                                  _bilstm])
def test_padding_does_not_change_real_token_vectors(tokenizer, make):
    m = make(tokenizer)
    m.module.eval()
    alone = m.embed(["a bat flew"], pool="none")[0]
    # batched with a longer text, "a bat flew" is padded; its vectors must not move
    batched = m.embed(["a bat flew", "she went to the bank to borrow money"], pool="none")[0]
    assert alone.shape == batched.shape == (5, 16)
    np.testing.assert_allclose(alone, batched, atol=1e-5)


def test_context_changes_the_vector_of_the_same_word(tokenizer):
    m = _bert(tokenizer)
    a, b = token_vectors(m, ["the river bank", "the bank to borrow money"])
    va, vb = a.word_vectors[a.words.index("bank")], b.word_vectors[b.words.index("bank")]
    assert not np.allclose(va, vb)


def test_reverse_padded_reverses_only_real_steps():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    out = reverse_padded(x, torch.tensor([3, 2]))
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    assert reverse_padded(out, torch.tensor([3, 2])).tolist() == x.tolist()


def test_bilstm_directions_are_causal(tokenizer):
    """The forward LM at position t must not see tokens after t (else its loss is a cheat)."""
    m = _bilstm(tokenizer).module.eval()
    ids = torch.tensor([[2, 10, 11, 12, 13, 3]])
    changed = ids.clone()
    changed[0, 4] = 20
    _, fwd_a, bwd_a = m.lm.directional_states(ids)
    _, fwd_b, bwd_b = m.lm.directional_states(changed)
    torch.testing.assert_close(fwd_a[-1][:, :4], fwd_b[-1][:, :4])
    assert not torch.allclose(fwd_a[-1][:, 4:], fwd_b[-1][:, 4:])
    torch.testing.assert_close(bwd_a[-1][:, 5:], bwd_b[-1][:, 5:])
    assert not torch.allclose(bwd_a[-1][:, :4], bwd_b[-1][:, :4])


def test_mlm_loss_uses_only_masked_positions(tokenizer):
    m = _bert(tokenizer)
    mlm = MaskedLM(m.module, m.head).eval()
    ids = torch.randint(5, tokenizer.vocab_size, (2, 10))
    positions = torch.tensor([3, 14])
    targets = ids.reshape(-1)[positions]
    loss = mlm(ids, positions, targets)
    with torch.no_grad():
        hidden = m.module(ids).reshape(-1, 16)[positions]
        logits = m.head(hidden, m.module.tok_emb.weight)
    expected = torch.nn.functional.cross_entropy(logits, targets)
    torch.testing.assert_close(loss, expected)
    assert torch.isclose(loss, torch.tensor(np.log(tokenizer.vocab_size), dtype=loss.dtype),
                         rtol=0.1)


@pytest.mark.parametrize("make", [_bert, _bilstm])
def test_save_load_round_trip(tokenizer, make, tmp_path):
    m = make(tokenizer)
    before = m.embed(TEXTS[:3], pool="mean")
    m.save(tmp_path / "m")
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["kind"] == m.kind and cfg["format_version"] == 1 and cfg["d_model"] == 16
    table = load_file(str(tmp_path / "m" / "embeddings.safetensors"))["embeddings"]
    assert table.shape == (tokenizer.vocab_size, 16)  # plain safetensors users get the table
    loaded = load_model(tmp_path / "m")
    assert isinstance(loaded, ContextualModel)
    np.testing.assert_array_equal(loaded.embed(TEXTS[:3], pool="mean"), before)
    assert (loaded.d_model, loaded.max_len, loaded.pad_id, loaded.cls_id) == (16, 12, 0, 2)
    info = loaded.info()
    assert info["parameters"]["embeddings"] == tokenizer.vocab_size * 16
    assert sum(info["parameters"].values()) == sum(
        p.numel() for p in loaded.module.parameters()) + sum(
        p.numel() for p in (loaded.head.parameters() if loaded.head else []))
    if m.kind == "bert":  # the MLM head travels too, so pretraining can go on
        for k, v in m.head.state_dict().items():
            torch.testing.assert_close(loaded.head.state_dict()[k], v)


def test_interface_for_fine_tuning(tokenizer):
    m = _bert(tokenizer)
    encs = m.encode_texts(["a bat", "x " * 40], batch_size=2)
    assert encs[0].tokens[0] == "[CLS]" and encs[0].tokens[-1] == "[SEP]"
    assert len(encs[1].ids) == m.max_len and encs[1].tokens[-1] == "[SEP]"
    ids = torch.tensor([encs[0].ids + [m.pad_id] * 2])
    hidden = m.module(ids, ids != m.pad_id)
    assert hidden.shape == (1, len(encs[0].ids) + 2, m.d_model)
    assert isinstance(m.tokenizer, Tokenizer)


def test_pools_and_errors(tokenizer):
    m = _bert(tokenizer)
    m.module.train()
    none = m.embed(["a bat", "the bank"], pool="none")
    mean = m.embed(["a bat", "the bank"], pool="mean")
    cls = m.embed(["a bat", "the bank"], pool="cls")
    np.testing.assert_allclose(mean[0], none[0].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(cls[1], none[1][0])
    assert m.module.training  # embedding runs in eval mode and leaves the mode as it found it
    with pytest.raises(TokvecError, match="unknown pooling"):
        m.embed(["a"], pool="max")


def test_static_models_embed_through_their_table():
    model = StaticModel.from_vectors(["bank", "river", "money"],
                                     np.arange(9, dtype=np.float32).reshape(3, 3))
    m = as_contextual(model)
    out = token_vectors(m, ["river bank", "bank money"])
    np.testing.assert_array_equal(out[0].vectors[1], out[1].vectors[0])  # same row, any context
    assert out[0].tokens == ["river", "bank"]
    with pytest.raises(TokvecError, match=r"no \[CLS\] vector"):
        m.embed(["bank"], pool="cls")


def test_load_contextual_refuses_static_and_bad_weights(tokenizer, tmp_path):
    StaticModel.from_vectors(["a"], np.ones((1, 2), np.float32)).save(tmp_path / "s")
    with pytest.raises(TokvecError, match="expected a contextual model"):
        load_contextual(tmp_path / "s")
    _bert(tokenizer).save(tmp_path / "b")
    cfg = json.loads((tmp_path / "b" / "config.json").read_text())
    cfg["layers"] = 3
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(TokvecError, match="do not fit the config"):
        load_contextual(tmp_path / "b")


def test_config_validation():
    with pytest.raises(TokvecError, match="divisible"):
        EncoderConfig(10, d_model=10, heads=3)
    with pytest.raises(TokvecError, match="even d_model"):
        BiLSTMConfig(10, d_model=7)
    with pytest.raises(TokvecError, match="dropout"):
        EncoderConfig(10, d_model=8, heads=2, dropout=1.5)


@pytest.mark.parametrize("norm", ["pre", "post"])
def test_forward_at_equals_full_forward_at_those_positions(norm):
    torch.manual_seed(0)
    enc = TransformerEncoder(EncoderConfig(100, 16, 3, 2, 32, 12, norm=norm)).eval()
    ids = torch.randint(5, 100, (4, 12))
    positions = torch.tensor([0, 5, 6, 13, 40, 41, 47])  # rows 0, 1 and 3; none in row 2
    full = enc(ids).reshape(-1, 16)[positions]
    torch.testing.assert_close(enc.forward_at(ids, positions), full, atol=1e-5, rtol=1e-5)
