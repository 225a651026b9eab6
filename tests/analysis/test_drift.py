"""Tests for the drift engine, on the German credit fixture."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp, wasserstein_distance

from registry.analysis.drift import DriftResult, DriftRules, check_drift

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "german_credit.csv"
DEFAULTS = DriftRules(
    method=None, column_threshold=None, drift_share=0.3, html_max_bytes=20_000_000
)


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return pd.read_csv(FIXTURE)


@pytest.fixture(scope="module")
def numerical(credit: pd.DataFrame) -> list[str]:
    return [c for c in credit.columns if pd.api.types.is_numeric_dtype(credit[c])]


@pytest.fixture(scope="module")
def categorical(credit: pd.DataFrame, numerical: list[str]) -> list[str]:
    return [c for c in credit.columns if c not in numerical and c != "credit"]


@pytest.fixture(scope="module")
def shifted(credit: pd.DataFrame) -> pd.DataFrame:
    """A sample of the data with three columns deliberately moved."""
    current = credit.sample(n=400, random_state=1).copy()
    current["credit_amount"] = current["credit_amount"] * 3
    current["age"] = current["age"] + 20
    current["housing"] = current["housing"].map(
        {"own": "rent", "rent": "for free", "for free": "own"}
    )
    return current


@pytest.fixture(scope="module")
def shifted_result(credit, shifted, numerical, categorical) -> DriftResult:
    rules = DriftRules(
        method=None, column_threshold=None, drift_share=0.1, html_max_bytes=20_000_000
    )
    return check_drift(credit, shifted, numerical=numerical, categorical=categorical, rules=rules)


def by_column(result: DriftResult) -> dict[str, dict]:
    return {row["column"]: row for row in result.columns}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fresh_sample_of_reference_is_not_drifted(credit, numerical, categorical, seed):
    current = credit.sample(n=300, random_state=seed)
    result = check_drift(
        credit,
        current,
        numerical=numerical,
        categorical=categorical,
        rules=DEFAULTS,
        with_html=False,
    )
    assert not result.drifted
    assert result.share_drifted < DEFAULTS.drift_share
    assert len(result.columns) == len(numerical) + len(categorical)


def test_disjoint_random_halves_not_drifted_by_distance(credit, numerical, categorical):
    reference = credit.sample(frac=0.5, random_state=0)
    current = credit.drop(reference.index)
    rules = DriftRules("jensenshannon", None, drift_share=0.3, html_max_bytes=0)
    result = check_drift(
        reference,
        current,
        numerical=numerical,
        categorical=categorical,
        rules=rules,
        with_html=False,
    )
    assert not result.drifted
    assert result.share_drifted == 0.0


def test_shifted_columns_flagged_and_dataset_drifted(shifted_result):
    rows = by_column(shifted_result)
    for column in ("credit_amount", "age", "housing"):
        assert rows[column]["drifted"], rows[column]
    assert rows["duration"]["drifted"] is False
    assert shifted_result.drifted


def test_share_is_drifted_over_columns(shifted_result):
    flagged = sum(row["drifted"] for row in shifted_result.columns)
    assert flagged >= 3
    assert shifted_result.share_drifted == pytest.approx(flagged / len(shifted_result.columns))


def test_dataset_verdict_at_and_above_drift_share(credit, shifted, numerical, categorical):
    at = check_drift(
        credit,
        shifted,
        numerical=numerical,
        categorical=categorical,
        rules=DEFAULTS,
        with_html=False,
    )
    share = at.share_drifted
    assert 0 < share < 1
    exactly = DriftRules(None, None, drift_share=share, html_max_bytes=0)
    above = DriftRules(None, None, drift_share=min(1.0, share + 0.01), html_max_bytes=0)
    kw = {"numerical": numerical, "categorical": categorical, "with_html": False}
    assert check_drift(credit, shifted, rules=exactly, **kw).drifted is True
    assert check_drift(credit, shifted, rules=above, **kw).drifted is False


def test_value_matches_scipy_ks_p_value(credit, shifted, shifted_result):
    # <= 1,000 reference rows: evidently's default for a many-valued numeric column is K-S.
    row = by_column(shifted_result)["duration"]
    assert row["method"] == "K-S p_value"
    assert row["threshold"] == 0.05
    assert row["value"] == pytest.approx(ks_2samp(credit["duration"], shifted["duration"]).pvalue)


def test_value_matches_normalised_wasserstein(credit, shifted, numerical, categorical):
    rules = DriftRules("wasserstein", 0.2, drift_share=0.3, html_max_bytes=0)
    result = check_drift(
        credit, shifted, numerical=numerical, categorical=[], rules=rules, with_html=False
    )
    rows = by_column(result)
    for column in ("credit_amount", "duration"):
        ref, cur = credit[column], shifted[column]
        expected = wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001)
        assert rows[column]["value"] == pytest.approx(expected)
        assert rows[column]["threshold"] == 0.2
        assert rows[column]["method"] == "Wasserstein distance (normed)"
    assert rows["credit_amount"]["drifted"] and not rows["duration"]["drifted"]


def test_over_1000_rows_switches_to_distances(credit, shifted, numerical, categorical):
    reference = pd.concat([credit, credit], ignore_index=True)  # 2,000 rows
    result = check_drift(
        reference,
        shifted,
        numerical=numerical,
        categorical=categorical,
        rules=DEFAULTS,
        with_html=False,
    )
    rows = by_column(result)
    assert rows["age"]["method"] == "Wasserstein distance (normed)"
    assert rows["housing"]["method"] == "Jensen-Shannon distance"
    for row in result.columns:  # distances: drifted means value at/above threshold
        assert row["drifted"] == (row["value"] >= row["threshold"]), row
    assert rows["age"]["drifted"] and rows["housing"]["drifted"]


def test_to_dict_is_json_without_html(shifted_result):
    data = shifted_result.to_dict()
    assert set(data) == {"columns", "share_drifted", "drifted", "note"}
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["columns"][0].keys() == {
        "column",
        "type",
        "method",
        "value",
        "threshold",
        "drifted",
    }
    assert {row["type"] for row in data["columns"]} == {"numerical", "categorical"}


def test_html_contains_columns(shifted_result, numerical, categorical):
    assert shifted_result.note is None
    html = shifted_result.html
    assert html is not None and html.lstrip().lower().startswith("<")
    for column in [*numerical, *categorical]:
        assert column in html


def test_html_dropped_when_too_big(credit, shifted, numerical, categorical):
    rules = DriftRules(None, None, drift_share=0.3, html_max_bytes=1_000)
    result = check_drift(credit, shifted, numerical=numerical, categorical=categorical, rules=rules)
    assert result.html is None
    assert result.note is not None and "1000 bytes" in result.note
    assert result.to_dict()["note"] == result.note


def test_no_html_when_not_asked(credit, shifted, numerical, categorical):
    result = check_drift(
        credit,
        shifted,
        numerical=numerical,
        categorical=categorical,
        rules=DEFAULTS,
        with_html=False,
    )
    assert result.html is None and result.note is None


def test_extra_columns_are_ignored(credit, shifted):
    result = check_drift(
        credit, shifted, numerical=["age"], categorical=["housing"], rules=DEFAULTS, with_html=False
    )
    assert [row["column"] for row in result.columns] == ["age", "housing"]
    assert result.share_drifted == 1.0 and result.drifted


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda ref, cur: (ref, cur.drop(columns=["age"])), "'age'.*current"),
        (lambda ref, cur: (ref.drop(columns=["housing"]), cur), "'housing'.*reference"),
        (lambda ref, cur: (ref.iloc[0:0], cur), "reference is empty"),
        (lambda ref, cur: (ref, cur.iloc[0:0]), "current is empty"),
        (lambda ref, cur: (ref, cur.assign(age="old")), "'age'.*dtype"),
        (lambda ref, cur: (ref, cur.assign(housing=None)), "'housing'.*no non-missing"),
        (lambda ref, cur: (ref.assign(age=np.inf), cur), "'age'.*reference.*no non-missing"),
        (lambda ref, cur: (ref, pd.DataFrame({"x": [1]})), "'age'.*missing from current"),
        (lambda ref, cur: (ref, cur["age"]), "current must be a pandas DataFrame"),
    ],
)
def test_bad_frames_raise(credit, shifted, change, match):
    reference, current = change(credit, shifted)
    with pytest.raises(ValueError, match=match):
        check_drift(
            reference,
            current,
            numerical=["age", "duration"],
            categorical=["housing"],
            rules=DEFAULTS,
            with_html=False,
        )


def test_bad_column_lists_raise(credit, shifted):
    kw = {"rules": DEFAULTS, "with_html": False}
    with pytest.raises(ValueError, match="no columns"):
        check_drift(credit, shifted, numerical=[], categorical=[], **kw)
    with pytest.raises(ValueError, match="'age'.*more than once"):
        check_drift(credit, shifted, numerical=["age"], categorical=["age"], **kw)
    with pytest.raises(ValueError, match="'nope'.*missing"):
        check_drift(credit, shifted, numerical=["nope"], categorical=[], **kw)


def test_bad_methods_raise(credit, shifted):
    with pytest.raises(ValueError, match="unknown drift method 'bogus'"):
        check_drift(
            credit,
            shifted,
            numerical=["age"],
            categorical=[],
            rules=DriftRules("bogus", None, 0.3, 0),
        )
    with pytest.raises(ValueError, match="'ks'.*categorical"):
        check_drift(
            credit,
            shifted,
            numerical=["age"],
            categorical=["housing"],
            rules=DriftRules("ks", None, 0.3, 0),
        )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"drift_share": 0.0},
        {"drift_share": 1.5},
        {"column_threshold": -0.1},
        {"column_threshold": float("nan")},
        {"html_max_bytes": -1},
    ],
)
def test_bad_rules_raise(kwargs):
    base = {"method": None, "column_threshold": None, "drift_share": 0.3, "html_max_bytes": 0}
    with pytest.raises(ValueError):
        DriftRules(**{**base, **kwargs})
