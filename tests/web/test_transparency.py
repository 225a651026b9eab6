"""The public register: open without signing in, only what is meant to be public, and exports
shaped on the UK Algorithmic Transparency Recording Standard."""

from __future__ import annotations

import csv
import io
import json

from flask import Flask
from sqlalchemy import select

from registry.governance import lifecycle, registration
from registry.records import ModelVersion, ScoreReceipt
from registry.web.transparency import CSV_FIELDS

from ..conftest import Api
from . import seed

SECRETS = (
    "@northmere.gov.uk",          # staff emails
    "Olivia", "Sam", "Dee",       # staff names (the users' display names)
    "Evidence complete; pilot terms agreed.",  # a decision's rationale
    "Checked against the policy",               # another rationale
    "Proceed: audit the age and sex groups",    # the DPO's advice
    "Agreed; quarterly audits are scheduled.",  # the officer's answer to the DPO
    "R. Khan", "J. Ellis",        # signatories and sign-off names
    "telephone",                  # a column flagged as an identifier
    "inputs_hash", "receipt",
)


def public(app: Flask) -> dict[str, str]:
    client = app.test_client()  # never signed in
    pages = {url: client.get(url) for url in
             ("/transparency", "/transparency/credit-risk", "/transparency.json",
              "/transparency.csv")}
    for url, response in pages.items():
        assert response.status_code == 200, url
    return {url: r.get_data(as_text=True) for url, r in pages.items()}


def test_the_register_is_public_and_shows_a_model_in_pilot(app: Flask, live_chain: seed.Chain) -> None:
    pages = public(app)
    assert "Credit risk research score" in pages["/transparency"]
    assert "In pilot" in pages["/transparency"]
    entry = pages["/transparency/credit-risk"]
    for heading in ("Summary", "Who is responsible", "What it does and why",
                    "How decisions are made", "The data it uses",
                    "Risks, safeguards and assessments"):
        assert heading in entry
    assert "Head of Revenues" in entry  # the owner's role, never a person's name
    assert "DPIA-credit-risk" in entry and "Public task" in entry
    assert "Sign out" not in entry and "Dashboard" not in entry


def test_nothing_private_leaves_through_the_register(app: Flask, api: Api) -> None:
    seed.build(app, approve_version=True, receipts=5, drift_checks=2, hidden=("telephone",))
    pages = public(app)
    with app.extensions["gatehouse"].sessions() as session:
        receipt_ids = session.scalars(select(ScoreReceipt.id)).all()
    assert receipt_ids
    for url, body in pages.items():
        for secret in (*SECRETS, *receipt_ids):
            assert secret not in body, (url, secret)


def test_drafts_rejections_and_changes_requested_never_appear(app: Flask, api: Api) -> None:
    seed.draft_model(app, "sick-leave", title="Sick leave forecast")
    services = app.extensions["gatehouse"]
    outcomes = (("refused-model", "reject"), ("sent-back", "request_changes"))
    for name, _ in outcomes:
        seed.draft_model(app, name, title=name.replace("-", " ").title())
    with services.sessions() as session:
        sam, olivia = seed.person(session, "sam"), seed.person(session, "olivia")
        for name, decision in outcomes:
            m = registration.get(session, "model", name)
            registration.submit(session, sam, m, services.clock.now())
            lifecycle.decide(session, olivia, m, services.policy, services.clock.now(),
                             decision, "Not this one")
        session.commit()
    client = app.test_client()
    listing = client.get("/transparency").get_data(as_text=True)
    exported = client.get("/transparency.json").get_json()
    assert exported["count"] == 0 and exported["records"] == []
    for name in ("sick-leave", "refused-model", "sent-back"):
        assert name not in listing
        assert client.get(f"/transparency/{name}").status_code == 404


