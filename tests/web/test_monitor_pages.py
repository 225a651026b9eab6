"""Drift alerts and failing monitors are seen: on the dashboard, the version page and the public
register, until an officer acknowledges the alert (which stays among the version's decisions) or
a check runs."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
from flask import Flask

from .. import builders as b
from ..chain import build_chain, case, ok
from ..conftest import Api
from ..test_monitor_health import check_receipts, lose_reference


def post_batch(api: Api, url: str, frame: pd.DataFrame) -> dict[str, Any]:
    data = {"batch": (io.BytesIO(frame.to_csv(index=False).encode()), "batch.csv")}
    job = ok(api.post(f"{url}/drift-checks", data=data, content_type="multipart/form-data"), 202)
    return ok(api.get(f"/api/v1/jobs/{job['id']}"))


def shifted() -> pd.DataFrame:
    frame = b.credit_frame().sample(n=200, random_state=1).copy()
    frame["credit_amount"] = frame["credit_amount"] * 3
    frame["duration"] = frame["duration"] * 2
    frame["installment_rate"] = 4
    frame["housing"] = frame["housing"].map({"own": "rent", "rent": "for free",
                                             "for free": "own"})
    frame["purpose"] = "business"
    frame["savings"] = frame["savings"].sort_values().iloc[0]
    return frame


def pages(app: Flask, browser: Any, model: str) -> dict[str, str]:
    officer = browser("olivia")
    public = app.test_client()
    return {
        "dashboard": officer.get("/dashboard").get_data(as_text=True),
        "version": officer.get(f"/models/{model}/versions/1").get_data(as_text=True),
        "register": public.get(f"/transparency/{model}").get_data(as_text=True),
        "json": public.get("/transparency.json").get_data(as_text=True),
        "csv": public.get("/transparency.csv").get_data(as_text=True),
    }


def test_an_alert_is_seen_until_an_officer_acknowledges_it(app: Flask, api: Api,
                                                           browser: Any) -> None:
    chain = build_chain(api, action="alert")
    job = post_batch(api, chain.version_url, shifted())
    check = ok(api.get(f"/api/v1/drift-checks/{job['result_id']}"))
    assert check["drifted"] is True
    drifted = [c["column"] for c in check["columns"] if c["drifted"]]

    seen = pages(app, browser, chain.model)
    assert "Drift alerts to acknowledge (1)" in " ".join(seen["dashboard"].split()).replace(
        '<span class="govuk-caption-m govuk-!-display-inline">', "").replace("</span>", "")
    assert f"drift check {check['id']} on 2026-11-02 found drift" in seen["dashboard"].lower()
    assert 'id="drift-alerts"' in seen["version"]
    assert all(column in seen["version"] for column in drifted)
    for where in ("register", "json", "csv"):
        assert "under review" in seen[where], where
    assert "drift found on 2026-11-02; under review" in seen["json"]
    # An alert does not stop serving.
    assert ok(api.get(chain.version_url))["state"] == "approved"

    ok(api.post(f"{chain.version_url}/waivers", as_="olivia", json={
        "requirement": "drift_alert", "items": drifted,
        "rationale": "Larger loans after the rate change; the model was checked on them."}), 201)
    gone = pages(app, browser, chain.model)
    assert "No drift alert awaits acknowledgement." in gone["dashboard"]
    assert 'id="drift-alerts"' not in gone["version"]
    for where in ("register", "json", "csv"):
        assert "under review" not in gone[where], where
    decisions = ok(api.get(f"{chain.version_url}/decisions"))
    assert decisions[-1]["decision"] == "acknowledge"
    assert "Larger loans after the rate change" in gone["version"]


def test_a_failing_monitor_is_seen_with_what_to_do(app: Flask, api: Api, browser: Any) -> None:
    chain = build_chain(api)
    ok(api.post(f"/api/v1/models/{chain.model}/score", as_="app",
                json={"purpose": "credit_risk_research", "features": case(0)}))
    path, data = lose_reference(app, chain)
    assert check_receipts(api, chain.version_url)["state"] == "failed"

    seen = pages(app, browser, chain.model)
    assert "Drift monitor failing" in seen["dashboard"]
    assert "not served until a check runs" in seen["dashboard"]
    assert "#drift-health" in seen["dashboard"]
    assert "Could not run" in seen["version"] and "Failing since" in seen["version"]
    assert "The version is not served until a check runs." in seen["version"]
    for where in ("register", "json", "csv"):
        assert "not been able to run since 2026-11-02" in seen[where], where
    assert "file store" not in seen["register"]  # the error's text, which may quote data, is not

    path.write_bytes(data)
    assert post_batch(api, chain.version_url,
                      b.credit_frame().sample(n=300, random_state=2))["state"] == "succeeded"
    healed = pages(app, browser, chain.model)
    assert "Every drift monitor in force is running on time." in healed["dashboard"]
    assert "not been able to run" not in healed["register"]
