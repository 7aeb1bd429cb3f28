"""BLEU and chrF with sacrebleu, the figures every translation paper reports.

Scores are corpus-level, on detokenized text, with sacrebleu's default ``13a`` tokenization, or
its ``zh`` tokenization when the reference is Chinese; the signature (which states exactly how
the score was computed) is returned beside it.

>>> s = score_translations(["the cat sat on the mat"], ["the cat sat on the mat"])
>>> s["bleu"], s["sentences"]
(100.0, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import TokvecError


def score_translations(hypotheses: Sequence[str], references: Sequence[str],
                       chinese: bool = False) -> dict[str, Any]:
    """``bleu``, ``chrf``, ``sentences`` and both sacrebleu signatures."""
    try:
        from sacrebleu.metrics import BLEU, CHRF
    except ImportError:  # pragma: no cover - a dependency of the package
        raise TokvecError("scoring translations needs sacrebleu (pip install sacrebleu)") \
            from None
    if len(hypotheses) != len(references):
        raise TokvecError(f"{len(hypotheses)} translations for {len(references)} references")
    bleu = BLEU(tokenize="zh" if chinese else "13a")
    chrf = CHRF()
    b = bleu.corpus_score(list(hypotheses), [list(references)])
    c = chrf.corpus_score(list(hypotheses), [list(references)])
    return {"bleu": round(float(b.score), 4), "chrf": round(float(c.score), 4),
            "sentences": len(references), "bleu_signature": str(bleu.get_signature()),
            "chrf_signature": str(chrf.get_signature())}


def evaluate_translation(model: Any, src_path: str, ref_path: str, beam: int = 5,
                         batch_tokens: int = 16384, progress: bool = False) -> dict[str, Any]:
    """Translate ``src_path`` with ``model`` and score it against ``ref_path`` (aligned lines;
    pairs with a blank side are left out and counted)."""
    from tqdm.auto import tqdm

    from .data import read_parallel

    text = read_parallel(src_path, ref_path)
    bar = tqdm(total=len(text.src), desc="translating", unit="sent", disable=not progress,
               leave=False)
    try:
        hyps = model.translate_nbest(text.src, beam=beam, batch_tokens=batch_tokens,
                                     progress=bar)
    finally:
        bar.close()
    outputs = [h[0][0] if h else "" for h in hyps]
    chinese = model.tgt_segment != "none" or looks_chinese(text.tgt)
    result = score_translations(outputs, text.tgt, chinese)
    result.update({"beam": beam, "skipped_blank": text.blank})
    return result


def looks_chinese(lines: Sequence[str]) -> bool:
    """True when most non-space characters of the first lines are CJK ideographs."""
    sample = "".join(lines[:50]).replace(" ", "")
    cjk = sum(1 for ch in sample if "\u4e00" <= ch <= "\u9fff")
    return cjk > 0.3 * max(1, len(sample))
