"""Rows moved within their split cells, so that shap's interventional TreeSHAP routes them as
the model does.

scikit-learn routes a value ``x`` at a split with threshold ``t`` (float64) by
``float32(x) <= t``. shap's interventional TreeSHAP kernel (``tree_shap_indep`` in its C
extension, what ``TreeExplainer(..., data=background, feature_perturbation="interventional")``
runs) holds each threshold as a float32 and routes by ``x <= float32(t)``; it is given the rows
explained cast to float32, but the background rows as they are, in float64. shap's own
``predict`` — which gives the base value, and the margins that rescale contributions to
probabilities — routes as scikit-learn does. So a value within float32 rounding of a threshold
is sent one way by the model and the other way by the kernel: its contributions explain a
slightly different model, and base value + contributions no longer add up to the score. Held-out
rows hit this often: a scaled integer halfway between two training values lands on the midpoint
threshold itself; so do training rows, where a threshold is itself a float32 training value.

A tree ensemble sees each feature only through the *cell* it falls in between consecutive
thresholds on that feature. :class:`SplitCells` replaces every value of a split-on column by one
representative of its cell (found by scikit-learn's rule): a float32 number strictly inside the
cell by every rule above. The model's output on the moved rows is exactly its output on the
original rows, so their SHAP values are exactly the model's, and the kernel, shap's ``predict``
and scikit-learn agree. Missing values (NaN) are left as they are: each tree's own rule for
missing values is followed by all of them alike. Only the SHAP computation sees moved rows;
scores come from the original rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def _float32_at_most(value: float) -> float:
    """The largest float32 number ``<= value``."""
    r = np.float32(value)
    if float(r) > value:
        r = np.nextafter(r, np.float32(-np.inf))
    return float(r)


def _float32_above(value: float) -> float:
    """The smallest float32 number ``> value``."""
    r = np.float32(value)
    if float(r) <= value:
        r = np.nextafter(r, np.float32(np.inf))
    return float(r)


def _representatives(thresholds: np.ndarray) -> np.ndarray:
    """One value per cell of sorted, distinct ``thresholds`` (``len + 1`` cells), NaN where a
    cell holds no float32 number that every rule puts there."""
    t32 = thresholds.astype(np.float32).astype(np.float64)
    out = np.empty(len(thresholds) + 1)
    for c in range(len(out)):
        # inside the cell: above the lower threshold and at most the upper, by both rules
        lo = -np.inf if c == 0 else max(thresholds[c - 1], t32[c - 1])
        hi = np.inf if c == len(thresholds) else min(thresholds[c], t32[c])
        rep = _float32_at_most(hi) if np.isfinite(hi) else _float32_above(lo)
        out[c] = rep if lo < rep <= hi else np.nan
    return out


def _trees(estimator: Any) -> list[Any]:
    """The fitted scikit-learn ``Tree`` objects of a tree or tree ensemble."""
    if hasattr(estimator, "tree_"):
        return [estimator.tree_]
    return [e.tree_ for e in np.ravel(np.asarray(estimator.estimators_, dtype=object))]


@dataclass
class SplitCells:
    """Moves each split-on column's values to their cell's representative (see module doc)."""

    columns: np.ndarray  # transformed columns some tree splits on
    thresholds: np.ndarray  # their distinct thresholds, column by column, ascending
    owner: np.ndarray  # for each threshold, its column's position in ``columns``
    starts: np.ndarray  # where each column's thresholds begin
    representatives: np.ndarray  # cell c of column k: representatives[rep_start[k] + c]
    rep_start: np.ndarray
    exact: bool  # every cell has a representative (else values there are left as float32)

    @classmethod
    def of(cls, estimator: Any) -> SplitCells:
        features, thresholds = [], []
        for tree in _trees(estimator):
            split = tree.feature >= 0
            features.append(tree.feature[split])
            thresholds.append(tree.threshold[split])
        pairs = np.unique(
            np.rec.fromarrays([np.concatenate(features), np.concatenate(thresholds)])
        )  # sorted by column, then threshold
        column_of, flat = pairs.f0.astype(np.intp), pairs.f1.astype(np.float64)
        columns, starts = np.unique(column_of, return_index=True)
        reps, rep_start = [], []
        for k, start in enumerate(starts):
            stop = starts[k + 1] if k + 1 < len(starts) else len(flat)
            rep_start.append(sum(len(r) for r in reps))
            reps.append(_representatives(flat[start:stop]))
        representatives = np.concatenate(reps) if reps else np.empty(0)
        return cls(
            columns=columns,
            thresholds=flat,
            owner=np.searchsorted(columns, column_of),
            starts=starts,
            representatives=representatives,
            rep_start=np.asarray(rep_start, dtype=np.intp),
            exact=not np.isnan(representatives).any(),
        )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``x`` (transformed rows, 2-D) with split-on values moved to their representatives."""
        if not len(self.columns):
            return x
        values = x[:, self.columns]
        as32 = values.astype(np.float32)  # scikit-learn's rule: float32(x) <= threshold
        above = as32[:, self.owner] > self.thresholds  # exact: float32 widened to float64
        cells = np.add.reduceat(above, self.starts, axis=1, dtype=np.intp)
        moved = self.representatives[self.rep_start + cells]
        if not self.exact:
            moved = np.where(np.isnan(moved), as32, moved)
        out = x.copy()
        out[:, self.columns] = np.where(np.isnan(values), values, moved)
        return out

