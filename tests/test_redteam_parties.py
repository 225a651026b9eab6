"""Red team: a party's suspension of its side that does not stop everything downstream."""

from __future__ import annotations

from typing import Any

from flask import Flask

from registry.records import DataSharingAgreement

from . import builders as b
from .chain import ok
from .conftest import Api
from .test_organisations import add_eastbrook


def _side(api: Api, url: str, side: str, who: str, suspended: bool) -> tuple[int, Any]:
    return api.post(f"{url}/sides/{side}", as_=who, json={
        "suspended": suspended, "rationale": f"{who}: the {side}'s side is being reviewed."})


def shared_in_review(app: Flask, api: Api) -> tuple[str, int]:
    """An agreement Eastbrook provides to Northmere, submitted and not yet approved, and a
    draft dataset with data resting on it."""
    east = add_eastbrook(app, api)
    agreement = ok(api.post("/api/v1/agreements", json=b.agreement("DSA-SHARED")), 201)
    with app.extensions["gatehouse"].sessions() as session:
        record = session.get(DataSharingAgreement, agreement["id"])
        record.provider, record.provider_organisation_id = "Eastbrook District Council", east
        record.signatories = [*record.signatories, {
            "name": "P. Rao", "role": "SIRO", "organisation": "Eastbrook District Council"}]
        session.commit()
    url = f"/api/v1/agreements/{agreement['id']}"
    ok(api.post(f"{url}/submit"))
    dataset = ok(api.post("/api/v1/datasets", json=b.dataset(
        "shared-data", agreement_ids=[agreement["id"]])), 201)
    ok(b.upload_csv(api, dataset["id"], b.credit_csv(b.training_frame())))
    return url, dataset["id"]


def test_a_suspended_side_refuses_the_agreements_approval(app: Flask, api: Api) -> None:
    """Eastbrook stops sending while Northmere is still reviewing the agreement. Approving it
    then would read every requirement met on an agreement a party has stopped."""
    url, _ = shared_in_review(app, api)
    assert ok(api.get(f"{url}/gate"))["ready"] is True
    ok(_side(api, url, "provider", "erin", True), 201)
    gate = {r["id"]: r for r in ok(api.get(f"{url}/gate"))["requirements"]}
    assert gate["parties"]["met"] is False, gate.get("parties")
    assert "suspended by its provider (Eastbrook District Council)" in gate["parties"]["detail"]
    status, body = api.post(f"{url}/decisions", as_="olivia",
                            json={"decision": "approve", "rationale": "Checked"})
    assert status == 409, body
    assert "parties" in {r["id"] for r in body["error"]["details"]["unmet"]}
    ok(_side(api, url, "provider", "erin", False), 201)
    b.approve(api, url)


def test_a_suspended_side_stops_downloads_of_data_still_in_preparation(app: Flask,
                                                                       api: Api) -> None:
    url, dataset_id = shared_in_review(app, api)
    data = f"/api/v1/datasets/{dataset_id}/data"
    response = api.client.get(data, headers={"Authorization": f"Bearer {api.tokens['sam']}"})
    assert response.status_code == 200
    ok(_side(api, url, "provider", "erin", True), 201)
    status, body = api.get(data, as_="sam")
    assert status == 409, body
    assert "suspended by its provider" in body["error"]["message"], body
