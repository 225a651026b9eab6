"""Bias audits and drift monitors through the API, on german_credit: figures equal fairlearn's,
drift suspends and stops scoring, failures leave nothing half-written."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text

from registry.analysis.drift import DriftResult
from registry.governance import ledger as ledger_module
from registry.governance import monitoring
from registry.governance.errors import Conflict
from registry.governance.monitoring import due_monitors, receipts_batch
from registry.governance.retention import erase_expired_inputs
from registry.platform import sealing
from registry.records import DriftCheck

from . import builders as b
from .chain import FEATURES, accept_proposal, build_chain, case, fitted, ok
from .conftest import Api, table_counts

SCORE = {"purpose": "credit_risk_research"}
BANDS = [0, 25, 35, 50, 130]  # the test policy's age bands


def with_offices(frame: pd.DataFrame) -> pd.DataFrame:
    """german_credit plus a district (random) and an office that tracks foreign_worker (a proxy)."""
    rng = np.random.default_rng(7)
    out = frame.copy()
    out["district"] = rng.choice(["Northmere", "Eastbrook", "Westfield", "Southam"], len(out))
    out["office"] = np.where(out["foreign_worker"] == "yes",
                             rng.choice(["Town Hall", "Civic Centre"], len(out)), "Harbour Office")
    return out


def offices_dataset(api: Api) -> int:
    frame = with_offices(b.credit_frame())
    columns = b.credit_columns() + [
        {"name": c, "type": "category", "description": f"The applicant's {c}",
         "protected": False, "allowed": sorted(frame[c].unique().tolist())}
        for c in ("district", "office")]
    dataset = ok(api.post("/api/v1/datasets", json=b.dataset("credit-offices", columns=columns)),
                 201)
    ok(b.upload_csv(api, dataset["id"], b.credit_csv(frame)))
    return dataset["id"]


def run_job(api: Api, url: str, **body: Any) -> dict[str, Any]:
    job = ok(api.post(url, **body), 202)
    return ok(api.get(f"/api/v1/jobs/{job['id']}"))


def direct_figures(by: pd.Series) -> tuple[Any, dict[str, float]]:
    """fairlearn on the fitted pipeline's decisions, computed here without Gatehouse."""
    from fairlearn.metrics import (
        MetricFrame,
        count,
        demographic_parity_difference,
        demographic_parity_ratio,
        equalized_odds_difference,
        equalized_odds_ratio,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    frame = b.credit_frame()
    pipeline, _ = fitted("gbm")
    X = frame[FEATURES].astype({c: float for c in FEATURES if c in b.NUMERIC})
    y_pred = (pipeline.predict_proba(X)[:, 1] >= 0.5).astype(int)
    y_true = (frame["credit"] == "good").astype(int).to_numpy()
    mf = MetricFrame(metrics={"count": count, "selection_rate": selection_rate,
                              "true_positive_rate": true_positive_rate,
                              "false_positive_rate": false_positive_rate,
                              "precision": precision_score, "accuracy": accuracy_score},
                     y_true=y_true, y_pred=y_pred, sensitive_features=by)
    kw = {"sensitive_features": by}
    return mf, {
        "demographic_parity_difference": demographic_parity_difference(y_true, y_pred, **kw),
        "demographic_parity_ratio": demographic_parity_ratio(y_true, y_pred, **kw),
        "equalized_odds_difference": equalized_odds_difference(y_true, y_pred, **kw),
        "equalized_odds_ratio": equalized_odds_ratio(y_true, y_pred, **kw),
    }


def assert_same_as_fairlearn(grouping: dict[str, Any], by: pd.Series) -> None:
    mf, disparities = direct_figures(by)
    groups = {g["group"]: g for g in grouping["groups"]}
    assert set(groups) == {str(k) for k in mf.by_group.index}
    for label, row in mf.by_group.iterrows():
        for metric, value in row.items():
            assert groups[str(label)][metric] == pytest.approx(value, abs=1e-12), (label, metric)
    d = grouping["disparities"]
    assert d["selection_rate"]["difference"] == pytest.approx(
        disparities["demographic_parity_difference"], abs=1e-12)
    assert d["selection_rate"]["ratio"] == pytest.approx(
        disparities["demographic_parity_ratio"], abs=1e-12)
    assert d["equalized_odds"]["difference"] == pytest.approx(
        disparities["equalized_odds_difference"], abs=1e-12)
    assert d["equalized_odds"]["ratio"] == pytest.approx(
        disparities["equalized_odds_ratio"], abs=1e-12)


def test_audit_figures_equal_fairlearn_and_repeat_exactly(app, api: Api) -> None:
    chain = build_chain(api, approve_version=False)
    dataset_id = offices_dataset(api)
    # audited as one of the version's evaluation datasets, on every attribute it flags
    ok(api.patch(chain.version_url, json={"evaluation_dataset_ids": [chain.evaluation,
                                                                     dataset_id]}))
    body = {"dataset_id": dataset_id, "extra_groupings": ["district", "office"]}
    job = run_job(api, f"{chain.version_url}/bias-audits", json=body)
    assert job["state"] == "succeeded" and job["result_kind"] == "bias_audit", job
    audit = ok(api.get(f"/api/v1/bias-audits/{job['result_id']}"))
    results = audit["results"]

    frame = b.credit_frame()
    assert_same_as_fairlearn(results["groupings"]["sex"], frame["sex"])
    assert_same_as_fairlearn(results["groupings"]["foreign_worker"], frame["foreign_worker"])
    # Age is banded by the policy's edges (left-closed), then audited like any category.
    age = results["groupings"]["age"]
    band = pd.cut(frame["age"], BANDS, right=False,
                  labels=[f"{lo}–{hi - 1}" for lo, hi in zip(BANDS, BANDS[1:], strict=False)])
    present = {str(x) for x in band.unique()}
    assert {g["group"] for g in age["groups"]} == present
    mf, _ = direct_figures(band.astype(str))
    for g in age["groups"]:
        assert g["selection_rate"] == pytest.approx(mf.by_group.loc[g["group"],
                                                                    "selection_rate"])
    # No group is below the test policy's minimum size (10): every group is compared.
    assert all(g["sufficient"] for g in age["groups"]) and not results["not_assessed"]
    compared = age["disparities"]["selection_rate"]["groups_compared"]
    assert compared == len(age["groups"])
    # The test policy asks for no intersections; the extra groupings are audited on their own.
    assert {g["kind"] for g in results["groupings"].values()} == {"sensitive", "extra"}
    assert results["groupings"]["district"]["kind"] == "extra"
    assert len(results["groupings"]["district"]["groups"]) == 4
    # Limits come from the policy (the test policy loosens the default's).
    assert results["limits"] == [
        {"metric": "demographic_parity_ratio", "min": 0.6, "max": None},
        {"metric": "equalized_odds_difference", "min": None, "max": 0.4}]
    assert audit["policy_name"] == "test"
    # The office tracks foreign_worker: it is listed as a proxy.
    assert any(p["column"] == "office" and p["protected_attribute"] == "foreign_worker"
               and p["cramers_v"] > 0.9 for p in results["proxies"])
    # The hashes of what was audited are stored.
    version = ok(api.get(chain.version_url))
    dataset = ok(api.get(f"/api/v1/datasets/{dataset_id}"))
    assert audit["model_sha256"] == version["artefact_sha256"]
    assert audit["data_hash"] == dataset["content_hash"] and len(audit["data_hash"]) == 64

    # Same model, same data, same request: the same result, to the last digit.
    again = run_job(api, f"{chain.version_url}/bias-audits", json=body)
    repeat = ok(api.get(f"/api/v1/bias-audits/{again['result_id']}"))
    assert repeat["id"] != audit["id"]
    for key in ("results", "verdict", "reasons", "model_sha256", "data_hash"):
        assert repeat[key] == audit[key], key
    entries = ok(api.get("/api/v1/ledger?subject_kind=model_version&per_page=200",
                         as_="audrey"))["items"]
    hashes = [e["change"]["results_hash"] for e in entries if e["action"] == "bias_audit"
              and e["change"]["audit_id"] in (audit["id"], repeat["id"])]
    assert len(hashes) == 2 and hashes[0] == hashes[1]


def test_charts_and_failed_jobs_leave_nothing_behind(app, api: Api, monkeypatch) -> None:
    chain = build_chain(api)
    audits = ok(api.get(f"{chain.version_url}/bias-audits"))
    audit = audits[-1]
    url = f"/api/v1/bias-audits/{audit['id']}/charts/sex/selection_rate.svg"
    response = api.client.get(url, headers={"Authorization": f"Bearer {api.tokens['olivia']}"})
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and 'role="img"' in svg
    for group in audit["results"]["groupings"]["sex"]["groups"]:
        assert f"{group['selection_rate']:.3f}" in svg and f"n={group['count']:,}" in svg
    assert api.get(url, as_="app")[0] == 403
    assert api.get(url.replace("/sex/", "/district/"))[0] == 404
    assert api.get(url.replace("selection_rate", "happiness"))[0] == 422

    # A label that never occurs: the job fails with the reason, and nothing else is stored.
    before = table_counts(app)
    job = run_job(api, f"{chain.version_url}/bias-audits",
                  json={"dataset_id": chain.evaluation, "positive_label": "excellent"})
    assert job["state"] == "failed" and job["result_id"] is None
    assert "no row has credit = 'excellent'" in job["error"]
    assert job["details"] == {"positive_label": ["never occurs in the data"]}
    after = table_counts(app)
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"jobs": 1}
    # Bad requests are refused before any job exists.
    status, body = api.post(f"{chain.version_url}/bias-audits",
                            json={"dataset_id": 999})
    assert status == 422 and "dataset_id" in body["error"]["details"]
    assert api.post(f"{chain.version_url}/bias-audits", as_="dee",
                    json={"dataset_id": chain.dataset})[0] == 403

    # A drift check failing after its row and report were written: both are gone, and the
    # attempt is recorded as a check that could not run, in a transaction of its own.
    services = app.extensions["gatehouse"]
    real_append = ledger_module.append

    def failing_append(session, actor, action, *args, **kwargs):  # type: ignore[no-untyped-def]
        if action == "drift_check":
            assert session.scalar(select(func.count()).select_from(DriftCheck)) == 1
            assert list(services.store.path("reports").glob("**/*.html.gz"))
            raise RuntimeError("the ledger is unavailable")
        return real_append(session, actor, action, *args, **kwargs)

    canned = DriftResult(columns=[{"column": "duration", "type": "numerical", "method": "K-S",
                                   "value": 0.0, "threshold": 0.05, "drifted": True}],
                         share_drifted=1.0, drifted=True, html="<html>report</html>", note=None)
    monkeypatch.setattr(monitoring, "compute_drift_check", lambda plan, store: canned)
    monkeypatch.setattr(ledger_module, "append", failing_append)
    before = table_counts(app)
    job = post_batch(api, chain.version_url, shifted_batch())
    assert job["state"] == "failed"
    assert job["error"] == "RuntimeError: the ledger is unavailable"
    after = table_counts(app)
    # (and the events that failure raises: the monitor failing, and the version it stops)
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
        "jobs": 1, "drift_checks": 1, "ledger_entries": 1, "events": 2, "version_lapses": 1}
    failed = ok(api.get(f"{chain.version_url}/drift-checks"))[-1]
    assert failed["status"] == "failed" and failed["drifted"] is False
    assert failed["error"] == "RuntimeError: the ledger is unavailable"
    assert not list(services.store.path("reports").glob("**/*.html.gz"))
    assert ok(api.get(chain.version_url))["state"] == "approved"
    monkeypatch.undo()

    # A batch without the monitored columns fails with the columns it lacks.
    job = post_batch(api, chain.version_url, b.credit_frame()[["duration", "age"]].head(50))
    assert job["state"] == "failed" and "lacks monitored columns" in job["error"]
    assert "credit_amount" in job["details"]["columns"][0]
    # No receipts yet: a receipts check fails and says why.
    job = ok(api.post(f"{chain.version_url}/drift-checks"), 202)
    job = ok(api.get(f"/api/v1/jobs/{job['id']}"))
    assert job["state"] == "failed" and "no kept inputs" in job["error"]
    with services.sessions() as session:  # nothing to check is no failure to run
        statuses = session.scalars(select(DriftCheck.status).order_by(DriftCheck.id)).all()
        # The batch without the monitored columns was its sender's mistake: only the check
        # that could not be recorded marks the monitor failing.
        assert statuses == ["failed"]
    # Only staff who monitor may ask for checks.
    assert api.post(f"{chain.version_url}/drift-checks", as_="audrey")[0] == 403


