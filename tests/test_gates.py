"""Gates: every requirement of every record kind, shown met and unmet; risk tiers and approvers;
policies (bad files refused with the key and the problem; the policy recorded on decisions);
purpose class and pilot terms at serving time."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from registry.governance import registration, risk
from registry.governance.policy import KNOWN_KEYS, PolicyError, load_policies, load_policy
from registry.records import DriftMonitor

from . import builders as b
from .chain import build_chain, case, fitted, insert_client, ok
from .conftest import Api

SCORE = {"purpose": "credit_risk_research"}
SHIPPED = Path(__file__).parent.parent / "policies"


# --- helpers ----------------------------------------------------------------------------------

def gate(api: Api, url: str) -> tuple[bool, dict[str, dict[str, Any]]]:
    """(ready, requirements by id) from the record's gate."""
    body = ok(api.get(f"{url}/gate"))
    assert set(body) == {"ready", "requirements", "waiting_on"}
    reqs = {r["id"]: r for r in body["requirements"]}
    assert len(reqs) == len(body["requirements"]), "requirement ids are unique"
    for r in body["requirements"]:
        assert set(r) == {"id", "met", "detail", "remedy"}
        assert r["detail"], r
        assert (r["remedy"] == "") == r["met"], r  # a remedy exactly when unmet
    return body["ready"], reqs


def unmet(reqs: dict[str, dict[str, Any]]) -> set[str]:
    return {i for i, r in reqs.items() if not r["met"]}


def agreement_id(api: Api, reference: str, approve: bool = True, as_: str = "sam",
                 **over: Any) -> int:
    body = ok(api.post("/api/v1/agreements", as_=as_, json=b.agreement(reference, **over)), 201)
    if approve:
        ok(api.post(f"/api/v1/agreements/{body['id']}/submit", as_=as_))
        b.approve(api, f"/api/v1/agreements/{body['id']}")
    return body["id"]


def advise(api: Api, dpia_id: int, accepted: bool = True) -> None:
    ok(api.post(f"/api/v1/dpias/{dpia_id}/dpo-advice", as_="dee",
                json={"advice": "Proceed with quarterly audits."}))
    ok(api.post(f"/api/v1/dpias/{dpia_id}/advice-response", as_="olivia",
                json={"accepted": accepted, "reason": "Audits are scheduled."}))


def dpia_id(api: Api, reference: str, approve: bool = True, **over: Any) -> int:
    body = ok(api.post("/api/v1/dpias", json=b.dpia(reference, **over)), 201)
    advise(api, body["id"])
    if approve:
        ok(api.post(f"/api/v1/dpias/{body['id']}/submit"))
        b.approve(api, f"/api/v1/dpias/{body['id']}")
    return body["id"]


def tier_of(app: Any, name: str) -> int:
    """The model's risk tier, computed by the governance layer from the recorded facts."""
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        return risk.tier(session, registration.get(session, "model", name),  # type: ignore[arg-type]
                         services.policy).tier


def score(api: Api, model: str, **body: Any) -> tuple[int, Any]:
    return api.post(f"/api/v1/models/{model}/score", as_="app",
                    json={**SCORE, **(body or {"features": case(0)})})


# --- agreements -------------------------------------------------------------------------------

AGREEMENT_IDS = {"legal_basis", "statutory_gateway", "purposes", "stages", "dates",
                 "review_date", "controllers", "signatories", "approvals"}

AGREEMENT_UNMET = [
    ("legal_basis", {"legal_basis": "legitimate_interests"}, "not one the policy accepts"),
    ("statutory_gateway", {"statutory_gateway": "  "}, "no statutory gateway"),
    ("art9_condition", {"special_category": True}, "without an accepted Art. 9 condition"),
    ("art9_condition", {"special_category": True, "art9_condition": "curiosity"},
     "without an accepted Art. 9 condition"),
    ("purposes", {"purposes": []}, "no permitted purposes"),
    ("purposes", {"purposes": ["astrology"]}, "not in the policy's vocabulary: astrology"),
    ("stages", {"stages": {"credit_risk_research": []}},
     "no stage is stated for 'credit_risk_research'"),
    ("stages", {"purposes": ["credit_risk_research", "service_planning"],
                "stages": {"credit_risk_research": ["use"]}},
     "no stage is stated for 'service_planning'"),
    ("dates", {"end_date": b.date_str(1200)}, "the policy allows 0 to 1095 days"),
    ("dates", {"end_date": None}, "start or end date is missing"),
    ("dates", {"start_date": b.date_str(-400), "end_date": b.date_str(-1),
               "review_date": b.date_str(-100)}, "it ended on"),
    ("review_date", {"review_date": None}, "no review date"),
    ("review_date", {"review_date": b.date_str(800)}, "no review date between"),
    ("controllers", {"controllers": []}, "no data controller"),
    ("signatories", {"signatories": b.agreement()["signatories"][:1]},
     "no signatory for Northmere Borough Council"),
]


def test_agreement_requirements_met(api: Api) -> None:
    url = f"/api/v1/agreements/{agreement_id(api, 'DSA-1', approve=False)}"
    ready, reqs = gate(api, url)
    assert set(reqs) == AGREEMENT_IDS  # not special category: no Art. 9 requirement
    assert unmet(reqs) == {"approvals"} and ready
    assert reqs["approvals"]["detail"] == "0 of 1 approvals given; still needed: governance_officer"
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)
    ready, reqs = gate(api, url)
    assert not unmet(reqs) and ready
    # special category data with an accepted condition; consent needs no statutory gateway
    other = agreement_id(api, "DSA-2", approve=False, special_category=True,
                         art9_condition="social_protection", legal_basis="consent",
                         statutory_gateway="")
    _, reqs = gate(api, f"/api/v1/agreements/{other}")
    assert reqs["art9_condition"]["met"] and "statutory_gateway" not in reqs


