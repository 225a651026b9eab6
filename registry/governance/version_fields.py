"""A model version's fields as registered or changed: its feature schema, the datasets it was
trained and evaluated on (its organisation's), its score bands and its explanation background."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..records import Dataset, Governed, ModelVersion, version_datasets
from .errors import Invalid
from .record_fields import assign, column_problems


def apply(session: Session, record: Governed, data: dict[str, Any]) -> None:
    problems = column_problems(data.get("feature_schema") or [], "feature_schema")
    for field in ("training_dataset_ids", "evaluation_dataset_ids"):
        ids = data.get(field) or []
        found = set(session.scalars(select(Dataset.id).where(  # the version's organisation's
            Dataset.id.in_(ids), Dataset.organisation_id == record.organisation_id)).all())
        missing = sorted(set(ids) - found)
        if missing:
            problems[field] = [f"no dataset with id {m}" for m in missing]
    if data.get("bands"):
        bounds = [b["below"] for b in data["bands"]]
        if bounds != sorted(bounds) or bounds[-1] <= 1:
            problems["bands"] = ["bands must rise and the last must reach above 1"]
    assert isinstance(record, ModelVersion)
    background = _background(record, data, problems)
    if problems:
        raise Invalid("the model version has invalid fields", problems)
    assign(record, data, skip=("training_dataset_ids", "evaluation_dataset_ids", "background"))
    record.background = background


def _background(version: ModelVersion, data: dict[str, Any], problems: dict[str, list[str]]
                ) -> dict[str, Any] | None:
    """The explanation background, kept whole: a change of some of its fields keeps the rest,
    and its dataset must stay one of the version's own."""
    background = {**(version.background or {}), **(data.get("background") or {})} or None
    if background is None:
        return None
    ids = {*data.get("training_dataset_ids", version.training_dataset_ids if version.id else []),
           *data.get("evaluation_dataset_ids",
                     version.evaluation_dataset_ids if version.id else [])}
    if background.get("dataset_id") not in ids:
        problems["background.dataset_id"] = [
            f"dataset {background.get('dataset_id')} is not one of the version's training or "
            "evaluation datasets; the background is drawn from one of them"]
    return background


def link_datasets(session: Session, version: ModelVersion, data: dict[str, Any]) -> None:
    for role in ("training", "evaluation"):
        ids = data.get(f"{role}_dataset_ids")
        if ids is None:
            continue
        session.execute(
            delete(version_datasets).where(
                version_datasets.c.version_id == version.id, version_datasets.c.role == role
            )
        )
        for dataset_id in sorted(set(ids)):
            session.execute(
                insert(version_datasets).values(
                    version_id=version.id, dataset_id=dataset_id, role=role
                )
            )
    session.expire(version, ["training_datasets", "evaluation_datasets"])
