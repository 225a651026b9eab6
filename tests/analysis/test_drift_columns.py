"""Every column type a dataset schema allows works in a drift check, with real evidently: a batch
from the same distribution is not flagged, a shifted one is, and the reference and the batch are
typed alike whether the batch came as CSV, Parquet or the JSON inputs kept from receipts."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from registry.analysis.drift import DriftRules, check_drift, split_columns, typed_columns
from registry.analysis.tables import conform, rules_from
from registry.jobs.handlers import read_batch

RULES = DriftRules(method=None, column_threshold=None, drift_share=0.5, html_max_bytes=0)
REFERENCE_ROWS, BATCH_ROWS = 2000, 600


def draw(kind: str, n: int, shifted: bool, seed: int) -> list[Any]:
    """Values of one column as a dataset's CSV holds them (text), shifted or not."""
    rng = np.random.default_rng(seed)
    if kind == "integer":
        return [str(v) for v in rng.poisson(9 if shifted else 4, n)]
    if kind == "number":
        return [f"{v:.3f}" for v in rng.normal(2.0 if shifted else 0.0, 1.0, n)]
    if kind == "boolean":
        return ["true" if v else "false" for v in rng.random(n) < (0.75 if shifted else 0.3)]
    if kind == "date":
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=500 if shifted else 0)
        days = rng.integers(0, 365, n)
        return [(start + pd.Timedelta(days=int(d))).date().isoformat() for d in days]
    shares = [0.1, 0.2, 0.7] if shifted else [0.6, 0.3, 0.1]
    return list(rng.choice(["north", "south", "east"], n, p=shares))


def stored(kind: str, values: list[Any]) -> pd.DataFrame:
    """A dataset column as Gatehouse reads it back from an upload: typed by its schema."""
    frame = pd.DataFrame({"x": values})
    rules = rules_from([{"name": "x", "type": kind, "description": "x"}])
    return conform(frame.astype(str), rules)


def as_csv(kind: str, values: list[Any]) -> pd.DataFrame:
    return read_batch(pd.DataFrame({"x": values}).to_csv(index=False).encode())


def as_parquet(kind: str, values: list[Any]) -> pd.DataFrame:
    buffer = io.BytesIO()
    stored(kind, values).to_parquet(buffer, index=False)
    return read_batch(buffer.getvalue())


def as_receipts(kind: str, values: list[Any]) -> pd.DataFrame:
    """The inputs a receipt keeps (JSON): numbers and booleans as floats, the rest as text."""
    def served(v: str) -> Any:
        if kind in ("integer", "number"):
            return float(v)
        if kind == "boolean":
            return 1.0 if v == "true" else 0.0
        return v
    rows = json.loads(json.dumps([{"x": served(v)} for v in values]))
    return pd.DataFrame(rows)


SOURCES: dict[str, Callable[[str, list[Any]], pd.DataFrame]] = {
    "csv": as_csv, "parquet": as_parquet, "receipts": as_receipts}
TYPES = ("integer", "number", "boolean", "date", "category", "string")


def run(kind: str, batch: pd.DataFrame) -> Any:
    types = {"x": kind}
    reference = typed_columns(stored(kind, draw(kind, REFERENCE_ROWS, False, 1)), types)
    current = typed_columns(batch, types)
    numerical, categorical = split_columns(types)
    return check_drift(reference, current, numerical=numerical, categorical=categorical,
                       rules=RULES, with_html=False)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("kind", TYPES)
def test_each_type_flags_a_shift_and_not_the_same_distribution(kind: str, source: str) -> None:
    same = run(kind, SOURCES[source](kind, draw(kind, BATCH_ROWS, False, 2)))
    moved = run(kind, SOURCES[source](kind, draw(kind, BATCH_ROWS, True, 3)))
    assert not same.drifted, same.columns
    assert moved.drifted, moved.columns
    expected = "numerical" if kind in ("integer", "number", "date") else "categorical"
    assert same.columns[0]["type"] == expected


@pytest.mark.parametrize("kind", TYPES)
def test_reference_and_batch_are_typed_alike_from_every_source(kind: str) -> None:
    values = draw(kind, 50, False, 4)
    types = {"x": kind}
    reference = typed_columns(stored(kind, values), types)["x"]
    for source, read in SOURCES.items():
        batch = typed_columns(read(kind, values), types)["x"]
        assert batch.tolist() == reference.tolist(), source


def test_booleans_and_dates_are_compared_as_their_kind() -> None:
    frame = pd.DataFrame({"flag": [True, False, None, 1.0, "yes"],
                          "day": ["1970-01-02", "1970-01-11", None, "2000-01-01", "1970-01-01"]})
    typed = typed_columns(frame, {"flag": "boolean", "day": "date"})
    assert typed["flag"].tolist() == ["true", "false", None, "true", "true"]
    assert typed["day"].tolist()[:2] == [1.0, 10.0] and pd.isna(typed["day"][2])
    assert split_columns({"flag": "boolean", "day": "date", "score": "score"}) == (
        ["day", "score"], ["flag"])


def test_values_that_do_not_fit_their_type_are_named() -> None:
    frame = pd.DataFrame({"flag": ["true", "perhaps"], "day": ["2024-01-01", "soon"],
                          "n": ["1", "many"]})
    with pytest.raises(ValueError) as refused:
        typed_columns(frame, {"flag": "boolean", "day": "date", "n": "number"})
    message = str(refused.value)
    assert "'flag' (boolean)" in message and "perhaps" in message
    assert "'day' (date): holds values that are not ISO dates" in message
    assert "'n' (number)" in message
