"""A numpy fast path for the preprocessing of common scikit-learn pipelines.

scikit-learn's ColumnTransformer spends milliseconds validating a one-row DataFrame. At
load time :func:`compile_pipeline` turns the supported pieces — ``OneHotEncoder``,
``StandardScaler``, ``MinMaxScaler`` (no clip), ``SimpleImputer`` (missing value NaN, no
indicator), ``passthrough`` and ``drop``, inside a ``ColumnTransformer`` and/or
``Pipeline`` — into per-block numpy
operations, then *proves* the result equal to the pipeline on a sample (every row in a
batch, rows one at a time as dicts, and probe rows with unseen categories and missing
values; and the final probabilities when the pipeline ends in a classifier). Anything
unsupported or unequal gives ``None`` and the caller keeps the scikit-learn pipeline.

The compiled transform also knows which original column feeds each transformed column
(:attr:`FastTransform.feature_of_column`), which is what lets SHAP values computed on the
one-hot matrix be summed back to the original features. :func:`column_sources` gives the
same mapping for pipelines the fast path cannot compile, where it can be determined.

Semantics follow scikit-learn exactly, including its quirks: ``SimpleImputer`` treats
only NaN as missing in a text column (``None`` passes through it and is then an unknown
category to ``OneHotEncoder``); in a numeric column ``None`` becomes NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

Rows = pd.DataFrame | pd.Series | Mapping[str, Any] | Sequence[Mapping[str, Any]]

_UNSEEN = "\x00gatehouse-unseen-category"


class Unsupported(Exception):
    """A pipeline piece the fast path does not handle (the message says which)."""


class _Key:
    """Sentinels for the missing-value markers, which do not compare equal to themselves."""

    NONE = object()
    NAN = object()
    PD_NA = object()


def _key(value: Any) -> Any:
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


# --- blocks ----------------------------------------------------------------------------


@dataclass
class _OneHot:
    lookups: list[dict[Any, int]]  # per input column: category key -> output offset
    error_on_unknown: bool
    width: int


@dataclass
class _Block:
    """Input columns -> a contiguous run of output columns, by a chain of simple steps."""

    columns: list[str]
    raw_fills: list[list[Any]] = field(default_factory=list)  # imputers before one-hot
    onehot: _OneHot | None = None
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
            k = _key(value)
            idx = lookup.get(k, -1)
            if idx >= 0:
                out[idx] = 1.0
            elif self.onehot.error_on_unknown and k not in lookup:
                raise ValueError(f"unknown category {value!r} in column {self.columns[j]!r}")

    def _finish(self, x: np.ndarray) -> np.ndarray:
        return _apply_ops(self.float_ops, x)

    def row(self, row: Mapping[str, Any], out: np.ndarray) -> None:
        values = [row[c] for c in self.columns]
        if self.onehot is None:
            x = np.array(values, dtype=float)
        else:
            x = np.zeros(self.onehot.width)
            self._encode(values, x)
        out[self.start : self.start + self.width] = self._finish(x)

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
    blocks: list[_Block]
    post_ops: list[tuple[str, np.ndarray | None, np.ndarray | None]]
    n_out: int

    def __call__(self, rows: Rows) -> np.ndarray:
        """The transformed matrix, shape ``(n_rows, n_out)``."""
        if isinstance(rows, pd.Series):
            rows = rows.to_dict()
        if isinstance(rows, Mapping):
            return self.transform_row(rows)[None, :]
        if isinstance(rows, pd.DataFrame):
            if len(rows) <= 4:  # per-row dict path is faster than pandas for a few rows
                rows = self._frame_rows(rows)
            else:
                return self.transform_frame(rows)
        out = np.empty((len(rows), self.n_out))
        for i, row in enumerate(rows):
            out[i] = self.transform_row(row)
        return out

    def _frame_rows(self, frame: pd.DataFrame) -> list[dict[str, Any]]:
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise KeyError(f"missing input columns: {missing}")
        columns = list(frame.columns)  # .values of the whole frame is the fast way out
        return [dict(zip(columns, r, strict=True)) for r in frame.values.tolist()]

    def transform_row(self, row: Mapping[str, Any]) -> np.ndarray:
        """One row given as ``{column: value}`` -> a 1-D array of ``n_out`` values."""
        out = np.empty(self.n_out)
        try:
            for block in self.blocks:
                block.row(row, out)
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


# --- compiling ---------------------------------------------------------------------------


def _flatten(estimator: Any) -> list[Any]:
    """A Pipeline's steps, nested pipelines expanded, passthrough steps dropped."""
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline):
        steps: list[Any] = []
        for _, step in estimator.steps:
            steps.extend(_flatten(step))
        return steps
    if estimator is None or (isinstance(estimator, str) and estimator == "passthrough"):
        return []
    return [estimator]


