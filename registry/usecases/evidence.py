"""The evidence a version's gate reads: uploaded data and artefacts, bias audits and drift
checks (queued as jobs), drift monitors, and the artefact's self-check."""

from __future__ import annotations

import hashlib
from typing import Any

from ..governance import audits, evidence, monitoring, registration, versions
from ..governance.errors import Conflict, Invalid
from ..governance.permissions import require
from ..jobs import queue as jobs
from ..records import Dataset, DriftMonitor, Job, ModelVersion, PredictiveModel
from .records import find_version
from .unit import Unit


def upload_data(unit: Unit, dataset: Dataset, filename: str, data: bytes) -> Dataset:
    """A dataset's data, checked against its declared schema, profiled and stored."""
    with unit:
        registration.upload_data(unit.session, unit.actor, dataset, filename, data, unit.store,
                                 unit.now)
        return dataset


def register_version(unit: Unit, model: PredictiveModel, metadata: dict[str, Any],
                     artefact: bytes) -> ModelVersion:
    """A new version of a model from its skops artefact and validated metadata."""
    with unit:
        return versions.register(unit.session, unit.actor, model, metadata, artefact,
                                 unit.store, unit.policy, unit.now)


def self_check(unit: Unit, name: str, number: int) -> ModelVersion:
    """Load the artefact again and check it explains itself as registered."""
    require(unit.actor, "register")
    version = find_version(unit, name, number)
    with unit:
        versions.run_self_check(unit.session, unit.actor, version, unit.store, unit.policy,
                                unit.now)
        return version


def _dataset(unit: Unit, dataset_id: int) -> Dataset:
    dataset = unit.session.get(Dataset, dataset_id)
    if dataset is None:
        raise Invalid("unknown dataset", {"dataset_id": [f"no dataset {dataset_id}"]})
    return dataset


def audit(unit: Unit, name: str, number: int, dataset_id: int, label_column: str | None,
          positive_label: str | None, threshold: float | None,
          sensitive_features: list[str] | None, extra_groupings: list[str]) -> Job:
    """Queue a bias audit of the version on one of its evaluation datasets. What the job would
    refuse is refused now, before it is queued; what is not given comes from the version."""
    require(unit.actor, "audit")
    version = find_version(unit, name, number)
    evidence.arrival_status(unit.actor, version, "bias audit")
    dataset = _dataset(unit, dataset_id)
    audits.audited_attributes(version, dataset, sensitive_features)
    label = label_column or version.label_column or dataset.label_column
    positive = positive_label or version.positive_label
    threshold = threshold if threshold is not None else version.threshold
    missing = {k: ["needed (not set on the version either)"] for k, v in
               (("label_column", label), ("positive_label", positive),
                ("threshold", threshold)) if v is None or v == ""}
    if missing:
        raise Invalid("the audit needs the label column, positive label and threshold", missing)
    params = {"version_id": version.id, "dataset_id": dataset.id, "label_column": label,
              "positive_label": positive, "threshold": threshold,
              "sensitive_features": sensitive_features, "extra_groupings": extra_groupings}
    with unit:  # the queue commits the job before it runs
        return jobs.enqueue(unit.app, unit.session, unit.actor, "bias_audit", params,
                            version.organisation_id)


def monitor(unit: Unit, version: ModelVersion, dataset_id: int | None,
            columns: list[str] | None, action: str | None, every_receipts: int | None,
            daily: bool) -> DriftMonitor:
    """Configure the version's drift monitor (a proposal once the version is in use)."""
    dataset = _dataset(unit, dataset_id) if dataset_id else None
    with unit:
        return monitoring.configure_monitor(
            unit.session, unit.actor, version, dataset=dataset, columns=columns, action=action,
            every_receipts=every_receipts, daily=daily, policy=unit.policy, store=unit.store,
            now=unit.now)


def check_drift(unit: Unit, name: str, number: int, batch: bytes | None,
                limit: int | None) -> Job:
    """Queue a drift check of a posted batch or, without one, of the inputs kept from recent
    score receipts (the newest `limit`, by default the monitor's every_receipts)."""
    require(unit.actor, "monitor")
    version = find_version(unit, name, number)
    in_force = evidence.in_force_monitor(unit.session, version)
    if in_force is None:
        raise Conflict(f"{version.label} has no drift monitor: configure one first",
                       {"monitor": ["configure one (POST .../drift-monitor)"]})
    params: dict[str, Any] = {"monitor_id": in_force.id}
    if batch is not None:
        if not batch:
            raise Invalid("the batch is empty", {"batch": ["empty file"]})
        digest = hashlib.sha256(batch).hexdigest()
        params["batch_path"] = unit.store.write(f"batches/{in_force.id}/{digest}", batch,
                                              seal=True)
    elif limit:
        params["limit"] = limit
    with unit:
        return jobs.enqueue(unit.app, unit.session, unit.actor, "drift_check", params,
                            version.organisation_id)
