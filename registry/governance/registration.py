"""Registering governed records: create, update while editable, upload data, submit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from ..analysis import tables
from ..platform.storage import FileStore
from ..records import (
    DPIA,
    Dataset,
    DatasetColumn,
    DataSharingAgreement,
    DpiaRisk,
    Governed,
    ModelVersion,
    Organisation,
    PredictiveModel,
    User,
    version_datasets,
)
from ..records.agreements import AGREEMENT_STAGES
from . import ledger, scope
from .actors import Actor
from .at_rest import sealed_at_rest
from .dpia import check_signoffs
from .errors import Conflict, Forbidden, Invalid, NotFound
from .permissions import RULES, require

EDITABLE = ("draft", "changes_requested")
KINDS: dict[str, type[Governed]] = {
    "agreement": DataSharingAgreement,
    "dataset": Dataset,
    "dpia": DPIA,
    "model": PredictiveModel,
    "model_version": ModelVersion,
}


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
        _link_version_datasets(session, record, data)  # type: ignore[arg-type]
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
        _link_version_datasets(session, record, data)  # type: ignore[arg-type]
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


def _unique(session: Session, record: Governed, column: Any, value: Any, field: str) -> None:
    # each organisation's own: another organisation may use the same name
    cls = type(record)
    clash = session.scalars(select(cls).where(
        column == value, cls.organisation_id == record.organisation_id)
        .execution_options(gatehouse_unscoped=True)).first()
    if clash is not None and clash is not record:
        raise Conflict(f"{field} {value!r} is already used", {field: ["already used"]})


def _assign(record: Governed, data: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    for key, value in data.items():
        if key not in skip:
            setattr(record, key, value)


def _apply_agreement(session: Session, record: Governed, data: dict[str, Any]) -> None:
    assert isinstance(record, DataSharingAgreement)
    if "reference" in data:
        _unique(session, record, DataSharingAgreement.reference, data["reference"], "reference")
    purposes = data.get("purposes", record.purposes or [])
    stages = data.get("stages")
    if stages is None:  # purposes narrowed alone: the stages of a purpose dropped go with it
        stages = {p: s for p, s in (record.stages or {}).items() if p in purposes}
    problems = {f"stages.{p}": [f"{p!r} is not one of the agreement's permitted purposes"]
                for p in stages if p not in purposes}
    for field in ("provider_organisation_id", "recipient_organisation_id"):
        org_id = data.get(field)
        if org_id is not None and session.get(Organisation, org_id) is None:
            problems[field] = [f"no organisation {org_id}"]
    if problems:
        raise Invalid("the agreement has invalid fields", problems)
    _assign(record, data, skip=("stages",))
    if record.recipient_organisation_id is None:  # by default the registering organisation
        record.recipient_organisation_id = record.organisation_id
    # kept in the vocabulary's order, each stage once
    record.stages = {p: [s for s in AGREEMENT_STAGES if s in stages[p]]
                     for p in purposes if p in stages}


def _apply_dataset(session: Session, record: Governed, data: dict[str, Any]) -> None:
    assert isinstance(record, Dataset)
    if "name" in data:
        _unique(session, record, Dataset.name, data["name"], "name")
    problems: dict[str, list[str]] = {}
    columns = data.get("columns")
    if columns is not None:
        problems.update(_column_problems(columns, "columns"))
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
    _assign(record, data, skip=("columns", "agreement_ids"))


def _column_problems(columns: list[dict[str, Any]], field: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, c in enumerate(columns):
        key = f"{field}.{i}"
        if c["name"] in seen:
            problems.setdefault(key, []).append(f"column {c['name']!r} is declared twice")
        seen.add(c["name"])
        if c.get("allowed") is not None and c["type"] != "category":
            problems.setdefault(key, []).append("allowed values only apply to category columns")
        lo, hi = c.get("minimum"), c.get("maximum")
        if (lo is not None or hi is not None) and c["type"] not in ("integer", "number"):
            problems.setdefault(key, []).append("minimum/maximum only apply to numeric columns")
        if lo is not None and hi is not None and lo > hi:
            problems.setdefault(key, []).append("minimum is above maximum")
    return problems


def _apply_dpia(session: Session, record: Governed, data: dict[str, Any]) -> None:
    assert isinstance(record, DPIA)
    if "reference" in data:
        _unique(session, record, DPIA.reference, data["reference"], "reference")
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
    _assign(record, data, skip=("risks", "dataset_ids", "model_names"))


def _apply_model(session: Session, record: Governed, data: dict[str, Any]) -> None:
    if "name" in data:
        if record.id is not None and data["name"] != record.name:  # type: ignore[attr-defined]
            raise Invalid("a model's name cannot change", {"name": ["fixed once registered"]})
        _unique(session, record, PredictiveModel.name, data["name"], "name")
    words = [w.strip() for w in data.get("outcome_vocabulary") or []]
    if len({w.casefold() for w in words}) != len(words) or not all(words):
        raise Invalid("the outcome vocabulary repeats or has an empty word",
                      {"outcome_vocabulary": ["distinct, non-empty words"]})
    if "outcome_vocabulary" in data:
        data = {**data, "outcome_vocabulary": words or None}
    _assign(record, data)


def _apply_version(session: Session, record: Governed, data: dict[str, Any]) -> None:
    problems = _column_problems(data.get("feature_schema") or [], "feature_schema")
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
    _assign(record, data, skip=("training_dataset_ids", "evaluation_dataset_ids", "background"))
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


def _link_version_datasets(session: Session, version: ModelVersion, data: dict[str, Any]) -> None:
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


_APPLY: dict[str, Callable[[Session, Governed, dict[str, Any]], None]] = {
    "agreement": _apply_agreement,
    "dataset": _apply_dataset,
    "dpia": _apply_dpia,
    "model": _apply_model,
    "model_version": _apply_version,
}
