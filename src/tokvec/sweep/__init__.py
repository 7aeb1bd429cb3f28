"""Choosing d_model by measurement: train at several dimensions, score, cost, recommend.

:func:`run_sweep` trains one model per dimension and repeat (seed + repeat index), scores each
intrinsically (word-pair Spearman, analogy accuracy) and, with a task, by fine-tuning a
classifier, records time, memory, parameters and disk size, and picks the smallest d_model whose
primary score is within a tolerance of the best. ``SWEEP_DIR/sweep.json`` is updated after every
run, so an interrupted sweep resumes; ``SWEEP_DIR/sweep.png`` plots quality and cost.

Python use::

    from tokvec.sweep import SweepSettings, run_sweep, report
    state = run_sweep(SweepSettings("corpus.txt", "sweep", dims=[25, 50, 100],
                                    train_options={"epochs": 3},
                                    similarity=["wordsim353.tsv"]))
    print(report(state))
"""

from .plot import plot_sweep
from .runner import SWEEP_JSON, SWEEP_PNG, report, run_sweep
from .settings import METHODS, PRIMARY_KINDS, SweepSettings
from .summary import per_dimension, recommend

__all__ = ["METHODS", "PRIMARY_KINDS", "SWEEP_JSON", "SWEEP_PNG", "SweepSettings",
           "per_dimension", "plot_sweep", "recommend", "report", "run_sweep"]
