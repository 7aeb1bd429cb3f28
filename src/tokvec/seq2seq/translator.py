"""``TranslationModel``: tokenizers, segmentation and the encoder-decoder, as a model directory.

On disk (written atomically, kind ``seq2seq``)::

    config.json             kind, architecture, segmenters, the training options and results
    tokenizer.json          the target (with a joint vocabulary: the only) tokenizer
    source/tokenizer.json   the source tokenizer, when the vocabularies are per side
    embeddings.safetensors  "embeddings": the |V| x d_model table (encoder, decoder and output
                            projection with a joint vocabulary); "target_embeddings" if not
    seq2seq.safetensors     every other weight

>>> import tempfile
>>> from tokvec.seq2seq.config import Seq2SeqConfig
>>> d = tempfile.mkdtemp()
>>> _ = open(d + "/s.txt", "w").write("hola mundo\\nbuenos días\\n")
>>> _ = open(d + "/t.txt", "w").write("hello world\\ngood morning\\n")
>>> tok = Tokenizer.train([d + "/s.txt", d + "/t.txt"], kind="bpe", vocab_size=300)
>>> cfg = Seq2SeqConfig(d_model=16, heads=2, enc_layers=1, dec_layers=1, ffn=32, max_len=32)
>>> model = TranslationModel.create(cfg, tok, tok)
>>> hyps = model.translate(["hola"], beam=2)
>>> len(hyps), isinstance(hyps[0], str)
(1, True)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import TokvecError
from ..modeldir import EMBEDDINGS, base_config, load_tensors, register_kind, write_model_dir
from ..tokenization import Tokenizer
from ..vocab import CLS, MASK, PAD, SEP, UNK
from .config import Seq2SeqArch, Seq2SeqConfig
from .data import encode_texts, segment, unsegment
from .decode import DecodeOptions, SpecialIds, decode_all
from .model import Seq2SeqTransformer

WEIGHTS = "seq2seq.safetensors"
SOURCE_TOKENIZER = "source"
TABLE = "encoder.tok_emb.weight"
TARGET_TABLE = "tgt_emb.weight"
# Source tokens x beam per decoding batch: larger batches spread each step's Python over more
# sentences (16384 decoded 25% faster than 4096 at beam 5 on two cores; 32768 no faster).
DECODE_BATCH_TOKENS = 16384


def special_ids(tokenizer: Tokenizer) -> SpecialIds:
    ids = {t: tokenizer.token_to_id(t) for t in (PAD, UNK, CLS, SEP, MASK)}
    missing = [t for t in (PAD, CLS, SEP) if ids[t] is None]
    if missing:
        raise TokvecError(f"the tokenizer lacks the special tokens {', '.join(missing)}")
    banned = tuple(i for t, i in ids.items() if t in (PAD, CLS, MASK, UNK) and i is not None)
    # decoding starts from the (zero) padding row, as Marian's does
    return SpecialIds(pad=ids[PAD], bos=ids[PAD], eos=ids[SEP], banned=banned)  # type: ignore[arg-type]


class TranslationModel:
    """A trained (or new) translation model: ``translate(lines)`` gives plain-text output."""

    def __init__(self, network: Seq2SeqTransformer, src_tok: Tokenizer, tgt_tok: Tokenizer,
                 config: dict[str, Any]) -> None:
        self.network = network
        self.src_tok, self.tgt_tok = src_tok, tgt_tok
        self.config = config
        self.src_segment = config.get("src_segment", "none")
        self.tgt_segment = config.get("tgt_segment", "none")
        self.special = special_ids(tgt_tok)
        self.src_special = special_ids(src_tok)

    @property
    def arch(self) -> Seq2SeqArch:
        return self.network.arch

    @classmethod
    def create(cls, cfg: Seq2SeqConfig, src_tok: Tokenizer, tgt_tok: Tokenizer
               ) -> TranslationModel:
        joint = src_tok is tgt_tok or (cfg.joint_vocab and src_tok.vocab_size == tgt_tok.vocab_size)
        arch = cfg.arch(src_tok.vocab_size, tgt_tok.vocab_size)
        pad = special_ids(tgt_tok).pad
        if special_ids(src_tok).pad != pad:
            raise TokvecError("the source and target tokenizers give [PAD] different ids")
        arch = Seq2SeqArch.from_dict({**arch.to_dict(), "shared_vocab": joint, "pad_id": pad})
        return cls(Seq2SeqTransformer(arch), src_tok, tgt_tok,
                   {"src_segment": cfg.src_segment, "tgt_segment": cfg.tgt_segment})

    # ----- use ------------------------------------------------------------------------------
    def encode_sources(self, lines: Sequence[str]) -> tuple[list[np.ndarray], int, int | None]:
        """Source ids (EOS appended), cut to the model's positions: ``(ids, cut, first cut)``."""
        eos = np.array([self.src_special.eos], dtype=np.int32)
        limit = self.arch.max_len - 1
        out, cut, first = [], 0, None
        for i, ids in enumerate(encode_texts(self.src_tok, lines, self.src_segment)):
            if len(ids) > limit:
                cut += 1
                first = first if first is not None else i
                ids = ids[:limit]
            out.append(np.concatenate([ids, eos]))
        return out, cut, first

    def detokenize(self, ids: Sequence[int]) -> str:
        text = self.tgt_tok.hf.decode(list(ids), skip_special_tokens=True).strip()
        return unsegment(text) if self.tgt_segment != "none" else text

    def translate_nbest(self, lines: Sequence[str], beam: int = 5, nbest: int = 1,
                        batch_tokens: int = DECODE_BATCH_TOKENS, alpha: float = 0.6,
                        progress: Any = None) -> list[list[tuple[str, float]]]:
        """``nbest`` ``(translation, score)`` pairs per line, best first."""
        if nbest > beam:
            raise TokvecError(f"--nbest ({nbest}) cannot exceed --beam ({beam})")
        sources, _, _ = self.encode_sources(lines)
        self.network.eval()
        hyps = decode_all(self.network, sources, self.special,
                          DecodeOptions(beam=beam, nbest=nbest, alpha=alpha), batch_tokens,
                          progress)
        return [[(self.detokenize(ids), score) for ids, score in h] for h in hyps]

    def translate(self, lines: Sequence[str], beam: int = 5,
                  batch_tokens: int = DECODE_BATCH_TOKENS, alpha: float = 0.6) -> list[str]:
        """One translation per line (the best hypothesis)."""
        return [h[0][0] if h else "" for h in self.translate_nbest(lines, beam, 1, batch_tokens,
                                                                   alpha)]

    # ----- persistence ----------------------------------------------------------------------
    def state_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        state = {k: v.detach().cpu().numpy() for k, v in self.network.state_dict().items()}
        tables = {"embeddings": state.pop(TABLE)}
        if self.arch.shared_vocab:
            state.pop(TARGET_TABLE, None)
        else:
            tables["target_embeddings"] = state.pop(TARGET_TABLE)
        return tables, state

    def save(self, path: str | os.PathLike[str], extra_config: dict[str, Any] | None = None
             ) -> Path:
        tables, rest = self.state_arrays()
        cfg = base_config("seq2seq", self.arch.d_model, architecture=self.arch.to_dict(),
                          src_segment=self.src_segment, tgt_segment=self.tgt_segment,
                          **{k: v for k, v in self.config.items()
                             if k not in ("src_segment", "tgt_segment")},
                          **(extra_config or {}))
        extra = None if self.arch.shared_vocab else {SOURCE_TOKENIZER: self.src_tok}
        return write_model_dir(path, cfg, self.tgt_tok, {EMBEDDINGS: tables, WEIGHTS: rest},
                               extra_tokenizers=extra)

    @classmethod
    def load(cls, directory: str | os.PathLike[str], cfg: dict[str, Any]) -> TranslationModel:
        d = Path(directory)
        arch_data = cfg.get("architecture")
        if not isinstance(arch_data, dict):
            raise TokvecError("config.json has no 'architecture' mapping", path=d / "config.json")
        try:
            arch = Seq2SeqArch.from_dict(arch_data)
        except TypeError as exc:
            raise TokvecError(f"bad architecture in config.json ({exc})",
                              path=d / "config.json") from None
        tgt_tok = Tokenizer.load(d)
        src_tok = tgt_tok if arch.shared_vocab else Tokenizer.load(d / SOURCE_TOKENIZER)
        network = Seq2SeqTransformer(arch)
        tables = load_tensors(d / EMBEDDINGS, ("embeddings",))
        state = {k: torch.from_numpy(v) for k, v in load_tensors(d / WEIGHTS).items()}
        state[TABLE] = torch.from_numpy(tables["embeddings"])
        state[TARGET_TABLE] = torch.from_numpy(tables.get("target_embeddings",
                                                          tables["embeddings"]))
        missing, unexpected = network.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise TokvecError(f"weights do not match the architecture (missing "
                              f"{sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})",
                              path=d / WEIGHTS)
        network.eval()
        return cls(network, src_tok, tgt_tok, cfg)


def load_translation_model(path: str | os.PathLike[str]) -> TranslationModel:
    """Load a ``tokvec seq2seq`` model directory; anything else is refused in one line."""
    from ..modeldir import load_model

    model = load_model(path)
    if not isinstance(model, TranslationModel):
        kind = type(model).__name__
        raise TokvecError(f"not a translation model (a {kind}; train one with tokvec seq2seq)",
                          path=path)
    return model


register_kind("seq2seq", TranslationModel.load)
__all__ = ["TranslationModel", "load_translation_model", "segment", "special_ids"]
