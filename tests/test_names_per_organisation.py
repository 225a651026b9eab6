"""Names are each organisation's own: two councils may both have a model "hmo-finder"; a name in
a URL resolves within the caller's organisation(s), and `?organisation=SLUG` says which one for a
person of several. Records are created in the organisation a body names by slug."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from registry.governance.actors import OPERATOR, SYSTEM
from registry.jobs import queue as jobs
from registry.records import ApiClient, Job
from registry.serving import verdicts
from registry.usecases import people
from registry.usecases.unit import of_app

from . import builders as b
from .chain import build_chain, case, insert_client, ok
from .conftest import Api
from .test_organisations import add_eastbrook, signed_by


def _both_register(app: Flask, api: Api) -> int:
    """Eastbrook, with eli a data scientist of Northmere too."""
    east = add_eastbrook(app, api)
    unit = of_app(app, OPERATOR)
    people.add_membership(unit, people.find_user(unit, ok(api.get("/api/v1/me", as_="eli"))["id"]),
                          1, ["data_scientist"])
    return east


def test_two_councils_use_the_same_names_and_each_reads_its_own(app: Flask, api: Api) -> None:
    east = add_eastbrook(app, api)
    for who, org, officer in (("sam", 1, "olivia"), ("eli", east, "erin")):
        agreement = ok(api.post("/api/v1/agreements", as_=who, json=b.agreement("DSA-1")), 201)
        dataset = ok(api.post("/api/v1/datasets", as_=who, json=b.dataset(
            "housing", agreement_ids=[agreement["id"]])), 201)
        model = ok(api.post("/api/v1/models", as_=who, json=b.model("hmo-finder")), 201)
        dpia = ok(api.post("/api/v1/dpias", as_=who, json=b.dpia(
            "DPIA-1", dataset_ids=[dataset["id"]], model_names=["hmo-finder"],
            **signed_by(api, officer))), 201)
        assert {r["organisation_id"] for r in (agreement, dataset, model, dpia)} == {org}
        # a DPIA links its own organisation's model of that name, not the other's
        assert ok(api.get(f"/api/v1/dpias/{dpia['id']}", as_=who))["model_names"] == [
            "hmo-finder"]
    # within one organisation a name is still taken once
    status, body = api.post("/api/v1/models", as_="eli", json=b.model("hmo-finder"))
    assert status == 409 and body["error"]["details"] == {"name": ["already used"]}
    status, body = api.post("/api/v1/agreements", as_="eli", json=b.agreement("DSA-1"))
    assert status == 409 and "reference" in body["error"]["details"]
    assert ok(api.get("/api/v1/models/hmo-finder", as_="sam"))["organisation_id"] == 1
    assert ok(api.get("/api/v1/models/hmo-finder", as_="eli"))["organisation_id"] == east


def test_a_person_of_two_organisations_names_which_ones_model(app: Flask, api: Api) -> None:
    east = add_eastbrook(app, api)
    ok(api.post("/api/v1/models", as_="sam", json=b.model("hmo-finder")), 201)
    ok(api.post("/api/v1/models", as_="eli", json=b.model("hmo-finder")), 201)
    # dual is Eastbrook's officer and Northmere's auditor: it reads both models
    status, body = api.get("/api/v1/models/hmo-finder", as_="dual")
    assert status == 422, body
    assert body["error"]["details"] == {
        "organisation": ["needed: one of eastbrook, northmere-borough-council"]}
    for slug, org in (("eastbrook", east), ("northmere-borough-council", 1)):
        found = ok(api.get(f"/api/v1/models/hmo-finder?organisation={slug}", as_="dual"))
        assert found["organisation_id"] == org
        gate = ok(api.get(f"/api/v1/models/hmo-finder/gate?organisation={slug}", as_="dual"))
        assert gate["requirements"]
    people.create_organisation(of_app(app, OPERATOR), {"slug": "westcombe", "name": "Westcombe"})
    for slug in ("westcombe", "nowhere"):  # held no role there / no such organisation
        status, body = api.get(f"/api/v1/models/hmo-finder?organisation={slug}", as_="dual")
        assert status == 422 and "organisation" in body["error"]["details"], body
    # one organisation's person never needs to say
    assert ok(api.get("/api/v1/models/hmo-finder", as_="erin"))["organisation_id"] == east


def test_a_body_names_the_organisation_by_slug(app: Flask, api: Api) -> None:
    east = _both_register(app, api)
    status, body = api.post("/api/v1/models", as_="eli", json=b.model("two-homes"))
    assert status == 422 and "organisation" in body["error"]["details"], body
    made = ok(api.post("/api/v1/models", as_="eli", json=b.model(
        "two-homes", organisation="northmere-borough-council")), 201)
    assert made["organisation_id"] == 1
    made = ok(api.post("/api/v1/datasets", as_="eli", json=b.dataset(
        "east-data", organisation="eastbrook")), 201)
    assert made["organisation_id"] == east
    people.create_organisation(of_app(app, OPERATOR), {"slug": "westcombe", "name": "Westcombe"})
    for slug in ("westcombe", "nowhere"):
        status, body = api.post("/api/v1/models", as_="eli", json=b.model(
            "elsewhere", organisation=slug))
        assert status == 422, body
        assert "not one of your organisations" in body["error"]["details"]["organisation"][0]
    # an auditor there registers nothing there
    status, body = api.post("/api/v1/models", as_="dual", json=b.model(
        "audited", organisation="northmere-borough-council"))
    assert status == 422 and "organisation" in body["error"]["details"], body
    status, body = api.post("/api/v1/models", as_="eli", json=b.model(
        "clash", organisation="northmere-borough-council", organisation_id=east))
    assert status == 422 and "organisation" in body["error"]["details"], body
    status, body = api.patch(f"/api/v1/datasets/{made['id']}", as_="eli",
                             json={"organisation": "northmere-borough-council"})
    assert status == 422 and body["error"]["details"] == {"organisation": [
        "fixed once registered"]}


def test_each_councils_client_is_served_its_own_councils_model(app: Flask, api: Api) -> None:
    """The verdict cache is keyed by organisation: Eastbrook's "credit-risk" (no version yet)
    is never served Northmere's approved one, nor the other way round, at one ledger head."""
    chain = build_chain(api)
    east = add_eastbrook(app, api)
    ok(api.post("/api/v1/models", as_="eli", json=b.model(chain.model)), 201)
    token = ok(api.post("/api/v1/clients", as_="eve", json={
        "name": "east-app", "models": [chain.model], "purposes": ["credit_risk_research"]}),
        201)["token"]
    api.tokens["east-app"] = token
    body = {"purpose": "credit_risk_research", "features": case()}
    url = f"/api/v1/models/{chain.model}/score"
    for _ in range(2):  # the second time from the cache
        ok(api.post(url, as_="app", json=body))
        status, refused = api.post(url, as_="east-app", json=body)
        assert status == 409 and "it has no versions" in refused["error"]["message"], refused
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        now = services.clock.now()
        north = verdicts.verdict(session, 1, chain.model, None, services.policy, now)
        other = verdicts.verdict(session, east, chain.model, None, services.policy, now)
        assert north.ok and not other.ok and north.version_id != other.version_id


