"""Registering governed records: create, update while editable, upload data, submit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..analysis import tables
from ..platform.storage import FileStore
from ..records import (
    Dataset,
    Governed,
    ModelVersion,
    Organisation,
    PredictiveModel,
    User,
)
from . import (
    agreement_fields,
    dataset_fields,
    dpia_fields,
    ledger,
    model_fields,
    scope,
    version_fields,
)
from .actors import Actor
from .at_rest import sealed_at_rest
from .errors import Conflict, Forbidden, Invalid, NotFound
from .kinds import KINDS
from .permissions import RULES, require

EDITABLE = ("draft", "changes_requested")


def get(session: Session, kind: str, key: Any) -> Governed:
    """A record by id, or by name for models and (model name, number) for versions: the name
    within the organisation the session names, or the only one of its organisations with a
    model of that name (see `scope.one_named`)."""
    cls = KINDS[kind]
    if kind == "model":
        record = scope.one_named(session, session.scalars(
            select(PredictiveModel).where(PredictiveModel.name == key)).all(), f"model {key!r}")
    elif kind == "model_version":
        name, number = key
        record = scope.one_named(session, session.scalars(
            select(ModelVersion)
            .join(PredictiveModel)
            .where(PredictiveModel.name == name, ModelVersion.number == number)
        ).all(), f"model {name!r}")
    else:
        record = session.get(cls, key)
    if record is None:
        raise NotFound(f"no {kind.replace('_', ' ')} {key!r}", {"id": [str(key)]})
    return record


def create(
    session: Session, actor: Actor, kind: str, data: dict[str, Any], now: datetime, **extra: Any
) -> Governed:
    """A new draft record, in the organisation named by `organisation_id` (in `data`, or
    `extra` for a version: its model's), else the only one where the actor registers."""
    from .people import organisation_for

    require(actor, "register")
    org_id = extra.pop("organisation_id", None)
    if org_id is None:
        org_id = organisation_for(session, actor, data.pop("organisation_id", None),
                                  RULES["register"], data.pop("organisation", None))
    actor = actor.within(org_id)
    require(actor, "register")
    user = session.get(User, actor.user_id)
    if user is None or org_id is None:
        raise Forbidden("only a user who belongs to an organisation may register records")
    record = KINDS[kind](
        state="draft",
        organisation_id=org_id,
        owner_id=user.id,
        created_by_id=user.id,
        created_at=now,
        updated_at=now,
        **extra,
    )
    with session.no_autoflush:  # the record joins the session only once it is complete
        _APPLY[kind](session, record, data)
    session.add(record)
    session.flush()
    if kind == "model_version":
        version_fields.link_datasets(session, record, data)  # type: ignore[arg-type]
    ledger.append(session, actor, "create", kind, record.id, data, now)
    return record


def update(
    session: Session, actor: Actor, record: Governed, data: dict[str, Any], now: datetime
) -> Governed:
    actor = actor.within(record.organisation_id)
    require(actor, "register")
    _require_editable(actor, record)
    for field in ("organisation_id", "organisation"):
        if field in data and data[field] not in (record.organisation_id, _slug(session, record)):
            raise Invalid("a record's organisation cannot change",
                          {field: ["fixed once registered"]})
    data = {k: v for k, v in data.items() if k not in ("organisation_id", "organisation")}
    _APPLY[record.kind](session, record, data)
    if record.kind == "model_version":
        version_fields.link_datasets(session, record, data)  # type: ignore[arg-type]
    record.updated_at = now
    session.flush()
    ledger.append(session, actor, "update", record.kind, record.id, data, now)
    return record


def _slug(session: Session, record: Governed) -> str | None:
    org = session.get(Organisation, record.organisation_id)
    return org.slug if org is not None else None


def submit(session: Session, actor: Actor, record: Governed, now: datetime) -> Governed:
    actor = actor.within(record.organisation_id)
    require(actor, "register")
    _require_editable(actor, record)
    previous = record.state
    from .lifecycle import close_approvals

    close_approvals(session, record)  # a new round of review starts from nothing
    record.state, record.submitted_by_id, record.submitted_at = "submitted", actor.user_id, now
    record.updated_at = now
    ledger.append(
        session,
        actor,
        "submit",
        record.kind,
        record.id,
        {"from_state": previous, "to_state": "submitted"},
        now,
    )
    return record


def upload_data(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    filename: str,
    data: bytes,
    store: FileStore,
    now: datetime,
) -> Dataset:
    """Check the data against the declared schema, profile it and store it."""
    actor = actor.within(dataset.organisation_id)
    require(actor, "register")
    _require_editable(actor, dataset)
    if not dataset.columns:
        raise Invalid(
            "declare the dataset's columns before uploading data",
            {"columns": ["no columns declared"]},
        )
    rules = tables.rules_from(dataset.columns)
    try:
        fmt = tables.detect_format(filename, data)
        frame = tables.conform(tables.read_table(data, fmt, rules), rules)
    except tables.TableError as exc:
        raise Invalid(str(exc), exc.details) from exc
    facts = tables.profile(data, fmt, frame)
    dataset.data_path = store.write(f"datasets/{dataset.id}/{facts.content_hash}.{fmt}", data,
                                    seal=sealed_at_rest(dataset.classification))
    dataset.data_format, dataset.row_count = fmt, facts.row_count
    dataset.content_hash, dataset.completeness = facts.content_hash, facts.completeness
    dataset.uploaded_at = dataset.updated_at = now
    ledger.append(
        session,
        actor,
        "upload_data",
        "dataset",
        dataset.id,
        {"format": fmt, "rows": facts.row_count, "content_hash": facts.content_hash},
        now,
    )
    return dataset


def next_version_number(session: Session, model: PredictiveModel) -> int:
    current = session.scalar(
        select(func.max(ModelVersion.number)).where(ModelVersion.model_id == model.id)
    )
    return (current or 0) + 1


def _require_editable(actor: Actor, record: Governed) -> None:
    if record.state not in EDITABLE:
        raise Conflict(
            f"{record.label} is {record.state}; it can be changed only in {' or '.join(EDITABLE)}",
            {"state": record.state, "allowed_states": list(EDITABLE)},
        )
    if actor.user_id not in (record.owner_id, record.created_by_id):
        raise Forbidden(f"only the owner of {record.label} may change or submit it")


# Each kind's fields, checked and assigned (a module per kind).
_APPLY: dict[str, Callable[[Session, Governed, dict[str, Any]], None]] = {
    "agreement": agreement_fields.apply,
    "dataset": dataset_fields.apply,
    "dpia": dpia_fields.apply,
    "model": model_fields.apply,
    "model_version": version_fields.apply,
}
