"""Valid payloads for every record kind, and a helper that builds an approved chain via the API."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, TypeVar

import pandas as pd

from .conftest import FIXTURES, START, Api

TODAY = START.date()
OLIVIA_ID = 3  # the governance officer's user id: conftest.PEOPLE's order, ids restarted
CREDIT = FIXTURES / "german_credit.csv"
NUMERIC = [
    "duration",
    "credit_amount",
    "installment_rate",
    "present_residence_since",
    "age",
    "number_of_existing_credits",
    "number_of_people_liable_for",
]
PROTECTED = {"sex", "age", "foreign_worker", "status_sex"}


def agreement(reference: str = "DSA-12", **over: Any) -> dict[str, Any]:
    body = {
        "reference": reference,
        "title": "Credit bureau records for credit-risk research",
        "provider": "Statlog Bureau",
        "recipient": "Northmere Borough Council",
        "controllers": ["Northmere Borough Council"],
        "legal_basis": "public_task",
        "special_category": False,
        "statutory_gateway": "Local Government Act 2000 s.2 (well-being power)",
        "purposes": ["credit_risk_research"],
        "stages": {"credit_risk_research": ["development", "use"]},
        "data_categories": ["financial standing", "employment", "age"],
        "start_date": str(TODAY - timedelta(days=30)),
        "end_date": str(TODAY + timedelta(days=700)),
        "review_date": str(TODAY + timedelta(days=300)),
        "retention": "Deleted 12 months after the research ends",
        "signatories": [
            {"name": "R. Khan", "role": "Head of Data", "organisation": "Statlog Bureau"},
            {"name": "J. Ellis", "role": "SIRO", "organisation": "Northmere Borough Council"},
        ],
    }
    body.update(over)
    if "purposes" in over and "stages" not in over:  # what a permitted purpose meant before
        body["stages"] = {p: ["development", "use"] for p in body["purposes"]}
    return body


@lru_cache(maxsize=1)
def credit_frame() -> pd.DataFrame:
    return pd.read_csv(CREDIT)


TRAINING_ROWS = 700  # the first 700 applicants train the model; the other 300 evaluate it


def training_frame() -> pd.DataFrame:
    return credit_frame().iloc[:TRAINING_ROWS].reset_index(drop=True)


def evaluation_frame() -> pd.DataFrame:
    return credit_frame().iloc[TRAINING_ROWS:].reset_index(drop=True)


def credit_columns() -> list[dict[str, Any]]:
    frame = credit_frame()
    columns = []
    for name in frame.columns:
        numeric = name in NUMERIC
        col: dict[str, Any] = {
            "name": name,
            "type": "integer" if numeric else "category",
            "description": name.replace("_", " ").capitalize(),
            "protected": name in PROTECTED,
        }
        if numeric:
            col["minimum"], col["maximum"] = 0, float(frame[name].max()) * 2
        else:
            col["allowed"] = sorted(frame[name].unique().tolist())
        columns.append(col)
    return columns


def dataset(
    name: str = "german-credit", agreement_ids: list[int] | None = None, **over: Any
) -> dict[str, Any]:
    body = {
        "name": name,
        "title": "German credit applicants (Statlog)",
        "description": "1,000 loan applicants with their repayment outcome",
        "data_owner": "Statlog Bureau",
        "steward": "Northmere data team",
        "classification": "personal",
        "purpose": "credit_risk_research",
        "label_column": "credit",
        "columns": credit_columns(),
        "agreement_ids": agreement_ids or [],
    }
    body.update(over)
    return body


def credit_csv(frame: pd.DataFrame | None = None) -> bytes:
    return (credit_frame() if frame is None else frame).to_csv(index=False).encode()


def dpia(
    reference: str = "DPIA-7",
    dataset_ids: list[int] | None = None,
    model_names: list[str] | None = None,
    **over: Any,
) -> dict[str, Any]:
    body = {
        "reference": reference,
        "title": "Credit-risk research model",
        "need": "Screening: large-scale profiling of applicants; a DPIA is required.",
        "processing": "Applicant records are used to fit and audit a model; no one is contacted.",
        "consultation": "Consulted the DPO, the research ethics panel and a residents' panel.",
        "necessity": "Public task; data minimised to the variables needed; pseudonymised.",
        "risks": [
            {
                "description": "Model disadvantages older or foreign applicants",
                "likelihood": 2,
                "severity": 3,
                "measure": "Bias audit before approval and quarterly",
                "effect": "reduced",
                "residual_likelihood": 1,
                "residual_severity": 2,
            }
        ],
        "measures_approved_by_id": OLIVIA_ID,
        "residual_risk_approved_by_id": OLIVIA_ID,
        "review_date": str(TODAY + timedelta(days=200)),
        "dataset_ids": dataset_ids or [],
        "model_names": model_names or [],
    }
    body.update(over)
    return body


def model(name: str = "credit-risk", **over: Any) -> dict[str, Any]:
    body = {
        "name": name,
        "title": "Credit risk research score",
        "purpose": "credit_risk_research",
        "purpose_description": "Estimate the chance an applicant repays, to study the scheme",
        "purpose_class": "individual_case_work",
        "business_owner": "Head of Revenues",
        "technical_owner": "Lead data scientist",
        "maintenance_owner": "Data platform team",
        "builder": "in_house",
        "decision_role": "advisory",
        "population": "Applicants to the council's hardship loan scheme",
        "people_scored_per_year": 1200,
        "vulnerable_groups": False,
        "benefit": "Caseworkers see which applications need a closer look",
        "benefit_measure": "Share of reviewed applications later repaid, against last year",
        "summary": "A score from 0 to 1: higher means more likely to repay. Caseworkers decide.",
    }
    body.update(over)
    return body


def date_str(days: int) -> str:
    return str(TODAY + timedelta(days=days))


def upload_csv(
    api: Api, dataset_id: int, data: bytes, as_: str = "sam", filename: str = "data.csv"
) -> tuple[int, Any]:
    return api.put(
        f"/api/v1/datasets/{dataset_id}/data",
        as_=as_,
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def upload_version(
    api: Api, name: str, artefact: bytes, metadata: dict[str, Any], as_: str = "sam"
) -> tuple[int, Any]:
    """Upload a version; the explanation background is drawn from its first training dataset
    (else its first evaluation dataset) unless the metadata chooses one."""
    own = [*metadata.get("training_dataset_ids", []), *metadata.get("evaluation_dataset_ids", [])]
    if own and "background" not in metadata:
        metadata = {**metadata, "background": {"dataset_id": own[0]}}
    return api.post(
        f"/api/v1/models/{name}/versions",
        as_=as_,
        data={"artefact": (io.BytesIO(artefact), "model.skops"), "metadata": json.dumps(metadata)},
        content_type="multipart/form-data",
    )


def approve(api: Api, url: str, *who: str, **over: Any) -> None:
    """Submit (as its owner) is assumed done; approve by each named person in turn."""
    for person in who or ("olivia",):
        status, body = api.post(
            f"{url}/decisions",
            as_=person,
            json={"decision": "approve", "rationale": "Checked", **over},
        )
        assert status == 201, body


def approved_until(days: int) -> date:
    return TODAY + timedelta(days=days)


T = TypeVar("T")


def reuse(app: Any, key: Any, build: Callable[[], T]) -> T:
    """`build()`, run once per test session for each key on a fresh database; later tests get
    a copy of its records and files (see `Databases.reuse` in tests/conftest.py)."""
    databases = app.extensions.get("gatehouse_tests")
    return build() if databases is None else databases.reuse(key, build)


def chain_payloads(name: str, **model_over: Any) -> str:
    """The payloads a chain named `name` is built from, as a key: a test may change them."""
    return repr((agreement(f"DSA-{name}"), dataset(f"{name}-data"), model(name, **model_over),
                 dpia(f"DPIA-{name}")))
