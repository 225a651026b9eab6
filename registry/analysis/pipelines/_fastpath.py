"""A numpy fast path for the preprocessing of common scikit-learn pipelines.

scikit-learn's ColumnTransformer spends milliseconds validating a one-row DataFrame. At
load time :func:`compile_pipeline` turns the supported pieces — ``OneHotEncoder``,
``StandardScaler``, ``MinMaxScaler`` (no clip), ``SimpleImputer`` (missing value NaN, no
indicator), ``passthrough`` and ``drop``, inside a ``ColumnTransformer`` and/or
``Pipeline`` — into per-block numpy operations (:mod:`registry.analysis.pipelines._fast_transform`),
then *proves* the result equal to the pipeline on a sample
(:mod:`registry.analysis.pipelines._proof`). Anything unsupported or unequal gives ``None`` and
the caller keeps the scikit-learn pipeline.

The compiled transform also knows which original column feeds each transformed column
(:attr:`FastTransform.feature_of_column`), which is what lets SHAP values computed on the
one-hot matrix be summed back to the original features. :func:`column_sources` gives the
same mapping for pipelines the fast path cannot compile, where it can be determined.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._fast_transform import Block, FastTransform, OneHot, category_key
from ._proof import verify
from ._steps import flat_steps, split_pipeline


class Unsupported(Exception):
    """A pipeline piece the fast path does not handle (the message says which)."""


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


def _onehot(step: Any, n_columns: int) -> OneHot:
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
            k = category_key(category)
            if dropped is not None and i == dropped:
                lookup[k] = -1  # known, encoded as all zeros
            else:
                lookup[k] = offset
                offset += 1
        lookups.append(lookup)
    return OneHot(lookups, step.handle_unknown == "error", offset)


def _block(columns: list[str], transformer: Any) -> Block:
    """Compile one ColumnTransformer branch (a transformer or a Pipeline of them)."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    block = Block(columns=list(columns))
    steps = flat_steps(transformer)
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


def _blocks(first: Any, *, strict: bool) -> tuple[list[str], list[Block]]:
    """Input columns and compiled blocks of the first preprocessing step."""
    from sklearn.compose import ColumnTransformer

    names = getattr(first, "feature_names_in_", None)
    if names is None:
        raise Unsupported("the pipeline was not fitted on a DataFrame (no column names)")
    input_columns = [str(c) for c in names]
    if not isinstance(first, ColumnTransformer):
        block = _block(input_columns, first)
        return input_columns, [block]
    blocks: list[Block] = []
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
            block = Block(columns=selected)
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
        block = Block(columns=columns, sources=list(range(len(columns))))
        return _assemble(columns, [block], [])
    columns, blocks = _blocks(pre[0], strict=True)
    return _assemble(columns, blocks, [_float_op(step) for step in pre[1:]])


def _assemble(columns: list[str], blocks: list[Block], post_ops: list) -> FastTransform:
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
    pre, _ = split_pipeline(pipeline)
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
