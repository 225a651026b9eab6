"""The job handlers: bias audits and drift checks, run by the in-process pool or Celery.

Each handler reads and validates (``plan_*``), then commits to end its read transaction before
the model and the statistics run (``compute_*``: on SQLite the write lock is not held for
seconds), then records the result (``record_*``). Nothing is written before that last step, so
a failure anywhere leaves nothing half-written: only the job's own failed state and, for a drift
check, a failed check on its monitor (:func:`drift_check_failed`), each in its own transaction.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from ..governance import audits, monitoring
from ..governance.actors import Actor
from ..governance.errors import Invalid
from ..platform.services import Services
from ..records import Dataset, DriftMonitor, ModelVersion
from .deliver import deliver

Handler = Callable[[Session, Services, Actor, dict[str, Any]], tuple[str, int]]
# (session, services, actor, params, message, the exception or None if its worker was lost)
FailureHook = Callable[[Session, Services, Actor, dict[str, Any], str, Exception | None], None]


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


def drift_check(session: Session, services: Services, actor: Actor, p: dict[str, Any]
                ) -> tuple[str, int]:
    monitor = session.get(DriftMonitor, p["monitor_id"])
    if monitor is None:
        raise Invalid("the drift monitor no longer exists", {"monitor_id": [str(p["monitor_id"])]})
    if p.get("batch_path"):
        if not services.store.exists(p["batch_path"]):  # read by an interrupted earlier run
            raise Invalid("the uploaded batch is no longer held (a batch is deleted once read); "
                          "send it again", {"batch": ["no longer held"]})
        try:
            frame = read_batch(services.store.read(p["batch_path"]))
        finally:  # the batch may hold personal data: it is not kept once read
            services.store.path(p["batch_path"]).unlink(missing_ok=True)
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


# What each kind of job runs, and what its failure means elsewhere (a drift check that cannot
# run marks its monitor failing).
HANDLERS: dict[str, Handler] = {"bias_audit": bias_audit, "drift_check": drift_check,
                               "deliver": deliver}
FAILURE_HOOKS: dict[str, FailureHook] = {"drift_check": drift_check_failed}
