"""The `record.expiring` event looks as far ahead as the policy's `[watch] due_within_days`, the
window the inbox lists what falls due in: not a fixed 30 days."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from flask import Flask

from registry.governance import events
from registry.governance.policy import Policy, load_policies

from . import builders as b
from .chain import ok
from .conftest import Api

SHIPPED = Path(__file__).parent.parent / "policies"


def _agreement_ending_in(api: Api, days: int) -> int:
    body = b.agreement(f"DSA-END{days}", end_date=b.date_str(days),
                       review_date=b.date_str(days - 1))
    agreement = ok(api.post("/api/v1/agreements", json=body), 201)["id"]
    ok(api.post(f"/api/v1/agreements/{agreement}/submit"))
    b.approve(api, f"/api/v1/agreements/{agreement}")
    return int(agreement)


def _expiring(app: Flask, policy: Policy) -> list[str]:
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        made = events.by_calendar(session, policy, services.clock.now())
        session.commit()
        return [e.summary for e in made if e.kind == "record.expiring"]


@pytest.mark.parametrize(("policy", "window", "inside", "beyond"), [
    ("default", 30, 20, 40), ("childrens_services", 45, 40, 50)])
def test_the_policys_window_tells_of_what_ends_within_it(
        app: Flask, api: Api, policy: str, window: int, inside: int, beyond: int) -> None:
    chosen = load_policies(SHIPPED)[policy]
    assert chosen.watch.due_within_days == window
    _agreement_ending_in(api, inside)
    _agreement_ending_in(api, beyond)
    assert _expiring(app, chosen) == [
        f'agreement "DSA-END{inside}": it ends on {b.date_str(inside)} (in {inside} days)']


def test_a_shorter_window_tells_of_nothing_beyond_it(app: Flask, api: Api) -> None:
    services = app.extensions["gatehouse"]
    short = dataclasses.replace(services.policy, watch=dataclasses.replace(
        services.policy.watch, due_within_days=10))
    _agreement_ending_in(api, 20)
    assert _expiring(app, short) == []
    assert _expiring(app, services.policy) == [  # the test policy's default window: 30 days
        f'agreement "DSA-END20": it ends on {b.date_str(20)} (in 20 days)']


def test_the_sweep_and_the_dashboard_look_as_far_ahead(app: Flask, api: Api,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The sweep's warnings and the dashboard's list of what falls due use the same window."""
    from registry.governance.sweep import sweep, sweep_messages

    from .web.conftest import Browser

    services = app.extensions["gatehouse"]
    childrens = load_policies(SHIPPED)["childrens_services"]
    _agreement_ending_in(api, 40)
    with services.sessions() as session:
        default_report = sweep(session, services.policy, services.clock.now())
        assert default_report.expiring == [] and default_report.within_days == 30
        report = sweep(session, childrens, services.clock.now())
        session.rollback()
    assert report.within_days == 45
    assert sorted(report.expiring) == [
        f'agreement end of agreement "DSA-END40" ends on {b.date_str(40)}',
        f'approval of agreement "DSA-END40" ends on {b.date_str(40)}']
    assert "expiring within 45 days: 2 records;" in sweep_messages(report, [], [], 0, 0, [], 0)[-1]
    olivia = Browser(app.test_client()).sign_in("olivia")
    page = olivia.get("/dashboard").get_data(as_text=True)
    assert "Expiring or due for review within 30 days" in page and "DSA-END40" not in page
    monkeypatch.setattr(services, "policy", childrens)
    page = olivia.get("/dashboard").get_data(as_text=True)
    assert "Expiring or due for review within 45 days" in page and "DSA-END40" in page