def shifted_batch() -> pd.DataFrame:
    """A batch from a different population: bigger, longer loans, other purposes and homes."""
    frame = b.credit_frame().sample(n=200, random_state=1).copy()
    frame["credit_amount"] = frame["credit_amount"] * 3
    frame["duration"] = frame["duration"] * 2
    frame["installment_rate"] = 4
    frame["housing"] = frame["housing"].map({"own": "rent", "rent": "for free",
                                             "for free": "own"})
    frame["purpose"] = "business"
    frame["savings"] = frame["savings"].sort_values().iloc[0]
    return frame


def post_batch(api: Api, url: str, frame: pd.DataFrame, as_: str = "sam") -> dict[str, Any]:
    data = {"batch": (io.BytesIO(frame.to_csv(index=False).encode()), "batch.csv")}
    job = ok(api.post(f"{url}/drift-checks", as_=as_, data=data,
                      content_type="multipart/form-data"), 202)
    return ok(api.get(f"/api/v1/jobs/{job['id']}"))


def test_shifted_batch_suspends_scoring_until_reinstated(app, api: Api, clock) -> None:
    chain = build_chain(api, action="suspend")
    score_url = f"/api/v1/models/{chain.model}/score"
    assert api.post(score_url, as_="app", json={**SCORE, "features": case(0)})[0] == 200
    monitor = ok(api.get(f"{chain.version_url}/drift-monitor"))
    assert monitor["columns"]["numerical"][-1] == "score"
    assert len(monitor["columns"]["numerical"]) + len(monitor["columns"]["categorical"]) \
        == len(FEATURES) + 1
    assert monitor["drift_share"] == 0.3 and monitor["every_receipts"] == 500

    job = post_batch(api, chain.version_url, shifted_batch())
    assert job["state"] == "succeeded", job
    check = ok(api.get(f"/api/v1/drift-checks/{job['result_id']}"))
    assert check["drifted"] is True and check["share_drifted"] >= 0.3
    assert check["source"] == "batch" and check["rows"] == 200 and check["has_report"]
    batches = app.extensions["gatehouse"].store.path("batches")
    assert not [f for f in batches.glob("**/*") if f.is_file()]  # the batch is not kept
    columns = {c["column"]: c for c in check["columns"]}
    assert set(columns) == {*FEATURES, "score"}
    assert columns["credit_amount"]["drifted"] and columns["housing"]["drifted"]
    assert all({"method", "value", "threshold", "type"} <= set(c) for c in check["columns"])

    # Suspended at once, by the system, with the reason; on the ledger too.
    assert ok(api.get(chain.version_url))["state"] == "suspended"
    decision = ok(api.get(f"{chain.version_url}/decisions"))[-1]
    assert decision["decision"] == "suspend" and decision["actor_id"] is None
    assert decision["actor_role"] == "system"
    assert f"drift check {check['id']} found data drift" in decision["rationale"]
    assert "credit_amount" in decision["rationale"]
    entries = ok(api.get("/api/v1/ledger?subject_kind=model_version&per_page=200",
                         as_="audrey"))["items"]
    suspension = [e for e in entries if e["action"] == "decision:suspend"]
    assert suspension and suspension[-1]["actor"] == "system:gatehouse"
    assert ok(api.get(f"{chain.version_url}/drift-monitor"))["in_breach"] is True

    # The next score is refused, naming the drift.
    status, body = api.post(score_url, as_="app", json={**SCORE, "features": case(0)})
    assert status == 409
    assert "suspended" in body["error"]["message"] and "drift" in body["error"]["message"]

    # The report: HTML, sandboxed, for staff who may read the registry; not for frontline tools.
    report = f"/api/v1/drift-checks/{check['id']}/report"
    for person in ("olivia", "audrey", "sam"):
        response = api.client.get(report,
                                  headers={"Authorization": f"Bearer {api.tokens[person]}"})
        assert response.status_code == 200 and response.mimetype == "text/html"
        assert "sandbox" in response.headers["Content-Security-Policy"]
        assert b"<html" in response.data[:2000].lower()
    assert api.get(report, as_="app")[0] == 403
    assert api.get(f"/api/v1/drift-checks/{check['id'] + 99}/report")[0] == 404

    # A governance officer reinstates with a rationale: the breach is acknowledged.
    status, body = api.post(f"{chain.version_url}/decisions", as_="olivia", json={
        "decision": "reinstate", "rationale": "The batch was a migration test, not live cases"})
    assert status == 201, body
    assert ok(api.get(f"{chain.version_url}/drift-monitor"))["in_breach"] is False
    assert api.post(score_url, as_="app", json={**SCORE, "features": case(0)})[0] == 200

    # The report is kept gzipped, and deleted by the sweep after the policy's retention period;
    # the check's results stay.
    stored = Path(app.config["DATA_DIR"]) / "reports"
    [file] = list(stored.rglob("*.html.gz"))
    assert file.read_bytes().startswith(sealing.MAGIC)  # it repeats people's values: sealed
    relative = str(file.relative_to(app.config["DATA_DIR"]))
    assert gzip.decompress(app.extensions["gatehouse"].store.read(relative)) == response.data
    assert file.stat().st_size < len(response.data) / 2
    clock.advance(days=app.extensions["gatehouse"].policy.drift_report_retention_days + 1)
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert "drift reports deleted: 1 report;" in result.output, result.output
    assert not file.exists()
    status, body = api.get(report)
    assert status == 404 and "retention" in body["error"]["message"]
    kept = ok(api.get(f"/api/v1/drift-checks/{check['id']}"))
    assert kept["drifted"] is True and kept["columns"] == check["columns"]


