"""Red team: evidence that reads Met while it no longer measures what is registered."""

from __future__ import annotations

from typing import Any

from flask import Flask

from registry.governance import evidence, registration

from . import builders as b
from .chain import build_chain, ok
from .conftest import Api


def gate(api: Api, url: str) -> dict[str, Any]:
    return {r["id"]: r for r in ok(api.get(f"{url}/gate"))["requirements"]}


def test_an_audit_of_evaluation_data_since_replaced_is_not_met(app: Flask, api: Api) -> None:
    """The audit passed on the evaluation data uploaded then; the data is replaced (the dataset
    sent back for changes, new rows uploaded, approved again). The audit no longer measures the
    version's evaluation data: the gate must not read "audit passed"."""
    chain = build_chain(api, approve_version=False)
    url = chain.version_url
    assert gate(api, url)["bias_audit"]["met"] is True
    data_url = f"/api/v1/datasets/{chain.evaluation}"
    ok(api.post(f"{data_url}/decisions", as_="olivia", json={
        "decision": "request_changes", "rationale": "Refresh the held-out rows."}), 201)
    # 200 of the 300 held-out applicants: not the rows the audit measured
    other = b.evaluation_frame().iloc[:200].reset_index(drop=True)
    ok(b.upload_csv(api, chain.evaluation, b.credit_csv(other)))
    ok(api.post(f"{data_url}/submit"))
    b.approve(api, data_url)

    audit = gate(api, url)["bias_audit"]
    assert audit["met"] is False, audit
    assert "evaluation data" in audit["detail"] and "changed" in audit["detail"], audit
    status, body = api.post(f"{url}/submit")
    assert status == 200, body
    status, body = api.post(f"{url}/decisions", as_="olivia",
                            json={"decision": "approve", "rationale": "Checked"})
    assert status == 409, body
    assert "bias_audit" in {r["id"] for r in body["error"]["details"]["unmet"]}


def test_a_drift_reference_from_outside_the_versions_data_is_refused(app: Flask,
                                                                     api: Api) -> None:
    """A monitor compares the people scored with its reference. A reference chosen from any
    dataset at all (here a draft no agreement covers and nobody approved, drawn from the same
    population the tool will score) would read "monitor configured" and never see the
    served population move away from the data the model was validated on."""
    chain = build_chain(api, approve_version=False)
    url = chain.version_url
    unrelated = ok(api.post("/api/v1/datasets", json=b.dataset("lookalike")), 201)
    ok(b.upload_csv(api, unrelated["id"], b.credit_csv(b.credit_frame().iloc[500:])))
    before = ok(api.get(f"{url}/drift-monitor"))
    status, body = api.post(f"{url}/drift-monitor", json={"dataset_id": unrelated["id"]})
    assert status == 422, body
    assert "dataset_id" in body["error"]["details"], body
    assert "not a training or evaluation dataset" in body["error"]["message"], body
    assert ok(api.get(f"{url}/drift-monitor"))["id"] == before["id"]  # nothing replaced
    # the version's own data is a reference (the training data, asked for by name)
    ok(api.post(f"{url}/drift-monitor", json={"dataset_id": chain.dataset}), 201)


def test_an_audit_of_another_outcome_than_the_version_predicts_is_not_met(api: Api) -> None:
    """The version predicts credit = "good". An audit that takes "bad" as the positive class
    (or another column as the label) measures error rates of a different prediction: the
    equalised-odds limits it reports say nothing of this model's decisions."""
    chain = build_chain(api, approve_version=False)
    url = chain.version_url
    job = ok(api.post(f"{url}/bias-audits", json={"dataset_id": chain.evaluation,
                                                  "positive_label": "bad"}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"
    audit = gate(api, url)["bias_audit"]
    assert audit["met"] is False, audit
    assert "'bad'" in audit["detail"] and "'good'" in audit["detail"], audit
    # audited again as the version predicts: met
    job = ok(api.post(f"{url}/bias-audits", json={"dataset_id": chain.evaluation}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"
    assert gate(api, url)["bias_audit"]["met"] is True


def test_a_drift_monitor_that_does_not_watch_the_score_is_not_met(app: Flask,
                                                                   api: Api) -> None:
    """A monitor watching one feature and not the model's score reads "monitor configured",
    yet a change in whom the model scores high would go unseen. Asking for one is refused,
    naming the field; one stored before the rule reads unmet on the gate."""
    chain = build_chain(api, approve_version=False)
    url = chain.version_url
    before = ok(api.get(f"{url}/drift-monitor"))
    status, body = api.post(f"{url}/drift-monitor", json={"columns": ["duration"]})
    assert status == 422, body
    assert "score" in body["error"]["details"]["columns"][0], body
    assert ok(api.get(f"{url}/drift-monitor"))["id"] == before["id"]  # nothing replaced
    assert gate(api, url)["drift_monitor"]["met"] is True
    # a monitor of some features and the score is the owner's choice
    ok(api.post(f"{url}/drift-monitor", json={"columns": ["duration", "score"]}), 201)
    assert gate(api, url)["drift_monitor"]["met"] is True

    with app.extensions["gatehouse"].sessions() as session:  # stored before the rule
        version = registration.get(session, "model_version", (chain.model, chain.version))
        monitor = evidence.in_force_monitor(session, version)
        monitor.columns = {**monitor.columns, "numerical": ["duration"]}
        session.commit()
    requirement = gate(api, url)["drift_monitor"]
    assert requirement["met"] is False, requirement
    assert "does not watch the model's score" in requirement["detail"], requirement
    assert "watches the score" in requirement["remedy"], requirement
