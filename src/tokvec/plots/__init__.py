"""tokvec's figures: training curves, vocabulary maps (and the sweep plot in :mod:`tokvec.sweep`).

All figures render with matplotlib's Agg canvas (no display needed) and are written atomically
as PNG files.
"""

from .common import PNG_MAGIC, human_bytes, human_count, new_figure, save_png
from .curves import plot_training_curves, read_training_log
from .vocabmap import METHODS, ordinary_words, plot_vocabulary_map, project

__all__ = ["METHODS", "PNG_MAGIC", "human_bytes", "human_count", "new_figure",
           "ordinary_words", "plot_training_curves", "plot_vocabulary_map", "project",
           "read_training_log", "save_png"]
