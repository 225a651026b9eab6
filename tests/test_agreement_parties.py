"""A shared agreement's two parties: each suspends its own side, in its own organisation's
decisions and ledger, and either side's suspension stops what rests on it at the next request."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from registry.governance import parties
from registry.records import DataSharingAgreement, Decision, LedgerEntry

from . import builders as b
from .chain import build_chain, case, ok
from .conftest import Api
from .test_organisations import add_eastbrook, shared_agreement

SCORE = {"purpose": "credit_risk_research", "features": case()}


def _side(api: Api, url: str, side: str, who: str, suspended: bool) -> tuple[int, Any]:
    return api.post(f"{url}/sides/{side}", as_=who, json={
        "suspended": suspended, "rationale": f"{who}: the {side}'s side is being reviewed."})


@pytest.fixture
def served(app: Flask, api: Api) -> tuple[Any, int]:
    """A servable chain whose data Eastbrook provides to Northmere under the chain's agreement."""
    chain = build_chain(api)
    east = add_eastbrook(app, api)
    with app.extensions["gatehouse"].sessions() as session:
        agreement = session.get(DataSharingAgreement, chain.agreement)
        agreement.provider, agreement.provider_organisation_id = "Eastbrook District Council", east
        agreement.signatories = [*agreement.signatories, {
            "name": "P. Rao", "role": "SIRO", "organisation": "Eastbrook District Council"}]
        session.commit()
    return chain, east


def test_either_sides_suspension_stops_the_score_at_the_next_request(
        app: Flask, api: Api, served: tuple[Any, int]) -> None:
    chain, east = served
    score = f"/api/v1/models/{chain.model}/score"
    url = f"/api/v1/agreements/{chain.agreement}"
    ok(api.post(score, as_="app", json=SCORE))  # warm: the verdict is cached

    ok(_side(api, url, "provider", "erin", True), 201)  # Eastbrook stops sending
    status, body = api.post(score, as_="app", json=SCORE)
    assert status == 409, body
    assert "suspended by its provider (Eastbrook District Council)" in body["error"]["message"]
    assert ok(api.get(url))["provider_suspended"] is True  # Northmere sees it on the record
    assert ok(api.get(url))["state"] == "approved"  # the registering council's state is its own

    # only the provider lifts the provider's side; Northmere stops its own side meanwhile
    assert _side(api, url, "provider", "olivia", False)[0] == 403
    assert _side(api, url, "provider", "eli", False)[0] == 403  # Eastbrook, but not deciding
    ok(_side(api, url, "recipient", "olivia", True), 201)
    ok(_side(api, url, "provider", "erin", False), 201)
    status, body = api.post(score, as_="app", json=SCORE)
    assert status == 409 and "its recipient (" in body["error"]["message"], body
    ok(_side(api, url, "recipient", "olivia", False), 201)
    ok(api.post(score, as_="app", json=SCORE))


def test_each_partys_decision_is_in_its_own_organisations_ledger(
        app: Flask, api: Api, served: tuple[Any, int]) -> None:
    chain, east = served
    url = f"/api/v1/agreements/{chain.agreement}"
    ok(_side(api, url, "provider", "erin", True), 201)
    ok(_side(api, url, "recipient", "olivia", True), 201)
    with app.extensions["gatehouse"].sessions() as session:
        sides = session.scalars(select(Decision).where(
            Decision.decision == "suspend_side").order_by(Decision.id)).all()
        assert [(d.scope["side"], d.organisation_id) for d in sides] == [
            ("provider", east), ("recipient", 1)]
        entries = session.scalars(select(LedgerEntry).where(
            LedgerEntry.action == "decision:suspend_side").order_by(LedgerEntry.seq)).all()
        assert [e.organisation_id for e in entries] == [east, 1]

    def seen(who: str) -> list[str]:
        listed = ok(api.get("/api/v1/ledger?per_page=200", as_=who))["items"]
        return [e["change"]["side"] for e in listed if e["action"] == "decision:suspend_side"]

    assert seen("ezra") == ["provider"]  # Eastbrook's auditor: Eastbrook's decision only
    assert seen("audrey") == ["recipient"]
    listed = ok(api.get(f"{url}/decisions", as_="olivia"))
    assert [d["scope"]["side"] for d in listed if d["decision"] == "suspend_side"] == [
        "recipient"]


def test_a_party_suspends_only_its_own_side(api: Api, app: Flask) -> None:
    east = add_eastbrook(app, api)
    shared = ok(api.post("/api/v1/agreements", json=shared_agreement(east)), 201)
    url = f"/api/v1/agreements/{shared['id']}"
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)
    # the record's lifecycle is the registering council's: Eastbrook decides only its side
    status, _ = api.post(f"{url}/decisions", as_="erin", json={
        "decision": "suspend", "rationale": "Our side has stopped receiving the data."})
    assert status == 403
    assert _side(api, url, "provider", "erin", True)[0] == 403  # Northmere is the provider
    ok(_side(api, url, "recipient", "erin", True), 201)
    status, body = _side(api, url, "recipient", "erin", True)
    assert status == 409 and "already suspended" in body["error"]["message"]
    status, body = _side(api, url, "nobody", "erin", True)
    assert status == 422 and "side" in body["error"]["details"]
    status, body = api.post(f"{url}/sides/recipient", as_="erin", json={"suspended": False,
                                                                        "rationale": " "})
    assert status == 422 and "rationale" in body["error"]["details"]


def test_an_outside_provider_has_no_side_here(api: Api) -> None:
    agreement = ok(api.post("/api/v1/agreements", json=b.agreement("DSA-OUT")), 201)
    status, body = _side(api, f"/api/v1/agreements/{agreement['id']}", "provider", "olivia",
                         True)
    assert status == 422 and "not an organisation of this deployment" in body["error"]["message"]


def test_the_refusal_names_each_side_stopped() -> None:
    agreement = DataSharingAgreement(id=7, reference="DSA-7", provider="Eastbrook",
                                     recipient="Northmere", provider_suspended=False,
                                     recipient_suspended=False)
    assert parties.refusal(agreement) is None
    agreement.provider_suspended = agreement.recipient_suspended = True
    assert parties.refusal(agreement) == ('agreement "DSA-7" is suspended by its provider '
                                          "(Eastbrook) and its recipient (Northmere)")
