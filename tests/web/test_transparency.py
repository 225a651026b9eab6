"""The public register: open without signing in, only what is meant to be public, and exports
shaped on the UK Algorithmic Transparency Recording Standard."""

from __future__ import annotations

import csv
import io
import json
import re

from flask import Flask
from sqlalchemy import select

from registry.records import ScoreReceipt
from registry.web.transparency import CSV_FIELDS

from .conftest import World

SECRETS = (
    "@northmere.gov.uk",          # staff emails
    "Olivia", "Sam", "Dee",       # staff names (the users' display names)
    "Evidence complete; pilot terms agreed.",  # a decision's rationale
    "Checked against the policy",               # another rationale
    "Proceed: audit the age and sex groups",    # the DPO's advice
    "Agreed; quarterly audits are scheduled.",  # the officer's answer to the DPO
    "R. Khan", "J. Ellis",        # signatories and sign-off names
    "inputs_hash", "receipt",
)


def public(app: Flask, name: str = "live-model") -> dict[str, str]:
    client = app.test_client()  # never signed in
    pages = {url: client.get(url) for url in
             ("/transparency", f"/transparency/{name}", "/transparency.json",
              "/transparency.csv")}
    for url, response in pages.items():
        assert response.status_code == 200, url
    return {url: r.get_data(as_text=True) for url, r in pages.items()}


def records(app: Flask) -> dict[str, dict]:
    """The exported records by model name (one council in this world; ids are SLUG/NAME)."""
    found = app.test_client().get("/transparency.json").get_json()["records"]
    assert all(r["id"].startswith(r["metadata"]["organisation_slug"] + "/") for r in found)
    return {r["id"].split("/", 1)[1]: r for r in found}


def test_the_register_is_public_and_shows_a_model_in_pilot(world: World) -> None:
    pages = public(world.app)
    assert "Hardship loan repayment score" in pages["/transparency"]
    entry = pages["/transparency/live-model"]
    for heading in ("Summary", "Who is responsible", "What it does and why",
                    "How decisions are made", "The data it uses",
                    "Risks, safeguards and assessments"):
        assert heading in entry
    assert "In pilot" in entry
    assert "Head of Revenues" in entry  # the owner's role, never a person's name
    assert "DPIA-live-model" in entry and "Public task" in entry
    assert "Sign out" not in entry and "Dashboard" not in entry


def test_nothing_private_leaves_through_the_register(world: World) -> None:
    bodies = {url: body for name in ("live-model", "prod-model", "old-model", "paused-model",
                                     "credit-risk")
              for url, body in public(world.app, name).items()}
    with world.app.extensions["gatehouse"].sessions() as session:
        receipt_ids = session.scalars(select(ScoreReceipt.id)).all()
    assert receipt_ids
    for url, body in bodies.items():
        # a page's CSP nonce is random text: "Sam" turned up in one once
        body = re.sub(r'nonce="[^"]*"', 'nonce=""', body)
        for secret in (*SECRETS, *receipt_ids):
            assert secret not in body, (url, secret)
    # live-model's dataset flags `telephone` as an identifier: it is never named
    assert "elephone" not in json.dumps(records(world.app)["live-model"])
    assert "elephone" not in public(world.app)["/transparency/live-model"]


def test_drafts_rejections_and_changes_requested_never_appear(world: World) -> None:
    client = world.app.test_client()
    listing = client.get("/transparency").get_data(as_text=True)
    exported = set(records(world.app))
    for name in ("sick-leave", "refused-model", "sent-back"):
        assert name not in listing and name not in exported
        assert client.get(f"/transparency/{name}").status_code == 404


def test_status_follows_the_versions(world: World) -> None:
    found = records(world.app)
    assert {k: r["metadata"]["status"] for k, r in found.items()} == {
        "credit-risk": "planned", "live-model": "in_pilot", "prod-model": "in_use",
        "old-model": "retired", "paused-model": "in_pilot"}
    assert found["live-model"]["metadata"]["phase"] == "Beta/pilot"
    assert found["prod-model"]["metadata"]["phase"] == "Production"
    client = world.app.test_client()
    retired = client.get("/transparency?status=retired").get_data(as_text=True)
    assert "/transparency/old-model" in retired and "/transparency/prod-model" not in retired


