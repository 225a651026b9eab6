"""Bias-audit engine: figures checked against fairlearn's own functions and a pandas group-by."""

from __future__ import annotations

import itertools
import json
import math
import xml.etree.ElementTree as ET
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency
from scipy.stats.contingency import association
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from registry.analysis.fairness import (
    FairnessRules,
    MetricLimit,
    find_proxies,
    metric_chart_svg,
    run_audit,
)
from registry.analysis.fairness._cells import compress as _compress
from registry.analysis.fairness._proxies import cramers_v

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "german_credit.csv"
SENSITIVE = ["sex", "age", "foreign_worker", "status_sex"]
AGE_EDGES = (0, 25, 35, 50, 65, 200)
AGE_LABELS = ["0–24", "25–34", "35–49", "50–64", "65–199"]
RATES = ["selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy"]
ALL_LIMITS = (
    MetricLimit("demographic_parity_ratio", min=0.0),
    MetricLimit("demographic_parity_difference", max=1.0),
    MetricLimit("equalized_odds_difference", max=1.0),
    MetricLimit("equalized_odds_ratio", min=0.0),
    MetricLimit("selection_rate_difference", max=1.0),
    MetricLimit("true_positive_rate_ratio", min=0.0),
    MetricLimit("false_positive_rate_difference", max=1.0),
    MetricLimit("accuracy_difference", max=1.0),
    MetricLimit("precision_ratio", min=0.0),
)


def rules(limits: tuple[MetricLimit, ...] = ALL_LIMITS, min_group_size: int = 30,
          small_groups: str = "insufficient_data") -> FairnessRules:
    return FairnessRules(
        limits=limits, min_group_size=min_group_size, bands={"age": AGE_EDGES},
        proxy_threshold=0.3, small_groups=small_groups,
    )


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return pd.read_csv(DATA)


