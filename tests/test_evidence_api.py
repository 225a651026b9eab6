"""Evidence can't be weakened quietly, through the API, on a real fitted chain: a change to the
drift monitor or the bias audit of a version in use is its owners' proposal, the evidence in
force stays so until an officer accepts or declines it; alerts are acknowledged item by item."""

from __future__ import annotations

from typing import Any

from flask import Flask

from registry.governance import registration
from registry.records import BiasAudit, DriftMonitor, ModelVersion, User

from . import builders as b
from .chain import Chain, build_chain, case, ok
from .conftest import Api, table_counts
from .test_monitoring import post_batch, run_job, shifted_batch

SCORE = {"purpose": "credit_risk_research"}
WEAKER = {"action": "alert", "columns": ["duration", "score"], "every_receipts": 10_000}


def user_id(app: Flask, name: str) -> int:
    with app.extensions["gatehouse"].sessions() as session:
        return session.query(User).filter_by(email=f"{name}@northmere.gov.uk").one().id


def status_of(app: Flask, kind: type[BiasAudit | DriftMonitor], evidence_id: int) -> str:
    with app.extensions["gatehouse"].sessions() as session:
        return session.get(kind, evidence_id).status  # type: ignore[union-attr]


def ledger(api: Api, action: str) -> list[dict[str, Any]]:
    entries = ok(api.get("/api/v1/ledger?subject_kind=model_version&per_page=200",
                         as_="audrey"))["items"]
    return [e for e in entries if e["action"] == action]


def settle(api: Api, chain: Chain, kind: str, evidence_id: int, decision: str = "accept",
           as_: str = "olivia", rationale: str = "Reviewed the change.") -> tuple[int, Any]:
    return api.post(f"{chain.version_url}/proposals/{kind}/{evidence_id}", as_=as_,
                    json={"decision": decision, "rationale": rationale})


def bias_requirement(api: Api, chain: Chain) -> dict[str, Any]:
    gate = ok(api.get(f"{chain.version_url}/gate"))
    return next(r for r in gate["requirements"] if r["id"] == "bias_audit")


