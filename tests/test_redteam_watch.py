"""Red team: a watch rule's suspension lifted while nobody has said what was found."""

from __future__ import annotations

from flask import Flask

from registry.governance import registration, watch

from .chain import build_chain, ok
from .conftest import Api
from .test_watch import alerts, receipts, suspending


def test_a_version_a_watch_rule_suspended_is_reinstated_only_once_its_alert_is_answered(
        app: Flask, api: Api) -> None:
    """A watch rule (scoring at 3 a.m.) suspends the version. Reinstating it while the alert
    stays unacknowledged puts it back in service with nobody having said what was found and
    done: the reinstatement is refused, naming the alert, until an officer acknowledges it."""
    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        version = registration.get(session, "model_version", (chain.model, chain.version))
        receipts(session, version, [services.clock.now().replace(hour=3)])
        watch.run(session, suspending(services.policy), services.clock.now())
        session.commit()
        [alert] = alerts(session)
        alert_id = alert.id
    assert ok(api.get(chain.version_url))["state"] == "suspended"
    reinstate = {"decision": "reinstate", "rationale": "Looks fine."}
    status, body = api.post(f"{chain.version_url}/decisions", as_="olivia", json=reinstate)
    assert status == 409, body
    assert f"watch alert {alert_id}" in body["error"]["message"], body
    assert "acknowledge" in body["error"]["message"], body
    assert ok(api.get(chain.version_url))["state"] == "suspended"

    ok(api.post(f"{chain.version_url}/alerts/{alert_id}/acknowledge", as_="gus", json={
        "rationale": "A night-shift test by the supplier; stopped and the tool's key rotated."}))
    ok(api.post(f"{chain.version_url}/decisions", as_="olivia", json=reinstate), 201)
    assert ok(api.get(chain.version_url))["state"] == "approved"
