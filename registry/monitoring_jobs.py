"""The job handlers: bias audits and drift checks, run by the in-process pool or Celery.

Each handler reads and validates (``plan_*``), then commits to end its read transaction before
the model and the statistics run (``compute_*``: on SQLite the write lock is not held for
seconds), then records the result (``record_*``). Nothing is written before that last step, so
a failure anywhere leaves nothing half-written: only the job's own failed state and, for a drift
check, a failed check on its monitor (:func:`drift_check_failed`), each in its own transaction.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .governance import audits, monitoring, registration
from .governance.actors import Actor
from .governance.errors import Invalid
from .jobs import handler
from .records import Dataset, DriftCheck, DriftMonitor, ModelVersion
from .state import Services


@handler("bias_audit")
def bias_audit(session: Session, services: Services, actor: Actor, p: dict[str, Any]
               ) -> tuple[str, int]:
    version = session.get(ModelVersion, p["version_id"])
    dataset = session.get(Dataset, p["dataset_id"])
    if version is None or dataset is None:
        raise Invalid("the version or the dataset no longer exists",
                      {"version_id": [str(p["version_id"])], "dataset_id": [str(p["dataset_id"])]})
    plan = audits.plan_bias_audit(
        session, actor, version, dataset, label_column=p["label_column"],
        positive_label=p["positive_label"], threshold=p["threshold"],
        sensitive_features=p.get("sensitive_features"),
        extra_groupings=p.get("extra_groupings", []), policy=services.policy, store=services.store)
    session.commit()  # nothing written: ends the read transaction while the audit computes
    results = audits.compute_bias_audit(plan, services.store)
    audit = audits.record_bias_audit(session, actor, plan, results, services.clock.now())
    return "bias_audit", audit.id


def read_batch(data: bytes) -> Any:
    """A posted batch: Parquet, or CSV."""
    import pandas as pd

    try:
        return (pd.read_parquet(io.BytesIO(data)) if data[:4] == b"PAR1"
                else pd.read_csv(io.BytesIO(data)))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise monitoring.BatchRefused(f"the batch cannot be read as CSV or Parquet: {exc}",
                                      {"batch": [str(exc)]}) from exc


def drift_check_failed(session: Session, services: Services, actor: Actor, p: dict[str, Any],
                       message: str, exc: Exception | None) -> None:
    """A drift check that could not run is recorded as a failed check: the monitor is failing
    until one runs. Nothing to check (no receipts with kept inputs) is not a failure; nor is a
    posted batch that is refused as invalid (unreadable, missing or mistyped columns): that is
    its sender's mistake, told to them by the job, and must not let anyone who may post a batch
    stop the model being served."""
    monitor = session.get(DriftMonitor, p["monitor_id"])
    if monitor is None or isinstance(exc, monitoring.NothingToCheck):
        return
    source = "batch" if p.get("batch_path") else p.get("source", "receipts")
    if source == "batch" and isinstance(exc, monitoring.BatchRefused):
        return
    monitoring.record_failed_check(session, actor, monitor, source, message,
                                   services.clock.now())


@handler("drift_check", on_failure=drift_check_failed)
def drift_check(session: Session, services: Services, actor: Actor, p: dict[str, Any]
                ) -> tuple[str, int]:
    monitor = session.get(DriftMonitor, p["monitor_id"])
    if monitor is None:
        raise Invalid("the drift monitor no longer exists", {"monitor_id": [str(p["monitor_id"])]})
    if p.get("batch_path"):
        path = services.store.path(p["batch_path"])
        if not path.exists():  # read by an earlier run of this job that was interrupted
            raise Invalid("the uploaded batch is no longer held (a batch is deleted once read); "
                          "send it again", {"batch": ["no longer held"]})
        try:
            frame = read_batch(path.read_bytes())
        finally:  # the batch may hold personal data: it is not kept once read
            path.unlink(missing_ok=True)
        source = "batch"
    else:
        limit = p.get("limit") or monitor.every_receipts or services.policy.drift_every_receipts
        frame = monitoring.receipts_batch(session, monitor, limit, services.clock.now())
        source = p.get("source", "receipts")
    plan = monitoring.plan_drift_check(session, monitor, frame, source, services.policy,
                                       services.store)
    session.commit()  # nothing written: ends the read transaction while evidently runs
    result = monitoring.compute_drift_check(plan, services.store)
    check = monitoring.record_drift_check(session, actor, plan, result, services.policy,
                                          services.store, services.clock.now())
    return "drift_check", check.id


def due_monitors(session: Session, services: Services) -> list[DriftMonitor]:
    """Monitors in force whose schedule says a check is due.

    Due when at least ``every_receipts`` receipts (with kept inputs) were scored since the last
    check that ran (or since the monitor was set up), or, for a ``daily`` monitor, when a day
    has passed since then and at least one receipt was scored. A failing monitor is therefore
    tried again on every run until a check runs.
    """
    now = services.clock.now()
    due = []
    for monitor in session.scalars(select(DriftMonitor).where(DriftMonitor.status == "in_force")
                                   .order_by(DriftMonitor.id)):
        last = session.scalars(select(DriftCheck).where(DriftCheck.monitor_id == monitor.id,
                                                        DriftCheck.status == "ok")
                               .order_by(DriftCheck.id.desc())).first()
        since = last.created_at if last else monitor.created_at
        fresh = monitoring.kept_inputs_since(session, monitor.model_version_id, since, now)
        if (monitor.every_receipts and fresh >= monitor.every_receipts) or (
                monitor.daily and fresh and now - since >= timedelta(days=1)):
            due.append(monitor)
    return due


def version_of(session: Session, name: str, number: int) -> ModelVersion:
    version = registration.get(session, "model_version", (name, number))
    assert isinstance(version, ModelVersion)
    return version


__all__ = ["due_monitors", "read_batch", "version_of"]