@pytest.mark.parametrize("requirement, over, words", AGREEMENT_UNMET,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(AGREEMENT_UNMET)])
def test_agreement_requirement_unmet(api: Api, requirement: str, over: dict[str, Any],
                                     words: str) -> None:
    url = f"/api/v1/agreements/{agreement_id(api, 'DSA-9', approve=False, **over)}"
    ready, reqs = gate(api, url)
    assert unmet(reqs) == {requirement, "approvals"}, reqs
    assert words in reqs[requirement]["detail"]
    assert not ready
    ok(api.post(f"{url}/submit"))
    status, err = api.post(f"{url}/decisions", as_="olivia",
                           json={"decision": "approve", "rationale": "Looks fine"})
    assert status == 409
    assert [r["id"] for r in err["error"]["details"]["unmet"]] == [requirement]
    assert ok(api.get(url))["state"] == "submitted"


# --- DPIAs ------------------------------------------------------------------------------------

DPIA_IDS = {"step_need", "step_processing", "step_consultation", "step_necessity", "step_risks",
            "step_measures", "step_signoff", "dpo_advice", "dpo_response", "review_date",
            "approvals"}
RISK = b.dpia()["risks"][0]

DPIA_UNMET = [
    ("step_need", {"need": ""}, "empty"),
    ("step_processing", {"processing": " "}, "empty"),
    ("step_consultation", {"consultation": ""}, "empty"),
    ("step_necessity", {"necessity": ""}, "empty"),
    ("step_risks", {"risks": [{**RISK, "severity": None}]}, "lack likelihood or severity"),
    ("step_measures", {"risks": [{**RISK, "measure": ""}]}, "lack a measure"),
    ("step_measures", {"risks": [{**RISK, "residual_severity": None}]}, "lack a measure"),
    ("step_signoff", {"residual_risk_approved_by_id": None}, "sign-off"),
    ("review_date", {"review_date": None}, "missing"),
    ("review_date", {"review_date": b.date_str(400)}, "is not between today and"),
    ("review_date", {"review_date": b.date_str(-1)}, "is not between today and"),
]


def test_dpia_requirements_met_step_by_step(api: Api) -> None:
    body = ok(api.post("/api/v1/dpias", json=b.dpia("DPIA-1")), 201)
    url = f"/api/v1/dpias/{body['id']}"
    ready, reqs = gate(api, url)
    assert set(reqs) == DPIA_IDS  # low residual risk: no prior consultation needed
    assert unmet(reqs) == {"dpo_advice", "dpo_response", "approvals"} and not ready
    ok(api.post(f"{url}/dpo-advice", as_="dee", json={"advice": "Audit age groups."}))
    assert unmet(gate(api, url)[1]) == {"dpo_response", "approvals"}
    ok(api.post(f"{url}/advice-response", as_="olivia",
                json={"accepted": False, "reason": "Age is audited already; overruled."}))
    ready, reqs = gate(api, url)
    assert unmet(reqs) == {"approvals"} and ready
    assert reqs["dpo_response"]["detail"].startswith("advice overruled")
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)
    assert not unmet(gate(api, url)[1])


@pytest.mark.parametrize("requirement, over, words", DPIA_UNMET,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(DPIA_UNMET)])
def test_dpia_requirement_unmet(api: Api, requirement: str, over: dict[str, Any],
                                words: str) -> None:
    url = f"/api/v1/dpias/{dpia_id(api, 'DPIA-9', approve=False, **over)}"
    ready, reqs = gate(api, url)
    assert unmet(reqs) == {requirement, "approvals"}, reqs
    assert words in reqs[requirement]["detail"] and not ready


def test_no_risks_leaves_risks_and_measures_unmet(api: Api) -> None:
    url = f"/api/v1/dpias/{dpia_id(api, 'DPIA-0', approve=False, risks=[])}"
    _, reqs = gate(api, url)
    assert unmet(reqs) == {"step_risks", "step_measures", "approvals"}
    assert reqs["step_risks"]["detail"] == "no risks identified"


def test_high_residual_risk_needs_prior_consultation_before_approval(api: Api) -> None:
    high = {**RISK, "residual_likelihood": 3, "residual_severity": 2}  # 6: high
    url = f"/api/v1/dpias/{dpia_id(api, 'DPIA-H', approve=False, risks=[high])}"
    ready, reqs = gate(api, url)
    assert unmet(reqs) == {"prior_consultation", "approvals"} and not ready
    assert "high residual risk" in reqs["prior_consultation"]["detail"]
    assert "Art. 36" in reqs["prior_consultation"]["remedy"]
    ok(api.post(f"{url}/submit"))
    status, err = api.post(f"{url}/decisions", as_="olivia",
                           json={"decision": "approve", "rationale": "Fine"})
    assert status == 409
    assert [r["id"] for r in err["error"]["details"]["unmet"]] == ["prior_consultation"]
    ok(api.post(f"{url}/decisions", as_="olivia",
                json={"decision": "request_changes", "rationale": "Consult the ICO first"}), 201)
    ok(api.patch(url, json={"prior_consultation": "ICO consulted 2026-10-20: may proceed."}))
    ready, reqs = gate(api, url)
    assert reqs["prior_consultation"]["met"] and ready
    assert "ICO consulted" in reqs["prior_consultation"]["detail"]
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)
    assert ok(api.get(url))["state"] == "approved"


# --- models -----------------------------------------------------------------------------------

MODEL_IDS = {"purpose", "owners", "decision_role", "description", "dpia", "approvals"}
SUPPLIER_TERMS = {"builder": "supplier", "supplier": "Acme Analytics Ltd",
                  "code_owner": "Acme", "weights_owner": "the council", "data_owner": "the council",
                  "exit_terms": "Source and weights handed over on exit"}