def test_status_follows_the_versions(app: Flask, api: Api) -> None:
    services = app.extensions["gatehouse"]
    seed.build(app, "planned-model")                              # version submitted, not approved
    seed.build(app, "pilot-model", approve_version=True)          # approved pilot
    seed.build(app, "live-model", approve_version=True, stage="production")
    seed.build(app, "old-model", approve_version=True, stage="production")
    with services.sessions() as session:
        v = registration.get(session, "model_version", ("old-model", 1))
        lifecycle.decide(session, seed.person(session, "olivia"), v, services.policy,
                         services.clock.now(), "retire", "Replaced by a new service")
        session.commit()
    records = {r["id"]: r for r in app.test_client().get("/transparency.json").get_json()["records"]}
    assert {k: r["metadata"]["status"] for k, r in records.items()} == {
        "planned-model": "planned", "pilot-model": "in_pilot", "live-model": "in_use",
        "old-model": "retired"}
    assert records["pilot-model"]["metadata"]["phase"] == "Beta/pilot"
    assert records["live-model"]["metadata"]["phase"] == "Production"
    filtered = app.test_client().get("/transparency?status=retired").get_data(as_text=True)
    assert "Old-Model" not in filtered and "/transparency/old-model" in filtered
    assert "/transparency/live-model" not in filtered


def test_a_suspended_version_shows_as_paused(app: Flask, api: Api) -> None:
    services = app.extensions["gatehouse"]
    seed.build(app, approve_version=True)
    with services.sessions() as session:
        v = session.scalars(select(ModelVersion)).one()
        lifecycle.decide(session, seed.person(session, "olivia"), v, services.policy,
                         services.clock.now(), "suspend", "Drift found: a private reason")
        session.commit()
    pages = public(app)
    assert "Use is paused while it is checked" in pages["/transparency"]
    assert "Drift found: a private reason" not in "".join(pages.values())
    record = json.loads(pages["/transparency.json"])["records"][0]
    assert record["metadata"]["paused"] is True and record["metadata"]["status"] == "in_pilot"


def test_the_json_export_is_shaped_on_the_standard(app: Flask, live_chain: seed.Chain) -> None:
    body = app.test_client().get("/transparency.json")
    assert body.mimetype == "application/json"
    data = body.get_json()
    assert data["standard"].startswith("Algorithmic Transparency Recording Standard")
    assert data["count"] == 1
    record = data["records"][0]
    assert set(record) == {"id", "metadata", "tier_1", "tier_2"}
    assert set(record["tier_1"]) == {"name", "description", "how_it_is_used", "why_it_is_used",
                                     "website", "contact", "organisation", "phase"}
    assert record["tier_1"]["website"].endswith("/transparency/credit-risk")
    assert set(record["tier_2"]) == {
        "owner_and_responsibility", "description_and_rationale", "decision_making_process",
        "data", "risks_mitigations_and_impact_assessments", "approval"}
    data_section = record["tier_2"]["data"]
    assert data_section["sources"][0]["rows"] == 1000
    assert data_section["collection_and_sharing"][0]["legal_basis"] == "Public task"
    assert "sex" in data_section["protected_characteristics"]
    risks = record["tier_2"]["risks_mitigations_and_impact_assessments"]
    assert risks["bias_audit"]["verdict"] == "pass"
    assert risks["drift_monitoring"]["monitored"] is True
    assert risks["impact_assessments"][0]["reference"] == "DPIA-credit-risk"
    assert record["tier_2"]["decision_making_process"]["decision_role"] == "advisory"
    version = record["tier_2"]["description_and_rationale"]["versions"][0]
    assert version["status"] == "in pilot" and version["pilot_case_cap"] == 500


def test_the_csv_export_has_the_standard_header_and_a_row_per_model(
        app: Flask, live_chain: seed.Chain) -> None:
    response = app.test_client().get("/transparency.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == CSV_FIELDS
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["id"] == "credit-risk" and row["status"] == "in_pilot"
    assert row["decision_role"] == "advisory" and row["bias_audit"].startswith("pass on ")
    assert row["legal_bases"] == "Public task"
