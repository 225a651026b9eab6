"""A DPIA's fields as registered or changed: its reference, risks, the datasets and models it
assesses (its own organisation's) and its sign-offs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import DPIA, Dataset, DpiaRisk, Governed, PredictiveModel
from .dpia import advice_outdated, assessment, check_signoffs
from .errors import Invalid
from .record_fields import assign, unique


def apply(session: Session, record: Governed, data: dict[str, Any]) -> None:
    assert isinstance(record, DPIA)
    if "reference" in data:
        unique(session, record, DPIA.reference, data["reference"], "reference")
    before = assessment(record)
    problems: dict[str, list[str]] = {}
    if "risks" in data:
        record.risks = [DpiaRisk(position=i, **r) for i, r in enumerate(data["risks"])]
    if "dataset_ids" in data:
        found = session.scalars(select(Dataset).where(  # only the DPIA's organisation's
            Dataset.id.in_(data["dataset_ids"]),
            Dataset.organisation_id == record.organisation_id)).all()
        missing = sorted(set(data["dataset_ids"]) - {d.id for d in found})
        if missing:
            problems["dataset_ids"] = [f"no dataset with id {m}" for m in missing]
        record.datasets = list(found)
    if "model_names" in data:
        found_models = session.scalars(
            select(PredictiveModel).where(PredictiveModel.name.in_(data["model_names"]),
                                          PredictiveModel.organisation_id == record.organisation_id)
        ).all()
        missing_names = sorted(set(data["model_names"]) - {m.name for m in found_models})
        if missing_names:
            problems["model_names"] = [f"no model named {m!r}" for m in missing_names]
        record.models = list(found_models)
    problems.update(check_signoffs(session, record, data))
    if problems:
        raise Invalid("the DPIA has invalid fields", problems)
    assign(record, data, skip=("risks", "dataset_ids", "model_names"))
    advice_outdated(record, before)
