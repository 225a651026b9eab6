"""The numpy fast path must equal scikit-learn's transform, or not be used at all."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MinMaxScaler,
    OneHotEncoder,
    StandardScaler,
)

from registry.analysis.pipelines import _fastpath as fastpath
from registry.analysis.pipelines import compile_pipeline, compile_with_reason

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "german_credit.csv"


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, pd.Series, list[str], list[str]]:
    frame = pd.read_csv(DATA)
    y = (frame.pop("credit") == "good").astype(int)
    numeric = frame.select_dtypes("number").columns.tolist()
    categorical = [c for c in frame.columns if c not in numeric]
    return frame, y, numeric, categorical


@pytest.fixture(scope="module")
def holey(credit) -> pd.DataFrame:
    """The credit data with about 5% of every column missing."""
    frame = credit[0].copy()
    rng = np.random.default_rng(7)
    for column in frame.columns:
        if frame[column].dtype != object:
            frame[column] = frame[column].astype(float)
        frame.loc[rng.random(len(frame)) < 0.05, column] = np.nan
    return frame


def dense(matrix) -> np.ndarray:
    return np.asarray(matrix.toarray() if hasattr(matrix, "toarray") else matrix, dtype=float)


def plain(numeric: list[str], categorical: list[str], **onehot) -> ColumnTransformer:
    return ColumnTransformer(
        [
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", **onehot), categorical),
        ]
    )


def assert_equal_everywhere(fast, expected: np.ndarray, frame: pd.DataFrame) -> None:
    """Batch, one-row-dict and one-row-DataFrame paths all equal ``expected``."""
    assert fast is not None
    np.testing.assert_allclose(fast(frame), expected, rtol=1e-12, atol=1e-12)
    for i, row in enumerate(frame.to_dict("records")):
        np.testing.assert_allclose(fast(row)[0], expected[i], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fast(frame.iloc[[5]]), expected[[5]], rtol=1e-12, atol=1e-12)
    # many rows as dicts (a batch) are each transformed as alone, bit for bit
    records = frame.to_dict("records")
    assert np.array_equal(fast(records), np.vstack([fast(r) for r in records]), equal_nan=True)
    assert fast([]).shape == (0, fast.n_out)


def test_plain_column_transformer_equals_sklearn_on_all_rows(credit) -> None:
    frame, _, numeric, categorical = credit
    ct = plain(numeric, categorical).fit(frame)
    fast = compile_pipeline(ct, frame)
    expected = dense(ct.transform(frame))
    assert expected.shape == (1000, fast.n_out)
    assert_equal_everywhere(fast, expected, frame)


def test_missing_values_imputed_like_sklearn(credit, holey) -> None:
    _, _, numeric, categorical = credit
    ct = ColumnTransformer(
        [
            (
                "num",
                Pipeline([("imp", SimpleImputer(strategy="median")), ("sc", StandardScaler())]),
                numeric,
            ),
            (
                "cat",
                Pipeline(
                    [
                        ("imp", SimpleImputer(strategy="constant", fill_value="not given")),
                        ("oh", OneHotEncoder(handle_unknown="ignore")),
                    ]
                ),
                categorical,
            ),
        ]
    ).fit(holey)
    assert holey.isna().sum().sum() > 500
    fast = compile_pipeline(ct, holey)
    assert_equal_everywhere(fast, dense(ct.transform(holey)), holey)
    # a JSON null in a numeric column is missing, and imputed
    row = holey.iloc[0].to_dict() | {"age": None}
    expected = dense(ct.transform(pd.DataFrame([holey.iloc[0].to_dict() | {"age": np.nan}])))
    np.testing.assert_allclose(fast(row), expected)


@pytest.mark.filterwarnings("ignore:Found unknown categories")
def test_unseen_categories_are_ignored_like_sklearn(credit) -> None:
    frame, _, numeric, categorical = credit
    ct = plain(numeric, categorical, drop="if_binary").fit(frame)
    fast = compile_pipeline(ct, frame)
    odd = frame.copy()
    odd.loc[::3, "purpose"] = "a spaceship"
    odd.loc[::7, "housing"] = "a castle"
    odd.loc[::11, "sex"] = None  # None is an unknown category to OneHotEncoder
    assert_equal_everywhere(fast, dense(ct.transform(odd)), odd)


def test_unknown_category_raises_when_sklearn_would(credit) -> None:
    frame, _, numeric, categorical = credit
    ct = ColumnTransformer(
        [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(), categorical)]
    ).fit(frame)
    fast = compile_pipeline(ct, frame)
    assert fast is not None
    row = frame.iloc[0].to_dict() | {"purpose": "a spaceship"}
    with pytest.raises(ValueError, match="purpose"):
        fast(row)
    with pytest.raises(ValueError):
        ct.transform(pd.DataFrame([row]))


def test_drop_first_remainder_and_nested_pipelines(credit) -> None:
    frame, y, numeric, categorical = credit
    inner = ColumnTransformer(
        [("cat", OneHotEncoder(drop="first", handle_unknown="ignore"), categorical)],
        remainder="passthrough",
    )
    pipeline = Pipeline(
        [
            ("pre", Pipeline([("ct", inner), ("scale", StandardScaler(with_mean=False))])),
            ("model", LogisticRegression(max_iter=3000)),
        ]
    ).fit(frame, y)
    fast = compile_pipeline(pipeline, frame)
    expected = dense(pipeline[:-1].transform(frame))
    assert_equal_everywhere(fast, expected, frame)
    np.testing.assert_allclose(
        pipeline[-1].predict_proba(fast(frame)), pipeline.predict_proba(frame), rtol=1e-12
    )


def test_min_max_scaler_and_series_rows(credit) -> None:
    frame, _, numeric, categorical = credit
    ct = ColumnTransformer(
        [
            ("num", MinMaxScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    ).fit(frame)
    fast = compile_pipeline(ct, frame)
    expected = dense(ct.transform(frame))
    assert_equal_everywhere(fast, expected, frame)
    np.testing.assert_allclose(fast(frame.iloc[7]), expected[[7]], rtol=1e-12)


def test_numeric_one_hot_and_model_probabilities(credit) -> None:
    frame, y, numeric, categorical = credit
    ct = ColumnTransformer(
        [
            ("codes", OneHotEncoder(handle_unknown="ignore"), ["installment_rate", "job"]),
            ("num", StandardScaler(), ["age", "duration"]),
        ]
    )
    pipeline = Pipeline(
        [("pre", ct), ("model", GradientBoostingClassifier(n_estimators=20, random_state=0))]
    ).fit(frame, y)
    fast = compile_pipeline(pipeline, frame)
    assert_equal_everywhere(fast, dense(pipeline[:-1].transform(frame)), frame)
    assert fast.input_columns == list(frame.columns)


def test_feature_of_column_maps_one_hot_columns_to_their_feature(credit) -> None:
    frame, _, numeric, categorical = credit
    ct = plain(numeric, categorical).fit(frame)
    fast = compile_pipeline(ct, frame)
    names = ct.get_feature_names_out()
    for j, name in enumerate(names):
        original = fast.input_columns[fast.feature_of_column[j]]
        rest = name.split("__", 1)[1]
        assert rest == original or rest.startswith(original + "_"), (name, original)
    assert sorted(set(fast.feature_of_column.tolist())) == list(range(len(frame.columns)))


@pytest.mark.parametrize(
    "branch",
    [
        FunctionTransformer(np.log1p),
        Pipeline([("sc", StandardScaler()), ("pca", PCA(n_components=2))]),
        SimpleImputer(add_indicator=True),
        MinMaxScaler(clip=True),
    ],
    ids=["function", "pca", "indicator", "clip"],
)
def test_unsupported_transformer_falls_back(credit, branch) -> None:
    frame, _, numeric, categorical = credit
    ct = ColumnTransformer(
        [("num", branch, numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), categorical)]
    ).fit(frame)
    assert compile_pipeline(ct, frame) is None
    fast, reason = compile_with_reason(ct, frame)
    assert fast is None and reason


def test_unproven_fast_path_is_not_used(credit, monkeypatch) -> None:
    frame, _, numeric, categorical = credit
    ct = plain(numeric, categorical).fit(frame)
    real = fastpath._float_op

    def off_by_a_little(step):
        op, shift, scale = real(step)
        return (op, None if shift is None else shift + 1e-3, scale)

    monkeypatch.setattr(fastpath, "_float_op", off_by_a_little)
    fast, reason = compile_with_reason(ct, frame)
    assert fast is None
    assert "differs" in reason


def test_missing_input_column_is_an_error(credit) -> None:
    frame, _, numeric, categorical = credit
    ct = plain(numeric, categorical).fit(frame)
    fast = compile_pipeline(ct, frame)
    row = frame.iloc[0].to_dict()
    del row["age"]
    with pytest.raises(KeyError, match="age"):
        fast(row)


def test_one_row_from_a_dict_is_fast(credit) -> None:
    frame, _, numeric, categorical = credit
    ct = plain(numeric, categorical).fit(frame)
    fast = compile_pipeline(ct, frame)
    rows = frame.to_dict("records")
    timings = []
    for row in rows[:300]:
        start = time.perf_counter()
        fast(row)
        timings.append(time.perf_counter() - start)
    # ~0.01 ms on a laptop; sklearn's ColumnTransformer takes ~5 ms
    assert np.median(timings) < 0.5e-3