MODEL_UNMET = [
    ("purpose", {"purpose": "astrology"}, "not in the policy's vocabulary"),
    ("owners", {"technical_owner": " "}, "no technical owner"),
    ("supplier_terms", {"builder": "consultant"}, "missing: supplier, code owner"),
    ("supplier_terms", {**SUPPLIER_TERMS, "exit_terms": ""}, "missing: exit terms"),
    ("decision_role", {"decision_role": "automated", "art22_basis": "contract"},
     "not allowed by policy"),
    ("description", {"summary": ""}, "plain-language summary missing"),
    ("description", {"benefit_measure": ""}, "benefit measure"),
]


def test_model_requirements_met(api: Api) -> None:
    ok(api.post("/api/v1/models", json=b.model("m1")), 201)
    ready, reqs = gate(api, "/api/v1/models/m1")
    assert set(reqs) == MODEL_IDS
    assert unmet(reqs) == {"dpia", "approvals"} and not ready
    assert reqs["dpia"]["detail"] == "no DPIA covers this model"
    draft = dpia_id(api, "DPIA-m1", approve=False, model_names=["m1"])
    _, reqs = gate(api, "/api/v1/models/m1")
    assert not reqs["dpia"]["met"] and 'DPIA "DPIA-m1" is still a draft' in reqs["dpia"]["detail"]
    ok(api.post(f"/api/v1/dpias/{draft}/submit"))
    b.approve(api, f"/api/v1/dpias/{draft}")
    ready, reqs = gate(api, "/api/v1/models/m1")
    assert unmet(reqs) == {"approvals"} and ready
    assert reqs["dpia"]["detail"] == 'assessed by DPIA "DPIA-m1"'
    ok(api.post("/api/v1/models", json=b.model("m2", **SUPPLIER_TERMS)), 201)
    _, reqs = gate(api, "/api/v1/models/m2")
    assert reqs["supplier_terms"]["met"] and "Acme Analytics" in reqs["supplier_terms"]["detail"]


@pytest.mark.parametrize("requirement, over, words", MODEL_UNMET,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(MODEL_UNMET)])
def test_model_requirement_unmet(api: Api, requirement: str, over: dict[str, Any],
                                 words: str) -> None:
    ok(api.post("/api/v1/models", json=b.model("m9", **over)), 201)
    dpia_id(api, "DPIA-m9", model_names=["m9"])
    ready, reqs = gate(api, "/api/v1/models/m9")
    assert unmet(reqs) == {requirement, "approvals"}, reqs
    assert words in reqs[requirement]["detail"] and not ready


# --- datasets ---------------------------------------------------------------------------------

DATASET_IDS = {"purpose", "agreement", "dpia", "schema", "data", "approvals"}


def dataset_id(api: Api, name: str, **over: Any) -> int:
    return ok(api.post("/api/v1/datasets", json=b.dataset(name, **over)), 201)["id"]


def test_dataset_requirements_met_and_unmet(api: Api) -> None:
    good = agreement_id(api, "DSA-good")
    ds = dataset_id(api, "d1")
    url = f"/api/v1/datasets/{ds}"
    ready, reqs = gate(api, url)
    assert set(reqs) == DATASET_IDS
    assert unmet(reqs) == {"agreement", "dpia", "data", "approvals"} and not ready
    assert reqs["agreement"]["detail"] == "no agreement covers this dataset"
    assert reqs["dpia"]["detail"] == "personal data with no DPIA covering it"
    assert reqs["data"]["detail"] == "no data uploaded"
    ok(api.patch(url, json={"agreement_ids": [good]}))
    ok(b.upload_csv(api, ds, b.credit_csv()))
    dpia_id(api, "DPIA-d1", dataset_ids=[ds])
    ready, reqs = gate(api, url)
    assert unmet(reqs) == {"approvals"} and ready
    assert reqs["agreement"]["detail"] == 'covered by agreement "DSA-good"'
    assert reqs["data"]["detail"].startswith("1000 rows uploaded")
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)
    assert not unmet(gate(api, url)[1])

    # unmet, one at a time
    _, reqs = gate(api, f"/api/v1/datasets/{dataset_id(api, 'd2', purpose='astrology')}")
    assert not reqs["purpose"]["met"]
    no_protected = [{**c, "protected": False} for c in b.credit_columns()]
    d3 = dataset_id(api, "d3", columns=no_protected)
    _, reqs = gate(api, f"/api/v1/datasets/{d3}")
    assert not reqs["schema"]["met"] and "no protected attribute" in reqs["schema"]["detail"]
    d4 = dataset_id(api, "d4", columns=no_protected,
                    no_protected_justification="Aggregated counts; no person-level attributes")
    _, reqs = gate(api, f"/api/v1/datasets/{d4}")
    assert reqs["schema"]["met"] and "justified" in reqs["schema"]["detail"]
    _, reqs = gate(api, f"/api/v1/datasets/{dataset_id(api, 'd5', columns=[])}")
    assert reqs["schema"]["detail"] == "no columns declared"
    draft = agreement_id(api, "DSA-draft", approve=False)
    _, reqs = gate(api, f"/api/v1/datasets/{dataset_id(api, 'd6', agreement_ids=[draft])}")
    assert reqs["agreement"]["detail"] == 'agreement "DSA-draft" is still a draft'
    other = agreement_id(api, "DSA-planning", purposes=["service_planning"])
    _, reqs = gate(api, f"/api/v1/datasets/{dataset_id(api, 'd7', agreement_ids=[other])}")
    assert reqs["agreement"]["detail"] == (
        "agreement \"DSA-planning\" does not permit the purpose 'credit_risk_research'")
    d8 = dataset_id(api, "d8", classification="synthetic")
    _, reqs = gate(api, f"/api/v1/datasets/{d8}")
    assert "dpia" not in reqs  # synthetic data needs no DPIA
    d9 = dataset_id(api, "d9")
    dpia_id(api, "DPIA-d9", approve=False, dataset_ids=[d9])
    _, reqs = gate(api, f"/api/v1/datasets/{d9}")
    assert reqs["dpia"]["detail"] == 'DPIA "DPIA-d9" is still a draft'


