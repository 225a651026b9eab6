"""Purpose bound end to end: the rules of stages per purpose without HTTP, then through the API —
client creation refused for a pair that cannot be served, scoring refused (403, logged) for a
purpose the model or an agreement does not allow, at once after an agreement is narrowed or
replaced; and each gate telling what it waits on, in order."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from registry.governance import purposes
from registry.records import Dataset, DataSharingAgreement, ModelVersion, PredictiveModel
from registry.records import ScoreReceipt as Receipt

from . import builders as b
from .chain import build_chain, case, fitted, insert_client, ok
from .conftest import Api

PURPOSE = "credit_risk_research"
DEV_USE = ["development", "use"]


# --- the rules, on records in memory ----------------------------------------------------------

def agreement(id_: int, stages: dict[str, list[str]], **over: Any) -> DataSharingAgreement:
    return DataSharingAgreement(id=id_, reference=f"DSA-{id_}", purposes=list(stages),
                                stages=stages, **over)


def version(purpose: str, training: list[DataSharingAgreement],
            evaluation: list[DataSharingAgreement]) -> ModelVersion:
    model = PredictiveModel(name="m", purpose=purpose, purpose_class="individual_case_work")
    return ModelVersion(model=model, number=1,
                        training_datasets=[Dataset(id=1, name="t", agreements=training)],
                        evaluation_datasets=[Dataset(id=2, name="e", agreements=evaluation)])


def test_each_stage_needs_its_own_grant_from_every_agreement_under_the_data() -> None:
    full = agreement(1, {PURPOSE: DEV_USE})
    dev_only = agreement(2, {PURPOSE: ["development"]})
    elsewhere = agreement(3, {"service_planning": DEV_USE})
    assert purposes.refusals([full, dev_only, elsewhere], PURPOSE, "use") == [
        "agreement \"DSA-2\" permits 'credit_risk_research' but not for use (scoring cases)",
        "agreement \"DSA-3\" does not permit 'credit_risk_research'"]
    assert purposes.development_status(version(PURPOSE, [full], [dev_only]))[0]
    # the evaluation data's agreement counts as much as the training data's
    met, detail, remedy = purposes.use_status(version(PURPOSE, [full], [dev_only]))
    assert not met and detail == (
        "agreement \"DSA-2\" permits 'credit_risk_research' but not for use (scoring cases)")
    assert "for use (scoring cases)" in remedy
    use_only = agreement(4, {PURPOSE: ["use"]})
    met, detail, _ = purposes.development_status(version(PURPOSE, [full], [use_only]))
    assert not met and detail == ("agreement \"DSA-4\" permits 'credit_risk_research' but not "
                                  "for development (training)")
    assert purposes.use_status(version(PURPOSE, [full], [use_only]))[0]
    assert purposes.use_refusal(version(PURPOSE, [full], [full])) == ""


def test_an_agreement_states_stages_for_every_purpose_it_permits() -> None:
    met, detail, _ = purposes.agreement_stages_status(
        agreement(1, {PURPOSE: DEV_USE, "service_planning": ["use"]}))
    assert met and detail == ("credit_risk_research: development (training), use (scoring "
                              "cases); service_planning: use (scoring cases)")
    silent = agreement(2, {PURPOSE: DEV_USE, "service_planning": []})
    met, detail, remedy = purposes.agreement_stages_status(silent)
    assert not met and detail == "no stage is stated for 'service_planning'"
    assert "development (training a model)" in remedy


# --- the issue: a client for a purpose no agreement behind the model permits ------------------

def receipts(app: Flask) -> int:
    with app.extensions["gatehouse"].sessions() as session:
        return session.scalar(select(func.count()).select_from(Receipt)) or 0


def refusals_logged(api: Api) -> list[dict[str, Any]]:
    ledger = ok(api.get("/api/v1/ledger?per_page=500", as_="audrey"))
    return [e["change"] for e in ledger["items"] if e["action"] == "score_refused"]


def score(api: Api, model: str, purpose: str = PURPOSE, as_: str = "app") -> tuple[int, Any]:
    return api.post(f"/api/v1/models/{model}/score", as_=as_,
                    json={"purpose": purpose, "features": case(0)})


def test_a_client_for_a_purpose_nothing_behind_the_model_permits(app: Flask, api: Api) -> None:
    chain = build_chain(api)  # its only agreement permits credit_risk_research
    assert score(api, chain.model)[0] == 200
    why = "model \"credit-risk\" is registered for 'credit_risk_research', not 'service_planning'"

    status, body = api.post("/api/v1/clients", as_="ada", json={
        "name": "planning-app", "models": [chain.model], "purposes": ["service_planning"]})
    assert status == 422 and body["error"]["details"] == {"purposes": [why]}
    result = app.test_cli_runner().invoke(args=[
        "clients", "create", "planning-app", "--model", chain.model,
        "--purpose", "service_planning"])
    assert result.exit_code != 0 and why in result.output
    status, body = api.post("/api/v1/clients", as_="ada", json={
        "name": "planning-app", "models": ["no-such-model"], "purposes": [PURPOSE]})
    assert status == 422 and body["error"]["details"] == {"models": ["no model named "
                                                                     "'no-such-model'"]}

    # a client that got the pair some other way is refused at every request, and it is logged
    api.tokens["planner"] = insert_client(app, "planning-app", [chain.model],
                                          ["service_planning"])
    before = receipts(app)
    status, body = score(api, chain.model, "service_planning", as_="planner")
    assert status == 403
    assert body["error"]["message"] == why
    assert body["error"]["details"] == {"purpose": [why]}
    assert refusals_logged(api)[-1] == {"purpose": "service_planning",
                                        "problems": {"purpose": [why]}}
    status, body = api.post(f"/v2/models/{chain.model}/infer", as_="planner", json={
        "parameters": {"purpose": "service_planning"},
        "inputs": [{"name": k, "datatype": "BYTES" if isinstance(v, str) else "INT64",
                    "shape": [1], "data": [v]} for k, v in case(0).items()]})
    assert status == 403 and body["error"] == why
    assert receipts(app) == before


def test_a_model_whose_agreement_does_not_permit_its_purpose_gets_no_client(api: Api) -> None:
    chain = build_chain(api)
    ok(api.post("/api/v1/models", json=b.model("planner", purpose="service_planning")), 201)
    # no version yet: the purpose matches, so the client is accepted (see client_problems)
    ok(api.post("/api/v1/clients", as_="ada", json={
        "name": "early-planner", "models": ["planner"], "purposes": ["service_planning"]}), 201)
    _, artefact = fitted("gbm")
    ok(b.upload_version(api, "planner", artefact, {
        "label_column": "credit", "positive_label": "good", "stage": "production",
        "training_dataset_ids": [chain.dataset], "evaluation_dataset_ids": [chain.dataset],
        "background": {"dataset_id": chain.dataset}}), 201)
    status, body = api.post("/api/v1/clients", as_="ada", json={
        "name": "planner-app", "models": ["planner"], "purposes": ["service_planning"]})
    assert status == 422
    assert body["error"]["details"] == {"purposes": [
        "agreement \"DSA-credit-risk\" does not permit 'service_planning'"]}


# --- narrowing or replacing an agreement after approval ---------------------------------------

def revise(api: Api, url: str, change: dict[str, Any]) -> None:
    """An approved record changed the only way it can be: sent back, edited, resubmitted and
    approved again."""
    ok(api.post(f"{url}/decisions", as_="gus",
                json={"decision": "request_changes", "rationale": "The provider narrowed it"}), 201)
    ok(api.patch(url, json=change))
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)


def test_narrowing_an_approved_agreement_refuses_the_next_score_naming_it(api: Api) -> None:
    chain = build_chain(api)
    url = f"/api/v1/agreements/{chain.agreement}"
    assert score(api, chain.model)[0] == 200
    revise(api, url, {"stages": {PURPOSE: ["development"]}})
    status, body = score(api, chain.model)
    why = ("agreement \"DSA-credit-risk\" permits 'credit_risk_research' but not for use "
           "(scoring cases)")
    assert status == 403 and body["error"]["details"] == {"purpose": [why]}
    assert refusals_logged(api)[-1]["problems"] == {"purpose": [why]}
    gate = ok(api.get(f"{chain.version_url}/gate"))
    use = next(r for r in gate["requirements"] if r["id"] == "use_permitted")
    assert not use["met"] and use["detail"] == why

    revise(api, url, {"purposes": ["service_planning"],
                      "stages": {"service_planning": DEV_USE}})
    status, body = score(api, chain.model)
    assert status == 403 and body["error"]["message"] == (
        "agreement \"DSA-credit-risk\" does not permit 'credit_risk_research'")

    revise(api, url, {"purposes": [PURPOSE], "stages": {PURPOSE: DEV_USE}})
    assert score(api, chain.model)[0] == 200  # restored, served again


def test_replacing_the_agreement_under_a_dataset_refuses_the_next_score(api: Api) -> None:
    chain = build_chain(api)
    narrow = ok(api.post("/api/v1/agreements", json=b.agreement(
        "DSA-research-only", stages={PURPOSE: ["development"]})), 201)["id"]
    ok(api.post(f"/api/v1/agreements/{narrow}/submit"))
    b.approve(api, f"/api/v1/agreements/{narrow}")
    revise(api, f"/api/v1/datasets/{chain.dataset}", {"agreement_ids": [narrow]})
    status, body = score(api, chain.model)
    assert status == 403 and body["error"]["message"] == (
        "agreement \"DSA-research-only\" permits 'credit_risk_research' but not for use "
        "(scoring cases)")


# --- stages on agreements, as the API takes them ----------------------------------------------

def test_stages_are_checked_field_by_field(api: Api) -> None:
    status, body = api.post("/api/v1/agreements", json=b.agreement(
        "DSA-bad", stages={PURPOSE: ["scoring"]}))
    assert status == 422 and "stages" in body["error"]["details"]
    status, body = api.post("/api/v1/agreements", json=b.agreement(
        "DSA-bad", stages={PURPOSE: DEV_USE, "service_planning": ["use"]}))
    assert status == 422 and body["error"]["details"] == {"stages.service_planning": [
        "'service_planning' is not one of the agreement's permitted purposes"]}
    created = ok(api.post("/api/v1/agreements", json=b.agreement(
        "DSA-two", purposes=[PURPOSE, "service_planning"],
        stages={PURPOSE: ["use", "development", "use"], "service_planning": ["use"]})), 201)
    assert created["stages"] == {PURPOSE: DEV_USE, "service_planning": ["use"]}
    # narrowing the purposes alone drops the stages of the purpose dropped
    narrowed = ok(api.patch(f"/api/v1/agreements/{created['id']}",
                            json={"purposes": ["service_planning"]}))
    assert narrowed["stages"] == {"service_planning": ["use"]}


# --- a bias audit on special-category data needs its own basis --------------------------------

def test_an_audit_on_special_category_data_needs_fairness_audit(api: Api) -> None:
    chain = build_chain(api, approve_version=False)
    special = ok(api.post("/api/v1/agreements", json=b.agreement(
        "DSA-health", special_category=True, art9_condition="social_protection")), 201)["id"]
    data = ok(api.post("/api/v1/datasets", json=b.dataset(
        "health-data", agreement_ids=[special], classification="special_category")), 201)["id"]
    ok(b.upload_csv(api, data, b.credit_csv()))
    _, artefact = fitted("gbm")
    number = ok(b.upload_version(api, chain.model, artefact, {
        "label_column": "credit", "positive_label": "good", "stage": "production",
        "training_dataset_ids": [chain.dataset], "evaluation_dataset_ids": [data],
        "background": {"dataset_id": chain.dataset}}), 201)["number"]
    url = f"/api/v1/models/{chain.model}/versions/{number}"
    job = ok(api.post(f"{url}/bias-audits", json={"dataset_id": data}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"

    def audit_basis() -> dict[str, Any]:
        return next(r for r in ok(api.get(f"{url}/gate"))["requirements"]
                    if r["id"] == "audit_basis")

    basis = audit_basis()
    assert not basis["met"] and basis["detail"].endswith(
        "is on special-category data: agreement \"DSA-health\" permits 'credit_risk_research' "
        "but not for fairness auditing with special-category data")
    ok(api.patch(f"/api/v1/agreements/{special}",
                 json={"stages": {PURPOSE: [*DEV_USE, "fairness_audit"]}}))
    assert audit_basis()["met"]
    # the chain's own audit is on personal, not special-category, data: nothing more is asked
    chain_gate = ok(api.get(f"{chain.version_url}/gate"))
    assert "audit_basis" not in {r["id"] for r in chain_gate["requirements"]}


# --- the order is told ------------------------------------------------------------------------

def test_each_gate_tells_what_it_waits_on_in_order(api: Api) -> None:
    a = ok(api.post("/api/v1/agreements", json=b.agreement("DSA-W")), 201)["id"]
    ok(api.post(f"/api/v1/agreements/{a}/submit"))
    d = ok(api.post("/api/v1/datasets", json=b.dataset("w-data", agreement_ids=[a])), 201)["id"]
    ok(b.upload_csv(api, d, b.credit_csv()))
    ok(api.post("/api/v1/models", json=b.model("w-model")), 201)
    p = ok(api.post("/api/v1/dpias", json=b.dpia("DPIA-W", dataset_ids=[d],
                                                   model_names=["w-model"])), 201)["id"]
    _, artefact = fitted("gbm")
    ok(b.upload_version(api, "w-model", artefact, {
        "label_column": "credit", "positive_label": "good", "stage": "production",
        "training_dataset_ids": [d], "evaluation_dataset_ids": [d]}), 201)

    waiting = ok(api.get("/api/v1/models/w-model/versions/1/gate"))["waiting_on"]
    assert [(w["kind"], w["state"]) for w in waiting] == [
        ("agreement", "submitted"), ("dpia", "draft"), ("dataset", "draft"), ("model", "draft")]
    assert waiting[0] == {"kind": "agreement", "id": a, "label": 'agreement "DSA-W"',
                          "state": "submitted",
                          "action": 'approve agreement "DSA-W" first: it is awaiting approval'}
    assert waiting[3] == {"kind": "model", "name": "w-model", "label": 'model "w-model"',
                          "state": "draft",
                          "action": 'approve model "w-model" first: it is still a draft'}
    # the DPIA rests on no other record: the dataset it lists waits on it, not the other way
    assert ok(api.get(f"/api/v1/dpias/{p}/gate"))["waiting_on"] == []
    dataset_gate = ok(api.get(f"/api/v1/datasets/{d}/gate"))
    assert [w["label"] for w in dataset_gate["waiting_on"]] == ['agreement "DSA-W"',
                                                               'DPIA "DPIA-W"']
    remedies = {r["id"]: r["remedy"] for r in dataset_gate["requirements"]}
    assert remedies["agreement"] == 'approve agreement "DSA-W" first'
    assert remedies["dpia"] == 'approve DPIA "DPIA-W" first'
    assert ok(api.get(f"/api/v1/agreements/{a}/gate"))["waiting_on"] == []
