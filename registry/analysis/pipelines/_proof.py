"""The proof that a compiled transform equals the pipeline it was compiled from.

:func:`verify` compares on a sample: every row in a batch, rows one at a time as dicts, and
probe rows with unseen categories and missing values; and the final probabilities when the
pipeline ends in a classifier.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._steps import fitted_inputs, sklearn_transform, split_pipeline

if TYPE_CHECKING:
    from ._fast_transform import FastTransform

_UNSEEN = "\x00gatehouse-unseen-category"


def _probe_rows(fast: FastTransform, sample: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``sample`` edited to carry unseen categories and missing values."""
    base = sample.iloc[[0]]
    probes = []
    for block in fast.blocks:
        for column in block.columns:
            row = base.copy()
            if block.onehot is not None and not block.onehot.error_on_unknown:
                numeric = pd.api.types.is_numeric_dtype(sample[column])
                row[column] = row[column].astype(float if numeric else object)
                row.iloc[0, row.columns.get_loc(column)] = -987654.321 if numeric else _UNSEEN
                probes.append(row)
            if block.raw_fills or any(op == "fill" for op, _, _ in block.float_ops):
                row = base.copy()
                row[column] = row[column].astype(object if block.onehot else float)
                row.iloc[0, row.columns.get_loc(column)] = np.nan
                probes.append(row)
    return pd.concat(probes, ignore_index=True) if probes else sample.iloc[:0]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-7, atol=1e-9, equal_nan=True))


def verify(fast: FastTransform, pipeline: Any, sample: pd.DataFrame, max_rows: int = 50) -> str:
    """'' when ``fast`` equals the pipeline on ``sample``, else what differed."""
    reference = sklearn_transform(pipeline)
    expected = reference(sample)
    if not _close(fast.transform_frame(sample), expected):
        return "batch transform differs from the pipeline"
    head = sample.iloc[:max_rows]
    if not _close(fast(fast.frame_rows(head)), expected[: len(head)]):
        return "one-row transform differs from the pipeline"
    probes = _probe_rows(fast, sample)
    if len(probes):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                probe_expected = reference(probes)
            except Exception:  # the pipeline refuses the probes; nothing to compare
                probe_expected = None
        if probe_expected is not None and not (
            _close(fast.transform_frame(probes), probe_expected)
            and _close(fast(fast.frame_rows(probes)), probe_expected)
        ):
            return "transform of unseen categories or missing values differs"
    _, estimator = split_pipeline(pipeline)
    if estimator is not None:
        got = estimator.predict_proba(fast.transform_frame(sample))
        if not _close(got, pipeline.predict_proba(fitted_inputs(sample, fast.input_columns))):
            return "probabilities differ from the pipeline"
    return ""
