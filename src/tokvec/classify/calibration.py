"""Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks").

A classifier trained to a low training loss is usually over-confident: it says 99% where it is
right 80% of the time. Temperature scaling divides every logit by one number ``T > 0`` fitted
after training on held-out data (the dev set) to minimise the negative log-likelihood of
``softmax(logits / T)``. ``T > 1`` softens the probabilities, ``T < 1`` sharpens them; the
predicted label never changes, so accuracy and macro-F1 are untouched.

The fit is a golden-section search over ``log T`` in ``[-5, 5]`` (T from 0.0067 to 148): the
dev NLL is convex in ``1 / T``, hence unimodal in ``log T``, and the search is deterministic
(fixed bracket, fixed tolerance, no random state). The result is kept only if it lowers the
dev NLL below that of ``T = 1``; otherwise ``T = 1``.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> true = rng.normal(0.0, 2.0, size=(4000, 3))           # logits of a calibrated model
>>> gold = np.array([rng.choice(3, p=p) for p in softmax(true)])
>>> round(fit_temperature(3.0 * true, gold), 1)           # an over-confident copy of it
3.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .metrics import log_loss_from_logits, softmax

__all__ = ["LOG_T_BOUNDS", "TEMPERATURE_RANGE", "fit_calibration", "fit_temperature",
           "golden_section", "softmax", "temperature_from_config", "uncalibrated"]

LOG_T_BOUNDS = (-5.0, 5.0)
TEMPERATURE_RANGE = (1e-12, 1e12)
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


def golden_section(f: Callable[[float], float], lo: float, hi: float,
                   tol: float = 1e-6) -> float:
    """The minimiser of a unimodal ``f`` on ``[lo, hi]`` to within ``tol`` (golden-section
    search; on ties the left point is kept, so the result is deterministic).

    >>> round(golden_section(lambda x: (x - 1.25) ** 2, -5.0, 5.0), 4)
    1.25
    """
    a, b = float(lo), float(hi)
    c, d = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    fc, fd = f(c), f(d)
    while b - a > tol:
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - _INV_PHI * (b - a)
            fc = f(c)
        else:
            a, c, fc = c, d, fd
            d = a + _INV_PHI * (b - a)
            fd = f(d)
    return (a + b) / 2.0


def fit_temperature(logits: np.ndarray, gold: Sequence[int] | np.ndarray,
                    bounds: tuple[float, float] = LOG_T_BOUNDS, tol: float = 1e-6) -> float:
    """The temperature ``T`` that minimises the NLL of ``softmax(logits / T)`` on ``gold``.

    ``logits`` is ``(N, C)``, ``gold`` the class index of each row. Returns 1.0 when there are
    no rows or when no temperature in ``exp(bounds)`` does better than 1.
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(gold, dtype=np.int64)
    if z.ndim != 2 or not len(y):
        return 1.0

    def nll(log_t: float) -> float:
        return log_loss_from_logits(z, y, math.exp(log_t))

    best = golden_section(nll, bounds[0], bounds[1], tol)
    if not nll(best) < nll(0.0):
        return 1.0
    return math.exp(best)


def fit_calibration(logits: np.ndarray, gold: Sequence[int] | np.ndarray,
                    fitted_on: str = "dev") -> dict[str, Any]:
    """Fit a temperature and describe it as stored under ``"calibration"`` in a task's
    ``config.json``: method, temperature, what it was fitted on and the NLL before and after.

    >>> z = np.array([[4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [4.0, 0.0]])
    >>> c = fit_calibration(z, [0, 1, 1, 0])
    >>> c["method"], c["temperature"] > 1, c["dev_nll_after"] < c["dev_nll_before"]
    ('temperature', True, True)
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(gold, dtype=np.int64)
    if z.ndim != 2 or not len(y):
        return uncalibrated(f"the {fitted_on} set is empty")
    temperature = fit_temperature(z, y)
    low, high = (math.exp(b) for b in LOG_T_BOUNDS)
    return {"method": "temperature", "temperature": temperature, "fitted_on": fitted_on,
            "examples": len(y),
            f"{fitted_on}_nll_before": log_loss_from_logits(z, y),
            f"{fitted_on}_nll_after": log_loss_from_logits(z, y, temperature),
            "search": f"golden-section over log T in [{LOG_T_BOUNDS[0]:g}, "
                      f"{LOG_T_BOUNDS[1]:g}]",
            "at_bound": bool(temperature <= low * (1 + 1e-4)
                             or temperature >= high * (1 - 1e-4))}


def uncalibrated(reason: str) -> dict[str, Any]:
    """The ``"calibration"`` entry of a model whose probabilities are the plain softmax.

    >>> uncalibrated("no dev set")["temperature"]
    1.0
    """
    return {"method": "none", "temperature": 1.0, "fitted_on": None, "reason": reason}


def temperature_from_config(config: dict[str, Any]) -> float:
    """The temperature recorded in a task's config (1.0 when there is none: models saved
    before calibration existed). Raises ``ValueError`` for anything but a number in
    :data:`TEMPERATURE_RANGE` (beyond it the logits would overflow or every probability be
    uniform).

    >>> temperature_from_config({}), temperature_from_config({"calibration": {"temperature": 2}})
    (1.0, 2.0)
    """
    entry = config.get("calibration")
    if entry is None:
        return 1.0
    if not isinstance(entry, dict):
        raise ValueError(f"calibration must be an object, got {type(entry).__name__}")
    value = entry.get("temperature", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"calibration temperature must be a number, got {value!r}")
    value = float(value)
    if not TEMPERATURE_RANGE[0] <= value <= TEMPERATURE_RANGE[1]:
        raise ValueError(f"calibration temperature must lie in [{TEMPERATURE_RANGE[0]:g}, "
                         f"{TEMPERATURE_RANGE[1]:g}], got {value}")
    return value
