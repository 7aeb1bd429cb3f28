"""``ContextualModel``: a tokenizer plus a contextual encoder, saved as a tokvec model directory.

One class serves every contextual kind: ``bert`` (our Transformer encoder, pre- or post-norm;
HuggingFace BERT checkpoints load into it), ``bilstm`` (ELMo-style) and, for ``tokvec embed`` and
WiC, ``static`` models wrapped so that a token's vector is its table row whatever the context.

On disk (written atomically)::

    config.json             kind bert|bilstm, every hyper-parameter, format_version
    tokenizer.json          the HuggingFace tokenizers file
    embeddings.safetensors  "embeddings": the |V| x d_model token table
    encoder.safetensors     every other weight (MLM head under "mlm_head.")

>>> import tempfile
>>> from tokvec.contextual.config import EncoderConfig
>>> from tokvec.tokenization import Tokenizer
>>> path = tempfile.mkdtemp() + "/c.txt"
>>> _ = open(path, "w").write("a bank of the river\\nthe bank lends money\\n")
>>> tok = Tokenizer.train([path], kind="wordpiece", vocab_size=60, lowercase=True)
>>> m = ContextualModel.create("bert", EncoderConfig(tok.vocab_size, d_model=8, layers=1,
...                                                  heads=2, ffn=16, max_len=16), tok)
>>> m.embed(["the bank", "a river bank"], pool="mean").shape
(2, 8)
>>> d = tempfile.mkdtemp() + "/m"
>>> _ = m.save(d)
>>> load_contextual(d).embed(["the bank"], pool="cls").shape
(1, 8)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer as HFTokenizer
from torch import nn

from ..errors import TokvecError
from ..modeldir import EMBEDDINGS, base_config, load_tensors, write_model_dir
from ..tokenization import Tokenizer
from ..vocab import CLS, MASK, PAD, SEP
from .bert import MaskedLMHead, TransformerEncoder
from .bilstm import BiLSTMEncoder
from .config import BiLSTMConfig, EncoderConfig, arch_config

ENCODER = "encoder.safetensors"
HEAD_PREFIX = "mlm_head."
TABLE_KEY = {"bert": "tok_emb.weight", "bilstm": "lm.tok_emb.weight"}
NO_LIMIT = 1 << 30


def build_module(kind: str, arch: EncoderConfig | BiLSTMConfig) -> nn.Module:
    """A freshly initialised encoder of ``kind``."""
    if kind == "bert":
        assert isinstance(arch, EncoderConfig)
        return TransformerEncoder(arch)
    assert isinstance(arch, BiLSTMConfig)
    return BiLSTMEncoder(arch)


class ContextualModel:
    """Tokenizer + ``module`` (``forward(ids, mask) -> (B, T, d_model)``) + optional MLM head."""

    def __init__(self, kind: str, tokenizer: Tokenizer, module: nn.Module,
                 arch: EncoderConfig | BiLSTMConfig | None = None,
                 head: MaskedLMHead | None = None, config: dict[str, Any] | None = None,
                 d_model: int | None = None, max_len: int | None = None,
                 add_special_tokens: bool = True) -> None:
        self.kind = kind
        self.tokenizer = tokenizer
        self.module = module
        self.arch = arch
        self.head = head
        self.config = dict(config or {})
        self.d_model = int(d_model if d_model is not None else arch.d_model)  # type: ignore[union-attr]
        self.max_len = int(max_len if max_len is not None else arch.max_len)  # type: ignore[union-attr]
        self.add_special_tokens = add_special_tokens
        ids = {t: tokenizer.token_to_id(t) for t in (PAD, CLS, SEP, MASK)}
        self.pad_id = ids[PAD] if ids[PAD] is not None else 0
        self.cls_id = ids[CLS]
        self.sep_id = ids[SEP]
        self.mask_id = ids[MASK]
        self._encoder_tokenizer: HFTokenizer | None = None

    # ----- construction ---------------------------------------------------------------------
    @classmethod
    def create(cls, kind: str, arch: EncoderConfig | BiLSTMConfig, tokenizer: Tokenizer,
               config: dict[str, Any] | None = None) -> ContextualModel:
        """A randomly initialised model (the start of pretraining)."""
        if tokenizer.vocab_size > arch.vocab_size:
            raise TokvecError(f"the tokenizer has {tokenizer.vocab_size} tokens but the model "
                              f"only {arch.vocab_size} rows")
        module = build_module(kind, arch)
        head = MaskedLMHead(arch) if kind == "bert" else None  # type: ignore[arg-type]
        return cls(kind, tokenizer, module, arch, head, config)

    # ----- encoding and embedding -----------------------------------------------------------
    def _hf_for_encoding(self) -> HFTokenizer:
        if self._encoder_tokenizer is None:
            hf = HFTokenizer.from_str(self.tokenizer.hf.to_str())
            hf.no_padding()
            if self.max_len < NO_LIMIT:
                hf.enable_truncation(self.max_len)
            else:
                hf.no_truncation()
            self._encoder_tokenizer = hf
        return self._encoder_tokenizer

    def encode_texts(self, texts: list[str], batch_size: int = 32) -> list[Any]:
        """HuggingFace encodings with ``[CLS]``/``[SEP]`` added, truncated to ``max_len``.

        A truncated encoding has a non-empty ``overflowing`` list.
        """
        hf = self._hf_for_encoding()
        texts = self.tokenizer._segment_all(list(texts))
        step = max(1, batch_size) * 64
        out: list[Any] = []
        for start in range(0, len(texts), step):
            out.extend(hf.encode_batch(texts[start:start + step],
                                       add_special_tokens=self.add_special_tokens))
        return out

    def embed(self, texts: list[str], pool: str = "mean", batch_size: int = 32
              ) -> np.ndarray | list[np.ndarray]:
        """Sentence vectors ``(N, d_model)`` for ``mean``/``cls``; per-text token arrays for
        ``none`` (see :mod:`tokvec.contextual.embedding` for word vectors and alignment)."""
        from .embedding import embed_texts

        return embed_texts(self, list(texts), pool=pool, batch_size=batch_size)

    def info(self) -> dict[str, Any]:
        """Kind, sizes and parameters per component (for ``tokvec info``)."""
        from ..table import memory_report

        table = self.module.state_dict().get(TABLE_KEY.get(self.kind, ""))
        total = sum(p.numel() for p in self.module.parameters())
        params = {"embeddings": int(table.numel()) if table is not None else 0}
        params["encoder"] = int(total - params["embeddings"])
        if self.head is not None:
            params["mlm_head"] = int(sum(p.numel() for p in self.head.parameters()))
        vocab = int(table.shape[0]) if table is not None else self.tokenizer.vocab_size
        return {"kind": self.kind, "vocab_size": vocab, "d_model": self.d_model,
                "max_len": self.max_len, "parameters": params,
                "memory": memory_report(vocab, self.d_model)}

    # ----- persistence ----------------------------------------------------------------------
    def state_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """``(embeddings file, encoder file)`` arrays: the token table, then everything else."""
        if self.kind not in TABLE_KEY:
            raise TokvecError(f"a {self.kind} model is saved by its own class, not as contextual")
        state = {k: v.detach().cpu().numpy() for k, v in self.module.state_dict().items()}
        table = state.pop(TABLE_KEY[self.kind])
        if self.head is not None:
            state.update({HEAD_PREFIX + k: v.detach().cpu().numpy()
                          for k, v in self.head.state_dict().items()})
        return {"embeddings": table}, state

    def save(self, path: str | os.PathLike[str],
             extra_tensors: dict[str, dict[str, np.ndarray]] | None = None) -> Path:
        """Write a tokvec model directory loadable by :func:`load_contextual` and ``load_model``.

        ``extra_tensors`` (file name -> arrays) are written beside it and ignored by loaders
        (the ELECTRA generator's ``electra.safetensors``)."""
        assert self.arch is not None
        embeddings, encoder = self.state_arrays()
        arch = self.arch.to_dict()
        arch.pop("d_model")
        extra = {k: v for k, v in self.config.items()
                 if k not in arch and k not in ("format_version", "tokvec_version", "kind",
                                                "d_model")}
        cfg = base_config(self.kind, self.d_model, **arch, **extra)
        cfg["tokenizer"] = {"kind": self.tokenizer.kind, "lowercase": self.tokenizer.lowercase}
        return write_model_dir(path, cfg, self.tokenizer,
                               {EMBEDDINGS: embeddings, ENCODER: encoder, **(extra_tensors or {})})

    @classmethod
    def load(cls, directory: str | os.PathLike[str], cfg: dict[str, Any]) -> ContextualModel:
        d = Path(directory)
        kind = cfg["kind"]
        arch = arch_config(kind, {k: v for k, v in cfg.items() if k != "kind"})
        table = load_tensors(d / EMBEDDINGS, required=("embeddings",))["embeddings"]
        rest = load_tensors(d / ENCODER)
        if table.shape != (arch.vocab_size, arch.d_model):
            raise TokvecError(f"embeddings table has shape {table.shape}, config says "
                              f"({arch.vocab_size}, {arch.d_model})", path=d / EMBEDDINGS)
        module = build_module(kind, arch)
        state = {k: torch.from_numpy(v) for k, v in rest.items() if not k.startswith(HEAD_PREFIX)}
        state[TABLE_KEY[kind]] = torch.from_numpy(table)
        _load_state(module, state, d / ENCODER)
        head = None
        head_state = {k[len(HEAD_PREFIX):]: torch.from_numpy(v) for k, v in rest.items()
                      if k.startswith(HEAD_PREFIX)}
        if head_state and kind == "bert":
            head = MaskedLMHead(arch)  # type: ignore[arg-type]
            _load_state(head, head_state, d / ENCODER)
        tokenizer = Tokenizer.load(d)
        if tokenizer.vocab_size > arch.vocab_size:
            raise TokvecError(f"tokenizer has {tokenizer.vocab_size} tokens, the table only "
                              f"{arch.vocab_size}", path=d)
        module.eval()
        return cls(kind, tokenizer, module, arch, head, cfg)


def _load_state(module: nn.Module, state: dict[str, torch.Tensor], path: Path) -> None:
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise TokvecError(f"weights do not fit the config: missing {missing[:3]}, "
                          f"unexpected {unexpected[:3]}", path=path)
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise TokvecError(f"tensor {name!r} has shape {tuple(tensor.shape)}, expected "
                              f"{tuple(expected[name].shape)}", path=path)
    module.load_state_dict(state)


def load_contextual(path: str | os.PathLike[str]) -> ContextualModel:
    """Load a tokvec ``bert``/``bilstm`` directory or a HuggingFace BERT checkpoint directory."""
    from ..modeldir import load_model

    model = load_model(path)
    if not isinstance(model, ContextualModel):
        raise TokvecError(f"expected a contextual model (bert, bilstm or a HuggingFace BERT "
                          f"checkpoint), got kind {getattr(model, 'config', {}).get('kind')!r}",
                          path=path)
    return model
