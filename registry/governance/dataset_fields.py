"""A dataset's fields as registered or changed: its name, its declared columns (a change drops
data uploaded against the old ones), its label column and the agreements it rests on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import Dataset, DatasetColumn, DataSharingAgreement, Governed
from .errors import Invalid
from .record_fields import assign, column_problems, unique


def apply(session: Session, record: Governed, data: dict[str, Any]) -> None:
    assert isinstance(record, Dataset)
    if "name" in data:
        unique(session, record, Dataset.name, data["name"], "name")
    problems: dict[str, list[str]] = {}
    columns = data.get("columns")
    if columns is not None:
        problems.update(column_problems(columns, "columns"))
        if record.data_path:
            record.data_path = record.content_hash = record.row_count = None
            record.completeness = record.uploaded_at = None  # the old data no longer matches
        record.columns = [DatasetColumn(position=i, **c) for i, c in enumerate(columns)]
    names = {c.name for c in record.columns}
    label = data.get("label_column", record.label_column)
    if label is not None and names and label not in names:
        problems["label_column"] = [f"{label!r} is not one of the declared columns"]
    if "agreement_ids" in data:
        found = session.scalars(
            select(DataSharingAgreement).where(DataSharingAgreement.id.in_(data["agreement_ids"]))
        ).all()
        missing = sorted(set(data["agreement_ids"]) - {a.id for a in found})
        if missing:
            problems["agreement_ids"] = [f"no agreement with id {m}" for m in missing]
        foreign = [a.label for a in found if a.recipient_organisation_id != record.organisation_id]
        if foreign:  # a provider sees the agreement, but only the recipient's data rests on it
            problems.setdefault("agreement_ids", []).extend(
                f"{label}'s recipient is another organisation" for label in foreign)
        record.agreements = list(found)
    if problems:
        raise Invalid("the dataset has invalid fields", problems)
    assign(record, data, skip=("columns", "agreement_ids"))