def test_a_drift_breach_is_acknowledged_by_the_whole_round_of_reinstatements(api: Api) -> None:
    chain = build_chain(api, action="suspend", approve_version=False, vulnerable_groups=True,
                        people_scored_per_year=20_000)  # tier 3: an officer and the DPO
    url = chain.version_url
    ok(api.post(f"{url}/submit"))
    for person in ("olivia", "dee"):
        ok(api.post(f"{url}/decisions", as_=person,
                    json={"decision": "approve", "rationale": "Gates met"}), 201)
    assert post_batch(api, url, shifted_batch())["state"] == "succeeded"
    assert ok(api.get(url))["state"] == "suspended"
    first = ok(api.post(f"{url}/decisions", as_="olivia", json={
        "decision": "reinstate", "rationale": "The batch was a migration test"}), 201)
    assert first["to_state"] == "suspended"
    assert ok(api.get(f"{url}/drift-monitor"))["in_breach"] is True  # not by one person
    ok(api.post(f"{url}/decisions", as_="dee", json={
        "decision": "reinstate", "rationale": "Agreed: not live cases"}), 201)
    assert ok(api.get(url))["state"] == "approved"
    assert ok(api.get(f"{url}/drift-monitor"))["in_breach"] is False
    score_url = f"/api/v1/models/{chain.model}/score"
    assert api.post(score_url, as_="app", json={**SCORE, "features": case(0)})[0] == 200


