"""The Python client against a real local server: a data scientist registers a fitted pipeline
with its data in a few lines; officers approve; a frontline tool scores."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from flask import Flask

from gatehouse_client import Gatehouse, GatehouseError, infer_columns

from . import builders as b
from .chain import FEATURES, case, fitted
from .conftest import Api
from .live import serving
from .test_artefact_uploads import small_pipeline

PURPOSE = "credit_risk_research"


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield f"http://{url}"


def test_register_audit_approve_and_score(app: Flask, api: Api, live: str) -> None:
    sam = Gatehouse(live, api.tokens["sam"])
    olivia = Gatehouse(live, api.tokens["olivia"])
    dee = Gatehouse(live, api.tokens["dee"])
    frame = b.training_frame()

    # the data scientist's few lines
    dsa = sam.register_agreement(**b.agreement("DSA-77"))
    assert dsa["stages"] == {PURPOSE: ["development", "use"]}
    data, held_out = (sam.register_dataset(
        name, frame=part, title="German credit applicants",
        classification="personal", purpose=PURPOSE, label_column="credit",
        protected=sorted(b.PROTECTED), agreements=[dsa["id"]],
        descriptions={"duration": "Length of the loan in months"})
        for name, part in (("credit-data", frame), ("credit-held-out", b.evaluation_frame())))
    sam.register_model("credit-risk", **{k: v for k, v in b.model().items() if k != "name"})
    pipeline, _ = fitted("gbm")
    version = sam.register_version("credit-risk", pipeline, training=data, evaluation=held_out,
                                   background=data, label_column="credit",
                                   positive_label="good", stage="production",
                                   summary="Chance of repaying, 0 to 1.")
    audit = sam.run_bias_audit("credit-risk", version["number"], dataset=held_out)
    monitor = sam.configure_drift_monitor("credit-risk", version["number"], action="suspend")

    assert data["row_count"] == len(frame) and data["content_hash"]
    columns = {c["name"]: c for c in data["columns"]}
    assert columns["duration"]["type"] == "integer" and columns["sex"]["protected"]
    assert columns["purpose"]["type"] == "category" and "business" in columns["purpose"]["allowed"]
    assert columns["duration"]["description"] == "Length of the loan in months"
    assert version["number"] == 1 and version["explainer"] == "tree"
    assert version["self_check"]["max_score_error"] < 1e-9
    assert [f["name"] for f in version["feature_schema"]] == FEATURES
    assert audit["verdict"] == "pass" and monitor["action"] == "suspend"

    key = ("credit-risk", version["number"])
    gate = sam.gate("version", key)
    assert not gate["ready"]
    unmet = {r["id"] for r in gate["requirements"] if not r["met"]}
    assert unmet, gate  # the agreement, dataset, DPIA and model are not approved yet
    shown = str(gate)  # readable: each unmet requirement, what to do, what it waits on
    assert shown.startswith("not ready") and "✗" in shown and "waiting on" in shown

    # officers approve the chain; the DPO advises on the DPIA
    sam.submit("agreement", dsa)
    olivia.decide("agreement", dsa, "approve", "Checked")
    dpia = sam.register_dpia(**b.dpia("DPIA-77", dataset_ids=[data["id"], held_out["id"]],
                                      model_names=["credit-risk"]))
    dee.post(f"/api/v1/dpias/{dpia['id']}/dpo-advice", {"advice": "Proceed; audit quarterly."})
    olivia.post(f"/api/v1/dpias/{dpia['id']}/advice-response",
                {"accepted": True, "reason": "Agreed."})
    for kind, record in (("dpia", dpia), ("dataset", data), ("dataset", held_out),
                         ("model", "credit-risk"), ("version", key)):
        sam.submit(kind, record)
        olivia.decide(kind, record, "approve", "Checked")
    assert sam.gate("version", key)["ready"] is True
    assert sam.get_record("version", key)["state"] == "approved"

    # a frontline tool scores with its own token
    token = Gatehouse(live, api.tokens["ada"]).post("/api/v1/clients", {
        "name": "caseworker-app", "models": ["credit-risk"], "purposes": [PURPOSE]})["token"]
    with Gatehouse(live, token) as tool:
        result = tool.score("credit-risk", PURPOSE, case(3))
        row = pd.DataFrame([case(3)])[FEATURES].astype(
            {c: float for c in FEATURES if c in b.NUMERIC})
        assert abs(result["results"][0]["score"] - pipeline.predict_proba(row)[0, 1]) < 1e-9
        assert result["version"] == 1 and result["purpose"] == PURPOSE
        batch = tool.score("credit-risk", PURPOSE, instances=[case(i) for i in range(4)])
        assert len({r["receipt_id"] for r in batch["results"]}) == 4
        receipt = result["results"][0]["receipt_id"]
        outcome = tool.record_outcome(receipt, "accepted")
        assert outcome["outcome"] == "accepted" and outcome["overrode"] is False
        with pytest.raises(GatehouseError) as refused:
            tool.score("credit-risk", "service_planning", case(0))
        assert refused.value.status == 403 and "purpose" in refused.value.details
        with pytest.raises(GatehouseError) as refused:
            tool.score("credit-risk", PURPOSE, {**case(0), "duration": "long"})
        assert refused.value.status == 422 and "features.duration" in refused.value.details
    sam.close()


def test_refusals_raise_with_the_api_details(app: Flask, api: Api, live: str) -> None:
    sam = Gatehouse(live, api.tokens["sam"])
    sam.register_model("credit-risk", **{k: v for k, v in b.model().items() if k != "name"})
    with pytest.raises(GatehouseError) as refused:
        sam.register_version("credit-risk", small_pipeline(), training=[1], evaluation=[1],
                             background=1)
    assert refused.value.status == 422 and refused.value.code == "invalid"
    assert refused.value.details["offending_types"] == ["tests.test_artefact_uploads.shout"]
    with pytest.raises(GatehouseError) as refused:
        sam.register_model("Not A Slug", title="x", purpose=PURPOSE,
                           purpose_class="individual_case_work")
    assert refused.value.status == 422 and "name" in refused.value.details
    assert "\n  name: " in str(refused.value)  # the message says what is wrong with each field
    with pytest.raises(GatehouseError) as refused:  # a DPIA before its model: the reason shown
        sam.register_dpia("DPIA-1", "Credit risk", model_names=["no-such-model"])
    assert "model_names" in str(refused.value) and "no-such-model" in str(refused.value)
    with pytest.raises(GatehouseError) as refused:
        Gatehouse(live, "wrong").get("/api/v1/models")
    assert refused.value.status == 401
    with pytest.raises(GatehouseError) as refused:
        sam.gate("version", ("credit-risk", 9))
    assert refused.value.status == 404


def test_infer_columns() -> None:
    frame = pd.DataFrame({"n": [1, 2, None], "x": [0.5, 1.5, 2.5], "flag": [True, False, True],
                          "area": ["north", "south", np.nan]})
    columns = {c["name"]: c for c in infer_columns(frame, protected=["area"])}
    assert columns["n"]["type"] == "number" and columns["n"]["nullable"]  # NaN makes it float
    assert columns["x"]["type"] == "number" and not columns["x"]["nullable"]
    assert columns["flag"]["type"] == "boolean"
    assert columns["area"] == {"name": "area", "description": "", "protected": True,
                               "nullable": True, "type": "category",
                               "allowed": ["north", "south"]}
    with pytest.raises(ValueError, match="not columns"):
        infer_columns(frame, protected=["age"])
    assert Gatehouse.path("version", {"model": "m", "number": 2}) == "/api/v1/models/m/versions/2"
