"""Organisations: each sees and decides only its own records; another's answer 404."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from registry.governance.actors import OPERATOR
from registry.usecases import people
from registry.usecases.unit import of_app

from . import builders as b
from .chain import ok
from .conftest import Api

# Eastbrook's people; "dual" is Eastbrook's officer and Northmere's auditor.
EASTBROOK = {"erin": ["governance_officer"], "eli": ["data_scientist"], "ezra": ["auditor"],
             "eve": ["admin"], "dual": ["governance_officer"]}


def add_eastbrook(app: Flask, api: Api) -> int:
    """A second council with its people; their tokens join `api`'s. Its id."""
    org = people.create_organisation(of_app(app, OPERATOR),
                                     {"slug": "eastbrook", "name": "Eastbrook District Council"})
    for name, roles in EASTBROOK.items():
        user, api.tokens[name] = people.create_user(of_app(app, OPERATOR), {
            "email": f"{name}@eastbrook.gov.uk", "roles": roles, "organisation_id": org.id},
            password=f"{name}-correct-horse")
        if name == "dual":
            unit = of_app(app, OPERATOR)
            people.add_membership(unit, people.find_user(unit, user.id), 1, ["auditor"])
    return org.id


def signed_by(api: Api, officer: str) -> dict[str, int]:
    """A DPIA's sign-offs by that officer (of the DPIA's own organisation)."""
    me = ok(api.get("/api/v1/me", as_=officer))["id"]
    return {"measures_approved_by_id": me, "residual_risk_approved_by_id": me}


@pytest.fixture
def east(app: Flask, api: Api) -> int:
    return add_eastbrook(app, api)


def northmere_records(api: Api) -> dict[str, Any]:
    agreement = ok(api.post("/api/v1/agreements", json=b.agreement("DSA-N")), 201)
    dataset = ok(api.post("/api/v1/datasets", json=b.dataset(
        "north-data", agreement_ids=[agreement["id"]])), 201)
    ok(api.post("/api/v1/models", json=b.model("north-model")), 201)
    dpia = ok(api.post("/api/v1/dpias", json=b.dpia("DPIA-N", dataset_ids=[dataset["id"]],
                                                     model_names=["north-model"])), 201)
    return {"agreements": agreement["id"], "datasets": dataset["id"], "dpias": dpia["id"],
            "models": "north-model"}


def shared_agreement(east: int) -> dict[str, Any]:
    """Northmere's data shared with Eastbrook, signed by both."""
    return b.agreement(
        "DSA-SHARED", provider="Northmere Borough Council",
        recipient="Eastbrook District Council", provider_organisation_id=1,
        recipient_organisation_id=east, signatories=[
            {"name": "J. Ellis", "role": "SIRO", "organisation": "Northmere Borough Council"},
            {"name": "P. Rao", "role": "SIRO", "organisation": "Eastbrook District Council"}])


def test_another_organisations_records_answer_404_and_its_lists_are_empty(
        api: Api, east: int) -> None:
    records = northmere_records(api)
    for plural, key in records.items():
        url = f"/api/v1/{plural}/{key}"
        for suffix in ("", "/gate", "/decisions"):
            assert api.get(url + suffix, as_="olivia")[0] == 200  # the probe is valid
            for name in EASTBROOK:
                if name == "dual":
                    continue
                status, body = api.get(url + suffix, as_=name)
                assert status == 404, (url + suffix, name, status)
                assert "Credit" not in str(body)  # nothing of the record's own
        assert api.patch(url, as_="eli", json={"title": "mine"})[0] in (403, 404)
        assert api.post(f"{url}/submit", as_="eli")[0] in (403, 404)
        listed = ok(api.get(f"/api/v1/{plural}", as_="erin"))
        assert listed["total"] == 0 and listed["items"] == []
        assert ok(api.get(f"/api/v1/{plural}", as_="olivia"))["total"] == 1


def test_a_record_outside_answers_404_not_403(api: Api, east: int) -> None:
    records = northmere_records(api)
    assert api.get(f"/api/v1/agreements/{records['agreements']}", as_="erin")[0] == 404
    assert api.get("/api/v1/models/north-model", as_="eli")[0] == 404
    assert api.get("/api/v1/models/north-model", as_="sam")[0] == 200