def split_pipeline(pipeline: Any) -> tuple[list[Any], Any | None]:
    """(preprocessing steps, final estimator or None) of a pipeline or a bare transformer."""
    steps = _flatten(pipeline)
    if steps and hasattr(steps[-1], "predict_proba"):
        return steps[:-1], steps[-1]
    return steps, None


def _float_op(step: Any) -> tuple[str, np.ndarray | None, np.ndarray | None]:
    """A matrix-wide, column-wise step as ("fill", values) or ("affine", shift, scale)."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import FunctionTransformer, MinMaxScaler, StandardScaler

    if isinstance(step, MinMaxScaler):
        if step.clip:
            raise Unsupported("MinMaxScaler(clip=True)")
        return ("muladd", np.asarray(step.scale_), np.asarray(step.min_))
    if isinstance(step, StandardScaler):
        mean = None if step.mean_ is None or not step.with_mean else np.asarray(step.mean_)
        scale = None if step.scale_ is None or not step.with_std else np.asarray(step.scale_)
        return ("affine", mean, scale)
    if isinstance(step, SimpleImputer):
        _check_imputer(step)
        try:
            fill = np.asarray(step.statistics_, dtype=float)
        except (TypeError, ValueError):
            raise Unsupported("SimpleImputer with non-numeric fill on numbers") from None
        return ("fill", fill, None)
    if isinstance(step, FunctionTransformer) and step.func is None:
        return ("affine", None, None)
    raise Unsupported(f"{type(step).__name__} is not supported by the fast path")


def _check_imputer(step: Any) -> None:
    from sklearn.utils._missing import is_scalar_nan

    if not is_scalar_nan(step.missing_values):
        raise Unsupported("SimpleImputer with missing_values other than NaN")
    if step.add_indicator:
        raise Unsupported("SimpleImputer with add_indicator=True")
    stats = pd.Series(np.asarray(step.statistics_, dtype=object))
    if stats.isna().any():
        raise Unsupported("SimpleImputer with an all-missing column")


def _onehot(step: Any, n_columns: int) -> _OneHot:
    if getattr(step, "_infrequent_enabled", False):
        raise Unsupported("OneHotEncoder with infrequent categories")
    if step.handle_unknown not in ("ignore", "error", "infrequent_if_exist", "warn"):
        raise Unsupported(f"OneHotEncoder(handle_unknown={step.handle_unknown!r})")
    if len(step.categories_) != n_columns:
        raise Unsupported("OneHotEncoder fitted on a different number of columns")
    drop = getattr(step, "drop_idx_", None)
    lookups: list[dict[Any, int]] = []
    offset = 0
    for j, categories in enumerate(step.categories_):
        lookup: dict[Any, int] = {}
        dropped = None if drop is None else drop[j]
        for i, category in enumerate(categories.tolist()):
            k = _key(category)
            if dropped is not None and i == dropped:
                lookup[k] = -1  # known, encoded as all zeros
            else:
                lookup[k] = offset
                offset += 1
        lookups.append(lookup)
    return _OneHot(lookups, step.handle_unknown == "error", offset)


def _block(columns: list[str], transformer: Any) -> _Block:
    """Compile one ColumnTransformer branch (a transformer or a Pipeline of them)."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    block = _Block(columns=list(columns))
    steps = _flatten(transformer)
    encoders = [i for i, s in enumerate(steps) if isinstance(s, OneHotEncoder)]
    if len(encoders) > 1:
        raise Unsupported("more than one OneHotEncoder in a branch")
    if encoders:
        at = encoders[0]
        for step in steps[:at]:
            if not isinstance(step, SimpleImputer):
                raise Unsupported(f"{type(step).__name__} before a OneHotEncoder")
            _check_imputer(step)
            block.raw_fills.append(list(np.asarray(step.statistics_, dtype=object)))
        block.onehot = _onehot(steps[at], len(columns))
        block.sources = [
            j for j, lookup in enumerate(block.onehot.lookups) for v in lookup.values() if v >= 0
        ]
        steps = steps[at + 1 :]
    else:
        block.sources = list(range(len(columns)))
    block.float_ops = [_float_op(step) for step in steps]
    return block


