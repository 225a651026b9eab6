"""Data frames (the ``[pandas]`` extra): a column schema inferred from dtypes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def infer_columns(frame: pd.DataFrame, *, protected: Iterable[str] = (),
                  descriptions: Mapping[str, str] | None = None,
                  max_categories: int = 200) -> list[dict[str, Any]]:
    """A dataset's column schema from a data frame's dtypes: booleans, integers, numbers, dates,
    and text — as categories (with the values seen) when there are at most ``max_categories``.

    No minimum or maximum is set: scoring refuses values outside them, and the range seen in
    training is rarely the range that is possible. Give ``columns`` yourself for those.
    """
    import pandas as pd

    marked, described = set(protected), dict(descriptions or {})
    unknown = (marked | set(described)) - {str(c) for c in frame.columns}
    if unknown:
        raise ValueError(f"not columns of the frame: {sorted(unknown)}")
    columns = []
    for name in frame.columns:
        series = frame[name]
        column: dict[str, Any] = {"name": str(name),
                                  "description": described.get(str(name), ""),
                                  "protected": str(name) in marked,
                                  "nullable": bool(series.isna().any())}
        if pd.api.types.is_bool_dtype(series):
            column["type"] = "boolean"
        elif pd.api.types.is_integer_dtype(series):
            column["type"] = "integer"
        elif pd.api.types.is_numeric_dtype(series):
            column["type"] = "number"
        elif pd.api.types.is_datetime64_any_dtype(series):
            column["type"] = "date"
        else:
            values = sorted({str(v) for v in series.dropna().unique()})
            if len(values) <= max_categories:
                column.update(type="category", allowed=values)
            else:
                column["type"] = "string"
        columns.append(column)
    return columns
