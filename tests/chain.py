"""Build a fully approved chain through the API: agreement → datasets → DPIA → model → version,
with a real gradient-boosting pipeline trained on 700 german_credit rows, evaluated and audited
on every protected attribute of the other 300 (a dataset of their own), and a drift monitor."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from registry.governance import people
from registry.records import ApiClient, Organisation

from . import builders as b
from .conftest import Api

FEATURES = [c for c in b.credit_frame().columns if c not in b.PROTECTED | {"credit"}]


@lru_cache(maxsize=4)
def fitted(kind: str = "gbm") -> tuple[Any, bytes]:
    """A fitted pipeline and its skops bytes (cached: fitting once per test run)."""
    import skops.io as sio
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = b.training_frame()
    numeric = [c for c in FEATURES if c in b.NUMERIC]
    categorical = [c for c in FEATURES if c not in b.NUMERIC]
    X = frame[FEATURES].copy()
    X[numeric] = X[numeric].astype(float)
    y = (frame["credit"] == "good").astype(int)
    estimator = {
        "gbm": GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0),
        "logistic": LogisticRegression(max_iter=1000),
        "forest": RandomForestClassifier(n_estimators=300, max_depth=None, random_state=0),
    }[kind]
    pipeline = Pipeline(
        [
            (
                "prep",
                ColumnTransformer(
                    [
                        ("num", StandardScaler(), numeric),
                        (
                            "cat",
                            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                            categorical,
                        ),
                    ]
                ),
            ),
            ("model", estimator),
        ]
    ).fit(X, y)
    return pipeline, sio.dumps(pipeline)


@dataclass
class Chain:
    agreement: int
    dataset: int  # the training data
    evaluation: int  # the evaluation data
    dpia: int
    model: str
    version: int
    client_token: str

    @property
    def version_url(self) -> str:
        return f"/api/v1/models/{self.model}/versions/{self.version}"


def ok(result: tuple[int, Any], status: int = 200) -> Any:
    code, body = result
    assert code == status, body
    return body


def build_chain(api: Api, **options: Any) -> Chain:
    """The chain below, built once per test session for each set of options (and payloads of
    tests/builders.py) on a fresh database; later tests get a copy of its records and files.
    Fitting, uploading and auditing are what the tests of those steps prove, not every test
    that needs a chain to stand on."""
    model_over = {k: v for k, v in options.items() if k not in _CHAIN_OPTIONS}
    key = ("build_chain", repr(sorted(options.items())),
           b.chain_payloads(options.get("name", "credit-risk"), **model_over))
    chain = b.reuse(api.client.application, key, lambda: _build_chain(api, **options))
    if chain.client_token:
        api.tokens["app"] = chain.client_token
    return chain


_CHAIN_OPTIONS = {"approve_version", "kind", "name", "action", "stage"}


def _build_chain(
    api: Api,
    *,
    approve_version: bool = True,
    kind: str = "gbm",
    name: str = "credit-risk",
    action: str = "suspend",
    stage: str = "production",
    **model_over: Any,
) -> Chain:
    agreement = ok(api.post("/api/v1/agreements", json=b.agreement(f"DSA-{name}")), 201)
    ok(api.post(f"/api/v1/agreements/{agreement['id']}/submit"))
    b.approve(api, f"/api/v1/agreements/{agreement['id']}")
    dataset = ok(
        api.post(
            "/api/v1/datasets", json=b.dataset(f"{name}-data", agreement_ids=[agreement["id"]])
        ),
        201,
    )
    ok(b.upload_csv(api, dataset["id"], b.credit_csv(b.training_frame())))
    held_out = ok(
        api.post(
            "/api/v1/datasets",
            json=b.dataset(f"{name}-eval", agreement_ids=[agreement["id"]],
                           description="300 loan applicants held out from training"),
        ),
        201,
    )
    ok(b.upload_csv(api, held_out["id"], b.credit_csv(b.evaluation_frame())))
    ok(api.post("/api/v1/models", json=b.model(name, **model_over)), 201)
    dpia = ok(
        api.post(
            "/api/v1/dpias",
            json=b.dpia(f"DPIA-{name}", dataset_ids=[dataset["id"], held_out["id"]],
                        model_names=[name]),
        ),
        201,
    )
    ok(
        api.post(
            f"/api/v1/dpias/{dpia['id']}/dpo-advice",
            as_="dee",
            json={"advice": "Proceed; audit age and foreign-worker groups quarterly."},
        )
    )
    ok(
        api.post(
            f"/api/v1/dpias/{dpia['id']}/advice-response",
            as_="olivia",
            json={"accepted": True, "reason": "Agreed; quarterly audits scheduled."},
        )
    )
    ok(api.post(f"/api/v1/dpias/{dpia['id']}/submit"))
    b.approve(api, f"/api/v1/dpias/{dpia['id']}")
    for data in (dataset, held_out):
        ok(api.post(f"/api/v1/datasets/{data['id']}/submit"))
        b.approve(api, f"/api/v1/datasets/{data['id']}")
    ok(api.post(f"/api/v1/models/{name}/submit"))
    b.approve(api, f"/api/v1/models/{name}")
    _, artefact = fitted(kind)
    metadata = {
        "training_dataset_ids": [dataset["id"]],
        "evaluation_dataset_ids": [held_out["id"]],
        # 100 held-out rows: explanations add up against a background the model never saw
        "background": {"dataset_id": held_out["id"], "rows": 100, "seed": 0},
        "label_column": "credit",
        "positive_label": "good",
        "threshold": 0.5,
        "stage": stage,
        "summary": "Chance of repaying, 0 to 1.",
    }
    if stage == "pilot":
        metadata.update(pilot_end_date=b.date_str(60), pilot_case_cap=5)
    version = ok(b.upload_version(api, name, artefact, metadata), 201)
    url = f"/api/v1/models/{name}/versions/{version['number']}"
    job = ok(
        api.post(
            f"{url}/bias-audits", json={"dataset_id": held_out["id"]}
        ),
        202,
    )
    assert ok(api.get(f"/api/v1/jobs/{job['id']}"))["state"] == "succeeded"
    ok(api.post(f"{url}/drift-monitor", json={"action": action}), 201)
    token = ""
    if model_over.get("purpose_class", "individual_case_work") == "individual_case_work":
        # a model for aggregate analysis is given to no frontline client
        token = ok(
            api.post(
                "/api/v1/clients",
                as_="ada",
                json={
                    "name": f"{name}-caseworker-app",
                    "models": [name],
                    "purposes": ["credit_risk_research"],
                },
            ),
            201,
        )["token"]
        api.tokens["app"] = token
    if approve_version:
        ok(api.post(f"{url}/submit"))
        b.approve(api, url)
    return Chain(agreement["id"], dataset["id"], held_out["id"], dpia["id"], name,
                 version["number"], token)


def accept_proposal(api: Api, version_url: str, kind: str, evidence_id: int,
                    as_: str = "olivia") -> Any:
    """An officer accepts a change proposed to a version in use."""
    return ok(api.post(f"{version_url}/proposals/{kind}/{evidence_id}", as_=as_,
                       json={"decision": "accept", "rationale": "Reviewed the change; agreed."}))


def insert_client(app: Any, name: str, models: list[str], purposes: list[str]) -> str:
    """A client written straight to the database, bypassing the checks of its creation (as
    one created before they existed); its token."""
    services = app.extensions["gatehouse"]
    token, digest = people.new_token(people.CLIENT_TOKEN)
    with services.sessions() as session:
        session.add(ApiClient(name=name, models=models, purposes=purposes, token_hash=digest,
                              organisation_id=session.scalars(select(Organisation.id)).first(),
                              created_at=services.clock.now()))
        session.commit()
    return token


def case(row: int = 0) -> dict[str, Any]:
    """One applicant's features as a frontline tool would send them."""
    record = b.credit_frame().iloc[row]
    return {c: (int(record[c]) if c in b.NUMERIC else str(record[c])) for c in FEATURES}


def csv_bytes(frame: Any) -> io.BytesIO:
    return io.BytesIO(frame.to_csv(index=False).encode())