def fresh_cases(n: int, seed: int) -> list[dict[str, Any]]:
    frame = b.credit_frame().sample(n=n, random_state=seed)
    return [case(int(i)) for i in frame.index]


def big_loans(n: int) -> list[dict[str, Any]]:
    """Real applicants, but only those asking for 4,000 or more: a shifted population."""
    frame = b.credit_frame()
    rows = frame[frame["credit_amount"] >= 4000].sample(n=n, random_state=0)
    return [case(int(i)) for i in rows.index]


def test_fresh_sample_receipts_and_the_schedule(app, api: Api, clock) -> None:
    chain = build_chain(api)
    proposed = ok(api.post(f"{chain.version_url}/drift-monitor",
                           json={"action": "alert", "every_receipts": 100}), 201)
    assert proposed["status"] == "proposed"  # the version is in use: an officer decides
    accept_proposal(api, chain.version_url, "drift_monitor", proposed["id"])
    # Inputs kept from score receipts, checked on request: a fresh sample of the reference
    # population is not flagged.
    clock.advance(minutes=5)
    score_url = f"/api/v1/models/{chain.model}/score"
    ok(api.post(score_url, as_="app", json={**SCORE, "instances": fresh_cases(100, 3)}))
    job = ok(api.post(f"{chain.version_url}/drift-checks"), 202)
    job = ok(api.get(f"/api/v1/jobs/{job['id']}"))
    check = ok(api.get(f"/api/v1/drift-checks/{job['result_id']}"))
    assert check["source"] == "receipts" and check["rows"] == 100
    assert check["drifted"] is False and check["share_drifted"] < 0.3

    # ...and on schedule (`gatehouse monitors run`): nothing is due until 100 more receipts.
    runner = app.test_cli_runner()
    result = runner.invoke(args=["monitors", "run"])
    assert result.exit_code == 0, result.output
    assert "0 drift check(s) due" in result.output
    clock.advance(minutes=5)
    ok(api.post(score_url, as_="app", json={**SCORE, "instances": big_loans(100)}))
    result = runner.invoke(args=["monitors", "run"])
    assert result.exit_code == 0, result.output
    assert "1 drift check(s) due" in result.output and "succeeded" in result.output
    checks = ok(api.get(f"{chain.version_url}/drift-checks"))
    assert [c["source"] for c in checks] == ["receipts", "schedule"]
    assert checks[-1]["drifted"] is True and checks[-1]["rows"] == 100
    drifted = {c["column"] for c in checks[-1]["columns"] if c["drifted"]}
    assert {"credit_amount", "score"} <= drifted
    assert "0 drift check(s) due" in runner.invoke(args=["monitors", "run"]).output
    # The action is "alert": the version stays approved and the alert is on the ledger.
    assert ok(api.get(chain.version_url))["state"] == "approved"
    assert ok(api.get(f"{chain.version_url}/drift-monitor"))["in_breach"] is False
    entries = ok(api.get("/api/v1/ledger?subject_kind=model_version&per_page=200",
                         as_="audrey"))["items"]
    alerts = [e for e in entries if e["action"] == "drift_alert"]
    assert alerts and alerts[-1]["change"]["check_id"] == checks[-1]["id"]
    assert "credit_amount" in alerts[-1]["change"]["reason"]
    assert api.post(score_url, as_="app", json={**SCORE, "features": case(0)})[0] == 200

    # A daily monitor is due a day after its last check, if anything was scored since.
    daily = ok(api.post(f"{chain.version_url}/drift-monitor",
                        json={"daily": True, "every_receipts": 10_000}), 201)
    accept_proposal(api, chain.version_url, "drift_monitor", daily["id"])
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        assert due_monitors(session, services.clock.now()) == []
    clock.advance(hours=2)
    ok(api.post(score_url, as_="app", json={**SCORE, "instances": fresh_cases(5, 9)}))
    with services.sessions() as session:
        assert due_monitors(session, services.clock.now()) == []  # receipts, but not yet a day
    clock.advance(days=1)
    with services.sessions() as session:
        due = due_monitors(session, services.clock.now())
        assert len(due) == 1 and due[0].daily and due[0].every_receipts == 10_000
    # Past the retention period the inputs count as gone, even before the erasure runs; then
    # they are erased as SQL NULL.
    clock.advance(days=31)
    with services.sessions() as session:
        now = services.clock.now()
        assert due_monitors(session, services.clock.now()) == []
        with pytest.raises(Conflict, match="no kept inputs"):
            receipts_batch(session, due[0], 100, now)
        assert erase_expired_inputs(session, now) == 206
        session.commit()
        stored = session.execute(text("SELECT count(*), count(inputs) FROM score_receipts"))
        assert tuple(stored.one()) == (206, 0)