def test_a_monitor_in_use_is_changed_only_by_an_officers_decision(app, api: Api) -> None:
    chain = build_chain(api)
    url, score_url = chain.version_url, f"/api/v1/models/{chain.model}/score"
    old = ok(api.get(f"{url}/drift-monitor"))
    assert (old["action"], old["every_receipts"], old["status"]) == ("suspend", 500, "in_force")

    # The issue: Priya, who does not own the model, weakens its monitor. Refused; nothing stored.
    before = table_counts(app)
    status, body = api.post(f"{url}/drift-monitor", as_="priya", json=WEAKER)
    assert status == 403 and body["error"]["details"]["rule"] == "owners_only", body
    assert "only the model's owners" in body["error"]["message"]
    assert table_counts(app) == before
    assert ok(api.get(f"{url}/drift-monitor")) == old

    # Sam owns it: his change is a proposal, and the monitor in force is unchanged.
    proposed = ok(api.post(f"{url}/drift-monitor", json=WEAKER), 201)
    assert proposed["status"] == "proposed" and proposed["action"] == "alert"
    assert ok(api.get(f"{url}/drift-monitor")) == old
    [listed] = ok(api.get(f"{url}/proposals", as_="sam"))
    assert listed["kind"] == "drift_monitor" and listed["id"] == proposed["id"]
    assert listed["proposed_by_id"] == user_id(app, "sam")
    assert listed["changes"]["action"] == ["suspend", "alert"]
    assert listed["changes"]["every_receipts"] == [500, 10_000]
    assert listed["changes"]["columns"][1]["numerical"] == ["duration", "score"]
    [entry] = [e for e in ledger(api, "drift_monitor")
               if e["change"]["monitor_id"] == proposed["id"]]
    assert entry["change"]["status"] == "proposed"
    assert entry["actor"].endswith(":sam@northmere.gov.uk")

    # The model keeps serving, checked by the monitor in force.
    assert api.post(score_url, as_="app", json={**SCORE, "features": case(0)})[0] == 200
    job = post_batch(api, url, b.credit_frame().sample(n=200, random_state=5))
    assert job["state"] == "succeeded", job
    assert ok(api.get(f"/api/v1/drift-checks/{job['result_id']}"))["monitor_id"] == old["id"]

    # Who may not settle it: its proposer (who built the version), a data scientist, the DPO.
    status, body = settle(api, chain, "drift_monitor", proposed["id"], as_="sam")
    assert status == 403 and "may not decide" in body["error"]["message"]
    for who in ("priya", "dee"):
        assert settle(api, chain, "drift_monitor", proposed["id"], as_=who)[0] == 403
    status, body = settle(api, chain, "drift_monitor", proposed["id"], rationale="  ")
    assert status == 422 and "rationale" in body["error"]["details"]
    status, body = settle(api, chain, "drift_monitor", proposed["id"], decision="maybe")
    assert status == 422 and "decision" in str(body["error"]["details"])
    assert settle(api, chain, "drift_monitor", proposed["id"] + 99)[0] == 404
    assert settle(api, chain, "fairy_tale", proposed["id"])[0] == 404
    assert status_of(app, DriftMonitor, proposed["id"]) == "proposed"

    # Olivia accepts: the new monitor is in force, the old superseded, on the ledger.
    decision = ok(settle(api, chain, "drift_monitor", proposed["id"]))
    assert decision["decision"] == "accept_change" and decision["to_state"] == "approved"
    assert decision["scope"] == {"evidence": f"drift_monitor:{proposed['id']}",
                                 "replaces": f"drift_monitor:{old['id']}"}
    now_in_force = ok(api.get(f"{url}/drift-monitor"))
    assert now_in_force["id"] == proposed["id"] and now_in_force["status"] == "in_force"
    assert status_of(app, DriftMonitor, old["id"]) == "superseded"
    assert ok(api.get(f"{url}/decisions"))[-1] == decision
    assert ledger(api, "decision:accept_change")[-1]["change"]["scope"] == decision["scope"]
    assert ok(api.get(f"{url}/proposals")) == []
    status, body = settle(api, chain, "drift_monitor", proposed["id"], as_="gus")
    assert status == 409 and "not awaiting a decision" in body["error"]["message"]

    # Declined: the monitor in force stays.
    again = ok(api.post(f"{url}/drift-monitor", json={"action": "suspend"}), 201)
    decision = ok(settle(api, chain, "drift_monitor", again["id"], "decline", as_="gus",
                         rationale="Alerting is enough while the pilot runs."))
    assert decision["decision"] == "decline_change"
    assert ok(api.get(f"{url}/drift-monitor"))["id"] == proposed["id"]
    assert status_of(app, DriftMonitor, again["id"]) == "declined"
    assert settle(api, chain, "drift_monitor", again["id"])[0] == 409
    assert [d["decision"] for d in ok(api.get(f"{url}/decisions"))][-2:] == [
        "accept_change", "decline_change"]