def test_every_agreement_under_a_dataset_must_hold(api: Api) -> None:
    """Data that came under two agreements may not be used once either is revoked."""
    first, second = agreement_id(api, "DSA-A"), agreement_id(api, "DSA-B")
    ds = dataset_id(api, "both", agreement_ids=[first, second])
    ok(b.upload_csv(api, ds, b.credit_csv()))
    dpia_id(api, "DPIA-both", dataset_ids=[ds])
    url = f"/api/v1/datasets/{ds}"
    _, reqs = gate(api, url)
    assert reqs["agreement"]["met"]
    assert reqs["agreement"]["detail"] == 'covered by agreement "DSA-A", agreement "DSA-B"'
    ok(api.post(f"/api/v1/agreements/{second}/decisions", as_="gus",
                json={"decision": "suspend", "rationale": "The provider withdrew"}), 201)
    _, reqs = gate(api, url)
    assert not reqs["agreement"]["met"]
    assert reqs["agreement"]["detail"] == 'agreement "DSA-B" is suspended'


# --- model versions ---------------------------------------------------------------------------

VERSION_IDS = {"model", "artefact", "feature_schema", "datasets", "purpose_permitted",
               "use_permitted", "bias_audit", "drift_monitor", "evaluation_data", "explanation",
               "decision_role", "approvals"}


def upload(api: Api, name: str, **metadata: Any) -> str:
    _, artefact = fitted("gbm")
    body = ok(b.upload_version(api, name, artefact, {"label_column": "credit",
                                                     "positive_label": "good", **metadata}), 201)
    return f"/api/v1/models/{name}/versions/{body['number']}"


def test_version_requirements_met_on_a_full_chain(app, api: Api) -> None:
    chain = build_chain(api, approve_version=False)
    ready, reqs = gate(api, chain.version_url)
    assert set(reqs) == VERSION_IDS  # production: no pilot terms
    assert unmet(reqs) == {"approvals"} and ready, reqs
    assert reqs["model"]["detail"] == 'model "credit-risk" is approved'
    assert reqs["datasets"]["detail"] == "2 dataset(s), all approved"
    assert reqs["bias_audit"]["detail"].startswith("audit ") and "passed" in \
        reqs["bias_audit"]["detail"]
    assert reqs["evaluation_data"]["detail"] == (
        "evaluation data compared with the training data: kept apart")
    ok(api.post(f"{chain.version_url}/submit"))
    b.approve(api, chain.version_url)
    assert not unmet(gate(api, chain.version_url)[1])

    # a drift monitor in breach (a recorded fact, as a breaching check leaves it) is unmet
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        session.scalars(select(DriftMonitor)).one().in_breach = True
        session.commit()
    _, reqs = gate(api, chain.version_url)
    assert unmet(reqs) == {"drift_monitor"}
    assert "in breach" in reqs["drift_monitor"]["detail"]
    status, body = score(api, chain.model)
    assert status == 409 and "in breach" in body["error"]["message"]

    # the audit's validity runs out; everything upstream still holds (leases run a year)
    clock = services.clock
    clock.advance(days=181)
    _, reqs = gate(api, chain.version_url)
    assert "bias_audit" in unmet(reqs) and "expired on 2027-05-01" in reqs["bias_audit"]["detail"]


def test_version_requirements_unmet(api: Api) -> None:
    chain = build_chain(api, approve_version=False)
    data = {"training_dataset_ids": [chain.dataset], "evaluation_dataset_ids": [chain.evaluation]}
    # no audit, no monitor; a pilot with no terms
    url = upload(api, chain.model, stage="pilot", **data)
    _, reqs = gate(api, url)
    assert set(reqs) == VERSION_IDS | {"pilot_terms"}
    assert unmet(reqs) == {"bias_audit", "drift_monitor", "pilot_terms", "approvals"}, reqs
    assert reqs["bias_audit"]["detail"] == "no bias audit has been run"
    assert reqs["drift_monitor"]["detail"] == "no drift monitor is configured"
    # a pilot ending beyond what the policy allows (180 days)
    url = upload(api, chain.model, stage="pilot", pilot_end_date=b.date_str(200),
                 pilot_case_cap=50, **data)
    assert not gate(api, url)[1]["pilot_terms"]["met"]
    url = upload(api, chain.model, stage="pilot", pilot_end_date=b.date_str(100), **data)
    assert not gate(api, url)[1]["pilot_terms"]["met"]  # no cap
    url = upload(api, chain.model, stage="pilot", pilot_end_date=b.date_str(100),
                 pilot_case_cap=50, **data)
    _, reqs = gate(api, url)
    assert reqs["pilot_terms"]["met"]
    assert reqs["pilot_terms"]["detail"] == "pilot until 2027-02-10, at most 50 cases"
    # no training data: nothing to derive the features from (the evaluation data there is
    # permitted for its purpose, so the purpose requirements hold)
    url = upload(api, chain.model, stage="production", evaluation_dataset_ids=[chain.evaluation])
    _, reqs = gate(api, url)
    assert {"artefact", "feature_schema", "datasets", "explanation"} <= unmet(reqs)
    assert reqs["purpose_permitted"]["met"] and reqs["use_permitted"]["met"]
    assert reqs["datasets"]["detail"] == "needs at least one training and one evaluation dataset"
    assert "self-check failed" in reqs["explanation"]["detail"]
    # no evaluation data, or no background: refused at upload, naming the field
    status, err = b.upload_version(api, chain.model, fitted("gbm")[1],
                                   {"training_dataset_ids": [chain.dataset], "background": None})
    assert status == 422 and {"metadata.evaluation_dataset_ids", "metadata.background"} <= set(
        err["error"]["details"])
    # the dataset suspended: the version's datasets requirement names it
    ok(api.post(f"/api/v1/datasets/{chain.dataset}/decisions", as_="gus",
                json={"decision": "suspend", "rationale": "Quality problem found"}), 201)
    _, reqs = gate(api, chain.version_url)
    assert unmet(reqs) == {"datasets", "approvals"}
    assert reqs["datasets"]["detail"] == 'dataset "credit-risk-data" is suspended'
    # the model suspended: the version's model requirement names it
    ok(api.post(f"/api/v1/models/{chain.model}/decisions", as_="gus",
                json={"decision": "suspend", "rationale": "Owner left"}), 201)
    _, reqs = gate(api, chain.version_url)
    assert reqs["model"]["detail"] == 'model "credit-risk" is suspended'


