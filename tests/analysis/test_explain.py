"""Explanations add up to the served score and match shap computed directly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shap
from scipy.special import logit
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from registry.analysis.explain import Explainer, FeatureSpec, self_check
from registry.analysis.statements import format_value, points, probability_changes, statement

DATA = Path(__file__).resolve().parents[1] / "fixtures" / "german_credit.csv"
ROWS = 200


@pytest.fixture(scope="module")
def credit() -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(DATA)
    return frame, (frame.pop("credit") == "good").astype(int)


@pytest.fixture(scope="module")
def features(credit) -> list[FeatureSpec]:
    frame, _ = credit
    return [
        FeatureSpec(
            name=c,
            type="integer" if frame[c].dtype.kind == "i" else "category",
            description=f"The applicant's {c.replace('_', ' ')}",
        )
        for c in frame.columns
    ]


def fit(credit, model, numeric_step=None) -> Pipeline:
    frame, y = credit
    numeric = frame.select_dtypes("number").columns.tolist()
    categorical = [c for c in frame.columns if c not in numeric]
    pre = ColumnTransformer(
        [
            ("num", numeric_step or StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    return Pipeline([("pre", pre), ("model", model)]).fit(frame, y)


MODELS = {
    "gbm": lambda: GradientBoostingClassifier(n_estimators=50, random_state=0),
    "forest": lambda: RandomForestClassifier(n_estimators=50, max_depth=5, random_state=0),
    "logistic": lambda: LogisticRegression(max_iter=5000),
    "hist": lambda: HistGradientBoostingClassifier(max_iter=30, random_state=0),
}


@pytest.fixture(scope="module", params=list(MODELS))
def fitted(request, credit, features):
    pipeline = fit(credit, MODELS[request.param]())
    frame, _ = credit
    explainer = Explainer.build(pipeline, frame, features)
    return request.param, pipeline, explainer, explainer.score_and_explain(frame.iloc[:ROWS])


def direct_shap(name: str, pipeline: Pipeline, explainer: Explainer, x: np.ndarray) -> np.ndarray:
    """shap's own values on the transformed matrix, as a reference."""
    model = pipeline[-1]
    background = explainer.background_matrix
    if name == "gbm":
        reference = shap.TreeExplainer(
            model, data=background, model_output="probability",
            feature_perturbation="interventional",
        )  # fmt: skip
        return reference.shap_values(x)
    if name == "logistic":
        return shap.LinearExplainer(model, background).shap_values(x)
    values = np.asarray(shap.TreeExplainer(model).shap_values(x))
    return values[:, :, 1] if values.ndim == 3 else values


