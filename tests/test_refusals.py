"""A client cannot grow the ledger at will with refused score calls: a purpose is bounded,
repeated refusals are summarised with their count, and past a limit per client they are
answered 429 — while the calls that are served are never limited."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from registry.governance.refusals import WINDOW
from registry.platform.clock import FrozenClock
from registry.records import RefusalTally

from . import builders as b
from .chain import build_chain, case, ok
from .conftest import Api

WRONG = {"purpose": "service_planning"}  # not the tool's purpose: refused, and logged
RIGHT = {"purpose": "credit_risk_research"}


def refusals(api: Api) -> list[dict[str, Any]]:
    ledger = ok(api.get("/api/v1/ledger?per_page=500", as_="audrey"))
    return [e["change"] for e in ledger["items"] if e["action"] == "score_refused"]


def counted(entries: list[dict[str, Any]]) -> int:
    return sum(e.get("refusals", 1) for e in entries)


def score(api: Api, model: str, body: dict[str, Any]) -> tuple[int, Any]:
    return api.post(f"/api/v1/models/{model}/score", as_="app",
                    json={**body, "features": case(0)})


def test_a_long_purpose_is_refused_naming_the_field_and_not_logged(api: Api) -> None:
    chain = build_chain(api)
    status, body = score(api, chain.model, {"purpose": "x" * 5000})
    assert status == 422 and "purpose" in body["error"]["details"], body
    status, body = api.post(f"/v2/models/{chain.model}/infer", as_="app", json={
        "parameters": {"purpose": "x" * 5000},
        "inputs": [{"name": "age", "datatype": "INT64", "shape": [1], "data": [30]}]})
    assert status == 422 and "parameters.purpose" in body["details"], body
    assert refusals(api) == []


def test_fifty_refusals_make_two_entries_that_count_fifty_and_the_limit_answers_429(
        app: Flask, api: Api) -> None:
    chain = build_chain(api)
    answers = [score(api, chain.model, WRONG) for _ in range(49)]
    assert [status for status, _ in answers] == [403] * 30 + [429] * 19  # 30 per minute
    error = answers[-1][1]["error"]
    assert error["code"] == "rate_limited" and "30 per minute" in error["message"], error
    assert error["details"] == {"limit": ["30 per minute refused score calls per client"]}
    fiftieth = app.test_client().post(f"/v2/models/{chain.model}/infer", json={
        "parameters": WRONG,
        "inputs": [{"name": "age", "datatype": "INT64", "shape": [1], "data": [30]}]},
        headers={"Authorization": f"Bearer {api.tokens['app']}"})
    body = fiftieth.get_json()
    assert fiftieth.status_code == 429 and body["code"] == "rate_limited", body
    assert "30 per minute" in body["error"] and 1 <= int(fiftieth.headers["Retry-After"]) <= 60

    # served calls are never limited by the refusals, and never counted
    assert [score(api, chain.model, RIGHT)[0] for _ in range(3)] == [200] * 3
    with app.extensions["gatehouse"].sessions() as session:  # the count is in the database
        tally = session.scalars(select(RefusalTally)).one()
        assert tally.pending == 49 and tally.reason == "not allowed: purpose"
    assert [e.get("refusals", 1) for e in refusals(api)] == [1]

    ok(api.post("/api/v1/models", json=b.model("another")), 201)  # the next other entry
    logged = refusals(api)
    assert len(logged) == 2 and counted(logged) == 50, logged
    assert logged[1]["summary"].startswith("49 further refusals (not allowed: purpose)")
    assert logged[1]["latest"]["purpose"] == "service_planning"


def test_a_refusal_after_the_window_closes_summarises_the_last_one(api: Api,
                                                                   clock: FrozenClock) -> None:
    chain = build_chain(api)
    for _ in range(3):
        assert score(api, chain.model, WRONG)[0] == 403
    clock.advance(seconds=WINDOW.total_seconds())
    assert score(api, chain.model, WRONG)[0] == 403
    logged = refusals(api)
    assert [e.get("refusals", 1) for e in logged] == [1, 2, 1], logged
    assert "purpose" in logged[2] and "summary" not in logged[2]  # logged in full again


def test_refusals_of_other_kinds_are_each_logged(api: Api) -> None:
    chain = build_chain(api)
    assert score(api, chain.model, WRONG)[0] == 403
    assert score(api, "another-model", RIGHT)[0] == 403
    status, body = api.post(f"/api/v1/models/{'m' * 79}/score", as_="app",
                            json={**RIGHT, "features": case(0)})
    assert status == 403
    assert score(api, "m" * 5000, RIGHT)[0] == 404  # no model has so long a name
    assert len(refusals(api)) == 3


def test_a_feature_beyond_any_number_is_refused_naming_it(api: Api) -> None:
    chain = build_chain(api)
    features = case(0)
    name = next(k for k, v in features.items() if isinstance(v, int) and not isinstance(v, bool))
    status, body = api.post(f"/api/v1/models/{chain.model}/score", as_="app",
                            json={**RIGHT, "features": {**features, name: 10**400}})
    assert status == 422, body
    assert body["error"]["details"] == {f"features.{name}": ["beyond the range of any number"]}
