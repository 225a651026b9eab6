"""The warm score's lane (registry/api/score_lane.py) answers as the Flask route does, and never
from a stale cache: a deactivated token, a suspension, a lapse or a refusal is seen by the very
next request."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, request_started
from sqlalchemy import func, select, update
from werkzeug.test import Client

from registry.records import ApiClient, LedgerEntry, ModelVersion, Organisation, ScoreReceipt

from .chain import build_chain, case
from .conftest import Api

PURPOSE = "credit_risk_research"


@contextmanager
def flask_requests(app: Flask) -> Iterator[list[str]]:
    """The paths of the requests Flask's own machinery handled meanwhile."""
    seen: list[str] = []

    def started(sender: Flask, **_: Any) -> None:
        from flask import request

        seen.append(request.path)

    request_started.connect(started, app)
    try:
        yield seen
    finally:
        request_started.disconnect(started, app)


def post(client: Any, url: str, token: str, body: dict[str, Any]) -> Any:
    return client.post(url, json=body, headers={"Authorization": f"Bearer {token}"})


def stored(app: Flask, receipt_id: str) -> dict[str, Any]:
    with app.extensions["gatehouse"].sessions() as session:
        receipt = session.get(ScoreReceipt, receipt_id)
        assert receipt is not None
        return {c: getattr(receipt, c) for c in (
            "model_version_id", "approval_id", "client_id", "purpose", "inputs_hash", "inputs",
            "inputs_expire_at", "score", "band", "explanation", "created_at")}


