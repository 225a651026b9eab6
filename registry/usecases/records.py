"""Governed records: find, create, edit and submit, for every kind alike."""

from __future__ import annotations

from typing import Any

from ..governance import at_rest, dpia, registration
from ..governance.permissions import require
from ..records import DPIA, Dataset, Governed, ModelVersion, User
from .unit import Unit


def find(unit: Unit, kind: str, key: Any) -> Governed:
    """A record the actor may read, by its key (see `registration.get`)."""
    require(unit.actor, "read")
    return registration.get(unit.session, kind, key)


def find_version(unit: Unit, name: str, number: int) -> ModelVersion:
    version = find(unit, "model_version", (name, number))
    assert isinstance(version, ModelVersion)
    return version


def create(unit: Unit, kind: str, data: dict[str, Any]) -> Governed:
    """Register a new draft record from validated input (`usecases.inputs`)."""
    with unit:
        return registration.create(unit.session, unit.actor, kind, data, unit.now)


def edit(unit: Unit, record: Governed, data: dict[str, Any]) -> Governed:
    """Change some fields of a record while it may be changed."""
    with unit:
        edited = registration.update(unit.session, unit.actor, record, data, unit.now)
        if isinstance(edited, Dataset):  # reclassified as personal data: its file sealed now
            at_rest.reseal_dataset(unit.store, edited)
        return edited


def submit(unit: Unit, record: Governed) -> Governed:
    """Put a record forward for approval."""
    with unit:
        return registration.submit(unit.session, unit.actor, record, unit.now)


def dpia_signers(unit: Unit, record: DPIA) -> list[User]:
    """Who may sign off the DPIA's measures and residual risk (a governance officer or DPO of
    its organisation)."""
    require(unit.actor.within(record.organisation_id), "read")
    return dpia.signers(unit.session, record.organisation_id)
