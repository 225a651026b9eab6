"""Every route × every role of another organisation: no probe of Northmere's records by id or
name succeeds for Eastbrook's people, while the same probe by Northmere's own people does."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from registry.governance import watch
from registry.records import BiasAudit, DriftMonitor, Job, ScoreReceipt, WatchAlert

from ..chain import build_chain, case, ok
from ..conftest import START, Api
from ..test_organisations import EASTBROOK, add_eastbrook
from ..test_watch import receipts, version_of
from .conftest import Browser

# Whose probe of a Northmere record must succeed (the positive control), by route: reading is
# everyone's; the ledger's and receipts' readers are named.
PUBLIC = ("/static/", "/transparency", "/v2/health", "/api/openapi", "/verify/")
BODIES: dict[str, Any] = {
    "decisions": {"decision": "suspend", "rationale": "Stop it."},
    "dpo-advice": {"advice": "Proceed."}, "advice": {"advice": "Proceed."},
    "advice-response": {"accepted": True, "reason": "Agreed."},
    "waivers": {"requirement": "bias_audit", "items": ["x"], "rationale": "Because."},
    "drift-monitor": {"action": "alert"}, "outcome": {"outcome": "accepted"},
    "proposals": {"decision": "accept", "rationale": "Agreed."},
    "acknowledge": {"rationale": "Seen to."},
}


def _values(app: Flask, chain: Any, receipt: str) -> dict[str, Any]:
    with app.extensions["gatehouse"].sessions() as session:
        audit = session.scalars(select(BiasAudit.id)).first()
        return {"name": chain.model, "number": chain.version, "version": str(chain.version),
                "audit_id": audit, "evidence_id": audit, "kind": "bias_audit",
                "check_id": 1, "grouping": "sex", "metric": "selection_rate",
                "job_id": session.scalars(select(Job.id)).first(), "receipt_id": receipt,
                "user_id": 1, "slug": "need", "side": "recipient",
                "alert_id": session.scalars(select(WatchAlert.id)).first(),
                "monitor": session.scalars(select(DriftMonitor.id)).first(),
                "receipts": session.scalars(select(ScoreReceipt.id)).all()}


def _url(rule: str, chain: Any, values: dict[str, Any]) -> str:
    ids = {"agreements": chain.agreement, "datasets": chain.dataset, "dpias": chain.dpia}
    kind = next((k for k in ids if f"/{k}/" in rule), None)

    def fill(match: re.Match[str]) -> str:
        var = match.group(1).split(":")[-1]
        return str(ids[kind] if var == "record_id" and kind else values[var])

    return re.sub(r"<([^>]+)>", fill, rule)


def _probes(app: Flask, chain: Any, values: dict[str, Any]) -> list[tuple[str, str, Any]]:
    probes = []
    for rule in app.url_map.iter_rules():
        if "<" not in rule.rule or rule.rule.startswith(PUBLIC) or "segment" in rule.rule:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            last = rule.rule.rstrip("/").rsplit("/", 1)[-1]
            body = BODIES.get(last, {"title": "Ours now"} if method == "PATCH" else {})
            if last == "score" or last == "infer":
                body = {"purpose": "credit_risk_research", "features": case()}
            probes.append((method, _url(rule.rule, chain, values), body))
    return probes


def _web_sign_in(app: Flask, email: str, password: str) -> Browser:
    browser = Browser(app.test_client())
    response = browser.post("/sign-in", {"email": email, "password": password})
    assert response.status_code == 302
    browser._token = None
    return browser


def test_no_route_gives_another_organisation_anything(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    scored = ok(api.post(f"/api/v1/models/{chain.model}/score", as_="app", json={
        "purpose": "credit_risk_research", "features": case()}))
    with app.extensions["gatehouse"].sessions() as session:  # an alert of Northmere's to probe
        receipts(session, version_of(session, chain), [START.replace(hour=2)])
        watch.run(session, app.extensions["gatehouse"].policy, START)
        session.commit()
    values = _values(app, chain, scored["results"][0]["receipt_id"])
    values["webhook_id"] = ok(api.post("/api/v1/webhooks", as_="olivia", json={  # Northmere's
        "url": "http://127.0.0.1:9/hook", "events": ["version.suspended"],
        "secret": "a-webhook-secret-of-32-characters"}), 201)["id"]
    add_eastbrook(app, api)
    probes = _probes(app, chain, values)
    assert len(probes) > 60
    successes, controls = [], 0
    for method, url, body in probes:
        api_route = url.startswith(("/api/", "/v2/"))
        for name in EASTBROOK:
            if name == "dual":  # Northmere's auditor too: it may read Northmere's records
                continue
            if api_route:
                status, _ = api.call(method, url, name, json=body)
            else:
                web = _web_sign_in(app, f"{name}@eastbrook.gov.uk", f"{name}-correct-horse")
                status = (web.get(url) if method == "GET" else web.post(url, body)).status_code
            if status < 400:
                successes.append((name, method, url, status))
        if method == "GET":  # the positive control: the same probe by Northmere's people
            readers = ("app",) if "receipts" in url else ("olivia", "audrey")
            if api_route:
                found = [api.call("GET", url, who)[0] for who in readers]
            else:
                web = _web_sign_in(app, "olivia@northmere.gov.uk", "olivia-correct-horse")
                found = [web.get(url).status_code]
            controls += any(s == 200 for s in found)
    assert successes == [], successes
    assert controls >= 30  # the probes named records that exist and can be read
