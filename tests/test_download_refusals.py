"""A dataset's data leaves the register only while it may be relied on: once the dataset, or an
agreement it rests on, lapses, expires or is suspended, a download is refused (409) with the
reason in the officer's words, and the refusal is on the ledger for auditors, as a download is."""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import builders as b
from .chain import ok
from .conftest import Api


def _prepared(api: Api, approve_dataset: bool = True) -> tuple[int, int]:
    """An approved agreement and a dataset resting on it with data uploaded (approved too)."""
    agreement = ok(api.post("/api/v1/agreements", json=b.agreement("DSA-DL")), 201)["id"]
    ok(api.post(f"/api/v1/agreements/{agreement}/submit"))
    b.approve(api, f"/api/v1/agreements/{agreement}")
    dataset = ok(api.post("/api/v1/datasets", json=b.dataset(
        "dl-data", agreement_ids=[agreement], classification="anonymised")),
        201)["id"]
    ok(b.upload_csv(api, dataset, b.credit_csv(b.training_frame())))
    if approve_dataset:
        ok(api.post(f"/api/v1/datasets/{dataset}/submit"))
        b.approve(api, f"/api/v1/datasets/{dataset}")
    return agreement, dataset


def _download(api: Api, dataset: int, who: str = "sam") -> Any:
    return api.client.get(f"/api/v1/datasets/{dataset}/data",
                          headers={"Authorization": f"Bearer {api.tokens[who]}"})


def _ledger(api: Api, action: str) -> list[dict[str, Any]]:
    return ok(api.get(f"/api/v1/ledger?action={action}", as_="audrey"))["items"]


def _suspend(api: Api, url: str) -> None:
    ok(api.post(f"{url}/decisions", as_="olivia", json={
        "decision": "suspend", "rationale": "The provider has stopped the flow pending review."}),
       201)


def test_a_suspended_agreement_stops_the_download_with_its_reason(api: Api) -> None:
    agreement, dataset = _prepared(api)
    assert _download(api, dataset).status_code == 200
    _suspend(api, f"/api/v1/agreements/{agreement}")

    for who in ("sam", "olivia"):  # those who may download, the officer too
        response = _download(api, dataset, who)
        assert response.status_code == 409, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == "conflict"
        assert error["message"].startswith('the data of dataset "dl-data" may not be downloaded: ')
        assert 'agreement "DSA-DL" is suspended' in error["message"]
        assert error["details"]["data"] == [error["message"].split("downloaded: ", 1)[1]]
        assert response.mimetype == "application/json" and b"credit_amount" not in response.data

    refused = _ledger(api, "download_refused")
    assert [(e["subject_kind"], e["subject_id"]) for e in refused] == [
        ("dataset", str(dataset))] * 2
    assert 'agreement "DSA-DL" is suspended' in refused[0]["change"]["reason"]
    assert ["sam" in refused[0]["actor"].lower(), "olivia" in refused[1]["actor"].lower()] == [
        True, True]
    assert len(_ledger(api, "download_data")) == 1  # only the download before the suspension
    assert _download(api, dataset, "audrey").status_code == 403  # no right: not a refusal
    assert len(_ledger(api, "download_refused")) == 2


def test_an_expired_agreement_or_lapsed_dataset_stops_the_download(app: Flask,
                                                                    api: Api) -> None:
    _, dataset = _prepared(api)
    assert _download(api, dataset).status_code == 200
    app.extensions["gatehouse"].clock.advance(days=800)  # past the agreement's end and lease
    response = _download(api, dataset)
    assert response.status_code == 409
    message = response.get_json()["error"]["message"]
    assert "lapsed on" in message or "expired on" in message, message
    [entry] = _ledger(api, "download_refused")
    assert entry["change"]["reason"] in message


def test_a_suspended_dataset_stops_the_download(api: Api) -> None:
    _, dataset = _prepared(api)
    _suspend(api, f"/api/v1/datasets/{dataset}")
    response = _download(api, dataset)
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == (
        'the data of dataset "dl-data" may not be downloaded: dataset "dl-data" is suspended')
    assert response.get_json()["error"]["details"]["state"] == "suspended"


def test_a_draft_downloads_while_prepared_unless_its_agreement_was_stopped(api: Api) -> None:
    agreement, dataset = _prepared(api, approve_dataset=False)
    assert _download(api, dataset).status_code == 200  # a draft's data comes back to its author
    _suspend(api, f"/api/v1/agreements/{agreement}")
    response = _download(api, dataset)
    assert response.status_code == 409
    assert response.get_json()["error"]["message"].endswith(
        'rests on agreement "DSA-DL", which is suspended')


def test_the_dataset_page_says_why_instead_of_offering_the_download(app: Flask,
                                                                    api: Api) -> None:
    from .web.conftest import Browser

    agreement, dataset = _prepared(api)
    browser = Browser(app.test_client()).sign_in("sam")
    assert "Download the data" in browser.get(f"/datasets/{dataset}").get_data(as_text=True)
    _suspend(api, f"/api/v1/agreements/{agreement}")
    page = browser.get(f"/datasets/{dataset}").get_data(as_text=True)
    assert "Download the data" not in page
    assert "Not downloadable:" in page and "agreement &#34;DSA-DL&#34; is suspended" in page
    response = browser.get(f"/datasets/{dataset}/data")
    assert response.status_code == 409
    assert "may not be downloaded" in response.get_data(as_text=True)
