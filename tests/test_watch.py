"""Watch rules over how a served model is used: each fires on receipts built to trigger it, stays
quiet on ordinary ones, writes a watch_alert on the ledger naming the rule, figures and window,
and (action suspend) stops serving; an officer acknowledges an alert."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.governance import registration, watch
from registry.governance.policy import Policy
from registry.records import LedgerEntry, ModelVersion, ScoreReceipt, WatchAlert

from .chain import Chain, build_chain, case, ok
from .conftest import Api

DAY = timedelta(days=1)


@pytest.fixture
def served(api: Api) -> Chain:
    return build_chain(api)


@pytest.fixture
def session(app: Flask, served: Chain) -> Iterator[Session]:
    with app.extensions["gatehouse"].sessions() as s:
        yield s


def version_of(session: Session, chain: Chain) -> ModelVersion:
    v = registration.get(session, "model_version", (chain.model, chain.version))
    assert isinstance(v, ModelVersion)
    return v


def receipts(session: Session, version: ModelVersion, moments: list[datetime], *,
             same_inputs: bool = False, outcome: bool = True, overrides: int = 0) -> None:
    """A receipt scored at each moment, with its outcome reported an hour later (the first
    `overrides` of them overriding the score) unless `outcome` is False."""
    for i, at in enumerate(moments):
        reported = at + timedelta(hours=1) if outcome else None
        session.add(ScoreReceipt(
            id=str(uuid.uuid4()), model_version_id=version.id, approval_id=version.approval_id,
            purpose="credit_risk_research",
            inputs_hash="a" * 64 if same_inputs else uuid.uuid4().hex * 2,
            score=0.4, created_at=at, outcome="Approved" if outcome else None,
            overrode=(i < overrides) if outcome else None, outcome_at=reported))
    session.flush()


def working_hours(now: datetime, days: int, per_day: int) -> list[datetime]:
    """`per_day` receipts on each of the `days` days before `now`'s day, in working hours."""
    start = now.replace(hour=9, minute=0, second=0, microsecond=0)
    return [start - d * DAY + timedelta(minutes=5 * i)
            for d in range(1, days + 1) for i in range(per_day)]


def ordinary(session: Session, version: ModelVersion, now: datetime) -> None:
    """Four weeks of steady use in working hours, every outcome reported, one in ten overridden."""
    moments = working_hours(now, 28, 10)
    receipts(session, version, moments, overrides=0)
    for r in session.scalars(select(ScoreReceipt).where(
            ScoreReceipt.model_version_id == version.id)).all()[::10]:
        r.overrode = True
    session.flush()


def alerts(session: Session) -> list[WatchAlert]:
    return list(session.scalars(select(WatchAlert).order_by(WatchAlert.id)).all())


def fired(session: Session, app: Flask, policy: Policy | None = None) -> list[str]:
    services = app.extensions["gatehouse"]
    return watch.run(session, policy or services.policy, services.clock.now())


