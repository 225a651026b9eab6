"""Fairness groups: a column's values as integer group codes with readable labels.

Numeric columns are cut into left-closed, right-open bands (the policy's band edges, or
quintiles where proxy detection asks for them); other columns are grouped by their string
value, sorted. Missing values are a group of their own, "(missing)". The codes feed both the
bias audit (:mod:`registry.analysis.fairness._audit`) and proxy detection
(:mod:`registry.analysis.fairness._proxies`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where used: the web process starts fast
    import pandas as pd

MISSING_LABEL = "(missing)"


def _band_labels(edges: Sequence[float], integral: bool) -> list[str]:
    """Labels for left-closed, right-open bands: "25–34" for whole-number data, else "25 to <35"."""
    labels = []
    for lo, hi in itertools.pairwise(edges):
        if integral and float(lo).is_integer() and float(hi).is_integer():
            labels.append(f"{int(lo)}–{int(hi) - 1}")
        else:
            labels.append(f"{lo:g} to <{hi:g}")
    return labels


def encode_column(
    name: str, values: pd.Series, bands: dict[str, tuple[float, ...]], *, quintiles: bool = False
) -> tuple[np.ndarray, list[str]]:
    """Map a column to (codes 0..k-1, labels[k]).

    Numeric columns are banded with ``bands[name]`` (left-closed, right-open; a value outside
    the edges is an error), or into quintiles if ``quintiles`` is set, else rejected. Other
    columns are grouped by their string value, sorted. Missing values get the label "(missing)".
    """
    import pandas as pd

    is_numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if name in bands or (is_numeric and quintiles):
        if not is_numeric:
            raise ValueError(f"column {name!r} has bands but is not numeric")
        x = values.to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(x)
        if name in bands:
            edges = np.asarray(bands[name], dtype=float)
            idx = np.searchsorted(edges, x, side="right") - 1
            outside = ~missing & ((idx < 0) | (idx >= len(edges) - 1))
            if outside.any():
                raise ValueError(
                    f"column {name!r}: {int(outside.sum())} value(s) outside the bands "
                    f"[{edges[0]:g}, {edges[-1]:g})"
                )
            integral = bool(np.all(np.mod(x[~missing], 1) == 0))
            labels = _band_labels(bands[name], integral)
        else:
            present = x[~missing]
            cuts = np.unique(np.quantile(present, [0.2, 0.4, 0.6, 0.8])) if present.size else []
            idx = np.searchsorted(cuts, x, side="right")
            labels = _band_labels([-np.inf, *cuts, np.inf], integral=False)
        codes = np.where(missing, len(labels), idx).astype(np.int64)
        if missing.any():
            labels.append(MISSING_LABEL)
        return codes, labels
    if is_numeric:
        raise ValueError(
            f"column {name!r} is numeric but has no band rule: add bands for it in the fairness "
            "rules, or pass it as strings if its values are category codes"
        )
    raw_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    raw_labels = [str(u) for u in uniques]
    if (raw_codes < 0).any():
        raw_labels.append(MISSING_LABEL)
        raw_codes = np.where(raw_codes < 0, len(raw_labels) - 1, raw_codes)
    labels = sorted(set(raw_labels) - {MISSING_LABEL})
    if MISSING_LABEL in raw_labels:
        labels.append(MISSING_LABEL)
    position = {label: i for i, label in enumerate(labels)}
    remap = np.array([position[label] for label in raw_labels], dtype=np.int64)
    return remap[raw_codes], labels
