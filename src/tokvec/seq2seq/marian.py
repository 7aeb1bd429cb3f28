"""Export to a HuggingFace transformers MarianMT directory (and so to CTranslate2).

``tokvec export MODEL --format hf-marian -o DIR`` writes ``config.json`` (``MarianConfig``),
``generation_config.json``, ``model.safetensors`` and the tokenizer (``tokenizer.json`` for
``PreTrainedTokenizerFast``, appending the end token to sources as tokvec does), so that::

    from transformers import AutoTokenizer, MarianMTModel
    tok = AutoTokenizer.from_pretrained(DIR); model = MarianMTModel.from_pretrained(DIR)
    model.generate(**tok(["Y dijo Dios"], return_tensors="pt"), num_beams=1)

reproduces tokvec's greedy output, and ``ct2-transformers-converter --model DIR`` converts it.

Vocabulary: transformers' Marian models (and CTranslate2's converter for them) expect the
padding token, which is also where decoding starts, as the last entry with a zero vector. The
export appends such a ``<pad>`` row; tokvec itself starts decoding from its zero ``[PAD]`` row, so
all three decode from the same zero embedding. Every token tokvec never produces (``[PAD]``,
``[CLS]``, ``[MASK]``, ``[UNK]``, the new ``<pad>``) is listed in ``generation_config.json``'s
``bad_words_ids``.

Marian's layout is post-norm, with sinusoidal positions (not stored: transformers rebuilds them),
token vectors scaled by sqrt(d_model), no LayerNorm on the embeddings or after the last layer,
and one vocabulary for both sides. A model trained otherwise (``--norm pre``, learned
positions, per-side vocabularies, a pre-segmented Chinese source) is refused with one line that
says what Marian cannot express. Weight names map one to one; tokvec's fused query/key/value
matrices are split into Marian's three projections.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from tokenizers import processors

from ..atomic import atomic_dir, write_json
from ..errors import TokvecError
from ..vocab import SEP, UNK
from .translator import TranslationModel

MARIAN_PAD = "<pad>"
MARIAN_ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "gelu_tanh": "gelu_pytorch_tanh"}


def check_marian_compatible(model: TranslationModel) -> None:
    """Raise one clear error naming what the Marian layout cannot hold."""
    arch = model.arch
    problems = []
    if arch.norm != "post":
        problems.append("pre-norm layers (Marian is post-norm: train with --norm post)")
    if arch.positions != "sinusoidal":
        problems.append("learned positions (Marian's are sinusoidal)")
    if not arch.shared_vocab:
        problems.append("per-side vocabularies (export needs a joint vocabulary)")
    if not arch.scale_embeddings or arch.embedding_norm:
        problems.append("a BERT-style embedding layer (Marian scales token vectors by "
                        "sqrt(d_model) and has no embedding LayerNorm)")
    if arch.layer_norm_eps != 1e-5:
        problems.append(f"LayerNorm epsilon {arch.layer_norm_eps:g} (Marian's is 1e-5)")
    if arch.activation not in MARIAN_ACTIVATIONS:
        problems.append(f"the {arch.activation} activation")
    for side, how in (("source", model.src_segment), ("target", model.tgt_segment)):
        if how != "none":
            problems.append(f"{how} segmentation of the {side} (a transformers tokenizer "
                            f"cannot reproduce it)")
    if problems:
        raise TokvecError("cannot export to hf-marian: the model has " + "; ".join(problems))


def marian_state(model: TranslationModel) -> dict[str, np.ndarray]:
    """tokvec weights under MarianMTModel's names."""
    net = model.network
    d = model.arch.d_model
    sd = {k: v.detach().cpu().float().numpy() for k, v in net.state_dict().items()}
    out: dict[str, np.ndarray] = {}
    table = np.concatenate([sd["encoder.tok_emb.weight"], np.zeros((1, d), np.float32)])
    for name in ("model.shared.weight", "model.encoder.embed_tokens.weight",
                 "model.decoder.embed_tokens.weight", "lm_head.weight"):
        out[name] = table
    out["final_logits_bias"] = np.concatenate([sd["out_bias"], np.zeros(1, np.float32)])[None]

    def linear(dst: str, weight: np.ndarray, bias: np.ndarray) -> None:
        out[f"{dst}.weight"], out[f"{dst}.bias"] = weight, bias

    def common(src: str, dst: str) -> None:
        w, b = sd[f"{src}.qkv.weight"], sd[f"{src}.qkv.bias"]
        for i, proj in enumerate(("q_proj", "k_proj", "v_proj")):
            linear(f"{dst}.self_attn.{proj}", w[i * d:(i + 1) * d], b[i * d:(i + 1) * d])
        linear(f"{dst}.self_attn.out_proj", sd[f"{src}.attn_out.weight"],
               sd[f"{src}.attn_out.bias"])
        linear(f"{dst}.self_attn_layer_norm", sd[f"{src}.norm1.weight"], sd[f"{src}.norm1.bias"])
        linear(f"{dst}.fc1", sd[f"{src}.ffn_in.weight"], sd[f"{src}.ffn_in.bias"])
        linear(f"{dst}.fc2", sd[f"{src}.ffn_out.weight"], sd[f"{src}.ffn_out.bias"])
        linear(f"{dst}.final_layer_norm", sd[f"{src}.norm2.weight"], sd[f"{src}.norm2.bias"])

    for i in range(model.arch.enc_layers):
        common(f"encoder.blocks.{i}", f"model.encoder.layers.{i}")
    for i in range(model.arch.dec_layers):
        src, dst = f"blocks.{i}", f"model.decoder.layers.{i}"
        common(src, dst)
        linear(f"{dst}.encoder_attn.q_proj", sd[f"{src}.cross_q.weight"],
               sd[f"{src}.cross_q.bias"])
        w, b = sd[f"{src}.cross_kv.weight"], sd[f"{src}.cross_kv.bias"]
        linear(f"{dst}.encoder_attn.k_proj", w[:d], b[:d])
        linear(f"{dst}.encoder_attn.v_proj", w[d:], b[d:])
        linear(f"{dst}.encoder_attn.out_proj", sd[f"{src}.cross_out.weight"],
               sd[f"{src}.cross_out.bias"])
        linear(f"{dst}.encoder_attn_layer_norm", sd[f"{src}.norm_cross.weight"],
               sd[f"{src}.norm_cross.bias"])
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def marian_config(model: TranslationModel) -> dict[str, object]:
    arch, sp = model.arch, model.special
    vocab, pad = arch.tgt_vocab + 1, arch.tgt_vocab  # the appended <pad> row
    return {
        "architectures": ["MarianMTModel"], "model_type": "marian",
        "vocab_size": vocab, "decoder_vocab_size": vocab,
        "d_model": arch.d_model, "encoder_layers": arch.enc_layers,
        "decoder_layers": arch.dec_layers, "encoder_attention_heads": arch.heads,
        "decoder_attention_heads": arch.heads, "encoder_ffn_dim": arch.ffn,
        "decoder_ffn_dim": arch.ffn, "activation_function": MARIAN_ACTIVATIONS[arch.activation],
        "dropout": arch.dropout, "attention_dropout": arch.attn_dropout,
        "activation_dropout": 0.0, "max_position_embeddings": arch.max_len,
        "scale_embedding": True, "share_encoder_decoder_embeddings": True,
        "tie_word_embeddings": True, "pad_token_id": pad, "eos_token_id": sp.eos,
        "decoder_start_token_id": pad, "forced_eos_token_id": sp.eos, "bos_token_id": None,
        "is_encoder_decoder": True, "init_std": 0.02, "torch_dtype": "float32",
    }


