"""The row forms an explainer accepts (a DataFrame, one dict, or a list of dicts), read as
records and transformed by the pipeline's own preprocessing where the fast path cannot be used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..pipelines import Rows


class SklearnRows:
    """The pipeline's own preprocessing, accepting the same row forms as the fast path."""

    def __init__(self, transform: Any, columns: list[str]) -> None:
        self.transform = transform
        self.columns = columns

    def __call__(self, rows: Rows) -> np.ndarray:
        if isinstance(rows, Mapping):
            rows = [rows]
        if not isinstance(rows, pd.DataFrame):
            rows = list(rows)
            for row in rows:
                missing = [c for c in self.columns if c not in row]
                if missing:
                    raise KeyError(f"missing input columns: {missing}")
            rows = pd.DataFrame(rows, columns=self.columns)
        return self.transform(rows[self.columns])


def records(rows: Rows) -> list[Mapping[str, Any]]:
    if isinstance(rows, Mapping):
        return [rows]
    if isinstance(rows, pd.DataFrame):
        columns = list(rows.columns)
        return [dict(zip(columns, r, strict=True)) for r in rows.values.tolist()]
    return list(rows)


def json_value(value: Any) -> Any:
    """``value`` as JSON can carry it: numpy scalars unwrapped, missing as None."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, bool | int | float | str):
        return value
    return str(value)