@pytest.fixture(scope="module")
def scored(credit: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """A one-hot + logistic regression pipeline fitted and scored on the fixture."""
    features = credit.drop(columns=["credit"])
    categorical = [c for c in features.columns if features[c].dtype == object]
    numeric = [c for c in features.columns if c not in categorical]
    model = make_pipeline(
        ColumnTransformer(
            [
                ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
                ("num", StandardScaler(), numeric),
            ]
        ),
        LogisticRegression(max_iter=2000),
    )
    y = (credit["credit"] == "good").to_numpy(dtype=int)
    model.fit(features, y)
    return y, model.predict_proba(features)[:, 1]


@pytest.fixture(scope="module")
def audit(credit: pd.DataFrame, scored: tuple[np.ndarray, np.ndarray]) -> dict:
    y, score = scored
    return run_audit(y, score, credit[SENSITIVE], threshold=0.6, rules=rules())


def banded(credit: pd.DataFrame) -> pd.DataFrame:
    """The sensitive columns with age banded independently of the code under test."""
    out = credit[SENSITIVE].copy()
    out["age"] = pd.cut(credit["age"], AGE_EDGES, right=False, labels=AGE_LABELS).astype(str)
    return out


def same(ours: float | None, reference: float) -> bool:
    if ours is None:
        return math.isnan(reference)
    return ours == pytest.approx(reference, rel=1e-12, abs=1e-12)


def pandas_table(y: np.ndarray, pred: np.ndarray, groups: pd.DataFrame) -> pd.DataFrame:
    """Plain pandas group-by: counts of the confusion matrix per group, then the rates."""
    frame = groups.assign(
        y=y, p=pred, tp=y & pred, fp=(1 - y) & pred, neg=1 - y, hit=(y == pred).astype(int)
    )
    sums = frame.groupby(list(groups.columns), observed=True)[["y", "p", "tp", "fp", "neg", "hit"]]
    t = sums.sum().assign(count=sums.size())
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.DataFrame(
            {
                "count": t["count"],
                "selection_rate": t["p"] / t["count"],
                "true_positive_rate": (t["tp"] / t["y"]).where(t["y"] > 0),
                "false_positive_rate": (t["fp"] / t["neg"]).where(t["neg"] > 0),
                "precision": (t["tp"] / t["p"]).where(t["p"] > 0),
                "accuracy": t["hit"] / t["count"],
            }
        )


def test_every_grouping_is_audited(audit: dict) -> None:
    expected = [
        " × ".join(c)
        for size in range(1, len(SENSITIVE) + 1)
        for c in itertools.combinations(SENSITIVE, size)
    ]
    assert list(audit["groupings"]) == expected  # 4 single + 11 intersections
    assert {g["kind"] for g in audit["groupings"].values()} == {"sensitive", "intersection"}


def test_figures_match_fairlearn_and_pandas(
    audit: dict, credit: pd.DataFrame, scored: tuple[np.ndarray, np.ndarray]
) -> None:
    from fairlearn.metrics import (
        MetricFrame,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    y, score = scored
    pred = (score >= 0.6).astype(int)
    sensitive = banded(credit)
    reference_metrics = {
        "count": lambda t, p: len(t),
        "selection_rate": selection_rate,
        "true_positive_rate": true_positive_rate,
        "false_positive_rate": false_positive_rate,
        "precision": partial(precision_score, zero_division=np.nan),
        "accuracy": accuracy_score,
    }
    checked_groups = 0
    for name, grouping in audit["groupings"].items():
        features = grouping["features"]
        sf = sensitive[features]
        mf = MetricFrame(metrics=reference_metrics, y_true=y, y_pred=pred, sensitive_features=sf)
        pdt = pandas_table(y, pred, sf)
        for table in (mf.by_group, pdt):
            table.index = [
                " × ".join(map(str, i if isinstance(i, tuple) else (i,))) for i in table.index
            ]
        ours = [g["group"] for g in grouping["groups"]]
        assert len(ours) == len(set(ours)) and set(ours) == set(pdt.index), name
        for group in grouping["groups"]:
            label = group["group"]
            assert group["count"] == mf.by_group.loc[label, "count"] == pdt.loc[label, "count"]
            assert group["sufficient"] == (group["count"] >= 30)
            for metric in RATES:
                assert same(group[metric], pdt.loc[label, metric]), (name, label, metric)
                fl = mf.by_group.loc[label, metric]
                if group[metric] is None and metric in (
                    "true_positive_rate",
                    "false_positive_rate",
                ):
                    assert fl == 0.0  # fairlearn reports 0 where the rate is undefined
                else:
                    assert same(group[metric], fl), (name, label, metric)
            checked_groups += 1
        for metric in RATES:
            assert same(grouping["overall"][metric], mf.overall[metric])

        # Disparities: over groups with enough rows only, as fairlearn computes them on those rows.
        keys = sf.astype(str).agg(" × ".join, axis=1)
        eligible = keys.isin([g["group"] for g in grouping["groups"] if g["sufficient"]]).to_numpy()
        assert grouping["insufficient_groups"] == [
            g["group"] for g in grouping["groups"] if not g["sufficient"]
        ]
        ye, pe, sfe = y[eligible], pred[eligible], sf[eligible]
        emf = MetricFrame(metrics=reference_metrics, y_true=ye, y_pred=pe, sensitive_features=sfe)
        ept = pandas_table(ye, pe, sfe)
        d = grouping["disparities"]
        for metric in RATES:
            assert same(d[metric]["difference"], emf.difference()[metric]), (name, metric)
            assert same(d[metric]["ratio"], emf.ratio()[metric]), (name, metric)
            col = ept[metric]
            assert same(d[metric]["difference"], col.max() - col.min())
            assert same(d[metric]["ratio"], col.min() / col.max())
            assert d[metric]["lowest"]["value"] == pytest.approx(col.min())
            assert d[metric]["highest"]["value"] == pytest.approx(col.max())
        assert same(
            d["equalized_odds"]["difference"],
            equalized_odds_difference(ye, pe, sensitive_features=sfe),
        )
        assert same(
            d["equalized_odds"]["ratio"], equalized_odds_ratio(ye, pe, sensitive_features=sfe)
        )
        limits = {r["metric"]: r["value"] for r in grouping["limits"]}
        assert same(
            limits["demographic_parity_ratio"],
            demographic_parity_ratio(ye, pe, sensitive_features=sfe),
        )
        assert same(
            limits["demographic_parity_difference"],
            demographic_parity_difference(ye, pe, sensitive_features=sfe),
        )
        assert same(
            limits["equalized_odds_difference"],
            equalized_odds_difference(ye, pe, sensitive_features=sfe),
        )
        assert same(
            limits["equalized_odds_ratio"], equalized_odds_ratio(ye, pe, sensitive_features=sfe)
        )
        assert limits["selection_rate_difference"] == d["selection_rate"]["difference"]
        assert limits["true_positive_rate_ratio"] == d["true_positive_rate"]["ratio"]
        assert limits["false_positive_rate_difference"] == d["false_positive_rate"]["difference"]
        assert limits["accuracy_difference"] == d["accuracy"]["difference"]
        assert limits["precision_ratio"] == d["precision"]["ratio"]
    assert checked_groups > 100


def test_small_groups_are_insufficient_never_passed(audit: dict) -> None:
    # All limits are wide open, so nothing can fail; small intersections must still show up.
    sex_age = audit["groupings"]["sex × age"]
    assert "female × 65–199" in sex_age["insufficient_groups"]
    assert sex_age["verdict"] == "insufficient_data"
    assert any(
        "female × 65–199" in r and "fewer than the minimum group size 30" in r
        for r in sex_age["reasons"]
    )
    assert audit["groupings"]["sex"]["verdict"] == "pass"
    assert audit["verdict"] == "insufficient_data"
    assert set(sex_age["reasons"]) <= set(audit["reasons"])


def test_small_group_is_excluded_from_disparities() -> None:
    # Group "c" (5 rows) is never selected; the others are treated identically.
    sex = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50 + ["c"] * 5})
    y = np.array(([1, 0] * 25) * 2 + [1, 0, 1, 0, 1])
    score = np.array(([0.9, 0.1] * 25) * 2 + [0.0] * 5)
    limit = (MetricLimit("demographic_parity_ratio", min=0.8),)
    result = run_audit(y, score, sex, threshold=0.5, rules=rules(limit, min_group_size=20))
    grouping = result["groupings"]["g"]
    assert grouping["insufficient_groups"] == ["c"]
    assert grouping["limits"][0]["value"] == 1.0 and grouping["limits"][0]["passed"] is True
    assert result["verdict"] == "insufficient_data"
    assert result["assessed_verdict"] == "pass" and result["not_assessed"] == ["g=c"]
    assert result["reasons"] == [
        "INSUFFICIENT DATA: group c of g has 5 rows, fewer than the minimum group size 20; "
        "it is not assessed and is excluded from the disparity figures"
    ]
    # Merging needs two small groups: a lone one stays itself, not assessed.
    alone = run_audit(y, score, sex, threshold=0.5,
                      rules=rules(limit, min_group_size=20, small_groups="merge"))
    assert alone["not_assessed"] == ["g=c"] and alone["merged"] == []
    # With the group large enough, the same predictor fails.
    result = run_audit(y, score, sex, threshold=0.5, rules=rules(limit, min_group_size=5))
    assert result["verdict"] == "fail"