def generation_config(model: TranslationModel) -> dict[str, object]:
    sp, pad = model.special, model.arch.tgt_vocab
    return {"decoder_start_token_id": pad, "eos_token_id": sp.eos, "pad_token_id": pad,
            "forced_eos_token_id": sp.eos,
            "bad_words_ids": [[i] for i in (*sp.banned, pad)],
            "max_length": model.arch.max_len, "num_beams": 5}


def export_marian(model: TranslationModel, output: str | os.PathLike[str]) -> Path:
    """Write ``output`` as a MarianMT directory (atomically)."""
    check_marian_compatible(model)
    tok = model.tgt_tok
    hf = type(tok.hf).from_str(tok.hf.to_str())
    eos = tok.token_to_id(SEP)
    hf.post_processor = processors.TemplateProcessing(single=f"$A {SEP}",
                                                      pair=f"$A $B {SEP}",
                                                      special_tokens=[(SEP, eos)])
    hf.add_special_tokens([MARIAN_PAD])
    if hf.token_to_id(MARIAN_PAD) != model.arch.tgt_vocab:
        raise TokvecError(f"cannot export to hf-marian: the vocabulary already has "
                          f"{MARIAN_PAD!r} (or has holes)")
    special = {"pad_token": MARIAN_PAD, "eos_token": SEP, "unk_token": UNK}
    with atomic_dir(output) as tmp:
        save_file(marian_state(model), str(tmp / "model.safetensors"),
                  metadata={"format": "pt"})
        write_json(tmp / "config.json", marian_config(model))
        write_json(tmp / "generation_config.json", generation_config(model))
        (tmp / "tokenizer.json").write_text(hf.to_str(), encoding="utf-8")
        write_json(tmp / "tokenizer_config.json", {
            "tokenizer_class": "PreTrainedTokenizerFast", **special,
            "model_max_length": model.arch.max_len, "clean_up_tokenization_spaces": False,
            "padding_side": "right"})
        write_json(tmp / "special_tokens_map.json", special)
        (tmp / "README.md").write_text(
            "MarianMT export of a tokvec translation model.\n\n"
            f"tokvec config:\n\n```json\n{json.dumps(model.arch.to_dict(), indent=2)}\n```\n",
            encoding="utf-8")
    return Path(output)