def test_an_audit_in_use_is_replaced_and_its_threshold_changed_only_by_a_decision(
        app, api: Api) -> None:
    chain = build_chain(api)
    url = chain.version_url
    [old] = ok(api.get(f"{url}/bias-audits"))
    assert old["status"] == "in_force" and old["threshold"] == 0.5

    # Not an owner: refused when asked, before any job exists.
    before = table_counts(app)
    status, body = api.post(f"{url}/bias-audits", as_="priya",
                            json={"dataset_id": chain.evaluation, "threshold": 0.6})
    assert status == 403 and body["error"]["details"]["rule"] == "owners_only"
    assert table_counts(app) == before

    # The owner's audit at a new threshold is a proposal; the gate still reads the old audit.
    job = run_job(api, f"{url}/bias-audits",
                  json={"dataset_id": chain.evaluation, "threshold": 0.6})
    assert job["state"] == "succeeded", job
    proposed = ok(api.get(f"/api/v1/bias-audits/{job['result_id']}"))
    assert proposed["status"] == "proposed" and proposed["threshold"] == 0.6
    assert bias_requirement(api, chain)["detail"].startswith(f"audit {old['id']} passed")
    assert ok(api.get(url))["threshold"] == 0.5
    [listed] = ok(api.get(f"{url}/proposals"))
    assert listed["kind"] == "bias_audit" and listed["changes"]["threshold"] == [0.5, 0.6]

    # Accepted: the version decides at the audit's threshold, and the gate reads the new audit.
    decision = ok(settle(api, chain, "bias_audit", proposed["id"]))
    assert decision["scope"] == {"evidence": f"bias_audit:{proposed['id']}",
                                 "replaces": f"bias_audit:{old['id']}"}
    assert ok(api.get(url))["threshold"] == 0.6
    assert bias_requirement(api, chain)["detail"].startswith(f"audit {proposed['id']}")
    assert status_of(app, BiasAudit, old["id"]) == "superseded"

    # Declined: threshold and audit stay as they are.
    job = run_job(api, f"{url}/bias-audits",
                  json={"dataset_id": chain.evaluation, "threshold": 0.3})
    ok(settle(api, chain, "bias_audit", job["result_id"], "decline", as_="gus"))
    assert ok(api.get(url))["threshold"] == 0.6
    assert bias_requirement(api, chain)["detail"].startswith(f"audit {proposed['id']}")
    assert [a["status"] for a in ok(api.get(f"{url}/bias-audits"))] == [
        "superseded", "in_force", "declined"]


def test_a_drift_alert_is_acknowledged_item_by_item(app, api: Api) -> None:
    chain = build_chain(api, action="alert")
    url = chain.version_url
    check = post_batch(api, url, shifted_batch())
    assert check["state"] == "succeeded", check
    assert ok(api.get(url))["state"] == "approved"  # an alert does not suspend
    [gap] = ok(api.get(f"{url}/gaps"))
    assert gap["requirement"] == "drift_alert" and gap["decision"] == "acknowledge"
    assert gap["evidence"] == f"drift_check:{check['result_id']}"
    drifted = gap["outstanding"]
    assert "credit_amount" in drifted and gap["items"] == drifted

    def waive(as_: str = "olivia", **over: Any) -> tuple[int, Any]:
        body = {"requirement": "drift_alert", "items": drifted,
                "rationale": "A migration test batch, not live cases.", **over}
        return api.post(f"{url}/waivers", as_=as_, json=body)

    status, body = waive(items=["no_such_column"])
    assert status == 422
    assert body["error"]["details"]["items"] == [
        f"outstanding: {gap['evidence']}: {', '.join(drifted)}"]
    for who in ("sam", "priya", "dee"):  # the builder and another data scientist; the DPO
        assert waive(as_=who)[0] == 403
    gus = user_id(app, "gus")
    with app.extensions["gatehouse"].sessions() as session:  # Gus comes to own the version
        version = registration.get(session, "model_version", (chain.model, chain.version))
        assert isinstance(version, ModelVersion)
        version.owner_id = gus
        session.commit()
    status, body = waive(as_="gus")
    assert status == 403 and "separation of duties" in body["error"]["message"]
    assert waive(rationale="")[0] == 422
    assert waive(requirement="nothing_like_it")[0] == 422

    decision = ok(waive(), 201)
    assert decision["decision"] == "acknowledge"
    assert decision["scope"]["items"] == drifted
    assert decision["scope"]["evidence"] == gap["evidence"]
    [gap] = ok(api.get(f"{url}/gaps"))
    assert gap["outstanding"] == []
    assert ok(api.get(f"{url}/decisions"))[-1] == decision
    assert waive()[0] == 409  # nothing left to acknowledge

    # A new alert needs a new acknowledgement.
    newer = post_batch(api, url, shifted_batch())
    found = ok(api.get(f"{url}/gaps"))
    assert [g["outstanding"] != [] for g in found] == [False, True]
    assert found[1]["evidence"] == f"drift_check:{newer['result_id']}"
    ok(waive(items=found[1]["outstanding"], evidence=found[1]["evidence"]), 201)
    assert all(g["outstanding"] == [] for g in ok(api.get(f"{url}/gaps")))