def test_small_groups_merge_into_one_declared_group() -> None:
    # "c" and "d" (12 rows each) are too small alone; merged (24 rows) they are assessed, and the
    # merged group is never selected, so the audit fails where leaving them out passes.
    g = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50 + ["c"] * 12 + ["d"] * 12})
    y = np.array(([1, 0] * 25) * 2 + [1, 0] * 12)
    score = np.array(([0.9, 0.1] * 25) * 2 + [0.0] * 24)
    limit = (MetricLimit("demographic_parity_ratio", min=0.8),)
    merged = run_audit(y, score, g, threshold=0.5,
                       rules=rules(limit, min_group_size=20, small_groups="merge"))
    grouping = merged["groupings"]["g"]
    assert [row["group"] for row in grouping["groups"]] == ["a", "b", "other (merged: c, d)"]
    assert grouping["groups"][2]["count"] == 24 and grouping["groups"][2]["sufficient"]
    assert merged["merged"] == [{"grouping": "g", "group": "other (merged: c, d)",
                                 "members": ["c", "d"], "count": 24}]
    assert merged["not_assessed"] == [] and merged["verdict"] == "fail"
    left_out = run_audit(y, score, g, threshold=0.5, rules=rules(limit, min_group_size=20))
    assert left_out["not_assessed"] == ["g=c", "g=d"]
    assert (left_out["verdict"], left_out["assessed_verdict"]) == ("insufficient_data", "pass")
    # A merged group still too small is not assessed, under its declared name.
    tiny = run_audit(y, score, g, threshold=0.5,
                     rules=rules(limit, min_group_size=30, small_groups="merge"))
    assert tiny["not_assessed"] == ["g=other (merged: c, d)"]
    assert tiny["verdict"] == "insufficient_data"


