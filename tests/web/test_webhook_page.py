"""The officers' page of their organisation's webhooks and how the latest deliveries went."""

from __future__ import annotations

from typing import Any

from flask import Flask

from ..chain import ok
from ..conftest import Api
from ..live_receivers import http_receiver


def test_officers_see_their_webhooks_and_the_latest_deliveries(app: Flask, api: Api,
                                                               browser: Any) -> None:
    with http_receiver() as receiver:
        receiver.statuses = [503]
        made = ok(api.post("/api/v1/webhooks", as_="olivia", json={
            "url": receiver.url, "events": ["version.suspended"],
            "secret": "a-secret-of-sixteen-or-more"}), 201)
        ok(api.post(f"/api/v1/webhooks/{made['id']}/ping", as_="olivia"), 202)
        ok(api.post(f"/api/v1/webhooks/{made['id']}/ping", as_="olivia"), 202)
    page = browser("gus").get("/webhooks")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert receiver.url in html and "version.suspended" in html
    assert "answered 503" in html and "delivered: 200" in html
    assert "a-secret-of-sixteen-or-more" not in html
    assert browser("sam").get("/webhooks").status_code == 403
