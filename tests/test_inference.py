"""The Open Inference Protocol (v2) with an unmodified standard client (tritonclient's HTTP
client) against a real local server; and what one score request costs the database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tritonclient.http as httpclient
from flask import Flask
from sqlalchemy import event, func, select
from tritonclient.utils import InferenceServerException

from registry.platform import db
from registry.records import ScoreReceipt
from registry.serving import tokens

from . import builders as b
from .chain import FEATURES, Chain, build_chain, case
from .conftest import Api
from .live import serving

PURPOSE = "credit_risk_research"


def receipts(app: Flask) -> int:
    with app.extensions["gatehouse"].sessions() as session:
        return session.scalar(select(func.count()).select_from(ScoreReceipt)) or 0


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


def triton(url: str) -> Any:
    return httpclient.InferenceServerClient(url=url, connection_timeout=30, network_timeout=60)


def auth(chain: Chain) -> dict[str, str]:
    return {"Authorization": f"Bearer {chain.client_token}"}


def inputs(rows: list[dict[str, Any]], *, binary: bool, integers: str = "INT64") -> list[Any]:
    """One InferInput per feature: BYTES for categories, INT64 (or FP64) for numbers."""
    tensors = []
    for name in FEATURES:
        if name in b.NUMERIC:
            dtype = np.int64 if integers == "INT64" else np.float64
            data = np.array([r[name] for r in rows], dtype=dtype)
            tensor = httpclient.InferInput(name, [len(rows)], integers)
        else:
            data = np.array([r[name].encode() for r in rows], dtype=np.object_)
            tensor = httpclient.InferInput(name, [len(rows)], "BYTES")
        tensor.set_data_from_numpy(data, binary_data=binary)
        tensors.append(tensor)
    return tensors


def rest_score(api: Api, chain: Chain, row: dict[str, Any]) -> dict[str, Any]:
    status, body = api.post(f"/api/v1/models/{chain.model}/score", as_="app",
                            json={"purpose": PURPOSE, "features": row})
    assert status == 200, body
    return body["results"][0]


def test_health_and_metadata(app: Flask, api: Api, live: str) -> None:
    chain = build_chain(api)
    client = triton(live)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(chain.model, headers=auth(chain))
    assert client.get_server_metadata(headers=auth(chain))["extensions"] == ["binary_tensor_data"]
    meta = client.get_model_metadata(chain.model, headers=auth(chain))
    assert meta["name"] == chain.model and meta["versions"] == [str(chain.version)]
    assert [i["name"] for i in meta["inputs"]] == FEATURES
    kinds = {i["name"]: i["datatype"] for i in meta["inputs"]}
    assert kinds["duration"] == "INT64" and kinds["purpose"] == "BYTES"
    outputs = {o["name"]: o for o in meta["outputs"]}
    assert outputs["contributions"]["shape"] == [-1, len(FEATURES)]
    assert client.get_model_metadata(chain.model, str(chain.version),
                                     headers=auth(chain))["name"] == chain.model
    with pytest.raises(InferenceServerException) as refused:
        client.get_model_metadata(chain.model)  # no token
    assert refused.value.status() == "401"
    client.close()


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_infer_matches_rest(app: Flask, api: Api, live: str, binary: bool) -> None:
    chain = build_chain(api)
    client = triton(live)
    rows = [case(3)]
    result = client.infer(chain.model, inputs(rows, binary=binary),
                          parameters={"purpose": PURPOSE}, headers=auth(chain))
    rest = rest_score(api, chain, case(3))
    score = result.as_numpy("score")
    assert score.shape == (1,) and abs(float(score[0]) - rest["score"]) < 1e-12
    receipt = result.as_numpy("receipt_id")
    assert receipt.shape == (1,) and len(receipt[0].decode()) == 36
    assert receipt[0].decode() != rest["receipt_id"]
    contributions = result.as_numpy("contributions")
    assert contributions.shape == (1, len(FEATURES))
    output = result.get_output("contributions")
    assert output["parameters"]["features"].split(",") == FEATURES
    expected = {c["feature"]: c["contribution"] for c in rest["explanation"]["contributions"]}
    assert np.allclose(contributions[0], [expected[f] for f in FEATURES], rtol=0, atol=1e-12)
    base = float(result.as_numpy("base_value")[0])
    assert abs(base + contributions[0].sum() - float(score[0])) < 1e-6  # probability scale
    assert result.as_numpy("band")[0].decode() == rest["band"]
    response = result.get_response()
    assert response["model_version"] == str(chain.version)
    assert response["parameters"]["purpose"] == PURPOSE
    assert "not causes" in response["parameters"]["notice"]
    status, stored = api.get(f"/api/v1/receipts/{receipt[0].decode()}", as_="app")
    assert status == 200 and abs(stored["score"] - rest["score"]) < 1e-12
    assert receipts(app) == 2
    client.close()


def test_batch_requested_outputs_floats_and_compression(app: Flask, api: Api, live: str) -> None:
    chain = build_chain(api)
    client = triton(live)
    rows = [case(i) for i in range(5)]
    wanted = [httpclient.InferRequestedOutput("score", binary_data=True),
              httpclient.InferRequestedOutput("explanation", binary_data=False)]
    result = client.infer(chain.model, inputs(rows, binary=True, integers="FP64"),
                          outputs=wanted, parameters={"purpose": PURPOSE}, headers=auth(chain),
                          request_compression_algorithm="gzip", request_id="case-batch-1")
    assert result.get_response()["id"] == "case-batch-1"
    assert [o["name"] for o in result.get_response()["outputs"]] == ["score", "explanation"]
    assert result.as_numpy("receipt_id") is None
    _, body = api.post(f"/api/v1/models/{chain.model}/score", as_="app",
                       json={"purpose": PURPOSE, "instances": rows})
    assert np.allclose(result.as_numpy("score"), [r["score"] for r in body["results"]],
                       rtol=0, atol=1e-12)
    assert len(result.as_numpy("explanation")) == 5
    # pinning the version through the URL, and deflate
    pinned = client.infer(chain.model, inputs(rows[:1], binary=False), str(chain.version),
                          parameters={"purpose": PURPOSE}, headers=auth(chain),
                          request_compression_algorithm="deflate")
    assert pinned.get_response()["model_version"] == str(chain.version)
    assert receipts(app) == 11
    client.close()


def test_refusals_reach_the_client(app: Flask, api: Api, live: str) -> None:
    chain = build_chain(api, approve_version=False)
    client = triton(live)
    assert not client.is_model_ready(chain.model, headers=auth(chain))
    with pytest.raises(InferenceServerException) as refused:
        client.infer(chain.model, inputs([case(0)], binary=True),
                     parameters={"purpose": PURPOSE}, headers=auth(chain))
    assert refused.value.status() == "409" and "not servable" in str(refused.value)
    api.post(f"{chain.version_url}/submit")
    b.approve(api, chain.version_url)
    assert client.is_model_ready(chain.model, headers=auth(chain))
    cases = {
        "403": ({"purpose": "service_planning"}, auth(chain)),
        "422": ({}, auth(chain)),
        "401": ({"purpose": PURPOSE}, {"Authorization": "Bearer not-a-token"}),
    }
    for status, (parameters, headers) in cases.items():
        with pytest.raises(InferenceServerException) as refused:
            client.infer(chain.model, inputs([case(0)], binary=True), parameters=parameters,
                         headers=headers)
        assert refused.value.status() == status
    bad = inputs([case(0)], binary=True)
    bad[0] = httpclient.InferInput("shoe_size", [1], "INT64")
    bad[0].set_data_from_numpy(np.array([9], dtype=np.int64))
    with pytest.raises(InferenceServerException) as refused:
        client.infer(chain.model, bad, parameters={"purpose": PURPOSE}, headers=auth(chain))
    assert refused.value.status() == "422" and "shoe_size" in str(refused.value)
    assert receipts(app) == 0
    client.close()


def test_malformed_binary_bodies_are_422(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    header = (b'{"inputs":[{"name":"duration","datatype":"INT64","shape":[1],'
              b'"parameters":{"binary_data_size":8}}],"parameters":{"purpose":"x"}}')
    for body, length in ((header + b"\x01\x02", len(header)),  # too short for its size
                         (header + b"\x00" * 8, len(header) + 100),  # header beyond body
                         (header + b"\x00" * 12, len(header))):  # bytes left over
        status, err = api.post(f"/v2/models/{chain.model}/infer", as_="app", data=body,
                               headers={"Inference-Header-Content-Length": str(length)})
        assert status == 422, err
    status, err = api.post(f"/v2/models/{chain.model}/versions/x/infer", as_="app",
                           json={"inputs": [{"name": "a", "data": [1]}],
                                 "parameters": {"purpose": PURPOSE}})
    assert status == 422 and "version" in err["details"] and "version" in err["error"]
    assert err["code"] == "invalid"  # the protocol's {"error": message}, with Gatehouse's detail
    assert receipts(app) == 0


# --- what a score request costs -------------------------------------------------------------


class Statements:
    """Counts the SQL statements the engine sends (those sent straight to the driver too)."""

    def __init__(self, app: Flask) -> None:
        self.engine = app.extensions["gatehouse"].engine
        self.seen: list[str] = []

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(statement)

    def _driver(self, _raw: Any, statement: str, _rows: int) -> None:
        self.seen.append(statement)

    def work(self) -> list[str]:
        """The statements other than SQLite's BEGINs."""
        return [s for s in self.seen if not s.lstrip().upper().startswith("BEGIN")]

    def __enter__(self) -> Statements:
        event.listen(self.engine, "before_cursor_execute", self._count)
        db.observers.append(self._driver)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)
        db.observers.remove(self._driver)