def _column_names(ct: Any, columns: Any) -> list[str]:
    """A ColumnTransformer's fitted column selection as names."""
    names = np.asarray(ct.feature_names_in_, dtype=object)
    if isinstance(columns, str):
        return [columns]
    if isinstance(columns, slice):
        return list(names[columns])
    cols = list(columns) if not isinstance(columns, np.ndarray) else columns.tolist()
    if cols and all(isinstance(c, bool | np.bool_) for c in cols):
        return list(names[np.asarray(cols, dtype=bool)])
    if cols and all(isinstance(c, int | np.integer) for c in cols):
        return list(names[np.asarray(cols, dtype=int)])
    return [str(c) for c in cols]


def _blocks(first: Any, *, strict: bool) -> tuple[list[str], list[_Block]]:
    """Input columns and compiled blocks of the first preprocessing step."""
    from sklearn.compose import ColumnTransformer

    names = getattr(first, "feature_names_in_", None)
    if names is None:
        raise Unsupported("the pipeline was not fitted on a DataFrame (no column names)")
    input_columns = [str(c) for c in names]
    if not isinstance(first, ColumnTransformer):
        block = _block(input_columns, first)
        return input_columns, [block]
    blocks: list[_Block] = []
    for name, transformer, columns in first.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        selected = _column_names(first, columns)
        out = first.output_indices_[name]
        if out.stop == out.start:
            continue
        try:
            block = _block(selected, transformer)
        except Unsupported:
            if strict:
                raise
            block = _Block(columns=selected)
            block.sources = _branch_sources(transformer, selected, out.stop - out.start)
        if not strict and len(block.sources) != out.stop - out.start:
            block.sources = _branch_sources(transformer, selected, out.stop - out.start)
        if len(block.sources) != out.stop - out.start:
            raise Unsupported(f"branch {name!r} has an unexpected width")
        block.start = out.start
        blocks.append(block)
    return input_columns, blocks


def _branch_sources(transformer: Any, columns: list[str], width: int) -> list[int]:
    """Which input column feeds each output of a branch the fast path cannot compile."""
    if len(columns) == 1:
        return [0] * width
    try:
        out = [str(n) for n in transformer.get_feature_names_out(columns)]
    except Exception:  # transformers without names cannot be attributed
        raise Unsupported(f"cannot attribute the outputs of {type(transformer).__name__}") from None
    if out == columns:
        return list(range(len(columns)))
    raise Unsupported(f"cannot attribute the outputs of {type(transformer).__name__}")


def _build(pipeline: Any) -> FastTransform:
    pre, _ = split_pipeline(pipeline)
    if not pre:
        names = getattr(pipeline, "feature_names_in_", None)
        if names is None:
            raise Unsupported("the model was not fitted on a DataFrame (no column names)")
        columns = [str(c) for c in names]
        block = _Block(columns=columns, sources=list(range(len(columns))))
        return _assemble(columns, [block], [])
    columns, blocks = _blocks(pre[0], strict=True)
    return _assemble(columns, blocks, [_float_op(step) for step in pre[1:]])


