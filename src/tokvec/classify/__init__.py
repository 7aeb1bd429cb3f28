"""Text classification and sentiment analysis on top of tokvec embeddings.

Fine-tune a classifier from a static model, an imported vector file, a contextual model or from
scratch, on ``label<TAB>text`` files; load it back and predict:

>>> import tempfile
>>> d = tempfile.mkdtemp()
>>> _ = open(d + "/train.tsv", "w").write("pos\\tgreat\\nneg\\tawful\\n" * 8)
>>> model = finetune("none", d + "/task", d + "/train.tsv", d + "/train.tsv",
...                  config=FinetuneConfig(dim=8, epochs=20, lr=0.05), log=None)
>>> TaskModel.load(d + "/task").predict(["great", "awful"])
['pos', 'neg']
>>> model.config["calibration"]["method"], model.temperature > 0   # fitted on the dev file
('temperature', True)

Importing this package registers the model kind ``classifier`` with
:func:`tokvec.modeldir.load_model`.
"""

from .calibration import fit_calibration, fit_temperature
from .config import HEAD_DEFAULTS, FinetuneConfig
from .data import LabelMap, read_labelled, read_texts
from .heads import HEADS
from .metrics import (
    class_balance,
    classification_report,
    expected_calibration_error,
    log_loss,
    log_loss_from_logits,
    probability_report,
)
from .model import TaskModel
from .train import finetune

__all__ = ["HEADS", "HEAD_DEFAULTS", "FinetuneConfig", "LabelMap", "TaskModel",
           "class_balance", "classification_report", "expected_calibration_error",
           "finetune", "fit_calibration", "fit_temperature", "log_loss", "log_loss_from_logits",
           "probability_report", "read_labelled", "read_texts"]