def test_the_lane_answers_a_warm_score_as_the_route_does(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    url, token = f"/api/v1/models/{chain.model}/score", chain.client_token
    client = app.test_client()
    with flask_requests(app) as handled:
        first = post(client, url, token, {"purpose": PURPOSE, "features": case(1)})
    assert first.status_code == 200 and handled == [url]  # cold: Flask, which fills the caches
    with flask_requests(app) as handled:
        lane = post(client, url, token, {"purpose": PURPOSE, "features": case(2)})
    assert lane.status_code == 200, lane.get_json()
    assert handled == []  # answered in front of Flask
    route = post(Client(app.wsgi_app.flask), url, token,  # type: ignore[attr-defined]
                 {"purpose": PURPOSE, "features": case(2)})
    assert route.status_code == 200
    assert sorted(lane.headers.items()) == sorted(route.headers.items())
    one, other = lane.get_json(), route.get_json()
    ids = [(r.pop("receipt_id"), r.pop("verify_code")) for r in one["results"] + other["results"]]
    assert one == other and len({i for i, _ in ids}) == 2
    # the same receipt, committed before the answer left (a session of its own reads it)
    assert stored(app, ids[0][0]) == stored(app, ids[1][0])
    # the lane's answer is the route's to the byte, but for the receipt's id and code
    assert len(lane.data) == len(route.data)
    # a batch too (its token looked up: the one-round-trip guard is one row's)
    body = {"purpose": PURPOSE, "instances": [case(5), case(6), case(7)]}
    with flask_requests(app) as handled:
        lane = post(client, url, token, body)
    assert lane.status_code == 200 and handled == []
    route = post(Client(app.wsgi_app.flask), url, token, body)  # type: ignore[attr-defined]
    assert sorted(lane.headers.items()) == sorted(route.headers.items())
    one, other = lane.get_json(), route.get_json()
    ids = [r.pop("receipt_id") for r in one["results"] + other["results"]]
    for r in one["results"] + other["results"]:
        r.pop("verify_code")
    assert one == other and len(one["results"]) == 3 and len(set(ids)) == 6
    assert [stored(app, i) for i in ids[:3]] == [stored(app, i) for i in ids[3:]]


def test_what_the_lane_does_not_serve_goes_to_the_route(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    url, token = f"/api/v1/models/{chain.model}/score", chain.client_token
    client = app.test_client()
    assert post(client, url, token, {"purpose": PURPOSE, "features": case(1)}).status_code == 200
    with flask_requests(app) as handled:
        bad = dict(case(2), duration="long")
        invalid = post(client, url, token, {"purpose": PURPOSE, "features": bad})
        unknown = post(client, url, token, {"purpose": PURPOSE, "features": case(2), "x": 1})
        batch = post(client, url, token,
                     {"purpose": PURPOSE, "instances": [case(2), dict(case(3), duration="long")]})
        wrong = post(client, url, "ghc_not-a-token", {"purpose": PURPOSE, "features": case(2)})
        text = client.post(url, data="{", content_type="application/json",
                           headers={"Authorization": f"Bearer {token}"})
        with_cookie = app.test_client()
        with_cookie.set_cookie("gatehouse_session", "anything")
        cookie = post(with_cookie, url, token, {"purpose": PURPOSE, "features": case(4)})
    assert invalid.status_code == 422 and "features.duration" in invalid.get_json()["error"][
        "details"]
    assert unknown.status_code == 422 and "x" in unknown.get_json()["error"]["details"]
    assert batch.status_code == 422 and list(batch.get_json()["error"]["details"]) == [
        "instances.1.duration"]
    assert wrong.status_code == 401 and text.status_code == 422
    assert cookie.status_code == 200
    assert handled == [url] * 6
    with app.extensions["gatehouse"].sessions() as session:
        assert session.scalar(select(func.count()).select_from(ScoreReceipt)) == 2


def test_the_lane_never_serves_from_a_stale_cache(app: Flask, api: Api, clock: Any) -> None:
    chain = build_chain(api)
    url, token = f"/api/v1/models/{chain.model}/score", chain.client_token
    client = app.test_client()
    services = app.extensions["gatehouse"]

    def score(row: int, purpose: str = PURPOSE) -> Any:
        return post(client, url, token, {"purpose": purpose, "features": case(row)})

    def refusals() -> int:
        with services.sessions() as session:
            return session.scalar(select(func.count()).select_from(LedgerEntry).where(
                LedgerEntry.action == "score_refused")) or 0

    assert score(1).status_code == 200
    with flask_requests(app) as handled:
        assert score(2).status_code == 200
    assert handled == []  # warm: the lane answers
    # a purpose the client may not use: refused, and on the ledger once
    before = refusals()
    refused = score(3, "service_planning")
    assert refused.status_code == 403 and refusals() == before + 1
    # a suspension is seen by the very next request
    api.post(f"/api/v1/agreements/{chain.agreement}/decisions", as_="gus",
             json={"decision": "suspend", "rationale": "Provider withdrew its permission"})
    suspended = score(4)
    assert suspended.status_code == 409, suspended.get_json()
    assert "suspended" in suspended.get_json()["error"]["message"]
    api.post(f"/api/v1/agreements/{chain.agreement}/decisions", as_="gus",
             json={"decision": "reinstate", "rationale": "Provider confirmed"})
    assert score(5).status_code == 200
    with flask_requests(app) as handled:
        assert score(6).status_code == 200
    assert handled == []  # warm again
    # the approval's lapse, by time alone (no ledger entry)
    clock.advance(days=400)
    lapsed = score(7)
    assert lapsed.status_code == 409 and "lapsed" in lapsed.get_json()["error"]["message"]
    batch = post(client, url, token, {"purpose": PURPOSE, "instances": [case(7), case(3)]})
    assert batch.status_code == 409  # a batch too: nothing is served from the warm caches
    clock.advance(days=-400)
    assert score(8).status_code == 200
    # a token made inactive straight in the database (no ledger entry either)
    with services.sessions() as session:
        session.execute(update(ApiClient).values(active=False))
        session.commit()
    assert score(9).status_code == 401
    batch = post(client, url, token, {"purpose": PURPOSE, "instances": [case(9), case(3)]})
    assert batch.status_code == 401
    with services.sessions() as session:
        served = session.scalar(select(func.count()).select_from(ScoreReceipt))
    assert served == 5  # rows 1, 2, 5, 6, 8


def test_an_error_after_the_receipt_is_answered_by_the_routes_handlers(app: Flask) -> None:
    """The database gone away at the receipt's insert, a refusal, a bug: Flask's error handlers
    and after-request hooks answer, as on the route (a 503 with Retry-After, never a bare 500)."""
    from sqlalchemy import exc
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    from registry.governance.actors import Actor
    from registry.serving.scoring import Refused

    lane = app.wsgi_app
    environ = EnvironBuilder(path="/api/v1/models/m/score", method="POST", json={},
                             headers={"Authorization": "Bearer ghc_x"}).get_environ()
    actor = Actor("client", 1, "app", organisation_id=1)
    answers = {}
    for error in (exc.OperationalError("INSERT", {}, Exception("gone")),
                  Refused("not allowed", {"purpose": ["not allowed"]}), ValueError("NaN")):
        body, status, headers = run_wsgi_app(lane._flask_error(error, actor),  # type: ignore[attr-defined]
                                             dict(environ))
        answers[type(error).__name__] = (status, headers, b"".join(body))
    status, headers, body = answers["OperationalError"]
    assert status.startswith("503") and headers["Retry-After"] == "5"
    assert b'"unavailable"' in body and headers["Cache-Control"] == "no-store"
    status, headers, body = answers["Refused"]
    assert status.startswith("403") and b'"forbidden"' in body
    status, headers, body = answers["ValueError"]
    assert status.startswith("500") and b'"internal"' in body
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_a_remembered_token_is_checked_against_its_client_in_the_same_statement(
        app: Flask, api: Api) -> None:
    """A worker remembers which client a token named (so a warm score makes one round trip).
    Changed straight in the database, with no ledger entry to move the head, the client is now
    another organisation's: the remembered one is not served, nothing is written, and the route
    answers as for that organisation (which has no such model)."""
    chain = build_chain(api)
    url, token = f"/api/v1/models/{chain.model}/score", chain.client_token
    client = app.test_client()
    services = app.extensions["gatehouse"]

    def receipts() -> int:
        with services.sessions() as session:
            return session.scalar(select(func.count()).select_from(ScoreReceipt)) or 0

    for row in (1, 2):  # the second is answered from the remembered token
        assert post(client, url, token, {"purpose": PURPOSE, "features": case(row)}
                    ).status_code == 200
    with services.sessions() as session:
        elsewhere = Organisation(name="Westvale District Council", slug="westvale",
                                 created_at=services.clock.now())
        session.add(elsewhere)
        session.flush()
        home = session.scalar(select(ApiClient.organisation_id))
        session.execute(update(ApiClient).values(organisation_id=elsewhere.id))
        session.commit()
    before = receipts()
    with flask_requests(app) as handled:
        moved = post(client, url, token, {"purpose": PURPOSE, "features": case(3)})
    assert moved.status_code in (403, 404), moved.get_json()
    assert handled == [url] and receipts() == before
    with services.sessions() as session:  # back home: served again
        session.execute(update(ApiClient).values(organisation_id=home))
        session.commit()
    assert post(client, url, token, {"purpose": PURPOSE, "features": case(4)}).status_code == 200
    assert receipts() == before + 1


def test_a_free_text_value_any_json_text_can_hold_is_scored_by_the_lane_and_the_route(
        app: Flask, api: Api) -> None:
    """A lone surrogate ("\\ud800") is text JSON can carry, and a feature with no list of
    categories takes any text: it is scored (200, its receipt sealed and opening to it), not
    a 500 from a JSON writer that cannot write it."""
    from registry.serving import verdicts

    chain = build_chain(api)
    url, token = f"/api/v1/models/{chain.model}/score", chain.client_token
    with app.extensions["gatehouse"].sessions() as session:
        version = session.scalar(select(ModelVersion).where(ModelVersion.number == chain.version))
        assert version is not None
        version.feature_schema = [  # "purpose": any text (the model ignores an unseen one)
            {k: v for k, v in f.items() if not (f["name"] == "purpose" and k == "allowed")}
            for f in version.feature_schema]
        session.commit()
    verdicts.clear()
    client = app.test_client()
    odd = dict(case(1), purpose="car \ud800")
    assert post(client, url, token, {"purpose": PURPOSE, "features": case(2)}).status_code == 200
    for body in ({"purpose": PURPOSE, "features": odd},
                 {"purpose": PURPOSE, "instances": [case(2), odd]}):
        with flask_requests(app) as handled:
            lane = post(client, url, token, body)
        assert lane.status_code == 200 and handled == [], lane.data[:300]
        route = post(Client(app.wsgi_app.flask), url, token, body)  # type: ignore[attr-defined]
        assert route.status_code == 200, route.data[:300]
        for answer in (lane, route):
            result = answer.get_json()["results"][-1]
            shown = {c["feature"]: c["value"] for c in result["explanation"]["contributions"]}
            assert shown["purpose"] == "car \ud800"
            assert stored(app, result["receipt_id"])["inputs"]["purpose"] == "car \ud800"