def test_version_of_an_unapproved_model_whose_data_forbids_its_purpose(api: Api) -> None:
    chain = build_chain(api, approve_version=False)
    ok(api.post("/api/v1/models", json=b.model(
        "planner", purpose="service_planning", decision_role="automated",
        art22_basis="contract")), 201)
    url = upload(api, "planner", stage="production", training_dataset_ids=[chain.dataset],
                 evaluation_dataset_ids=[chain.evaluation])
    _, reqs = gate(api, url)
    assert reqs["model"]["detail"] == 'model "planner" is still a draft'
    assert not reqs["purpose_permitted"]["met"]
    assert reqs["purpose_permitted"]["detail"] == (
        "agreement \"DSA-credit-risk\" does not permit 'service_planning'")
    assert not reqs["decision_role"]["met"]
    assert reqs["decision_role"]["detail"] == "automated decisions are not allowed by policy"


# --- risk tiers and the approvers they need ---------------------------------------------------

@pytest.mark.parametrize("facts, tier", [
    ({}, 1),
    ({"vulnerable_groups": True}, 2),
    ({"people_scored_per_year": 10_000}, 2),
    ({"vulnerable_groups": True, "people_scored_per_year": 50_000}, 3),
    ({"decision_role": "automated"}, 3),
    ({"vulnerable_groups": True, "people_scored_per_year": 50_000, **SUPPLIER_TERMS}, 4),
    ({"vulnerable_groups": True, "decision_role": "automated", **SUPPLIER_TERMS}, 4),
])
def test_risk_tier_from_recorded_facts(api: Api, facts: dict[str, Any], tier: int) -> None:
    assert ok(api.post("/api/v1/models", json=b.model("tiered", **facts)), 201)["risk_tier"] == tier


def test_special_category_data_raises_the_tier(app, api: Api) -> None:
    chain = build_chain(api, approve_version=False, name="special")
    assert tier_of(app, "special") == 1
    sensitive = agreement_id(api, "DSA-health", special_category=True,
                             art9_condition="health_or_social_care")
    ds = dataset_id(api, "health", agreement_ids=[sensitive], classification="special_category")
    upload(api, "special", training_dataset_ids=[ds], evaluation_dataset_ids=[ds])
    assert tier_of(app, "special") == 2
    _, reqs = gate(api, chain.version_url)
    assert reqs["approvals"]["detail"].startswith("0 of 1")


def test_tier_3_needs_a_governance_officer_and_the_dpo(app, api: Api) -> None:
    chain = build_chain(api, approve_version=False, vulnerable_groups=True,
                        people_scored_per_year=20_000)
    assert tier_of(app, chain.model) == 3
    url = chain.version_url
    ok(api.post(f"{url}/submit"))
    _, reqs = gate(api, url)
    assert reqs["approvals"]["detail"] == (
        "0 of 2 approvals given; still needed: governance_officer, dpo")
    first = ok(api.post(f"{url}/decisions", as_="olivia",
                        json={"decision": "approve", "rationale": "Gates met"}), 201)
    assert first["actor_role"] == "governance_officer" and first["to_state"] == "submitted"
    assert ok(api.get(url))["state"] == "submitted"
    assert score(api, chain.model)[0] == 409  # one approval is not enough
    ready, reqs = gate(api, url)
    assert ready and reqs["approvals"]["detail"] == "1 of 2 approvals given; still needed: dpo"
    # one person cannot give two of the approvals
    status, err = api.post(f"{url}/decisions", as_="olivia",
                           json={"decision": "approve", "rationale": "Again"})
    assert status == 403 and err["error"]["details"]["rule"] == "one_approval_per_person"
    # a second governance officer is not the DPO
    status, err = api.post(f"{url}/decisions", as_="gus",
                           json={"decision": "approve", "rationale": "Agree"})
    assert status == 403 and err["error"]["details"]["roles_needed"] == ["dpo"]
    second = ok(api.post(f"{url}/decisions", as_="dee",
                         json={"decision": "approve", "rationale": "DPIA is sound"}), 201)
    assert second["actor_role"] == "dpo" and second["to_state"] == "approved"
    version = ok(api.get(url))
    assert version["state"] == "approved" and version["approval_id"] == second["id"]
    assert score(api, chain.model)[0] == 200


def test_reinstating_a_tier_3_version_needs_the_officer_and_the_dpo_again(app, api: Api) -> None:
    chain = build_chain(api, approve_version=False, vulnerable_groups=True,
                        people_scored_per_year=20_000)
    url = chain.version_url
    ok(api.post(f"{url}/submit"))
    for person in ("olivia", "dee"):
        ok(api.post(f"{url}/decisions", as_=person, json={"decision": "approve",
                                                           "rationale": "Gates met"}), 201)
    ok(api.post(f"{url}/decisions", as_="gus",
                json={"decision": "suspend", "rationale": "Complaint about a referral"}), 201)
    first = ok(api.post(f"{url}/decisions", as_="olivia", json={
        "decision": "reinstate", "rationale": "Complaint answered"}), 201)
    assert first["to_state"] == "suspended" and first["actor_role"] == "governance_officer"
    assert score(api, chain.model)[0] == 409  # one person cannot put it back in force
    _, reqs = gate(api, url)
    assert reqs["approvals"]["detail"] == "1 of 2 reinstatements given; still needed: dpo"
    status, err = api.post(f"{url}/decisions", as_="olivia",
                           json={"decision": "reinstate", "rationale": "Again"})
    assert status == 403 and err["error"]["details"]["rule"] == "one_approval_per_person"
    status, err = api.post(f"{url}/decisions", as_="gus",
                           json={"decision": "reinstate", "rationale": "Agree"})
    assert status == 403 and err["error"]["details"]["roles_needed"] == ["dpo"]
    second = ok(api.post(f"{url}/decisions", as_="dee", json={
        "decision": "reinstate", "rationale": "DPIA still sound"}), 201)
    assert second["to_state"] == "approved"
    assert ok(api.get(url))["approval_id"] == second["id"]
    assert score(api, chain.model)[0] == 200
    # a second suspension starts a new round of reinstatements
    ok(api.post(f"{url}/decisions", as_="gus",
                json={"decision": "suspend", "rationale": "Another complaint"}), 201)
    _, reqs = gate(api, url)
    assert reqs["approvals"]["detail"].startswith("0 of 2 reinstatements given")


