"""Round trips through the API for every record kind, and bad input that stores nothing."""

from __future__ import annotations

import io

from . import builders as b
from .conftest import Api, table_counts


def test_agreement_round_trip(api: Api) -> None:
    status, body = api.post("/api/v1/agreements", json=b.agreement())
    assert status == 201, body
    assert body["state"] == "draft" and body["reference"] == "DSA-12"
    agreement_id = body["id"]
    status, got = api.get(f"/api/v1/agreements/{agreement_id}")
    assert status == 200 and got["signatories"][0]["name"] == "R. Khan"
    status, got = api.patch(f"/api/v1/agreements/{agreement_id}", json={"title": "Renamed"})
    assert (
        status == 200 and got["title"] == "Renamed" and got["purposes"] == ["credit_risk_research"]
    )
    status, got = api.post(f"/api/v1/agreements/{agreement_id}/submit")
    assert status == 200 and got["state"] == "submitted"
    status, err = api.patch(f"/api/v1/agreements/{agreement_id}", json={"title": "Again"})
    assert status == 409 and err["error"]["details"]["state"] == "submitted"
    status, page = api.get("/api/v1/agreements?state=submitted")
    assert status == 200 and page["total"] == 1 and page["items"][0]["id"] == agreement_id
    status, page = api.get("/api/v1/agreements?state=draft")
    assert page["total"] == 0


def test_dataset_round_trip_with_upload(api: Api) -> None:
    _, agreement = api.post("/api/v1/agreements", json=b.agreement())
    status, ds = api.post("/api/v1/datasets", json=b.dataset(agreement_ids=[agreement["id"]]))
    assert status == 201, ds
    assert ds["agreement_ids"] == [agreement["id"]]
    assert {c["name"] for c in ds["columns"] if c["protected"]} == b.PROTECTED
    status, ds = b.upload_csv(api, ds["id"], b.credit_csv())
    assert status == 200, ds
    assert ds["row_count"] == 1000 and len(ds["content_hash"]) == 64
    assert ds["completeness"]["age"] == 1.0
    status, page = api.get("/api/v1/datasets?owner=" + str(ds["owner_id"]))
    assert page["total"] == 1


def test_parquet_upload_is_accepted(api: Api) -> None:
    _, ds = api.post("/api/v1/datasets", json=b.dataset())
    buffer = io.BytesIO()
    b.credit_frame().to_parquet(buffer)
    status, body = b.upload_csv(api, ds["id"], buffer.getvalue(), filename="credit.parquet")
    assert status == 200, body
    assert body["data_format"] == "parquet" and body["row_count"] == 1000


def test_dpia_and_model_round_trip(api: Api) -> None:
    status, m = api.post("/api/v1/models", json=b.model())
    assert status == 201, m
    assert m["risk_tier"] == 1 and m["versions"] == []
    status, p = api.post("/api/v1/dpias", json=b.dpia(model_names=["credit-risk"]))
    assert status == 201, p
    assert p["risks"][0]["level"] == "high" and p["risks"][0]["residual_level"] == "low"
    assert p["model_names"] == ["credit-risk"]
    status, p = api.patch(f"/api/v1/dpias/{p['id']}", json={"risks": []})
    assert status == 200 and p["risks"] == []
    status, listing = api.get("/api/v1/models")
    assert listing["items"][0]["name"] == "credit-risk"


def test_missing_and_wrong_typed_fields_name_each_field(app, api: Api) -> None:
    before = table_counts(app)
    bad = b.agreement()
    del bad["reference"]
    bad["special_category"] = "perhaps"
    bad["start_date"] = "not a date"
    status, err = api.post("/api/v1/agreements", json=bad)
    assert status == 422
    assert {"reference", "special_category", "start_date"} <= set(err["error"]["details"])
    status, err = api.post(
        "/api/v1/models", json=b.model(purpose_class="guesswork", decision_role="oracle")
    )
    assert status == 422
    assert {"purpose_class", "decision_role"} <= set(err["error"]["details"])
    status, err = api.post(
        "/api/v1/datasets", json=b.dataset(classification="secret", unknown_field=1)
    )
    assert status == 422 and {"classification", "unknown_field"} <= set(err["error"]["details"])
    status, err = api.post("/api/v1/datasets", json=b.dataset(agreement_ids=[999]))
    assert status == 422 and "agreement_ids" in err["error"]["details"]
    status, err = api.post("/api/v1/agreements", data="{not json", content_type="application/json")
    assert status in (400, 422) and "error" in err
    assert table_counts(app) == before


