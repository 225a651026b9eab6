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


def test_corrections_of_old_outcomes_do_not_refill_the_override_window(app: Flask,
                                                                       api: Api) -> None:
    """An advisory model is flagged: 3 of its latest 200 outcomes overrode the score. Its tool
    then goes on with no overrides at all, and "corrects" 40 outcomes reported before the alert
    into overrides. A correction keeps the case's place in time (it was reported then): the
    next window is the 200 cases reported since, none overridden, and the rule fires again."""
    import uuid
    from datetime import timedelta

    from sqlalchemy import select

    from registry.records import ApiClient, OutcomeReport, ScoreReceipt

    from .test_watch import working_hours

    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    now = services.clock.now()
    with services.sessions() as session:
        version = registration.get(session, "model_version", (chain.model, chain.version))
        client_id = session.scalars(select(ApiClient.id)).first()

        def reported(moments: list, overrides: int) -> list[str]:
            ids = []
            for i, at in enumerate(moments):
                rid, told = str(uuid.uuid4()), at + timedelta(hours=1)
                session.add(ScoreReceipt(
                    id=rid, model_version_id=version.id, approval_id=version.approval_id,
                    client_id=client_id, purpose="credit_risk_research",
                    inputs_hash=uuid.uuid4().hex * 2, score=0.4, created_at=at,
                    outcome="approved", overrode=i < overrides, outcome_at=told))
                session.flush()
                session.add(OutcomeReport(receipt_id=rid, outcome="approved",
                                          overrode=i < overrides, client_id=client_id,
                                          reason="Seen" if i < overrides else None,
                                          created_at=told))
                ids.append(rid)
            session.flush()
            return ids

        old = reported(working_hours(now - timedelta(days=30), 20, 10), overrides=3)
        [first] = watch.run(session, services.policy, now)
        assert "override_rate" in first
        reported(working_hours(now, 20, 10), overrides=0)  # since: nobody overrides
        session.commit()

    for rid in old[-40:]:  # the tool rewrites outcomes reported before the alert
        ok(api.post(f"/api/v1/receipts/{rid}/outcome/corrections", as_="app", json={
            "outcome": "overridden", "reason": "Caseworker judged the case",
            "correction_reason": "Recorded wrongly at the time"}))
    with services.sessions() as session:
        assert session.scalar(select(ScoreReceipt.overrode).where(
            ScoreReceipt.id == old[-1])) is True
        lines = watch.run(session, services.policy, services.clock.now())
        session.commit()
    assert any("override_rate" in line and "0 of the latest 200" in line for line in lines), lines
