"""The bias audit's figures: rows collapsed to weighted cells, measured by fairlearn.

Engine
    ``fairlearn.metrics.MetricFrame`` computes every per-group figure, the overall figures and the
    between-group differences (max - min) and ratios (min / max). fairlearn is imported inside the
    functions because it takes about a second to import.

Why the rows are compressed first
    MetricFrame slices the data with ``groupby().apply()`` and, inside every metric call, turns
    each column back into an array with ``np.stack(column.to_numpy())``, which walks the column
    element by element in Python. On 1,000,000 rows that alone costs ~4 s per metric per
    grouping, whatever the metric function does (measured: see benchmarks/bench_fairness.py).
    All six metrics are functions of the confusion-matrix counts of each group, so the rows are
    first collapsed, exactly, to one row per distinct (group codes, y_true, y_pred) with a
    ``weight`` = number of rows, and MetricFrame is given weighted numpy metric functions
    (``sample_params``). The figures are identical; MetricFrame then sees at most
    4 x (number of groups) rows.

The formulas are in :mod:`registry.analysis.fairness._audit`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is imported where used: the web process starts fast
    import pandas as pd

# the compressed frame's label, prediction and row-count columns
Y_TRUE, Y_PRED, WEIGHT = "__y_true__", "__y_pred__", "__weight__"
_MAX_KEY_SPACE = 1 << 40


def compress(
    codes: dict[str, np.ndarray], cards: dict[str, int], y_true: np.ndarray, y_pred: np.ndarray
) -> pd.DataFrame:
    """Collapse rows to one per distinct (codes..., y_true, y_pred), with weight = row count.

    Mixed-radix key + ``np.bincount``; the key is re-densified with ``pd.factorize`` if its range
    would grow too large. Any row with a given key serves as that key's representative.
    """
    import pandas as pd

    n = len(y_true)
    key = np.zeros(n, dtype=np.int64)
    space = 1
    for name, col in codes.items():
        if space * cards[name] * 4 > _MAX_KEY_SPACE:
            key, uniques = pd.factorize(key)
            space = len(uniques)
        key = key * cards[name] + col
        space *= cards[name]
    key = key * 4 + y_true.astype(np.int64) * 2 + y_pred
    space *= 4
    if space > max(4 * n, 1 << 16):
        key, uniques = pd.factorize(key)
        space = len(uniques)
    counts = np.bincount(key, minlength=space)
    representative = np.empty(space, dtype=np.int64)
    representative[key] = np.arange(n)
    present = np.flatnonzero(counts)
    rows = representative[present]
    frame = {name: col[rows] for name, col in codes.items()}
    frame.update(
        {Y_TRUE: y_true[rows], Y_PRED: y_pred[rows], WEIGHT: counts[present].astype(float)}
    )
    return pd.DataFrame(frame)


# --- weighted metric functions for MetricFrame ----------------------------------------------


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 0 else math.nan


def _count(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return float(sample_weight.sum())


def _selection_rate(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return _ratio(sample_weight @ y_pred, sample_weight.sum())


def _true_positive_rate(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return _ratio(sample_weight @ (y_true & y_pred), sample_weight @ y_true)


def _false_positive_rate(
    y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray
) -> float:
    return _ratio(sample_weight @ ((1 - y_true) & y_pred), sample_weight @ (1 - y_true))


def _precision(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return _ratio(sample_weight @ (y_true & y_pred), sample_weight @ y_pred)


def _accuracy(y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray) -> float:
    return _ratio(sample_weight @ (y_true == y_pred), sample_weight.sum())


_METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "count": _count,
    "selection_rate": _selection_rate,
    "true_positive_rate": _true_positive_rate,
    "false_positive_rate": _false_positive_rate,
    "precision": _precision,
    "accuracy": _accuracy,
}


def metric_frame(rows: pd.DataFrame, features: list[str]) -> Any:
    """fairlearn MetricFrame over compressed rows (weights passed as ``sample_weight``)."""
    from fairlearn.metrics import MetricFrame

    weight = rows[WEIGHT].to_numpy()
    return MetricFrame(
        metrics=_METRIC_FUNCTIONS,
        y_true=rows[Y_TRUE].to_numpy(),
        y_pred=rows[Y_PRED].to_numpy(),
        sensitive_features=rows[features],
        sample_params={name: {"sample_weight": weight} for name in _METRIC_FUNCTIONS},
    )
