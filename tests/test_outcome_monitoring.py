"""Outcome monitoring: caseworkers' outcomes on score receipts, measured window by window with
the audit's metrics (checked against fairlearn), by group only where the inputs keep the group."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd
import pytest

from . import builders as b
from .chain import FEATURES, build_chain, case, ok
from .conftest import Api

SCORE = {"purpose": "credit_risk_research"}
WORDS = {"good": "Approved", "bad": "Declined"}  # what the caseworkers write


def direct(y_true: list[int], y_pred: list[int]) -> dict[str, float]:
    from fairlearn.metrics import false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score, precision_score

    return {"count": len(y_true), "selection_rate": selection_rate(y_true, y_pred),
            "true_positive_rate": true_positive_rate(y_true, y_pred),
            "false_positive_rate": false_positive_rate(y_true, y_pred),
            "precision": precision_score(y_true, y_pred),
            "accuracy": accuracy_score(y_true, y_pred)}


def serve_and_report(api: Api, model: str, rows: list[int], outcomes: int,
                     extra: tuple[str, ...] = (), version: int | None = None
                     ) -> tuple[list[int], list[int], int]:
    """Score the rows; report the true outcome, in the caseworkers' words, on the first
    `outcomes` receipts (an override where it goes against the score).

    Returns (y_true, y_pred, overrides) of the receipts with an outcome."""
    frame = b.credit_frame()
    cases = [{**case(r), **{c: (int(frame.loc[r, c]) if c in b.NUMERIC else str(frame.loc[r, c]))
                            for c in extra}} for r in rows]
    body: dict[str, Any] = {**SCORE, "instances": cases}
    if version is not None:
        body["version"] = version
    results = ok(api.post(f"/api/v1/models/{model}/score", as_="app", json=body))["results"]
    y_true, y_pred, overrides = [], [], 0
    for row, result in list(zip(rows, results, strict=True))[:outcomes]:
        label = frame.loc[row, "credit"]
        predicted = int(result["score"] >= 0.5)
        overrode = predicted != int(label == "good")
        ok(api.post(f"/api/v1/receipts/{result['receipt_id']}/outcome", as_="app", json={
            "outcome": WORDS[label], "overrode": overrode,
            "reason": "Caseworker saw the full file" if overrode else None}))
        y_true.append(int(label == "good"))
        y_pred.append(predicted)
        overrides += overrode
    return y_true, y_pred, overrides


def test_outcomes_window_by_window_with_the_audits_metrics(app, api: Api, clock) -> None:
    chain = build_chain(api, outcome_vocabulary=list(WORDS.values()))
    served = []
    served.append(serve_and_report(api, chain.model, list(range(0, 40)), outcomes=40))
    clock.advance(days=10)
    served.append(serve_and_report(api, chain.model, list(range(40, 80)), outcomes=32))
    clock.advance(days=10)
    served.append(serve_and_report(api, chain.model, list(range(80, 100)), outcomes=8))

    url = f"{chain.version_url}/outcomes?window=10d&windows=4&positive=approved"
    report = ok(api.get(url))
    assert report["window_days"] == 10 and report["threshold"] == 0.5
    assert report["label"]["positive_outcomes"] == ["approved"]
    assert "final decision" in report["label"]["definition"]
    empty, *windows = report["windows"]
    assert empty["scored"] == 0 and empty["status"] == "no_outcomes" and empty["metrics"] is None
    assert [w["scored"] for w in windows] == [40, 40, 20]
    assert [w["with_outcome"] for w in windows] == [40, 32, 8]
    assert [w["status"] for w in windows] == ["ok", "ok", "insufficient_data"]
    for window, (y_true, y_pred, overrides) in zip(windows, served, strict=True):
        expected = direct(y_true, y_pred)
        for metric, value in expected.items():
            assert window["metrics"][metric] == pytest.approx(value, abs=1e-12), metric
        assert window["overrides"] == overrides
        assert window["override_rate"] == pytest.approx(overrides / len(y_true))
        assert window["outcome_coverage"] == pytest.approx(len(y_true) / window["scored"])
        assert window["positive_outcome_rate"] == pytest.approx(sum(y_true) / len(y_true))
        assert window["fairness"] is None
    assert windows[0]["end"] < windows[1]["end"] < windows[2]["end"]
    # The protected attributes are not model features, so receipts cannot be grouped: said so.
    assert report["groups"]["audited"] == []
    assert {"sex", "age", "foreign_worker"} <= set(report["groups"]["not_kept"])
    assert "not model inputs" in report["groups"]["note"]
    assert report["audit_baseline"]["verdict"] == "pass"

    # Default label: the version's positive label ("good"), which these caseworkers never write.
    default = ok(api.get(f"{chain.version_url}/outcomes?window=30d&windows=1"))
    assert default["label"]["positive_outcomes"] == ["good"]
    assert default["windows"][0]["with_outcome"] == 80
    assert default["windows"][0]["positive_outcome_rate"] == 0
    # Who may ask, and what is asked.
    assert api.get(url, as_="app")[0] == 403
    assert api.get(f"{chain.version_url}/outcomes?window=soon")[0] == 422
    assert api.get(f"{chain.version_url}/outcomes?windows=99")[0] == 422


@lru_cache(maxsize=1)
def with_age() -> bytes:
    """A pipeline that uses age and foreign_worker as features (so receipts keep them)."""
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = b.credit_frame()
    features = [*FEATURES, "age", "foreign_worker"]
    numeric = [c for c in features if c in b.NUMERIC]
    X = frame[features].astype({c: float for c in numeric})
    pipeline = Pipeline([
        ("prep", ColumnTransformer([
            ("num", StandardScaler(), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False),
             [c for c in features if c not in numeric])])),
        ("model", LogisticRegression(max_iter=1000))]).fit(X, frame["credit"] == "good")
    return sio.dumps(pipeline)


def test_protected_attributes_kept_in_inputs_are_audited_by_window(app, api: Api) -> None:
    chain = build_chain(api, outcome_vocabulary=list(WORDS.values()))
    metadata = {"training_dataset_ids": [chain.dataset],
                "evaluation_dataset_ids": [chain.evaluation],
                "label_column": "credit", "positive_label": "good", "threshold": 0.5,
                "stage": "production", "summary": "Chance of repaying, with age."}
    version = ok(b.upload_version(api, chain.model, with_age(), metadata), 201)
    url = f"/api/v1/models/{chain.model}/versions/{version['number']}"
    job = ok(api.post(f"{url}/bias-audits", json={"dataset_id": chain.evaluation}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"
    ok(api.post(f"{url}/drift-monitor", json={}), 201)
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)

    rows = list(range(200, 280))
    y_true, y_pred, _ = serve_and_report(api, chain.model, rows, outcomes=80,
                                         extra=("age", "foreign_worker"),
                                         version=version["number"])
    report = ok(api.get(f"{url}/outcomes?window=7d&windows=1&positive=Approved"))
    assert report["groups"]["audited"] == ["age", "foreign_worker"]
    assert "sex" in report["groups"]["not_kept"]
    assert "erased after 30 days" in report["groups"]["note"]
    fairness = report["windows"][0]["fairness"]
    assert fairness["rows"] == 80 and fairness["rows_without_inputs"] == 0
    assert set(fairness["groupings"]) == {"age", "foreign_worker", "age × foreign_worker"}
    assert fairness["verdict"] in ("pass", "fail", "insufficient_data")

    from fairlearn.metrics import MetricFrame, selection_rate, true_positive_rate

    frame = b.credit_frame().loc[rows]
    edges = [0, 25, 35, 50, 130]  # the test policy's age bands
    band = pd.cut(frame["age"], edges, right=False,
                  labels=[f"{lo}–{hi - 1}" for lo, hi in zip(edges, edges[1:], strict=False)])
    mf = MetricFrame(metrics={"selection_rate": selection_rate, "tpr": true_positive_rate},
                     y_true=y_true, y_pred=y_pred, sensitive_features=band.astype(str).to_numpy())
    groups = {g["group"]: g for g in fairness["groupings"]["age"]["groups"]}
    assert set(groups) == set(mf.by_group.index)
    for label, row in mf.by_group.iterrows():
        assert groups[label]["selection_rate"] == pytest.approx(row["selection_rate"], abs=1e-12)
        tpr = groups[label]["true_positive_rate"]  # None where fairlearn says 0: no positives
        assert tpr == pytest.approx(row["tpr"], abs=1e-12) or (tpr is None and row["tpr"] == 0)
        assert groups[label]["sufficient"] == (groups[label]["count"] >= 10)  # the test policy