def test_tier_4_needs_two_governance_officers_and_the_dpo(app, api: Api) -> None:
    chain = build_chain(api, approve_version=False, vulnerable_groups=True,
                        people_scored_per_year=20_000, **SUPPLIER_TERMS)
    assert tier_of(app, chain.model) == 4
    url = chain.version_url
    ok(api.post(f"{url}/submit"))
    for person, state in (("olivia", "submitted"), ("dee", "submitted")):
        assert ok(api.post(f"{url}/decisions", as_=person, json={
            "decision": "approve", "rationale": "ok"}), 201)["to_state"] == state
    for person in ("olivia", "dee"):  # neither may fill the second officer's place
        status, err = api.post(f"{url}/decisions", as_=person,
                               json={"decision": "approve", "rationale": "twice"})
        assert status == 403 and err["error"]["details"]["rule"] == "one_approval_per_person"
    _, reqs = gate(api, url)
    assert reqs["approvals"]["detail"] == (
        "2 of 3 approvals given; still needed: governance_officer")
    assert ok(api.post(f"{url}/decisions", as_="gus", json={
        "decision": "approve", "rationale": "ok"}), 201)["to_state"] == "approved"


# --- purpose class and stage ------------------------------------------------------------------

def test_aggregate_analysis_model_is_never_scored_case_by_case(app, api: Api) -> None:
    chain = build_chain(api, purpose_class="aggregate_analysis")
    assert ok(api.get(chain.version_url))["state"] == "approved"
    _, reqs = gate(api, chain.version_url)
    assert not unmet(reqs) and "use_permitted" not in reqs  # it is never used on a case
    # no frontline client may be given it...
    status, body = api.post("/api/v1/clients", as_="ada", json={
        "name": "planner-app", "models": [chain.model], "purposes": ["credit_risk_research"]})
    assert status == 422
    assert body["error"]["details"] == {"models": [
        'model "credit-risk" is registered for aggregate analysis, not for scoring individual '
        "cases"]}
    result = app.test_cli_runner().invoke(args=[  # nor at the command line
        "clients", "create", "planner-app", "--model", chain.model,
        "--purpose", "credit_risk_research"])
    assert result.exit_code != 0 and "registered for aggregate analysis" in result.output
    # ...and one that got it some other way is refused every score
    api.tokens["app"] = insert_client(app, "planner-app", [chain.model],
                                      ["credit_risk_research"])
    status, body = score(api, chain.model)
    assert status == 409
    assert body["error"]["message"] == (
        'model "credit-risk" v1 is not servable: it is approved for aggregate analysis, '
        "not for scoring individual cases")
    status, _ = score(api, chain.model, instances=[case(0), case(1)])
    assert status == 409


def test_pilot_has_an_end_date_and_a_case_cap_then_production_is_a_new_approval(
        app, api: Api) -> None:
    chain = build_chain(api, stage="pilot")  # ends in 60 days, at most 5 cases
    version = ok(api.get(chain.version_url))
    assert version["approved_until"] == b.date_str(60)  # the lease ends with the pilot
    status, body = score(api, chain.model, instances=[case(i) for i in range(3)])
    assert status == 200 and body["version"] == 1
    status, body = score(api, chain.model, instances=[case(3), case(4), case(5)])
    assert status == 409 and "pilot cap of 5 cases is reached (3 scored)" in \
        body["error"]["message"]
    assert score(api, chain.model, instances=[case(3), case(4)])[0] == 200
    status, body = score(api, chain.model)
    assert status == 409 and "pilot cap of 5 cases" in body["error"]["message"]
    # the stage cannot be changed on the approved version
    status, _ = api.patch(chain.version_url, json={"stage": "production"})
    assert status == 409
    # production is a new version with its own approval
    url = upload(api, chain.model, stage="production", training_dataset_ids=[chain.dataset],
                 evaluation_dataset_ids=[chain.evaluation])
    ok(api.post(f"{url}/bias-audits", json={"dataset_id": chain.evaluation}), 202)
    ok(api.post(f"{url}/drift-monitor", json={}), 201)
    assert score(api, chain.model)[0] == 409  # still the capped pilot
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)
    status, body = score(api, chain.model)
    assert status == 200 and body["version"] == 2
    assert "pilot_terms" not in gate(api, url)[1]


def test_pilot_ends_on_its_date_without_a_job(app, api: Api, clock) -> None:
    chain = build_chain(api, stage="pilot")
    clock.advance(days=60)
    assert score(api, chain.model)[0] == 200  # the last day of the pilot
    clock.advance(days=1)
    status, body = score(api, chain.model)
    assert status == 409 and body["error"]["message"] == (
        'model "credit-risk" v1 is not servable: the pilot of model "credit-risk" v1 ended '
        "on 2027-01-01")


# --- policies ---------------------------------------------------------------------------------

DEFAULT = (SHIPPED / "default.toml").read_text()

