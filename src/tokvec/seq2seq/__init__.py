"""Sequence transduction: a Transformer translation model over tokvec's embedding tables.

The data flow: aligned text -> joint subword tokenizer -> ids -> one |V| x d_model table read by
the encoder, the decoder and the output projection -> label-smoothed training -> beam search ->
detokenized text -> sacrebleu BLEU/chrF. ``tokvec export --format hf-marian`` hands the model to
HuggingFace transformers and CTranslate2.

>>> from tokvec.seq2seq import Seq2SeqConfig
>>> Seq2SeqConfig().d_model, Seq2SeqConfig().schedule
(256, 'inverse-sqrt')

Train, translate and score from Python::

    from tokvec.seq2seq import Seq2SeqConfig, load_translation_model, train_seq2seq
    train_seq2seq([("train.es", "train.en")], "runs/es-en",
                  Seq2SeqConfig(max_minutes=5), dev=("dev.es", "dev.en"))
    model = load_translation_model("runs/es-en")
    model.translate(["En el principio crió Dios los cielos y la tierra."], beam=5)
"""

from .config import Seq2SeqArch, Seq2SeqConfig
from .scoring import score_translations
from .train import Seq2SeqResult, train_seq2seq
from .translator import TranslationModel, load_translation_model

__all__ = ["Seq2SeqArch", "Seq2SeqConfig", "Seq2SeqResult", "TranslationModel",
           "load_translation_model", "score_translations", "train_seq2seq"]