def test_ordinary_use_raises_nothing(app: Flask, served: Chain, session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()  # 09:30 UTC
    version = version_of(session, served)
    ordinary(session, version, now)
    receipts(session, version, [now - timedelta(minutes=10)], outcome=False)  # just scored
    assert fired(session, app) == []
    assert alerts(session) == []


def test_an_advisory_model_nobody_overrides(app: Flask, served: Chain, session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    rule = app.extensions["gatehouse"].policy.watch.override_rate
    receipts(session, version, working_hours(now, 20, 10), overrides=3)  # 3 of 200: 1.5%
    [line] = fired(session, app)
    assert "override_rate" in line and "3 of the latest 200 outcomes" in line
    [alert] = alerts(session)
    assert alert.rule == "override_rate" and alert.action == "alert"
    assert alert.figures == {"overrides": 3, "outcomes": 200, "override_rate": 0.015,
                             "floor": rule.floor}
    entry = session.scalars(select(LedgerEntry).where(LedgerEntry.action == "watch_alert")).one()
    assert entry.subject_id == str(version.id) and entry.change["rule"] == "override_rate"
    assert entry.change["figures"]["overrides"] == 3 and set(entry.change["window"]) == {
        "start", "end"}
    assert "de facto automated" in entry.change["reason"]
    # the same outcomes are not judged twice
    assert fired(session, app) == [] and len(alerts(session)) == 1


def test_overrides_at_the_floor_or_too_few_outcomes_are_quiet(app: Flask, served: Chain,
                                                              session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    receipts(session, version, working_hours(now, 19, 10), overrides=0)  # 190 < 200 outcomes
    assert fired(session, app) == []
    receipts(session, version, working_hours(now - 19 * DAY, 1, 10), overrides=4)  # 4 of 200
    assert fired(session, app) == []


def test_an_automated_model_is_not_judged_on_overrides(app: Flask, served: Chain,
                                                       session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    version.model.decision_role = "automated"
    receipts(session, version, working_hours(now, 20, 10), overrides=0)
    assert fired(session, app) == []


def test_volume_far_above_the_usual(app: Flask, served: Chain, session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    noon = now.replace(hour=12)  # 10 a day on each of the 28 days before the window
    baseline = [noon - d * DAY + timedelta(minutes=i) for d in range(2, 30) for i in range(10)]
    receipts(session, version, baseline, overrides=1)
    today = [now - timedelta(minutes=m) for m in range(1, 25)]  # 24 in the window: quiet
    receipts(session, version, today, overrides=3)
    assert fired(session, app) == []
    more = [now - timedelta(minutes=m, seconds=30) for m in range(1, 60)]  # 83 in the window
    receipts(session, version, more, overrides=6)
    [line] = fired(session, app)
    assert "volume" in line
    [alert] = alerts(session)
    assert alert.figures["receipts"] == 83 and alert.figures["usual"] == 10
    assert alert.figures["times_usual"] == 8.3 and "above the policy's limit of 3 times" in (
        alert.reason)


def test_scoring_outside_working_hours(app: Flask, served: Chain, session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    night = now.replace(hour=2, minute=14)
    receipts(session, version, [now - timedelta(hours=1), night], overrides=1)
    [line] = fired(session, app)
    assert "hours" in line and "02:14" in line
    [alert] = alerts(session)
    assert alert.figures["outside_hours"] == 1 and alert.figures["receipts"] == 2
    assert alert.figures["hours"] == "07:00-20:00 Europe/London"
    assert alert.window_end == now and alert.window_start == now - timedelta(hours=24)


def test_the_same_inputs_scored_again_and_again(app: Flask, served: Chain,
                                                session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    limit = app.extensions["gatehouse"].policy.watch.repeated_inputs.max_repeats
    moments = [now - timedelta(minutes=m) for m in range(1, limit + 1)]
    receipts(session, version, moments, same_inputs=True, overrides=1)
    assert fired(session, app) == []  # as often as allowed
    receipts(session, version, [now - timedelta(seconds=20)], same_inputs=True, overrides=1)
    [line] = fired(session, app)
    assert "repeated_inputs" in line
    [alert] = alerts(session)
    assert alert.figures["cases"] == 1 and alert.figures["most_times"] == limit + 1
    assert len(alert.figures["example_receipts"]) == 3
    assert "a" * 64 not in str(alert.figures) + alert.reason  # the inputs' hash is not shown


def test_the_hash_of_served_inputs_is_the_same_for_the_same_case(app: Flask, api: Api,
                                                                 served: Chain) -> None:
    body = {"purpose": "credit_risk_research", "instances": [case(3), case(3), case(4)]}
    results = ok(api.post(f"/api/v1/models/{served.model}/score", as_="app", json=body))
    ids = [r["receipt_id"] for r in results["results"]]
    with app.extensions["gatehouse"].sessions() as session:
        hashes = [session.get(ScoreReceipt, i).inputs_hash for i in ids]
    assert hashes[0] == hashes[1] != hashes[2]


def test_the_same_case_written_another_way_has_the_same_hash(app: Flask, api: Api,
                                                             served: Chain) -> None:
    """The hash is of the checked row, not of the request's text: 12 and 12.0, or the keys in
    another order, are the same case, so repeated_inputs cannot be dodged by rewriting it."""
    same = case(3)
    rewritten = {k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
                 for k, v in reversed(list(same.items()))}
    assert json.dumps(rewritten) != json.dumps(same)  # the request's text differs
    body = {"purpose": "credit_risk_research", "instances": [same, rewritten, case(4)]}
    results = ok(api.post(f"/api/v1/models/{served.model}/score", as_="app", json=body))
    ids = [r["receipt_id"] for r in results["results"]]
    with app.extensions["gatehouse"].sessions() as session:
        hashes = [session.get(ScoreReceipt, i).inputs_hash for i in ids]
    assert hashes[0] == hashes[1] != hashes[2]


def test_outcomes_not_reported(app: Flask, served: Chain, session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    rule = app.extensions["gatehouse"].policy.watch.unreported_outcomes
    old = working_hours(now - (rule.after_days + 1) * DAY, 2, 12)  # 24 receipts, 15 days ago
    receipts(session, version, old[:12], overrides=2)
    receipts(session, version, old[12:], outcome=False)  # half without: at the limit
    receipts(session, version, working_hours(now, 3, 20), outcome=False)  # too young to judge
    assert fired(session, app) == []
    receipts(session, version, [old[0] + timedelta(minutes=1)], outcome=False)  # 13 of 25
    [line] = fired(session, app)
    assert "unreported_outcomes" in line
    [alert] = alerts(session)
    assert alert.figures["without_outcome"] == 13 and alert.figures["receipts"] == 25
    assert "13 of 25 cases" in alert.reason and "14 days on" in alert.reason


def suspending(policy: Policy) -> Policy:
    hours = policy.watch.hours
    assert hours is not None
    return dataclasses.replace(policy, watch=dataclasses.replace(
        policy.watch, hours=dataclasses.replace(hours, action="suspend")))


def test_a_rule_that_suspends_stops_scoring(app: Flask, api: Api, served: Chain) -> None:
    score = {"purpose": "credit_risk_research", "features": case(0)}
    url = f"/api/v1/models/{served.model}/score"
    ok(api.post(url, as_="app", json=score))
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        version = version_of(session, served)
        receipts(session, version, [services.clock.now().replace(hour=3)])
        [line] = watch.run(session, suspending(services.policy), services.clock.now())
        session.commit()
    assert line.startswith("suspended: ") and "hours" in line
    code, body = api.post(url, as_="app", json=score)
    assert code in (403, 409), body
    assert "suspended" in body["error"]["message"]
    with services.sessions() as session:
        assert version_of(session, served).state == "suspended"
        [alert] = alerts(session)
        assert alert.action == "suspend"


def test_an_officer_acknowledges_an_alert(app: Flask, api: Api, served: Chain,
                                          session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    receipts(session, version, [now.replace(hour=1)])
    fired(session, app)
    session.commit()
    [alert_id] = [a.id for a in alerts(session)]
    session.rollback()  # no transaction left open while the API writes
    url = f"{served.version_url}/alerts"
    listed = ok(api.get(url, as_="audrey"))
    assert [a["id"] for a in listed] == [alert_id] and listed[0]["rule"] == "hours"
    assert listed[0]["figures"]["outside_hours"] == 1
    ack = f"{url}/{alert_id}/acknowledge"
    why = {"rationale": "The out-of-hours team scored one urgent case; agreed with them."}
    code, body = api.post(ack, as_="sam", json=why)  # the data scientist who built it
    assert code == 403, body
    code, body = api.post(ack, as_="olivia", json={"rationale": ""})
    assert code == 422 and "rationale" in str(body["error"]["details"])
    code, body = api.post(f"{url}/999/acknowledge", as_="olivia", json=why)
    assert code == 404, body
    done = ok(api.post(ack, as_="olivia", json=why))
    assert done["acknowledged_at"] and done["acknowledgement"] == why["rationale"]
    code, body = api.post(ack, as_="gus", json=why)
    assert code == 409 and "already acknowledged" in str(body)
    session.expire_all()
    entry = session.scalars(select(LedgerEntry).where(
        LedgerEntry.action == "watch_alert_acknowledged")).one()
    assert entry.change["alert_id"] == alert_id and "olivia" in entry.actor.lower()


def test_gatehouse_watch_and_the_sweep(app: Flask, served: Chain, session: Session) -> None:
    now = app.extensions["gatehouse"].clock.now()
    version = version_of(session, served)
    receipts(session, version, [now.replace(hour=4, minute=2)])
    session.commit()
    session.rollback()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["watch"])
    assert result.exit_code == 0, result.output
    assert "alert: credit-risk v1: watch rule hours" in result.output
    assert "1 watch alert(s) raised" in result.output
    receipts(session, version, [now.replace(hour=5)], outcome=False)  # after the first window
    session.commit()
    session.rollback()
    result = runner.invoke(args=["watch"])
    assert "0 watch alert(s) raised" in result.output  # judged already: nothing new since
    app.extensions["gatehouse"].clock.advance(hours=22)  # the next morning, before 07:00
    with app.extensions["gatehouse"].sessions() as later:
        receipts(later, version_of(later, served), [now + timedelta(hours=21)])
        later.commit()
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert "Watch alert: alert: credit-risk v1: watch rule hours" in result.output
    assert "watch alerts raised: 1 alert;" in result.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(WatchAlert)) == 2


def watch_table(**rules: Any) -> str:
    return "\n".join(f"[watch.{name}]\n" + "\n".join(f"{k} = {v}" for k, v in keys.items())
                     for name, keys in rules.items())


@pytest.mark.parametrize(("table", "key", "problem"), [
    (watch_table(hours={"start": '"19:00"', "end": '"07:00"', "min_receipts": 1,
                        "action": '"alert"'}), "watch.hours", "must come before"),
    (watch_table(hours={"start": '"7am"', "end": '"19:00"', "min_receipts": 1,
                        "action": '"alert"'}), "watch.hours.start", "time of day"),
    (watch_table(hours={"start": '"07:00"', "end": '"19:00"', "timezone": '"Mars/Olympus"',
                        "min_receipts": 1, "action": '"alert"'}), "watch.hours.timezone",
     "time zone"),
    (watch_table(volume={"factor": 3, "baseline_days": 28, "min_receipts": 5,
                         "action": '"email"'}), "watch.volume.action", "alert or suspend"),
    (watch_table(override_rate={"floor": 1.5, "last_outcomes": 10, "action": '"alert"'}),
     "watch.override_rate.floor", "between 0 and 1"),
    (watch_table(repeated_inputs={"max_repeats": 3}), "watch.repeated_inputs.action",
     "is missing"),
    (watch_table(repeated_inputs={"max_repeats": 3, "action": '"alert"', "every": 2}),
     "watch.repeated_inputs.every", "unknown key"),
    ("[watch]\nwindow_hours = 0", "watch.window_hours", "at least 1"),
    ("[watch]\nsoon = 3", "watch.soon", "unknown key"),
])
def test_a_bad_watch_table_names_the_key(tmp_path: Any, table: str, key: str,
                                         problem: str) -> None:
    from pathlib import Path

    from registry.governance.policy import PolicyError, load_policy

    text = (Path(__file__).parent.parent / "policies" / "default.toml").read_text()
    text = text[:text.index("[watch]")] + table + "\n"
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert f"bad.toml: {key}: " in str(caught.value) and problem in str(caught.value)


def test_working_hours_are_on_the_local_clock() -> None:
    from datetime import UTC, time

    from registry.governance.watch_policy import Hours

    rule = Hours(time(7), time(20), "Europe/London", 1, "alert")
    summer = [datetime(2026, 7, 1, h, 30, tzinfo=UTC) for h in (5, 6, 18, 19)]  # BST: +1
    winter = [datetime(2026, 12, 1, h, 30, tzinfo=UTC) for h in (6, 7, 19, 20)]  # GMT
    assert [m.hour for m in watch.outside_hours(summer, rule)] == [5, 19]
    assert [m.hour for m in watch.outside_hours(winter, rule)] == [6, 20]
