"""The compiled preprocessing that runs on every scoring call: numpy operations per block.

Built by :mod:`registry.analysis.pipelines._fastpath`. A :class:`FastTransform` is a list of
blocks, each turning some input columns into a contiguous run of output columns (one-hot
encoding and column-wise fills and affine steps), then column-wise steps over the whole matrix.

Semantics follow scikit-learn exactly, including its quirks: ``SimpleImputer`` treats
only NaN as missing in a text column (``None`` passes through it and is then an unknown
category to ``OneHotEncoder``); in a numeric column ``None`` becomes NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

Rows = pd.DataFrame | pd.Series | Mapping[str, Any] | Sequence[Mapping[str, Any]]


class _Key:
    """Sentinels for the missing-value markers, which do not compare equal to themselves."""

    NONE = object()
    NAN = object()
    PD_NA = object()


def category_key(value: Any) -> Any:
    """A dict key matching scikit-learn's category matching for ``value``."""
    if value is None:
        return _Key.NONE
    if value is pd.NA:
        return _Key.PD_NA
    if isinstance(value, float | np.floating) and value != value:
        return _Key.NAN
    return value


def _is_nan(value: Any) -> bool:
    """What ``SimpleImputer(missing_values=np.nan)`` replaces: NaN (and pd.NA), not None."""
    return value is pd.NA or (isinstance(value, float | np.floating) and value != value)


@dataclass
class OneHot:
    """A fitted ``OneHotEncoder`` as one dict lookup per input column."""

    lookups: list[dict[Any, int]]  # per input column: category key -> output offset
    error_on_unknown: bool
    width: int


@dataclass
class Block:
    """Input columns -> a contiguous run of output columns, by a chain of simple steps."""

    columns: list[str]
    raw_fills: list[list[Any]] = field(default_factory=list)  # imputers before one-hot
    onehot: OneHot | None = None
    float_ops: list[tuple[str, np.ndarray | None, np.ndarray | None]] = field(
        default_factory=list
    )  # ("fill", values, None) | ("affine", shift, scale) | ("muladd", scale, offset)
    sources: list[int] = field(default_factory=list)  # output column -> index in columns
    start: int = 0

    @property
    def width(self) -> int:
        return self.onehot.width if self.onehot else len(self.columns)

    def _encode(self, values: list[Any], out: np.ndarray) -> None:
        """One-hot encode one row of raw ``values`` into ``out`` (zeros on entry)."""
        assert self.onehot is not None
        for fills in self.raw_fills:
            values = [f if _is_nan(v) else v for v, f in zip(values, fills, strict=True)]
        for j, (value, lookup) in enumerate(zip(values, self.onehot.lookups, strict=True)):
            k = category_key(value)
            idx = lookup.get(k, -1)
            if idx >= 0:
                out[idx] = 1.0
            elif self.onehot.error_on_unknown and k not in lookup:
                raise ValueError(f"unknown category {value!r} in column {self.columns[j]!r}")

    def _finish(self, x: np.ndarray) -> np.ndarray:
        return _apply_ops(self.float_ops, x)

    def rows(self, rows: Sequence[Mapping[str, Any]], out: np.ndarray) -> None:
        """The rows' values gathered, then each step over the whole block: elementwise, so a
        row's values are the same bits whatever rows come with it."""
        values = [[row[c] for c in self.columns] for row in rows]
        if self.onehot is None:
            x = np.array(values, dtype=float)
        else:
            x = np.zeros((len(rows), self.onehot.width))
            for i, row_values in enumerate(values):
                self._encode(row_values, x[i])
        out[:, self.start : self.start + self.width] = self._finish(x)

    def frame(self, frame: pd.DataFrame, out: np.ndarray) -> None:
        if self.onehot is None:
            x = frame[self.columns].to_numpy(dtype=float, na_value=np.nan)
        else:
            x = np.zeros((len(frame), self.onehot.width))
            raw = frame[self.columns].to_numpy(dtype=object)
            for i in range(len(frame)):
                self._encode(list(raw[i]), x[i])
        out[:, self.start : self.start + self.width] = self._finish(x)


@dataclass
class FastTransform:
    """A compiled preprocessing: call it on a DataFrame, a dict (one row) or a list of dicts.

    ``input_columns`` are the columns it reads; ``feature_of_column[j]`` is the index in
    ``input_columns`` of the original column that transformed column ``j`` comes from.
    """

    input_columns: list[str]
    feature_of_column: np.ndarray
    blocks: list[Block]
    post_ops: list[tuple[str, np.ndarray | None, np.ndarray | None]]
    n_out: int

    def __call__(self, rows: Rows) -> np.ndarray:
        """The transformed matrix, shape ``(n_rows, n_out)``."""
        if isinstance(rows, pd.Series):
            rows = rows.to_dict()
        if isinstance(rows, Mapping):
            return self.transform_rows([rows])
        if isinstance(rows, pd.DataFrame):
            if len(rows) <= 4:  # per-row dict path is faster than pandas for a few rows
                rows = self.frame_rows(rows)
            else:
                return self.transform_frame(rows)
        return self.transform_rows(rows)

    def frame_rows(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        """A DataFrame as ``{column: value}`` rows, once its input columns are checked."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise KeyError(f"missing input columns: {missing}")
        columns = list(frame.columns)  # .values of the whole frame is the fast way out
        return [dict(zip(columns, r, strict=True)) for r in frame.values.tolist()]

    def transform_rows(self, rows: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Rows given as ``{column: value}`` -> a 2-D array, vectorised per block."""
        out = np.empty((len(rows), self.n_out))
        if not rows:
            return out
        try:
            for block in self.blocks:
                block.rows(rows, out)
        except KeyError as exc:
            raise KeyError(f"missing input column {exc.args[0]!r}") from None
        return _apply_ops(self.post_ops, out)

    def transform_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """A DataFrame -> a 2-D array, vectorised per block."""
        out = np.empty((len(frame), self.n_out))
        for block in self.blocks:
            block.frame(frame, out)
        return _apply_ops(self.post_ops, out)


def _apply_ops(ops: list, x: np.ndarray) -> np.ndarray:
    """Column-wise steps, computed in the same order of operations as scikit-learn."""
    for op, a, b in ops:
        if op == "fill":  # SimpleImputer
            x = np.where(np.isnan(x), a, x)
        elif op == "affine":  # StandardScaler: (x - mean) / scale
            if a is not None:
                x = x - a
            if b is not None:
                x = x / b
        else:  # "muladd", MinMaxScaler: x * scale + min
            x = x * a + b
    return x