BAD_POLICIES = [
    # (what to replace, with what, the key named, words of the problem)
    ('name = "default"', "", "policy.name", "is missing"),
    ("validity_days = 365", 'validity_days = "a year"', "approvals.validity_days",
     "must be int, not str"),
    ("validity_days = 365", "validity_days = 0", "approvals.validity_days",
     "must be greater than 0"),
    ("validity_days = 365", "validity_days = true", "approvals.validity_days",
     "must be a number"),
    ("validity_days = 365", "validity_dayz = 365", "approvals.validity_dayz", "unknown key"),
    ("max_batch = 100", "max_batch = 5000", "serving.max_batch", "must be at most 1000"),
    ("[dpia]", "[dpiaa]", "dpiaa", "unknown table"),
    ('legal_bases = ["public_task"', 'legal_bases = ["gut_feeling"', "vocabulary.legal_bases",
     "unknown value(s) ['gut_feeling']"),
    ("purposes = [\n", "purposes = []\nold_purposes = [\n", "vocabulary.old_purposes",
     "unknown key"),
    ('{ metric = "demographic_parity_ratio", min = 0.8 }',
     '{ metric = "vibes_ratio", min = 0.8 }', "fairness.limits[0].metric",
     "unknown fairness metric 'vibes_ratio'"),
    ('{ metric = "demographic_parity_ratio", min = 0.8 }',
     '{ metric = "demographic_parity_ratio" }', "fairness.limits[0]", "needs a min or a max"),
    ('min = 0.8', 'min = "high"', "fairness.limits[0].min", "must be a number"),
    ("proxy_threshold = 0.3", "proxy_threshold = 3", "fairness.proxy_threshold",
     "must be between 0 and 1"),
    ("age = [0, 25, 35, 50, 65, 130]", "age = [0, 65, 25]", "fairness.bands.age",
     "rising band edges"),
    ("age = [0, 25, 35, 50, 65, 130]", 'age = [0, "young", 65]', "fairness.bands.age",
     "must be a number"),
    ('method = ""', 'method = "tea_leaves"', "drift.method", "unknown method 'tea_leaves'"),
    ('action_on_breach = "suspend"', 'action_on_breach = "panic"', "drift.action_on_breach",
     "must be alert or suspend"),
    ('{ name = "high", below = 1.01 }', '{ name = "high", below = 0.9 }', "serving.bands",
     "the last band must reach above 1"),
    ('{ name = "low", below = 0.3 }', '{ name = "low", below = "x" }',
     "serving.bands[0].below", "must be a number"),
    ("retain_inputs_days = 30", "retain_inputs_days = -1", "serving.retain_inputs_days",
     "must be 0 or more"),
    ('"sklearn.dummy.DummyClassifier",', "42,", "serving.trusted_types", "dotted type names"),
    ('{ tier = 4, approver_roles = ["governance_officer", "dpo", "governance_officer"] },', "",
     "risk.tiers", "must define tiers 1, 2, 3 and 4"),
    ('{ tier = 3, approver_roles = ["governance_officer", "dpo"] }',
     '{ tier = "three", approver_roles = ["governance_officer", "dpo"] }', "risk.tiers[2].tier",
     "must be a whole number from 1 to 4"),
    ('{ tier = 3, approver_roles = ["governance_officer", "dpo"] }',
     '{ tier = 3, approver_roles = ["governance_officer", "auditor"] }',
     "risk.tiers[2].approver_roles", "roles that may approve"),
    ('record_approver_roles = ["governance_officer"]', 'record_approver_roles = ["admin"]',
     "approvals.record_approver_roles", "unknown value(s) ['admin']"),
    ("automated = 2", "clairvoyant = 2", "risk.points", "unknown fact(s) ['clairvoyant']"),
    ("automated = 2", 'automated = "two"', "risk.points.automated", "whole number of points"),
]


@pytest.mark.parametrize("old, new, key, problem", BAD_POLICIES,
                         ids=[f"{c[2]}-{i}" for i, c in enumerate(BAD_POLICIES)])
def test_bad_policy_file_names_the_key_and_the_problem(tmp_path: Path, old: str, new: str,
                                                       key: str, problem: str) -> None:
    assert old in DEFAULT, old
    path = tmp_path / "broken.toml"
    path.write_text(DEFAULT.replace(old, new, 1))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert message.startswith(f"broken.toml: {key}: "), message
    assert problem in message, message


def test_policy_that_is_not_toml_or_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "garbled.toml"
    path.write_text(DEFAULT.replace("[dpia]", "[dpia", 1))
    with pytest.raises(PolicyError, match=r"^garbled.toml: not valid TOML: .*line \d+"):
        load_policy(path)
    path.write_bytes(b"\xff\xfe" + DEFAULT.encode())
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(path)


def test_a_bad_policy_stops_the_start(tmp_path: Path) -> None:
    from registry.app import create_app

    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "default.toml").write_text(DEFAULT.replace("max_batch = 100", "max_batch = -5"))
    with pytest.raises(PolicyError, match=r"^default.toml: serving.max_batch: must be greater "):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"),
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                    "POLICY_DIR": str(folder), "POLICY": "default"})
    (folder / "default.toml").write_text(DEFAULT)
    (folder / "copy.toml").write_text(DEFAULT)
    with pytest.raises(PolicyError, match="'default' is used by another file"):
        load_policies(folder)
    with pytest.raises(PolicyError, match="no policy named 'nordic'"):
        create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"),
                    "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                    "POLICY_DIR": str(SHIPPED), "POLICY": "nordic"})


