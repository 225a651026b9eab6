"""Serving: only a servable chain scores; explanations add up; receipts for every 200."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select, text

from registry.records import ModelVersion, ScoreReceipt

from . import builders as b
from .chain import FEATURES, build_chain, case, fitted
from .conftest import Api
from .shap_exact import exact_interventional

SCORE = {"purpose": "credit_risk_research"}


def receipts(app) -> int:
    with app.extensions["gatehouse"].sessions() as session:
        return session.scalar(select(func.count()).select_from(ScoreReceipt))


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[FEATURES].astype({c: float for c in FEATURES if c in b.NUMERIC})


def test_score_equals_pipeline_and_shap(app, api: Api) -> None:
    chain = build_chain(api)
    status, body = api.post(
        f"/api/v1/models/{chain.model}/score", as_="app", json={**SCORE, "features": case(3)}
    )
    assert status == 200, body
    result = body["results"][0]
    pipeline, _ = fitted("gbm")
    row = typed(pd.DataFrame([case(3)]))
    assert abs(result["score"] - pipeline.predict_proba(row)[0, 1]) < 1e-9
    explanation = result["explanation"]
    total = explanation["base_value"] + sum(c["contribution"] for c in explanation["contributions"])
    assert abs(total - explanation["explained_value"]) < 1e-6
    assert {c["feature"] for c in explanation["contributions"]} == set(FEATURES)
    sizes = [abs(c["contribution"]) for c in explanation["contributions"]]
    assert sizes == sorted(sizes, reverse=True)
    assert "not causes" in explanation["notice"]
    assert (
        body["approval_id"] and body["approved_until"]
        and result["band"] in ("low", "medium", "high")
    )
    # exact interventional SHAP against the chain's background (100 held-out rows, seed 0),
    # computed independently of shap, summed over each feature's one-hot columns
    assert explanation["scale"] == "probability"
    prep, model = pipeline.named_steps["prep"], pipeline.named_steps["model"]
    names = [n.split("__", 1)[1] for n in prep.get_feature_names_out()]
    background = prep.transform(typed(b.evaluation_frame()).sample(100, random_state=0))
    assert explanation["base_value"] == pytest.approx(
        model.predict_proba(background)[:, 1].mean(), abs=1e-12)
    direct = exact_interventional(model, background, prep.transform(row)[0])
    for feature in FEATURES:
        columns = [i for i, n in enumerate(names) if n == feature or n.startswith(feature + "_")]
        mine = next(
            c["contribution"] for c in explanation["contributions"] if c["feature"] == feature
        )
        assert abs(mine - direct[columns].sum()) < 1e-7, feature
    assert receipts(app) == 1


def test_bad_features_each_get_their_422(app, api: Api) -> None:
    chain = build_chain(api)
    features = case(0)
    features.pop("duration")
    features.update(
        shoe_size=9,
        credit_amount="lots",
        purpose="space travel",
        installment_rate=1_000_000,
        number_of_existing_credits=1.5,
    )
    status, body = api.post(
        f"/api/v1/models/{chain.model}/score", as_="app", json={**SCORE, "features": features}
    )
    assert status == 422
    details = body["error"]["details"]
    for field in (
        "duration",
        "shoe_size",
        "credit_amount",
        "purpose",
        "installment_rate",
        "number_of_existing_credits",
    ):
        assert f"features.{field}" in details, field
    assert details["features.duration"] == ["missing"]
    assert details["features.shoe_size"] == ["unknown feature"]
    assert "unseen category" in details["features.purpose"][0]
    assert "maximum" in details["features.installment_rate"][0]
    status, body = api.post(
        f"/api/v1/models/{chain.model}/score",
        as_="app",
        json={**SCORE, "instances": [case(0), {**case(1), "age_x": 1}]},
    )
    assert status == 422 and "instances.1.age_x" in body["error"]["details"]
    assert receipts(app) == 0


def test_wrong_purpose_or_caller_is_403_and_logged(app, api: Api) -> None:
    chain = build_chain(api)
    status, body = api.post(
        f"/api/v1/models/{chain.model}/score",
        as_="app",
        json={"purpose": "service_planning", "features": case(0)},
    )
    assert status == 403 and "purpose" in body["error"]["details"]
    status, _ = api.post(
        f"/api/v1/models/{chain.model}/score", as_="sam", json={**SCORE, "features": case(0)}
    )
    assert status == 403
    _, ledger = api.get("/api/v1/ledger?subject_kind=model", as_="audrey")
    assert any(e["action"] == "score_refused" for e in ledger["items"])
    assert receipts(app) == 0


def test_unapproved_suspended_and_lapsed_models_get_409_with_the_reason(
    app, api: Api, clock
) -> None:
    chain = build_chain(api, approve_version=False)
    url = f"/api/v1/models/{chain.model}/score"
    status, body = api.post(url, as_="app", json={**SCORE, "features": case(0)})
    assert status == 409 and "not servable" in body["error"]["message"]
    api.post(f"{chain.version_url}/submit")
    b.approve(api, chain.version_url)
    assert api.post(url, as_="app", json={**SCORE, "features": case(0)})[0] == 200
    api.post(
        f"/api/v1/agreements/{chain.agreement}/decisions",
        as_="gus",
        json={"decision": "suspend", "rationale": "Provider withdrew its permission"},
    )
    status, body = api.post(url, as_="app", json={**SCORE, "features": case(0)})
    assert status == 409
    assert 'agreement "DSA-credit-risk" is suspended' in body["error"]["message"]
    status, _ = api.post(
        f"/api/v1/agreements/{chain.agreement}/decisions",
        as_="gus",
        json={"decision": "reinstate", "rationale": "Provider confirmed"},
    )
    assert api.post(url, as_="app", json={**SCORE, "features": case(0)})[0] == 200
    clock.advance(days=400)  # past the one-year lease, with no job run
    status, body = api.post(url, as_="app", json={**SCORE, "features": case(0)})
    assert status == 409 and "lapsed on 2027-11-03" in body["error"]["message"]
    assert receipts(app) == 2


def test_batch_receipts_and_outcome(app, api: Api, clock) -> None:
    chain = build_chain(api)
    status, model = api.get(f"/api/v1/models/{chain.model}")
    assert status == 200 and model["versions"] == [1] and model["risk_tier"] == 1
    status, body = api.post(
        f"/api/v1/models/{chain.model}/score",
        as_="app",
        json={**SCORE, "instances": [case(i) for i in range(10)]},
    )
    assert status == 200 and len(body["results"]) == 10
    pipeline, _ = fitted("gbm")
    assert np.allclose(
        [r["score"] for r in body["results"]],
        pipeline.predict_proba(typed(b.credit_frame().iloc[:10]))[:, 1],
    )
    receipt = body["results"][0]["receipt_id"]
    status, got = api.get(f"/api/v1/receipts/{receipt}", as_="app")
    assert status == 200 and len(got["inputs_hash"]) == 64 and got["inputs"]["duration"] == 6
    status, err = api.post(
        f"/api/v1/receipts/{receipt}/outcome",
        as_="app",
        json={"outcome": "referred to panel", "overrode": True, "reason": "x"},
    )
    assert status == 422 and "accepted, overridden, no_action" in err["error"]["details"][
        "outcome"][0]
    status, err = api.post(
        f"/api/v1/receipts/{receipt}/outcome",
        as_="app",
        json={"outcome": "Overridden"},
    )
    assert status == 422 and "reason" in err["error"]["details"]
    status, got = api.post(
        f"/api/v1/receipts/{receipt}/outcome",
        as_="app",
        json={
            "outcome": "overridden",
            "reason": "Recent change of job not in the data",
        },
    )
    assert status == 200 and got["overrode"] is True
    assert api.get(f"/api/v1/receipts/{receipt}", as_="dee")[0] == 200
    assert api.get(f"/api/v1/receipts/{receipt}", as_="sam")[0] == 403
    assert receipts(app) == 10

    # Past the policy's retention the inputs are erased when read, before any sweep runs;
    # the hash and the rest of the receipt stay.
    clock.advance(days=app.extensions["gatehouse"].policy.retain_inputs_days + 1)
    status, got = api.get(f"/api/v1/receipts/{receipt}", as_="dee")
    assert status == 200 and got["inputs"] is None and len(got["inputs_hash"]) == 64
    assert got["outcome"] == "overridden"
    with app.extensions["gatehouse"].engine.connect() as connection:
        kept = connection.execute(text("SELECT inputs FROM score_receipts WHERE id = :id"),
                                  {"id": receipt}).scalar_one()
    assert kept is None


def test_tampered_artefact_is_refused_at_load(app, api: Api) -> None:
    from registry.serving import loaded

    chain = build_chain(api)
    services = app.extensions["gatehouse"]
    loaded.clear()
    with services.sessions() as session:
        path = services.store.path(session.scalars(select(ModelVersion)).one().artefact_path)
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    status, body = api.post(
        f"/api/v1/models/{chain.model}/score", as_="app", json={**SCORE, "features": case(0)}
    )
    assert status == 503 and "sha256" in body["error"]["message"]
    _, ledger = api.get("/api/v1/ledger?subject_kind=model_version", as_="audrey")
    assert any(e["action"] == "artefact_refused" for e in ledger["items"])
    assert receipts(app) == 0
    loaded.clear()


def test_an_outcome_is_corrected_with_a_reason_and_its_history_kept(api: Api) -> None:
    chain = build_chain(api)
    status, body = api.post(f"/api/v1/models/{chain.model}/score", as_="app",
                            json={"purpose": "credit_risk_research",
                                  "features": case(0)})
    assert status == 200, body
    receipt = body["results"][0]["receipt_id"]
    url = f"/api/v1/receipts/{receipt}/outcome"
    # nothing to correct yet
    status, err = api.post(f"{url}/corrections", as_="app",
                           json={"outcome": "accepted", "correction_reason": "typo"})
    assert status == 409 and "report it first" in err["error"]["message"]
    assert api.post(url, as_="app", json={"outcome": "accepted"})[0] == 200
    status, err = api.post(url, as_="app", json={"outcome": "no_action"})
    assert status == 409 and "corrections" in err["error"]["message"]
    status, err = api.post(f"{url}/corrections", as_="app", json={"outcome": "no_action"})
    assert status == 422 and "correction_reason" in err["error"]["details"]
    status, err = api.post(f"{url}/corrections", as_="app",
                           json={"outcome": "filed", "correction_reason": "wrong button"})
    assert status == 422 and "one of: accepted" in err["error"]["details"]["outcome"][0]
    # only the tool that asked for the score corrects it
    assert api.post(f"{url}/corrections", as_="sam", json={
        "outcome": "no_action", "correction_reason": "x"})[0] in (403, 404)
    status, got = api.post(f"{url}/corrections", as_="app", json={
        "outcome": "overridden", "reason": "The family had moved",
        "correction_reason": "The caseworker pressed the wrong button"})
    assert status == 200 and got["outcome"] == "overridden" and got["overrode"] is True
    assert [(h["outcome"], h["correction_reason"]) for h in got["outcome_history"]] == [
        ("accepted", None), ("overridden", "The caseworker pressed the wrong button")]
    schema = api.get(f"/api/v1/models/{chain.model}/schema", as_="app")[1]
    assert schema["outcomes"] == ["accepted", "overridden", "no_action"]
