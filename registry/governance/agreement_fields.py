"""An agreement's fields as registered or changed: its reference, its purposes and the stages
each permits, and the parties' organisations."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..records import DataSharingAgreement, Governed, Organisation
from ..records.agreements import AGREEMENT_STAGES
from .errors import Invalid
from .record_fields import assign, unique


def apply(session: Session, record: Governed, data: dict[str, Any]) -> None:
    assert isinstance(record, DataSharingAgreement)
    if "reference" in data:
        unique(session, record, DataSharingAgreement.reference, data["reference"], "reference")
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
    assign(record, data, skip=("stages",))
    if record.recipient_organisation_id is None:  # by default the registering organisation
        record.recipient_organisation_id = record.organisation_id
    # kept in the vocabulary's order, each stage once
    record.stages = {p: [s for s in AGREEMENT_STAGES if s in stages[p]]
                     for p in purposes if p in stages}
