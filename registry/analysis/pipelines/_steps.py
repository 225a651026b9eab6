"""A fitted scikit-learn pipeline taken apart, and its own preprocessing as a function.

The fast path (:mod:`registry.analysis.pipelines._fastpath`) compiles the preprocessing steps
and is proven against :func:`sklearn_transform`, which is also what scoring falls back to when
a pipeline cannot be compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def flat_steps(estimator: Any) -> list[Any]:
    """A Pipeline's steps, nested pipelines expanded, passthrough steps dropped."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        steps: list[Any] = []
        for _, step in estimator.steps:
            steps.extend(flat_steps(step))
        return steps
    if estimator is None or (isinstance(estimator, str) and estimator == "passthrough"):
        return []
    return [estimator]


def split_pipeline(pipeline: Any) -> tuple[list[Any], Any | None]:
    """(preprocessing steps, final estimator or None) of a pipeline or a bare transformer."""
    steps = flat_steps(pipeline)
    if steps and hasattr(steps[-1], "predict_proba"):
        return steps[:-1], steps[-1]
    return steps, None


def input_columns(pipeline: Any) -> list[str] | None:
    """The columns the pipeline was fitted on, or None if it was fitted on an array."""
    pre, estimator = split_pipeline(pipeline)
    names = getattr(pre[0] if pre else estimator, "feature_names_in_", None)
    return None if names is None else [str(c) for c in names]


def fitted_inputs(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    """``frame`` cut to the fitted columns (sklearn refuses extra ones outside a CT)."""
    return frame if columns is None else frame[columns]


def sklearn_transform(pipeline: Any) -> Callable[[pd.DataFrame], np.ndarray]:
    """The pipeline's own preprocessing as a function returning a dense float matrix."""
    pre, _ = split_pipeline(pipeline)
    columns = input_columns(pipeline)

    def transform(frame: pd.DataFrame) -> np.ndarray:
        x: Any = fitted_inputs(frame, columns)
        for step in pre:
            x = step.transform(x)
        if hasattr(x, "toarray"):
            x = x.toarray()
        return np.asarray(x, dtype=float)

    return transform