def test_intersections_are_those_asked_for(credit: pd.DataFrame,
                                           scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, score = scored
    frame = credit[["sex", "age", "foreign_worker"]]
    every = run_audit(y, score, frame, threshold=0.5, rules=rules())
    assert "sex × age × foreign_worker" in every["groupings"]
    pairs = run_audit(y, score, frame, threshold=0.5, rules=rules(),
                      intersections=[("sex", "age")])
    assert list(pairs["groupings"]) == ["sex", "age", "foreign_worker", "sex × age"]
    with pytest.raises(ValueError, match="not sensitive"):
        run_audit(y, score, frame, threshold=0.5, rules=rules(), intersections=[("sex", "job")])


def test_biased_predictor_fails(
    credit: pd.DataFrame, scored: tuple[np.ndarray, np.ndarray]
) -> None:
    y, score = scored
    biased = np.where(credit["sex"] == "male", np.maximum(score, 0.7), np.minimum(score, 0.3))
    limits = (
        MetricLimit("demographic_parity_ratio", min=0.8),
        MetricLimit("equalized_odds_difference", max=0.1),
    )
    result = run_audit(y, biased, credit[["sex"]], threshold=0.5, rules=rules(limits))
    assert result["verdict"] == "fail"
    sex = result["groupings"]["sex"]
    assert [r["passed"] for r in sex["limits"]] == [False, False]
    assert sex["limits"][0]["value"] == 0.0
    assert sex["reasons"][0] == (
        "FAIL: demographic_parity_ratio on sex is 0.000, below the minimum 0.8 "
        "(selection_rate: lowest female 0.000, highest male 1.000)"
    )
    assert sex["reasons"][1] == (
        "FAIL: equalized_odds_difference on sex is 1.000, above the maximum 0.1 "
        "(true_positive_rate: lowest female 0.000, highest male 1.000)"
    )
    assert result["reasons"] == sex["reasons"]


def test_fail_takes_precedence_over_insufficient_data(credit: pd.DataFrame) -> None:
    y = (credit["credit"] == "good").to_numpy(dtype=int)
    biased = (credit["sex"] == "male").to_numpy(dtype=float)
    limits = (MetricLimit("demographic_parity_ratio", min=0.8),)
    result = run_audit(y, biased, credit[["sex", "age"]], threshold=0.5, rules=rules(limits))
    assert result["groupings"]["sex × age"]["insufficient_groups"]  # small groups exist ...
    assert result["verdict"] == "fail"  # ... but the breach decides
    assert result["reasons"][0].startswith("FAIL")
    assert any(r.startswith("INSUFFICIENT DATA") for r in result["reasons"])  # still reported


def test_age_is_banded(audit: dict, credit: pd.DataFrame) -> None:
    age = audit["groupings"]["age"]
    assert [g["group"] for g in age["groups"]] == AGE_LABELS
    counts = pd.cut(credit["age"], AGE_EDGES, right=False).value_counts(sort=False)
    assert [g["count"] for g in age["groups"]] == counts.tolist()
    assert [g["key"] for g in age["groups"]] == [{"age": a} for a in AGE_LABELS]


def test_banding_edge_cases(credit: pd.DataFrame) -> None:
    y = (credit["credit"] == "good").to_numpy(dtype=int)
    score = np.full(len(y), 0.7)
    no_bands = FairnessRules(limits=(), min_group_size=1, bands={}, proxy_threshold=0.3)
    with pytest.raises(ValueError, match="'age' is numeric but has no band rule"):
        run_audit(y, score, credit[["age"]], threshold=0.5, rules=no_bands)
    narrow = FairnessRules(
        limits=(), min_group_size=1, bands={"age": (20, 60)}, proxy_threshold=0.3
    )
    with pytest.raises(ValueError, match="'age'.*outside the bands"):
        run_audit(y, score, credit[["age"]], threshold=0.5, rules=narrow)
    with pytest.raises(ValueError, match="strictly increasing"):
        FairnessRules(limits=(), min_group_size=1, bands={"age": (30, 20)}, proxy_threshold=0.3)
    # Non-whole numbers get "lo to <hi" labels; missing values form their own group.
    income = pd.DataFrame({"income": [0.5, 1.5, 2.5, np.nan] * 10})
    result = run_audit(
        np.tile([0, 1], 20),
        np.linspace(0, 1, 40),
        income,
        threshold=0.5,
        rules=FairnessRules(
            limits=(), min_group_size=1, bands={"income": (0, 1, 3)}, proxy_threshold=0.3
        ),
    )
    assert [(g["group"], g["count"]) for g in result["groupings"]["income"]["groups"]] == [
        ("0 to <1", 10),
        ("1 to <3", 20),
        ("(missing)", 10),
    ]


def test_undefined_metrics_are_null_and_json_is_nan_free() -> None:
    # Group b has no actual positives (TPR undefined) and no predicted positives (precision).
    frame = pd.DataFrame({"g": ["a"] * 40 + ["b"] * 40})
    y = np.array([1, 0] * 20 + [0] * 40)
    score = np.array([0.9, 0.2] * 20 + [0.1] * 40)
    limits = (
        MetricLimit("true_positive_rate_ratio", min=0.8),
        MetricLimit("false_positive_rate_difference", max=0.1),
    )
    result = run_audit(y, score, frame, threshold=0.5, rules=rules(limits))
    text = json.dumps(result, allow_nan=False)
    assert "NaN" not in text
    b = result["groupings"]["g"]["groups"][1]
    assert b["true_positive_rate"] is None and b["precision"] is None
    assert b["false_positive_rate"] == 0.0
    tpr_limit, fpr_limit = result["groupings"]["g"]["limits"]
    assert tpr_limit["value"] is None and tpr_limit["status"] == "insufficient_data"
    assert fpr_limit["passed"] is True
    assert result["verdict"] == "insufficient_data"
    assert "true_positive_rate is undefined for b" in result["reasons"][0]


def test_audit_json_is_nan_free(audit: dict) -> None:
    json.dumps(audit, allow_nan=False)


def test_extra_groupings(credit: pd.DataFrame, scored: tuple[np.ndarray, np.ndarray]) -> None:
    y, score = scored
    rng = np.random.default_rng(7)
    # "district" mostly follows foreign_worker: it should be flagged as a possible proxy.
    district = np.where(credit["foreign_worker"] == "yes", "North", "South")
    flip = rng.random(len(credit)) < 0.02
    district = np.where(flip, "East", district)
    extras = pd.DataFrame(
        {"district": district, "office": rng.choice(["A", "B", "C"], len(y))},
        index=credit.index + 500,
    )  # index need not match
    result = run_audit(
        y,
        score,
        credit[["sex", "foreign_worker"]],
        threshold=0.6,
        rules=rules(),
        extra_groupings=extras,
    )
    assert list(result["groupings"]) == [
        "sex",
        "foreign_worker",
        "sex × foreign_worker",
        "district",
        "office",
    ]
    office = result["groupings"]["office"]
    assert office["kind"] == "extra" and office["features"] == ["office"]
    pred = (score >= 0.6).astype(int)
    expected = pandas_table(y, pred, extras[["office"]].reset_index(drop=True))
    for group in office["groups"]:
        for metric in ["count", *RATES]:
            assert same(group[metric], expected.loc[group["group"], metric])
    proxies = {(p["column"], p["protected_attribute"]) for p in result["proxies"]}
    assert ("district", "foreign_worker") in proxies
    assert not any(p["column"] == "office" for p in result["proxies"])
    json.dumps(result, allow_nan=False)


def test_proxies(credit: pd.DataFrame) -> None:
    data = credit.assign(random=np.random.default_rng(0).choice(list("abcd"), len(credit)))
    found = find_proxies(
        data,
        ["sex", "age"],
        ["status_sex", "random", "credit_amount", "purpose"],
        threshold=0.3,
        bands={"age": AGE_EDGES},
    )
    pairs = [(p["column"], p["protected_attribute"]) for p in found]
    assert pairs[0] == ("status_sex", "sex")
    assert found[0]["cramers_v"] > 0.99
    assert not any(column == "random" for column, _ in pairs)
    assert [p["cramers_v"] for p in found] == sorted((p["cramers_v"] for p in found), reverse=True)
    assert all(p["cramers_v"] >= 0.3 for p in found)
    json.dumps(found, allow_nan=False)


def test_cramers_v_is_the_bias_corrected_formula(credit: pd.DataFrame) -> None:
    a = pd.factorize(credit["purpose"])[0]
    b = pd.factorize(credit["status_sex"])[0]
    table = pd.crosstab(a, b).to_numpy()
    chi2 = chi2_contingency(table, correction=False)[0]
    n, (r, k) = table.sum(), table.shape
    phi2c = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    expected = math.sqrt(
        phi2c / min(k - (k - 1) ** 2 / (n - 1) - 1, r - (r - 1) ** 2 / (n - 1) - 1)
    )
    assert cramers_v(a, b) == pytest.approx(expected, rel=1e-12)
    assert cramers_v(a, b) <= association(table, method="cramer")  # correction shrinks V
    assert cramers_v(a, np.zeros_like(a)) == 0.0


def test_compress_survives_a_huge_key_space() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    cols = {f"c{i}": rng.integers(0, 5000, n) for i in range(4)}  # 5000**4 * 4 keys
    y, p = rng.integers(0, 2, n).astype(np.int8), rng.integers(0, 2, n).astype(np.int8)
    rows = _compress(cols, dict.fromkeys(cols, 5000), y, p)
    frame = pd.DataFrame({**cols, "__y_true__": y, "__y_pred__": p})
    expected = frame.groupby(list(frame.columns)).size()
    got = rows.set_index(list(frame.columns))["__weight__"].sort_index()
    assert got.astype(int).tolist() == expected.tolist()
    assert got.index.equals(expected.index)


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="unknown fairness metric"):
        MetricLimit("demographic_parity_ratios", min=0.8)
    with pytest.raises(ValueError, match="needs a min"):
        MetricLimit("accuracy_difference")
    with pytest.raises(ValueError, match="min 2.0 > max 1.0"):
        MetricLimit("precision_ratio", min=2.0, max=1.0)
    assert MetricLimit("precision_ratio", min=0.8, max=1.25).bound == "between 0.8 and 1.25"


