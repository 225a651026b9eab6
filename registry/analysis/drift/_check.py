"""Data-drift checks: evidently 0.7's DataDriftPreset wrapped as plain functions.

Evidently is imported inside :func:`check_drift` because it takes seconds to import.
Per-column verdicts are read from evidently's own test statuses, never re-derived:
evidently picks a different stattest (p-value or distance) depending on the data size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ._columns import CATEGORICAL, NUMERICAL

if TYPE_CHECKING:  # pandas is imported where used: the web process starts fast
    import pandas as pd


@dataclass(frozen=True)
class DriftRules:
    """How drift is judged.

    ``method`` is an evidently stattest name applied to every column (None: evidently's
    defaults per column); ``column_threshold`` its threshold (None: that stattest's default);
    the dataset is drifted when the share of drifted columns is at/above ``drift_share``;
    an HTML report larger than ``html_max_bytes`` is dropped.
    """

    method: str | None
    column_threshold: float | None
    drift_share: float
    html_max_bytes: int

    def __post_init__(self) -> None:
        if self.method is not None and (not isinstance(self.method, str) or not self.method):
            raise ValueError(f"method must be a stattest name or None, got {self.method!r}")
        if self.column_threshold is not None and not (
            math.isfinite(self.column_threshold) and self.column_threshold >= 0
        ):
            raise ValueError(f"column_threshold must be >= 0, got {self.column_threshold!r}")
        if not 0 < self.drift_share <= 1:
            raise ValueError(f"drift_share must be in (0, 1], got {self.drift_share!r}")
        if self.html_max_bytes < 0:
            raise ValueError(f"html_max_bytes must be >= 0, got {self.html_max_bytes!r}")


@dataclass
class DriftResult:
    """Outcome of a drift check; ``columns`` holds one JSON-ready dict per column."""

    columns: list[dict]
    share_drifted: float
    drifted: bool
    html: str | None
    note: str | None

    def to_dict(self) -> dict:
        """Everything but the HTML, JSON-serialisable."""
        out = asdict(self)
        del out["html"]
        return out


def check_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    numerical: list[str],
    categorical: list[str],
    rules: DriftRules,
    with_html: bool = True,
) -> DriftResult:
    """Compare ``current`` with ``reference`` column by column using evidently.

    Raises ValueError for unusable inputs (missing/empty/non-numeric columns, empty frames,
    unknown stattest or one that does not apply to a column type).
    """
    columns = _validate(reference, current, numerical, categorical)

    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    _check_method(rules.method, has_num=bool(numerical), has_cat=bool(categorical))

    definition = DataDefinition(
        numerical_columns=list(numerical), categorical_columns=list(categorical)
    )
    report = Report(
        [
            DataDriftPreset(
                drift_share=rules.drift_share,
                method=rules.method,
                threshold=rules.column_threshold,
            )
        ],
        include_tests=True,
    )
    snapshot = report.run(
        Dataset.from_pandas(_only(current, columns), data_definition=definition),
        Dataset.from_pandas(_only(reference, columns), data_definition=definition),
    )
    results, share, drifted = _read_snapshot(snapshot.dict(), numerical, categorical)

    html: str | None = None
    note: str | None = None
    if with_html:
        html = snapshot.get_html_str(as_iframe=False)
        size = len(html.encode("utf-8"))
        if size > rules.html_max_bytes:
            html = None
            note = (
                f"HTML report dropped: {size} bytes is over the limit of "
                f"{rules.html_max_bytes} bytes"
            )
    return DriftResult(columns=results, share_drifted=share, drifted=drifted, html=html, note=note)


def _validate(
    reference: pd.DataFrame, current: pd.DataFrame, numerical: list[str], categorical: list[str]
) -> list[str]:
    """Check the frames and column lists; return the columns to compare."""
    import pandas as pd

    columns = [*numerical, *categorical]
    if not columns:
        raise ValueError("no columns to compare: numerical and categorical are both empty")
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise ValueError(f"column {column!r} is listed more than once")
        seen.add(column)
    for name, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
        if len(frame) == 0:
            raise ValueError(f"{name} is empty")
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"column {missing[0]!r} is missing from {name} (missing: {missing})")
        for column in numerical:
            dtype = frame[column].dtype
            if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                raise ValueError(f"numerical column {column!r} in {name} has dtype {dtype}")
        for column in columns:
            if not _has_values(frame[column], numeric=column in numerical):
                raise ValueError(f"column {column!r} in {name} has no non-missing values")
    return columns


def _has_values(series: pd.Series, *, numeric: bool) -> bool:
    """Whether the column has any usable value (evidently drops NaN, and inf for numbers)."""

    def usable(part: pd.Series) -> bool:
        if numeric:
            part = part.replace([math.inf, -math.inf], math.nan)
        return bool(part.notna().any())

    return usable(series.iloc[:1000]) or usable(series)  # cheap look at the head first


def _check_method(method: str | None, *, has_num: bool, has_cat: bool) -> None:
    """Fail before the (slow) run on an unknown stattest or one that does not fit a column type."""
    if method is None:
        return
    from evidently.legacy.calculations.stattests.registry import (
        StatTestInvalidFeatureTypeError,
        StatTestNotFoundError,
        get_registered_stattest,
    )
    from evidently.legacy.core import ColumnType

    for needed, ctype, label in (
        (has_num, ColumnType.Numerical, NUMERICAL),
        (has_cat, ColumnType.Categorical, CATEGORICAL),
    ):
        if not needed:
            continue
        try:
            get_registered_stattest(method, ctype)
        except StatTestNotFoundError as exc:
            raise ValueError(f"unknown drift method {method!r}") from exc
        except StatTestInvalidFeatureTypeError as exc:
            raise ValueError(f"drift method {method!r} does not apply to {label} columns") from exc


def _only(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The frame restricted to ``columns`` (no copy when it already is)."""
    return frame if list(frame.columns) == columns else frame[columns]


def _read_snapshot(
    snap: dict[str, Any], numerical: list[str], categorical: list[str]
) -> tuple[list[dict], float, bool]:
    """Per-column rows, share drifted and dataset verdict, all as evidently reported them."""
    status = {
        t["metric_config"]["metric_id"]: str(getattr(t["status"], "value", t["status"]))
        for t in snap["tests"]
    }
    rows: dict[str, dict] = {}
    share: float | None = None
    drifted: bool | None = None
    for metric in snap["metrics"]:
        config = metric["config"]
        kind = config["type"].rsplit(":", 1)[-1]
        if kind == "ValueDrift":
            column = config["column"]
            rows[column] = {
                "column": column,
                "type": NUMERICAL if column in numerical else CATEGORICAL,
                "method": _display_name(config["method"]),
                "value": _finite(metric["value"]),
                "threshold": _finite(config["threshold"]),
                "drifted": _verdict(status, metric["id"], column),
            }
        elif kind == "DriftedColumnsCount":
            share = _finite(metric["value"]["share"])
            drifted = _verdict(status, metric["id"], "dataset")
    missing = [c for c in [*numerical, *categorical] if c not in rows]
    if missing or share is None or drifted is None:
        raise RuntimeError(f"evidently snapshot is incomplete (missing: {missing or 'share'})")
    return [rows[c] for c in [*numerical, *categorical]], share, drifted


def _verdict(status: dict[str, str], metric_id: str, what: str) -> bool:
    """True if evidently's test failed (drift), False if it passed."""
    value = status.get(metric_id, "missing")
    if value in ("FAIL", "WARNING"):
        return True
    if value == "SUCCESS":
        return False
    raise RuntimeError(f"evidently drift test for {what} has status {value}")


def _display_name(method: str) -> str:
    """Evidently's display name ("K-S p_value", "PSI", ...) for a stattest name."""
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType

    for ctype in (ColumnType.Numerical, ColumnType.Categorical):
        try:
            return get_registered_stattest(method, ctype).display_name
        except ValueError:
            continue
    return method  # already a display name (evidently resolved the default itself)


def _finite(value: Any) -> float | None:
    """A plain float, or None for NaN/inf/missing."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