def test_csv_that_contradicts_the_schema_is_refused_and_stores_nothing(app, api: Api) -> None:
    _, ds = api.post("/api/v1/datasets", json=b.dataset())
    before = table_counts(app)
    frame = b.credit_frame().copy().drop(columns=["telephone"])
    frame["shoe_size"] = 9
    status, err = b.upload_csv(api, ds["id"], b.credit_csv(frame))
    assert status == 422
    assert {"telephone", "shoe_size"} <= set(err["error"]["details"])
    frame = b.credit_frame().copy().astype(object)
    frame.loc[3, "age"] = "old"
    frame.loc[5, "sex"] = "unknown"
    status, err = b.upload_csv(api, ds["id"], b.credit_csv(frame))
    assert status == 422
    assert "row 4" in err["error"]["details"]["age"][0]
    assert "sex" in err["error"]["details"]
    status, err = b.upload_csv(api, ds["id"], b"\x00\xff\xfe garbage \x00")
    assert status == 422 and "file" in err["error"]["details"]
    status, err = b.upload_csv(api, ds["id"], b'a,b\n1,"unterminated\n')
    assert status == 422
    assert table_counts(app) == before
    _, got = api.get(f"/api/v1/datasets/{ds['id']}")
    assert got["row_count"] is None


def test_oversize_upload_is_413(app, api: Api) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    _, ds = api.post("/api/v1/datasets", json=b.dataset())
    before = table_counts(app)
    status, err = b.upload_csv(api, ds["id"], b.credit_csv())
    assert status == 413 and err["error"]["code"] == "too_large"
    assert table_counts(app) == before


def test_authentication_and_roles(api: Api) -> None:
    status, err = api.get("/api/v1/agreements", as_=None)
    assert status == 401 and err["error"]["code"] == "unauthenticated"
    status, _ = api.call(
        "GET", "/api/v1/agreements", None, headers={"Authorization": "Bearer not-a-token"}
    )
    assert status == 401
    status, err = api.post("/api/v1/agreements", as_="audrey", json=b.agreement())
    assert status == 403 and "register" in err["error"]["message"]
    status, _ = api.get("/api/v1/ledger", as_="sam")
    assert status == 403
    status, _ = api.get("/api/v1/ledger", as_="audrey")
    assert status == 200
    status, created = api.post(
        "/api/v1/users", as_="ada", json={"email": "new@northmere.gov.uk", "roles": ["auditor"]}
    )
    assert status == 201 and created["token"].startswith("ghu_")
    status, _ = api.post(
        "/api/v1/users", as_="olivia", json={"email": "x@northmere.gov.uk", "roles": ["admin"]}
    )
    assert status == 403


def test_only_the_owner_may_edit_a_draft(api: Api) -> None:
    _, body = api.post("/api/v1/agreements", json=b.agreement())
    status, err = api.patch(f"/api/v1/agreements/{body['id']}", as_="priya", json={"title": "X"})
    assert status == 403


def test_duplicate_reference_is_a_conflict(app, api: Api) -> None:
    api.post("/api/v1/agreements", json=b.agreement())
    before = table_counts(app)
    status, err = api.post("/api/v1/agreements", json=b.agreement())
    assert status == 409 and "reference" in err["error"]["details"]
    assert table_counts(app) == before


def test_openapi_document_covers_every_route(app, api: Api) -> None:
    status, spec = api.get("/api/openapi.json", as_=None)
    assert status == 200
    paths = spec["paths"]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            openapi_path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            assert openapi_path in paths, openapi_path
    assert "422" in str(paths["/api/v1/agreements"]["post"]["responses"])