def test_shipped_policies_load_use_every_key_and_differ_in_earnest() -> None:
    import tomllib

    policies = load_policies(SHIPPED)
    assert {"default", "childrens_services"} <= set(policies)
    default, children = policies["default"], policies["childrens_services"]
    optional = {("drift", "column_threshold")}  # absent: evidently's default per column
    for path in SHIPPED.glob("*.toml"):  # every threshold and vocabulary is written out
        data = tomllib.loads(path.read_text())
        assert set(data) == set(KNOWN_KEYS), path.name
        for table, keys in KNOWN_KEYS.items():
            assert {k for k in keys if (table, k) not in optional} <= set(data[table]), (
                path.name, table)
    assert children.approval_validity_days < default.approval_validity_days
    assert children.record_approver_roles == ("governance_officer", "dpo")
    assert children.tier_rule(1).approver_roles == ("governance_officer", "dpo")
    assert set(children.purposes) < set(default.purposes)
    assert "consent" not in children.legal_bases
    assert children.pilot_max_days < default.pilot_max_days
    assert len(children.fairness_limits) > len(default.fairness_limits)
    assert children.content_hash != default.content_hash
    assert default.content_hash == hashlib.sha256((SHIPPED / "default.toml").read_bytes()
                                                  ).hexdigest()


def test_every_decision_records_the_policy_it_was_taken_under(api: Api, policy_dir: Path) -> None:
    url = f"/api/v1/agreements/{agreement_id(api, 'DSA-P', approve=False)}"
    ok(api.post(f"{url}/submit"))
    expected_hash = hashlib.sha256((policy_dir / "test.toml").read_bytes()).hexdigest()
    for decision in ("approve", "suspend", "reinstate", "retire"):
        d = ok(api.post(f"{url}/decisions", as_="olivia",
                        json={"decision": decision, "rationale": f"{decision} for the test"}),
               201)
        assert (d["policy_name"], d["policy_version"], d["policy_hash"]) == (
            "test", "2026.2", expected_hash)
        assert len(d["evidence_hash"]) == 64
    listed = ok(api.get(f"{url}/decisions"))
    assert [d["decision"] for d in listed] == ["approve", "suspend", "reinstate", "retire"]
    assert {d["policy_hash"] for d in listed} == {expected_hash}
    _, ledger = api.get(f"/api/v1/ledger?subject_kind=agreement&subject_id={url.rsplit('/')[-1]}",
                        as_="audrey")
    decided = [e for e in ledger["items"] if e["action"].startswith("decision:")]
    assert len(decided) == 4
    assert all(e["change"]["policy"] == {"name": "test", "version": "2026.2",
                                         "content_hash": expected_hash} for e in decided)


@pytest.mark.parametrize("policy_name", ["childrens_services"])
def test_childrens_services_policy_is_stricter(api: Api, policy_name: str) -> None:
    body = ok(api.post("/api/v1/agreements", json=b.agreement("DSA-C")), 201)
    url = f"/api/v1/agreements/{body['id']}"
    ready, reqs = gate(api, url)
    assert not ready and not reqs["purposes"]["met"]  # credit research is not a purpose here
    ok(api.patch(url, json={"purposes": ["early_help_triage"],
                            "stages": {"early_help_triage": ["development", "use"]},
                            "end_date": b.date_str(800)}))  # over the two-year maximum
    _, reqs = gate(api, url)
    assert unmet(reqs) == {"dates", "approvals"}
    assert "the policy allows 0 to 730 days" in reqs["dates"]["detail"]
    ok(api.patch(url, json={"end_date": b.date_str(600)}))
    ok(api.post(f"{url}/submit"))
    _, reqs = gate(api, url)
    assert reqs["approvals"]["detail"] == (
        "0 of 2 approvals given; still needed: governance_officer, dpo")
    first = ok(api.post(f"{url}/decisions", as_="olivia",
                        json={"decision": "approve", "rationale": "ok"}), 201)
    assert first["to_state"] == "submitted" and first["policy_name"] == "childrens_services"
    status, err = api.post(f"{url}/decisions", as_="dee", json={
        "decision": "approve", "rationale": "ok", "approved_until": b.date_str(181)})
    assert status == 422 and "approved_until" in err["error"]["details"]  # leases of 180 days
    second = ok(api.post(f"{url}/decisions", as_="dee",
                         json={"decision": "approve", "rationale": "ok"}), 201)
    assert second["to_state"] == "approved"
    assert ok(api.get(url))["approved_until"] == str(b.TODAY + timedelta(days=180))


def submitted_tier_3_with_rowan(app, api: Api, dee_active: bool) -> str:
    """A submitted tier-3 version, and Rowan, an officer who is also a DPO; its URL."""
    from registry.governance import people
    from registry.governance.actors import OPERATOR
    from registry.records import User

    chain = build_chain(api, approve_version=False, vulnerable_groups=True,
                        people_scored_per_year=20_000)
    ok(api.post(f"{chain.version_url}/submit"))
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        session.execute(update(User).where(User.email.startswith("dee@"))
                        .values(active=dee_active))
        _, api.tokens["rowan"] = people.create_user(
            session, OPERATOR, {"email": "rowan@northmere.gov.uk",
                                "roles": ["governance_officer", "dpo"]}, services.clock.now())
        session.commit()
    return chain.version_url


def test_an_officer_who_is_also_the_only_dpo_takes_the_place_nobody_else_can_fill(
        app, api: Api) -> None:
    url = submitted_tier_3_with_rowan(app, api, dee_active=False)
    first = ok(api.post(f"{url}/decisions", as_="rowan",
                        json={"decision": "approve", "rationale": "Gates met"}), 201)
    assert first["actor_role"] == "dpo"
    second = ok(api.post(f"{url}/decisions", as_="olivia",
                         json={"decision": "approve", "rationale": "Agree"}), 201)
    assert second["actor_role"] == "governance_officer" and second["to_state"] == "approved"


def test_with_another_dpo_at_hand_an_officer_who_is_both_approves_as_the_officer(
        app, api: Api) -> None:
    url = submitted_tier_3_with_rowan(app, api, dee_active=True)
    first = ok(api.post(f"{url}/decisions", as_="rowan",
                        json={"decision": "approve", "rationale": "Gates met"}), 201)
    assert first["actor_role"] == "governance_officer"
    assert ok(api.post(f"{url}/decisions", as_="dee", json={
        "decision": "approve", "rationale": "DPIA is sound"}), 201)["to_state"] == "approved"