def test_a_client_of_no_organisation_is_refused_naming_why(app: Flask, api: Api) -> None:
    add_eastbrook(app, api)  # with two organisations none can be assumed
    token = insert_client(app, "legacy-app", ["credit-risk"], ["credit_risk_research"])
    with app.extensions["gatehouse"].sessions() as session:  # as made before organisations
        client = session.scalars(select(ApiClient).where(ApiClient.name == "legacy-app")).one()
        client.organisation_id = None
        session.commit()
    api.tokens["legacy"] = token
    status, body = api.post("/api/v1/models/credit-risk/score", as_="legacy", json={
        "purpose": "credit_risk_research", "features": case()})
    assert status == 403, body
    assert body["error"]["details"] == {"organisation": ["the client belongs to no organisation"]}
    assert "gatehouse clients create" in body["error"]["message"]


def test_a_job_is_its_versions_organisations(app: Flask, api: Api) -> None:
    """Queued by a person of two organisations, the audit job is the audited version's
    organisation's: only that organisation's people see it."""
    chain = build_chain(api, approve_version=False)
    _both_register(app, api)
    job = ok(api.post(f"{chain.version_url}/bias-audits", as_="eli",
                      json={"dataset_id": chain.evaluation}), 202)
    assert ok(api.get(f"/api/v1/jobs/{job['id']}", as_="sam"))["state"] == "succeeded"
    with app.extensions["gatehouse"].sessions() as session:
        assert {j.organisation_id for j in session.scalars(select(Job))} == {1}
    for who in ("erin", "ezra"):
        assert api.get(f"/api/v1/jobs/{job['id']}", as_=who)[0] == 404


def test_a_job_runs_scoped_to_its_organisation(app: Flask, api: Api) -> None:
    """A job of Eastbrook's naming Northmere's version finds nothing to work on."""
    chain = build_chain(api, approve_version=False)
    east = add_eastbrook(app, api)
    with app.extensions["gatehouse"].sessions() as session:
        job = jobs.enqueue(app, session, SYSTEM, "bias_audit", {
            "version_id": 1, "dataset_id": chain.evaluation, "label_column": "credit",
            "positive_label": "good", "threshold": 0.5, "sensitive_features": None,
            "extra_groupings": []}, east, inline=True)
        job_id = job.id
    done = jobs.wait(app, job_id, timeout=30)
    assert done.state == "failed" and "no longer exists" in (done.error or "")
