"""Events end to end: each driven by a real change, delivered to a real HTTP receiver on loopback
(signatures checked here with hmac, independently of Gatehouse's code) and a real SMTP server
(aiosmtpd); retries with backoff; another organisation hears nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from registry.governance import ledger, monitoring
from registry.governance.actors import SYSTEM
from registry.records import Delivery, DriftMonitor, Event, ModelVersion

from . import builders as b
from .chain import Chain, build_chain, ok
from .conftest import Api
from .live_receivers import Receiver, http_receiver, smtp_server
from .test_monitoring import post_batch, shifted_batch
from .test_organisations import add_eastbrook

SECRET = "s3cret-shared-with-the-receiver"
ALL = ["version.approved", "version.reinstated", "version.suspended", "version.lapsed",
       "record.expiring", "monitor.breach", "monitor.failing", "alert.raised"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as r:
        yield r


def hook(api: Api, url: str, events: list[str] = ALL, as_: str = "olivia") -> dict[str, Any]:
    return ok(api.post("/api/v1/webhooks", as_=as_,
                       json={"url": url, "events": events, "secret": SECRET}), 201)


def verify(received: Any, secret: str = SECRET) -> dict[str, Any]:
    """What a receiver does: check the signature over the raw body, then read it."""
    parts = dict(p.split("=", 1) for p in received.headers["Gatehouse-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + received.body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    return json.loads(received.body)  # type: ignore[no-any-return]


def decide(api: Api, chain: Chain, decision: str, as_: str = "olivia") -> None:
    ok(api.post(f"{chain.version_url}/decisions", as_=as_,
                json={"decision": decision, "rationale": "Private notes of the officer"}), 201)


def deliver(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["notify", "deliver"])
    assert result.exit_code == 0, result.output
    return result.output


def test_a_suspension_reaches_a_receiver_whose_signature_verifies(
        app: Flask, api: Api, receiver: Receiver) -> None:
    chain = build_chain(api)
    hook(api, receiver.url, ["version.suspended"])
    decide(api, chain, "suspend")
    assert receiver.events() == ["version.suspended"]
    got = receiver.received[0]
    body = verify(got)
    assert got.path == "/hooks/gatehouse" and got.headers["Content-Type"] == "application/json"
    assert body["event"] == "version.suspended" and body["organisation"]
    assert body["subject"] == {"kind": "model_version", "id": str(chain_version_id(app)),
                               "label": 'model "credit-risk" v1', "model": "credit-risk",
                               "version": 1}
    assert body["models"] == ["credit-risk"]
    # a person's rationale stays in the registry
    assert "Private notes" not in got.body.decode()
    assert "suspended by an officer" in body["summary"]
    # a forged body does not verify with the same header
    forged = type(got)(got.path, got.headers, got.body.replace(b"suspended", b"approved"))
    with pytest.raises(AssertionError):
        verify(forged)


def chain_version_id(app: Flask) -> int:
    with app.extensions["gatehouse"].sessions() as session:
        return session.scalars(select(ModelVersion.id)).one()


def test_approval_and_reinstatement_reach_a_receiver_and_a_failed_delivery_is_retried(
        app: Flask, api: Api, clock: Any, receiver: Receiver) -> None:
    add_eastbrook(app, api)
    chain = build_chain(api, approve_version=False)
    mine = hook(api, receiver.url)
    with http_receiver() as theirs:
        hook(api, theirs.url, as_="erin")  # Eastbrook's officer
        receiver.statuses = [500]  # the first POST fails
        ok(api.post(f"{chain.version_url}/submit"))
        b.approve(api, chain.version_url)
        decide(api, chain, "suspend")
        decide(api, chain, "reinstate")
        assert receiver.events() == ["version.approved", "version.suspended",
                                     "version.reinstated"]
        log = ok(api.get(f"/api/v1/webhooks/{mine['id']}/deliveries"))
        approved = next(d for d in log if d["kind"] == "version.approved")
        assert approved["state"] == "pending" and approved["attempts"] == 1
        assert approved["attempts_log"][0]["status"] == 500
        first_try = approved["attempts_log"][0]["at"]

        assert "0 delivery(ies)" in deliver(app)  # not yet due: 30 s after the failure
        clock.advance(seconds=30)
        assert "succeeded" in deliver(app)
        assert receiver.events()[-1] == "version.approved"
        told = verify(receiver.received[-1])
        assert told["event"] == "version.approved"
        assert told["data"]["approved_until"] and "None" not in told["summary"], told
        approved = next(d for d in ok(api.get(f"/api/v1/webhooks/{mine['id']}/deliveries"))
                        if d["kind"] == "version.approved")
        assert approved["state"] == "succeeded"
        assert [(a["status"], a["error"]) for a in approved["attempts_log"]] == [
            (500, "answered 500 Internal Server Error"), (200, None)]
        assert approved["attempts_log"][0]["at"] == first_try
        # Eastbrook's webhook heard nothing of Northmere's events, nor can it read its log
        assert theirs.received == []
        assert api.get(f"/api/v1/webhooks/{mine['id']}", as_="erin")[0] == 404
        assert api.get(f"/api/v1/webhooks/{mine['id']}/deliveries", as_="erin")[0] == 404


def test_breach_alert_and_failing_monitor_reach_a_receiver(
        app: Flask, api: Api, receiver: Receiver) -> None:
    chain = build_chain(api, action="alert")
    hook(api, receiver.url)
    post_batch(api, chain.version_url, shifted_batch())
    assert receiver.events() == ["monitor.breach", "alert.raised"]
    breach, alert = (verify(r) for r in receiver.received)
    assert breach["data"]["action"] == "alert" and breach["data"]["drifted_columns"]
    assert alert["data"]["alert"] == "drift_alert" and "drift" in alert["summary"]

    services = app.extensions["gatehouse"]
    with app.app_context(), services.sessions() as session:
        monitor = session.scalars(select(DriftMonitor)).one()
        monitoring.record_failed_check(session, SYSTEM, monitor, "receipts",
                                       "the receipts lack column 'age'", services.clock.now())
        session.commit()
    # a failing monitor stops serving (no grace in the test policy): failing, and lapsed
    assert receiver.events()[2:] == ["monitor.failing", "version.lapsed"]
    failing, lapsed = (verify(r) for r in receiver.received[2:])
    assert failing["data"] == {"monitor_id": monitor.id, "state": "failed",
                               "reason": "the receipts lack column 'age'"}
    assert "could not run" in lapsed["data"]["reason"]
    assert lapsed["data"]["cause"]["action"] == "drift_check_failed"

    # any *_alert entry (the watch rules' too) is an alert.raised
    with app.app_context(), services.sessions() as session:
        ledger.append(session, SYSTEM, "watch_alert", "model_version", chain_version_id(app),
                      {"rule": "override_rate", "reason": "1 override in the last 200 outcomes"},
                      services.clock.now())
        session.commit()
    watch = verify(receiver.received[-1])
    assert watch["event"] == "alert.raised" and watch["data"]["alert"] == "watch_alert"
    assert "1 override in the last 200 outcomes" in watch["summary"]


def test_a_lapse_by_the_calendar_is_delivered_by_that_days_sweep(
        app: Flask, api: Api, clock: Any, receiver: Receiver) -> None:
    """The bias audit grows too old (180 days): nothing is recorded on the ledger that day, but
    the sweep finds the version stopped and tells it, once."""
    build_chain(api)
    hook(api, receiver.url, ["version.lapsed"])
    clock.advance(days=179)
    assert app.test_cli_runner().invoke(args=["sweep"]).exit_code == 0
    assert receiver.received == []
    clock.advance(days=2)
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert receiver.events() == ["version.lapsed"]
    lapsed = verify(receiver.received[0])
    assert lapsed["data"]["reason"].startswith('model "credit-risk" v1 is not servable')
    assert "audit" in lapsed["data"]["reason"]
    assert lapsed["data"]["cause"] == {"by": "calendar"}
    app.test_cli_runner().invoke(args=["sweep"])  # told once
    assert len(receiver.received) == 1


@pytest.mark.parametrize("kind", ["agreement", "dataset", "dpia"])
def test_an_upstream_suspension_is_a_lapse_naming_the_chain(
        app: Flask, api: Api, receiver: Receiver, kind: str) -> None:
    chain = build_chain(api)
    hook(api, receiver.url, ["version.lapsed"])
    record = {"agreement": chain.agreement, "dataset": chain.dataset, "dpia": chain.dpia}[kind]
    ok(api.post(f"/api/v1/{kind}s/{record}/decisions", as_="olivia",
                json={"decision": "suspend", "rationale": "Withdrawn for review"}), 201)
    assert receiver.events() == ["version.lapsed"]
    lapsed = verify(receiver.received[0])
    label = {"agreement": 'agreement "DSA-credit-risk"', "dataset": 'dataset "credit-risk-data"',
             "dpia": 'DPIA "DPIA-credit-risk"'}[kind]
    assert lapsed["data"]["reason"].startswith('model "credit-risk" v1 is not servable')
    assert label in lapsed["data"]["reason"], lapsed["data"]["reason"]
    assert lapsed["data"]["cause"] == {"by": "ledger", "ledger_seq": lapsed["data"]["cause"][
        "ledger_seq"], "action": "decision:suspend", "kind": kind, "id": str(record),
        "label": label}
    assert "Withdrawn for review" not in receiver.received[0].body.decode()


def test_an_expiring_agreement_reaches_a_webhook_and_the_digest(
        app: Flask, api: Api, receiver: Receiver) -> None:
    hook(api, receiver.url, ["record.expiring"])
    agreement = ok(api.post("/api/v1/agreements", json=b.agreement(
        "DSA-SOON", end_date=b.date_str(20), review_date=b.date_str(10))), 201)
    ok(api.post(f"/api/v1/agreements/{agreement['id']}/submit"))
    b.approve(api, f"/api/v1/agreements/{agreement['id']}")
    with smtp_server() as (smtp_url, mails):
        app.config["SMTP_URL"] = smtp_url
        for _ in range(2):  # once a day per record
            assert app.test_cli_runner().invoke(args=["sweep"]).exit_code == 0
        assert receiver.events() == ["record.expiring"]
        expiring = verify(receiver.received[0])
        assert expiring["summary"] == (f'agreement "DSA-SOON": it ends on {b.date_str(20)} '
                                       "(in 20 days)")
        assert mails == []  # not urgent: it waits for the digest
        result = app.test_cli_runner().invoke(args=["notify", "digest"])
        assert result.exit_code == 0, result.output
        by_recipient = {m.recipients[0]: m for m in mails}
        # the agreement's owner and the organisation's governance officers, one digest each
        assert set(by_recipient) == {"sam@northmere.gov.uk", "olivia@northmere.gov.uk",
                                     "gus@northmere.gov.uk"}
        assert all(len(m.recipients) == 1 for m in mails)
        assert 'agreement "DSA-SOON": it ends on' in by_recipient["olivia@northmere.gov.uk"].content
        app.test_cli_runner().invoke(args=["notify", "digest"])  # nothing new
        assert len(mails) == 3


def test_urgent_email_reaches_the_owners_and_officers(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    with smtp_server() as (smtp_url, mails):
        app.config.update(SMTP_URL=smtp_url, MAIL_SENDER="gatehouse@northmere.gov.uk")
        decide(api, chain, "suspend")
        assert len(mails) == 1
        mail = mails[0]
        assert mail.sender == "gatehouse@northmere.gov.uk"
        assert sorted(mail.recipients) == ["gus@northmere.gov.uk", "olivia@northmere.gov.uk",
                                           "sam@northmere.gov.uk"]
        assert 'Subject: [Gatehouse] model "credit-risk" v1 was suspended' in mail.content


def test_unset_smtp_sends_nothing(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    with smtp_server() as (_, mails):
        app.config["SMTP_URL"] = None
        decide(api, chain, "suspend")
        result = app.test_cli_runner().invoke(args=["notify", "digest"])
        assert "email is off" in result.output
        assert mails == []
    with app.extensions["gatehouse"].sessions() as session:
        assert session.scalars(select(Delivery).where(Delivery.channel == "email")).all() == []
        # the event is still raised: it waits for the digest once email is on
        assert session.scalars(select(Event.kind).order_by(Event.id)).all()[-1] == (
            "version.suspended")


def test_webhooks_are_validated_kept_secret_and_scoped(app: Flask, api: Api,
                                                       receiver: Receiver) -> None:
    add_eastbrook(app, api)
    for body, field in [({"url": "ftp://x.example/", "events": ["version.lapsed"]}, "url"),
                        ({"url": "https://", "events": ["version.lapsed"]}, "url"),
                        ({"url": "https://a.example/x", "events": ["version.gone"]}, "events"),
                        ({"url": "https://a.example/x", "events": []}, "events"),
                        ({"url": "https://a.example/x", "events": ["version.lapsed"],
                          "secret": "short"}, "secret")]:
        code, answer = api.post("/api/v1/webhooks", as_="olivia", json={"secret": SECRET, **body})
        assert code == 422 and field in answer["error"]["details"], answer
    assert api.post("/api/v1/webhooks", as_="sam", json={
        "url": receiver.url, "events": ALL, "secret": SECRET})[0] == 403
    made = hook(api, receiver.url)
    assert "secret" not in made and SECRET not in json.dumps(ok(api.get("/api/v1/webhooks")))
    with app.extensions["gatehouse"].engine.connect() as conn:
        stored = conn.execute(text("SELECT secret FROM webhooks")).scalar_one()
    assert SECRET not in str(stored) and "ghs1:" in str(stored)  # sealed at rest
    assert ok(api.get("/api/v1/webhooks", as_="erin")) == []
    assert api.call("DELETE", f"/api/v1/webhooks/{made['id']}", as_="erin")[0] == 404
    pinged = ok(api.post(f"/api/v1/webhooks/{made['id']}/ping", as_="olivia"), 202)
    assert pinged["state"] == "succeeded" and verify(receiver.received[-1])["event"] == "ping"
    assert api.call("DELETE", f"/api/v1/webhooks/{made['id']}", as_="gus")[0] == 204
    assert api.get(f"/api/v1/webhooks/{made['id']}")[0] == 404


def test_a_tools_webhook_hears_only_of_its_own_models(app: Flask, api: Api,
                                                      receiver: Receiver) -> None:
    chain = build_chain(api)
    with http_receiver() as officers:
        hook(api, officers.url, ["version.suspended"])
        ok(api.post("/api/v1/webhooks", as_="app", json={
            "url": receiver.url, "events": ["version.suspended"], "secret": SECRET}), 201)
        other = build_other_version(api)
        decide(api, chain, "suspend")
        ok(api.post(f"{other}/decisions", as_="olivia",
                    json={"decision": "suspend", "rationale": "Checked"}), 201)
        assert [verify(r)["models"] for r in receiver.received] == [["credit-risk"]]
        assert len(officers.received) == 2


def build_other_version(api: Api) -> str:
    other = build_chain(api, name="other-risk")
    return other.version_url


def test_backoff_and_signature_known_answers() -> None:
    from registry.governance.deliveries import MAX_ATTEMPTS, backoff
    from registry.governance.webhooks import signature

    assert [backoff(n).total_seconds() for n in range(1, MAX_ATTEMPTS)] == [
        30, 60, 120, 240, 480, 960, 1920]
    assert backoff(9) == timedelta(hours=1)
    assert signature("key", 1700000000, b'{"a":1}') == "t=1700000000,v1=" + hmac.new(
        b"key", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()


def test_a_webhook_cannot_reach_into_the_registers_own_network(
        app: Flask, api: Api, receiver: Receiver) -> None:
    """Unless the deployment allows private addresses, a webhook to loopback, a private range
    or a cloud's metadata service is refused when made, and a delivery to one is refused when
    sent (a name may resolve elsewhere later) — so nobody can use webhooks to probe inside."""
    app.config["WEBHOOK_PRIVATE"] = True
    allowed_then = hook(api, receiver.url, ["version.suspended"])
    app.config["WEBHOOK_PRIVATE"] = False
    for url in ("http://127.0.0.1:8080/x", "http://localhost/x", "http://10.1.2.3/x",
                "http://169.254.169.254/latest/meta-data", "http://[::1]/x",
                "https://192.168.0.10/x"):
        status, body = api.post("/api/v1/webhooks", as_="olivia", json={
            "url": url, "events": ["version.suspended"], "secret": SECRET})
        assert status == 422, (url, body)
        assert "private or loopback" in body["error"]["details"]["url"][0], body
    # a public address is accepted (told of nothing here: this machine reaches no internet)
    made = hook(api, "https://93.184.216.34/hooks", ["record.expiring"])
    assert made["url"] == "https://93.184.216.34/hooks"
    chain = build_chain(api)
    decide(api, chain, "suspend")
    assert receiver.received == []  # nothing reached loopback
    log = ok(api.get(f"/api/v1/webhooks/{allowed_then['id']}/deliveries"))
    assert log and "refused" in log[0]["attempts_log"][0]["error"], log
    assert "private or loopback" in log[0]["attempts_log"][0]["error"]