def _assemble(columns: list[str], blocks: list[_Block], post_ops: list) -> FastTransform:
    n_out = sum(b.width for b in blocks)
    sources = np.full(n_out, -1)
    index = {c: i for i, c in enumerate(columns)}
    for b in blocks:
        if b.start + b.width > n_out:
            raise Unsupported("branches do not tile the output")
        sources[b.start : b.start + b.width] = [index[b.columns[s]] for s in b.sources]
    if (sources < 0).any():
        raise Unsupported("branches do not tile the output")
    return FastTransform(columns, sources, blocks, post_ops, n_out)


def column_sources(pipeline: Any) -> tuple[list[str], np.ndarray] | None:
    """(input columns, original-column index of each transformed column), or None.

    Works for any ColumnTransformer whose branches are compiled, single-column, or
    one-to-one, followed by column-wise steps; ``None`` when outputs cannot be
    attributed to input columns.
    """
    pre, estimator = split_pipeline(pipeline)
    try:
        if not pre:
            fast = _build(pipeline)
            return fast.input_columns, fast.feature_of_column
        columns, blocks = _blocks(pre[0], strict=False)
        for step in pre[1:]:
            _float_op(step)
        n_out = max(b.start + len(b.sources) for b in blocks)
        sources = np.full(n_out, -1)
        index = {c: i for i, c in enumerate(columns)}
        for b in blocks:
            sources[b.start : b.start + len(b.sources)] = [index[b.columns[s]] for s in b.sources]
        if (sources < 0).any():
            return None
        return columns, sources
    except (Unsupported, AttributeError, ValueError):
        return None


def input_columns(pipeline: Any) -> list[str] | None:
    """The columns the pipeline was fitted on, or None if it was fitted on an array."""
    pre, estimator = split_pipeline(pipeline)
    names = getattr(pre[0] if pre else estimator, "feature_names_in_", None)
    return None if names is None else [str(c) for c in names]


def _inputs(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    """``frame`` cut to the fitted columns (sklearn refuses extra ones outside a CT)."""
    return frame if columns is None else frame[columns]


def sklearn_transform(pipeline: Any) -> Callable[[pd.DataFrame], np.ndarray]:
    """The pipeline's own preprocessing as a function returning a dense float matrix."""
    pre, _ = split_pipeline(pipeline)
    columns = input_columns(pipeline)

    def transform(frame: pd.DataFrame) -> np.ndarray:
        x: Any = _inputs(frame, columns)
        for step in pre:
            x = step.transform(x)
        if hasattr(x, "toarray"):
            x = x.toarray()
        return np.asarray(x, dtype=float)

    return transform


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
    if not _close(fast(fast._frame_rows(head)), expected[: len(head)]):
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
            and _close(fast(fast._frame_rows(probes)), probe_expected)
        ):
            return "transform of unseen categories or missing values differs"
    _, estimator = split_pipeline(pipeline)
    if estimator is not None:
        got = estimator.predict_proba(fast.transform_frame(sample))
        if not _close(got, pipeline.predict_proba(_inputs(sample, fast.input_columns))):
            return "probabilities differ from the pipeline"
    return ""


def compile_with_reason(pipeline: Any, sample: pd.DataFrame) -> tuple[FastTransform | None, str]:
    """(compiled transform, '') or (None, why the pipeline's own transform must be used)."""
    try:
        fast = _build(pipeline)
    except (Unsupported, AttributeError) as exc:
        return None, str(exc)
    if len(sample) == 0:
        return None, "no sample to prove the fast path on"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            problem = verify(fast, pipeline, sample)
    except (ValueError, TypeError, KeyError) as exc:
        problem = f"fast path failed on the sample ({exc})"
    return (None, problem) if problem else (fast, "")


def compile_pipeline(pipeline: Any, sample: pd.DataFrame) -> FastTransform | None:
    """The pipeline's preprocessing as numpy operations, proven equal on ``sample``, or None."""
    return compile_with_reason(pipeline, sample)[0]
