"""A tool discovers what a case must hold: `GET /api/v1/models/<name>/schema`, and the same in
the Open Inference Protocol's model metadata."""

from __future__ import annotations

from flask import Flask

from . import builders as b
from .chain import FEATURES, build_chain, insert_client, ok
from .conftest import Api


def test_a_client_allowed_the_model_reads_its_inputs(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    schema = ok(api.get(f"/api/v1/models/{chain.model}/schema", as_="app"))
    assert schema["model"] == chain.model and schema["version"] == chain.version
    assert schema["purpose"] == "credit_risk_research"
    features = {f["name"]: f for f in schema["features"]}
    assert list(features) == FEATURES
    assert features["duration"] == {
        "name": "duration", "type": "integer", "datatype": "INT64", "description": "Duration",
        "allowed": None, "minimum": 0, "maximum": float(b.credit_frame()["duration"].max()) * 2,
        "nullable": True}
    assert features["purpose"]["allowed"] == sorted(b.credit_frame()["purpose"].unique())
    assert features["purpose"]["minimum"] is None
    # people who may read the model see the same
    assert ok(api.get(f"/api/v1/models/{chain.model}/schema", as_="sam")) == schema
    # the OIP v2 metadata carries each input's description, categories, range and nullability
    meta = ok(api.get(f"/v2/models/{chain.model}", as_="app"))
    inputs = {i["name"]: i for i in meta["inputs"]}
    assert inputs["duration"]["parameters"] == {
        k: v for k, v in features["duration"].items() if k not in ("name", "datatype")}


def test_other_tools_and_unknown_models_are_refused(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    api.tokens["other"] = insert_client(app, "other-app", ["some-other-model"],
                                        ["credit_risk_research"])
    status, body = api.get(f"/api/v1/models/{chain.model}/schema", as_="other")
    assert status == 403 and "model" in body["error"]["details"]
    status, _ = api.get(f"/api/v1/models/{chain.model}/schema", as_=None)
    assert status == 401
    status, body = api.get("/api/v1/models/no-such-model/schema", as_="sam")
    assert status == 404