def test_inputs_are_validated(credit: pd.DataFrame) -> None:
    y = np.zeros(len(credit), dtype=int)
    with pytest.raises(ValueError, match="only 0 and 1"):
        run_audit(y + 2, np.zeros(len(y)), credit[["sex"]], threshold=0.5, rules=rules())
    with pytest.raises(ValueError, match="finite"):
        run_audit(y, np.full(len(y), np.nan), credit[["sex"]], threshold=0.5, rules=rules())
    with pytest.raises(ValueError, match="sensitive has 10 rows"):
        run_audit(y, np.zeros(len(y)), credit[["sex"]][:10], threshold=0.5, rules=rules())


def test_chart_svg(audit: dict) -> None:
    age = audit["groupings"]["age"]
    svg = metric_chart_svg(age, "selection_rate")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "Selection rate by age"
    desc = root.find(f"{ns}desc").text
    texts = [t.text for t in root.iter(f"{ns}text")]
    for group in age["groups"]:
        figure = f"{group['selection_rate']:.3f}"
        assert figure in desc and any(t and t.startswith(figure) for t in texts)
        assert group["group"] in texts
    assert any("too few rows" in t for t in texts if t)  # 65–199 has 23 rows
    assert len(root.findall(f"{ns}rect")) == len(age["groups"])