def test_roles_count_in_the_records_organisation(api: Api, east: int) -> None:
    """Dual is an officer in Eastbrook but only an auditor in Northmere: it reads Northmere's
    agreement and may not approve it."""
    records = northmere_records(api)
    url = f"/api/v1/agreements/{records['agreements']}"
    ok(api.post(f"{url}/submit"))
    assert api.get(url, as_="dual")[0] == 200
    status, _ = api.post(f"{url}/decisions", as_="dual", json={
        "decision": "approve", "rationale": "Looks fine to me."})
    assert status == 403
    ok(api.post(f"{url}/decisions", as_="olivia", json={
        "decision": "approve", "rationale": "Checked the gateway and signatories."}), 201)


def test_the_ledger_is_scoped_to_the_readers_organisations(api: Api, east: int) -> None:
    northmere_records(api)
    seen = ok(api.get("/api/v1/ledger?per_page=200", as_="ezra"))
    assert seen["total"] > 0  # Eastbrook's own entries: its people's creation
    assert all("north" not in str(e["change"]).lower() for e in seen["items"])
    assert any("north-model" in str(e["change"]) for e in ok(
        api.get("/api/v1/ledger?per_page=200", as_="audrey"))["items"])


def test_records_rest_only_on_their_own_organisations_records(api: Api, east: int) -> None:
    records = northmere_records(api)
    status, body = api.post("/api/v1/datasets", as_="eli", json=b.dataset(
        "east-data", agreement_ids=[records["agreements"]]))
    assert status == 422 and "no agreement with id" in str(body)
    status, body = api.post("/api/v1/dpias", as_="eli", json=b.dpia(
        "DPIA-E", dataset_ids=[records["datasets"]], model_names=["north-model"]))
    assert status == 422 and "no dataset with id" in str(body) and "no model named" in str(body)


def test_an_agreement_is_seen_by_both_parties_and_only_the_recipient_rests_on_it(
        api: Api, east: int) -> None:
    shared = ok(api.post("/api/v1/agreements", json=b.agreement(
        "DSA-SHARED", recipient="Eastbrook District Council", provider="Northmere",
        provider_organisation_id=1, recipient_organisation_id=east)), 201)
    url = f"/api/v1/agreements/{shared['id']}"
    assert ok(api.get(url, as_="erin"))["recipient_organisation_id"] == east
    assert ok(api.get(url, as_="olivia"))["provider_organisation_id"] == 1
    ok(api.post("/api/v1/datasets", as_="eli", json=b.dataset(
        "east-data", agreement_ids=[shared["id"]])), 201)
    status, body = api.post("/api/v1/datasets", json=b.dataset(
        "north-data", agreement_ids=[shared["id"]]))
    assert status == 422 and "recipient is another organisation" in str(body)


def test_clients_and_users_belong_to_one_organisation(app: Flask, api: Api, east: int) -> None:
    northmere_records(api)
    status, body = api.post("/api/v1/clients", as_="eve", json={
        "name": "east-app", "models": ["north-model"], "purposes": ["credit_risk_research"]})
    assert status == 422 and "no model named 'north-model'" in str(body)
    emails = {u["email"] for u in ok(api.get("/api/v1/users", as_="eve"))}
    assert emails == {f"{n}@eastbrook.gov.uk" for n in EASTBROOK}
    assert api.post("/api/v1/users/1/unlock", as_="eve")[0] == 404  # Northmere's sam
    unit = of_app(app, OPERATOR)  # eve reads Northmere's people too, as its auditor
    eve = people.find_user(unit, ok(api.get("/api/v1/me", as_="eve"))["id"])
    people.add_membership(unit, eve, 1, ["auditor"])
    assert api.post("/api/v1/users/1/unlock", as_="eve")[0] == 404  # but administers only ours
    status, _ = api.post("/api/v1/users", as_="eve", json={
        "email": "x@eastbrook.gov.uk", "roles": ["auditor"], "organisation_id": 1})
    assert status == 422  # not an administrator of Northmere
    assert api.post("/api/v1/organisations", as_="eve", json={"name": "Westcombe"})[0] == 403


def test_the_register_lists_every_organisation_and_filters_by_one(app: Flask, api: Api,
                                                                 east: int) -> None:
    client = app.test_client()
    assert client.get("/transparency?organisation=eastbrook").status_code == 200
    assert client.get("/transparency?organisation=nowhere").status_code == 404
    body = client.get("/transparency").get_data(as_text=True)
    assert "Eastbrook District Council" in body and "Every organisation" in body
    assert client.get("/transparency.json?organisation=eastbrook").get_json()["count"] == 0
