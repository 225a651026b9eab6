"""What a record rests on: the datasets, agreements and DPIAs upstream of it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import (
    DPIA,
    ApiClient,
    Dataset,
    DataSharingAgreement,
    ModelVersion,
    PredictiveModel,
    agreement_datasets,
    dpia_datasets,
    dpia_models,
    version_datasets,
)


def model_datasets(session: Session, model: PredictiveModel) -> list[Dataset]:
    """Every dataset any version of the model trains or evaluates on."""
    ids = (
        select(version_datasets.c.dataset_id)
        .join(ModelVersion, ModelVersion.id == version_datasets.c.version_id)
        .where(ModelVersion.model_id == model.id)
    )
    return list(session.scalars(select(Dataset).where(Dataset.id.in_(ids)).order_by(Dataset.id)))


def version_datasets_of(version: ModelVersion) -> list[Dataset]:
    seen: dict[int, Dataset] = {}
    for d in [*version.training_datasets, *version.evaluation_datasets]:
        seen.setdefault(d.id, d)
    return list(seen.values())


def dpias_covering_dataset(session: Session, dataset: Dataset) -> list[DPIA]:
    return list(
        session.scalars(
            select(DPIA)
            .join(dpia_datasets)
            .where(dpia_datasets.c.dataset_id == dataset.id)
            .order_by(DPIA.id)
        ).all()
    )


def dpias_covering_model(session: Session, model: PredictiveModel) -> list[DPIA]:
    return list(
        session.scalars(
            select(DPIA)
            .join(dpia_models)
            .where(dpia_models.c.model_id == model.id)
            .order_by(DPIA.id)
        ).all()
    )


def dependents_of_agreement(session: Session, agreement: DataSharingAgreement) -> dict[str, list]:
    """Every dataset, model version and API client resting on the agreement."""
    datasets = list(
        session.scalars(
            select(Dataset)
            .join(agreement_datasets)
            .where(agreement_datasets.c.agreement_id == agreement.id)
            .order_by(Dataset.id)
        ).all()
    )
    ids = [d.id for d in datasets]
    version_ids = select(version_datasets.c.version_id).where(
        version_datasets.c.dataset_id.in_(ids)
    )
    versions = list(
        session.scalars(
            select(ModelVersion).where(ModelVersion.id.in_(version_ids)).order_by(ModelVersion.id)
        )
    )
    names = {v.model.name for v in versions}
    clients = [
        c
        for c in session.scalars(select(ApiClient).order_by(ApiClient.id)).all()
        if names & set(c.models)
    ]
    return {"datasets": datasets, "model_versions": versions, "clients": clients}