def summed_by_feature(pipeline: Pipeline, values: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """Sum SHAP columns into original features using sklearn's output names."""
    owners = []
    for name in pipeline[:-1].get_feature_names_out():
        rest = name.split("__", 1)[1]
        matches = [c for c in columns if rest == c or rest.startswith(c + "_")]
        owners.append(max(matches, key=len))
    return pd.DataFrame(values, columns=owners).T.groupby(level=0).sum().T[columns]


def test_score_is_the_positive_class_probability(fitted, credit) -> None:
    _, pipeline, _, explanations = fitted
    frame, _ = credit
    expected = pipeline.predict_proba(frame.iloc[:ROWS])[:, 1]
    np.testing.assert_allclose([e.score for e in explanations], expected, atol=1e-9)


def test_a_batch_scores_and_explains_each_row_as_alone_bit_for_bit(fitted, credit) -> None:
    _, _, explainer, _ = fitted
    rows = credit[0].iloc[:ROWS].to_dict("records")
    batch = explainer.score_rows(rows)
    alone = [explainer.score_rows(row) for row in rows]
    assert batch.score == [a.score[0] for a in alone]
    assert batch.explained == [a.explained[0] for a in alone]
    assert batch.contributions == [a.contributions[0] for a in alone]


def test_base_plus_contributions_equals_the_explained_value(fitted) -> None:
    name, _, explainer, explanations = fitted
    for e in explanations:
        total = e.base_value + sum(c["contribution"] for c in e.contributions)
        assert total == pytest.approx(e.explained_value, abs=1e-6)
        if e.scale == "probability":
            assert e.explained_value == pytest.approx(e.score, abs=1e-6)
        else:
            assert e.explained_value == pytest.approx(logit(e.score), abs=1e-6)
    expected_scale = "log-odds" if name in ("logistic", "hist") else "probability"
    assert explainer.scale == expected_scale
    assert explainer.method == ("linear" if name == "logistic" else "tree")


def test_contributions_equal_shap_summed_over_one_hot_columns(fitted, credit) -> None:
    name, pipeline, explainer, explanations = fitted
    frame, _ = credit
    x = pipeline[:-1].transform(frame.iloc[:ROWS])
    x = x.toarray() if hasattr(x, "toarray") else x
    reference = summed_by_feature(
        pipeline, direct_shap(name, pipeline, explainer, x), list(frame.columns)
    )
    got = pd.DataFrame(
        [{c["feature"]: c["contribution"] for c in e.contributions} for e in explanations]
    )[list(frame.columns)]
    # Gradient boosting is explained by the vectorised kernel, exact to ~1e-15 against the
    # brute-force oracle (test_boosted_shap); shap's own kernel is off by up to ~2e-9.
    np.testing.assert_allclose(got.to_numpy(), reference.to_numpy(), atol=1e-8)


def test_one_entry_per_original_feature_largest_first(fitted, credit) -> None:
    _, _, _, explanations = fitted
    frame, _ = credit
    for i, e in enumerate(explanations[:20]):
        assert [c["feature"] for c in e.contributions].count("purpose") == 1
        assert sorted(c["feature"] for c in e.contributions) == sorted(frame.columns)
        sizes = [abs(c["contribution"]) for c in e.contributions]
        assert sizes == sorted(sizes, reverse=True)
        row = frame.iloc[i]
        for c in e.contributions:
            assert c["value"] == row[c["feature"]]
            assert c["statement"].startswith(c["feature"].replace("_", " ").capitalize() + " ")
            assert "log-odds" not in c["statement"] and " points" in c["statement"] or (
                "little difference" in c["statement"] or " 1 point" in c["statement"])


def test_explanation_is_json_safe_and_says_it_is_not_causal(fitted) -> None:
    _, _, _, explanations = fitted
    e = explanations[0]
    again = json.loads(json.dumps(e.to_dict()))
    assert again["score"] == e.score
    assert "not causes" in e.notice and "decision aid" in e.notice
    assert ("log-odds" in e.notice) == (e.scale == "log-odds")


def test_one_dict_row_explains_like_the_frame(fitted, credit) -> None:
    _, _, explainer, explanations = fitted
    frame, _ = credit
    single = explainer.score_and_explain(frame.iloc[3].to_dict())
    assert len(single) == 1
    assert single[0].score == pytest.approx(explanations[3].score, abs=1e-12)
    mine, theirs = single[0].contributions, explanations[3].contributions
    assert [c["feature"] for c in mine] == [c["feature"] for c in theirs]
    assert [c["statement"] for c in mine] == [c["statement"] for c in theirs]
    np.testing.assert_allclose(
        [c["contribution"] for c in mine], [c["contribution"] for c in theirs], atol=1e-12
    )


def test_scores_fall_back_to_predict_proba_identically(fitted, credit) -> None:
    """When the fast score is not proven at build, predict_proba is used instead."""
    _, _, explainer, explanations = fitted
    frame, _ = credit
    slow = dataclasses.replace(explainer, _output="sklearn-" + explainer._output)
    again = slow.score_and_explain(frame.iloc[:ROWS])
    np.testing.assert_allclose([e.score for e in again], [e.score for e in explanations])
    np.testing.assert_allclose(
        [e.explained_value for e in again], [e.explained_value for e in explanations], atol=1e-9
    )


def test_self_check_reports_errors_and_latency(fitted, credit) -> None:
    _, pipeline, explainer, _ = fitted
    frame, _ = credit
    report = self_check(explainer, frame.iloc[:300], pipeline, latency_rows=20)
    assert report["fastpath"] is True
    assert report["max_additivity_error"] < 1e-6
    assert report["max_score_error"] < 1e-9
    assert 0 < report["latency_ms_p50"] <= report["latency_ms_p95"]
    assert report["latency_rows"] == 20


def test_pipeline_without_fast_path_still_explains(credit, features) -> None:
    log = FunctionTransformer(np.log1p, feature_names_out="one-to-one")
    pipeline = fit(credit, LogisticRegression(max_iter=5000), log)
    frame, _ = credit
    explainer = Explainer.build(pipeline, frame, features)
    assert not explainer.fastpath and "FunctionTransformer" in explainer.fastpath_reason
    report = self_check(explainer, frame.iloc[:100], pipeline, latency_rows=5)
    assert report["max_additivity_error"] < 1e-6 and report["max_score_error"] < 1e-9


def test_gradient_boosting_can_be_explained_in_log_odds(credit, features) -> None:
    pipeline = fit(credit, GradientBoostingClassifier(n_estimators=30, random_state=0))
    frame, _ = credit
    explainer = Explainer.build(pipeline, frame, features, boosted_scale="log-odds")
    assert explainer.scale == "log-odds"
    explanations = explainer.score_and_explain(frame.iloc[:50])
    x = np.asarray(pipeline[:-1].transform(frame.iloc[:50]))
    np.testing.assert_allclose(
        [e.explained_value for e in explanations], pipeline[-1].decision_function(x), atol=1e-9
    )
    report = self_check(explainer, frame.iloc[:100], pipeline, latency_rows=5)
    assert report["max_additivity_error"] < 1e-6 and report["max_score_error"] < 1e-9


def test_bare_estimator_and_extra_columns(credit, features) -> None:
    """A model fitted straight on numeric columns; the background carries the label too."""
    frame, y = credit
    numeric = frame.select_dtypes("number").columns.tolist()
    model = LogisticRegression(max_iter=5000).fit(frame[numeric], y)
    with_label = frame.assign(credit=y)
    explainer = Explainer.build(model, with_label, features)
    assert explainer.fastpath and explainer.input_columns == numeric
    (e,) = explainer.score_and_explain(with_label.iloc[0].to_dict())
    assert e.score == pytest.approx(model.predict_proba(frame[numeric].iloc[[0]])[0, 1])
    assert len(e.contributions) == len(features)  # unused features are listed, at 0
    unused = [c for c in e.contributions if c["feature"] not in numeric]
    assert all(c["contribution"] == 0.0 for c in unused)
    report = self_check(explainer, with_label.iloc[:100], model, latency_rows=5)
    assert report["max_score_error"] < 1e-9


def test_loaded_skops_artefact_explains_like_the_original(credit, features) -> None:
    import skops.io as sio

    from registry.analysis.models import DEFAULT_TRUSTED_ESTIMATORS, load_artefact, sha256_bytes

    pipeline = fit(credit, RandomForestClassifier(n_estimators=20, max_depth=4, random_state=0))
    data = sio.dumps(pipeline)
    loaded = load_artefact(
        data, expected_sha256=sha256_bytes(data), extra_trusted=list(DEFAULT_TRUSTED_ESTIMATORS)
    )
    frame, _ = credit
    original = Explainer.build(pipeline, frame, features).score_and_explain(frame.iloc[:20])
    again = Explainer.build(loaded, frame, features).score_and_explain(frame.iloc[:20])
    assert [e.to_dict() for e in again] == [e.to_dict() for e in original]


def test_unsupported_estimator_is_refused(credit, features) -> None:
    pipeline = fit(credit, KNeighborsClassifier())
    with pytest.raises(ValueError, match="no explanation method for KNeighborsClassifier"):
        Explainer.build(pipeline, credit[0], features)


def test_columns_missing_from_the_schema_are_refused(credit, features) -> None:
    pipeline = fit(credit, LogisticRegression(max_iter=5000))
    with pytest.raises(ValueError, match="age"):
        Explainer.build(pipeline, credit[0], [f for f in features if f.name != "age"])


def test_statements() -> None:
    band = FeatureSpec("council_tax_band", "category", "Council tax valuation band (A to H)")
    assert statement(band, "B", 0.04) == "Council tax band B raised the score by 4 points"
    assert statement(band, "B", -0.0051) == "Council tax band B lowered the score by 1 point"
    # points: x100, rounded half away from zero
    assert [points(v) for v in (0.045, -0.045, 0.005, -0.005, 0.0049, 0.125)] == [
        5, -5, 1, -1, 0, 13]
    assert statement(band, "B", 0.0049) == "Council tax band B made little difference to the score"
    # a missing value said once; a false value said "no"; acronyms kept
    years = FeatureSpec("years_since_inspection", "number")
    assert (statement(years, None, 0.4)
            == "Years since inspection not recorded raised the score by 40 points")
    licences = FeatureSpec("landlord_other_licences", "boolean")
    assert statement(licences, False, -0.02) == (
        "Landlord other licences no lowered the score by 2 points")
    assert statement(licences, "false", -0.02).startswith("Landlord other licences no ")
    hmo = FeatureSpec("hmo_register", "boolean")
    assert statement(hmo, True, 0.1).startswith("HMO register yes")
    # log-odds contributions are shared out as the score's own change, never log-odds
    changes = probability_changes([0.5, -0.25], "log-odds", score=0.6, base_value=0.0,
                                  explained_value=0.25)
    assert sum(changes) == pytest.approx(0.6 - 0.5) and changes[0] == pytest.approx(-2 * changes[1])
    assert probability_changes([0.1], "probability", 0.6, 0.5, 0.6) == [0.1]
    assert format_value(1, "boolean") == "yes" and format_value(0.0, "boolean") == "no"
    assert [format_value(v) for v in (5951.0, 12345, 0.123456, True, 2.5, "own")] == [
        "5951",
        "12,345",
        "0.1235",
        "yes",
        "2.5",
        "own",
    ]