def test_a_warm_score_costs_a_few_statements_and_suspension_bites_next(app: Flask,
                                                                        api: Api) -> None:
    chain = build_chain(api)
    url = f"/api/v1/models/{chain.model}/score"
    assert api.post(url, as_="app", json={"purpose": PURPOSE, "features": case(0)})[0] == 200
    tokens.clear()  # a token this process has not seen yet
    for row in range(1, 4):
        with Statements(app) as sql:
            status, _ = api.post(url, as_="app", json={"purpose": PURPOSE, "features": case(row)})
        assert status == 200
        # unseen: the client's token with the ledger head, then the receipt; seen: the receipt
        # alone, its INSERT checking the token and the head (SQLite adds BEGINs)
        expected = ["SELECT", "INSERT"] if row == 1 else ["INSERT"]
        assert [s.split()[0].upper() for s in sql.work()] == expected, sql.seen
        assert "api_clients" in sql.work()[0] and "ledger_head" in sql.work()[0]
        assert "users" not in sql.work()[0]
    with Statements(app) as sql:
        status, _ = api.post(url, as_="app",
                             json={"purpose": PURPOSE, "instances": [case(i) for i in range(20)]})
    assert status == 200 and len(sql.work()) == 2, sql.seen
    with Statements(app) as sql:
        status, _ = api.post(f"/v2/models/{chain.model}/infer", as_="app", json={
            "parameters": {"purpose": PURPOSE},
            "inputs": [{"name": k, "datatype": "BYTES" if isinstance(v, str) else "INT64",
                        "shape": [1], "data": [v]} for k, v in case(7).items()]})
    assert status == 200 and len(sql.work()) == 2, sql.seen

    status, _ = api.post(f"{chain.version_url}/decisions", as_="gus",
                         json={"decision": "suspend", "rationale": "Complaint under review"})
    assert status == 201
    status, body = api.post(url, as_="app", json={"purpose": PURPOSE, "features": case(0)})
    assert status == 409 and "suspended" in body["error"]["message"]
    api.post(f"{chain.version_url}/decisions", as_="gus",
             json={"decision": "reinstate", "rationale": "Complaint answered"})
    assert api.post(url, as_="app", json={"purpose": PURPOSE, "features": case(0)})[0] == 200
    # an upstream lapse bites at once too
    api.post(f"/api/v1/agreements/{chain.agreement}/decisions", as_="gus",
             json={"decision": "suspend", "rationale": "Provider withdrew its permission"})
    status, body = api.post(url, as_="app", json={"purpose": PURPOSE, "features": case(0)})
    assert status == 409 and "DSA-credit-risk" in body["error"]["message"]
    assert receipts(app) == 1 + 3 + 20 + 1 + 1