def test_a_suspended_version_shows_as_paused(world: World) -> None:
    pages = public(world.app, "paused-model")
    assert "Use is paused while it is checked" in pages["/transparency"]
    assert "Use of this tool is paused" in pages["/transparency/paused-model"]
    assert "Drift found: a private reason" not in "".join(pages.values())
    paused = records(world.app)["paused-model"]["metadata"]
    assert paused["paused"] is True and paused["status"] == "in_pilot"
    assert records(world.app)["live-model"]["metadata"]["paused"] is False


def test_the_json_export_is_shaped_on_the_standard(world: World) -> None:
    body = world.app.test_client().get("/transparency.json")
    assert body.mimetype == "application/json"
    data = body.get_json()
    assert data["standard"].startswith("Algorithmic Transparency Recording Standard")
    assert data["count"] == len(data["records"]) == 5
    record = records(world.app)["live-model"]
    assert set(record) == {"id", "metadata", "tier_1", "tier_2"}
    assert set(record["tier_1"]) == {"name", "description", "how_it_is_used", "why_it_is_used",
                                     "website", "contact", "organisation", "phase"}
    # names are each organisation's own: the page names the organisation too
    assert record["tier_1"]["website"].endswith("/transparency/live-model?organisation="
                                                + "northmere-borough-council")
    assert set(record["tier_2"]) == {
        "owner_and_responsibility", "description_and_rationale", "decision_making_process",
        "data", "risks_mitigations_and_impact_assessments", "approval"}
    data_section = record["tier_2"]["data"]
    assert data_section["sources"][0]["rows"] == 1000
    assert data_section["collection_and_sharing"][0]["legal_basis"] == "Public task"
    assert "sex" in data_section["protected_characteristics"]
    assert "telephone" not in data_section["features_used"]
    risks = record["tier_2"]["risks_mitigations_and_impact_assessments"]
    # passed on every group assessed; the one group too small to assess was waived, by name
    assert risks["bias_audit"]["verdict"] == "insufficient_data"
    assert risks["bias_audit"]["groups_not_assessed_waived"] == ["foreign_worker × sex=no × female"]
    assert risks["drift_monitoring"]["monitored"] is True
    assert risks["impact_assessments"][0]["reference"] == "DPIA-live-model"
    assert record["tier_2"]["decision_making_process"]["decision_role"] == "advisory"
    version = record["tier_2"]["description_and_rationale"]["versions"][0]
    assert version["status"] == "in pilot" and version["pilot_case_cap"] == 500
    assert records(world.app)["credit-risk"]["tier_2"]["approval"] is None  # planned


def test_the_csv_export_has_the_standard_header_and_a_row_per_model(world: World) -> None:
    response = world.app.test_client().get("/transparency.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert tuple(rows[0]) == CSV_FIELDS
    assert len(rows) == 6
    row = next(dict(zip(rows[0], r, strict=True)) for r in rows[1:] if r[0].endswith("/live-model"))
    assert row["status"] == "in_pilot" and row["paused"] == "no"
    assert row["decision_role"] == "advisory" and row["bias_audit"].endswith(
        "; groups not assessed, waived by an officer: foreign_worker × sex=no × female")
    assert row["legal_bases"] == "Public task"


def test_a_tools_page_is_found_within_its_organisation(world: World) -> None:
    """Names are each organisation's own: the page may name the organisation, and another
    organisation (or none such) has no tool of that name."""
    client = world.app.test_client()
    page = client.get("/transparency/live-model?organisation=northmere-borough-council")
    assert page.status_code == 200
    assert client.get("/transparency/live-model?organisation=nowhere").status_code == 404