def test_chart_escapes_group_names() -> None:
    frame = pd.DataFrame({"team": ['<script>&"x"'] * 20 + ["plain"] * 20})
    result = run_audit(
        np.tile([0, 1], 20), np.linspace(0, 1, 40), frame, threshold=0.5, rules=rules(())
    )
    svg = metric_chart_svg(result["groupings"]["team"], "count")
    assert "<script>" not in svg
    root = ET.fromstring(svg)
    assert '<script>&"x"' in [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    with pytest.raises(ValueError, match="unknown metric"):
        metric_chart_svg(result["groupings"]["team"], "f1")


def test_numeric_proxies_are_binned_into_quintiles(credit: pd.DataFrame) -> None:
    rich = np.where(credit["credit_amount"] > credit["credit_amount"].median(), "high", "low")
    noise = np.random.default_rng(1).normal(size=len(credit))
    data = credit.assign(wealth=rich, constant=1.0, blank=np.nan, noise=noise)
    found = find_proxies(
        data,
        ["wealth"],
        ["credit_amount", "constant", "blank", "noise"],
        threshold=0.5,
        bands={},
    )
    # Only the middle quintile straddles the median, so V is high but below 1.
    assert [p["column"] for p in found] == ["credit_amount"]
    assert 0.85 < found[0]["cramers_v"] < 1
