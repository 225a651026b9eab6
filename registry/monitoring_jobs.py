"""The job handlers: bias audits and drift checks, run by the in-process pool or Celery."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .governance import monitoring, registration
from .governance.actors import Actor

from .jobs import handler
from .records import Dataset, DriftCheck, DriftMonitor, ModelVersion, ScoreReceipt
from .state import Services


@handler("bias_audit")
def bias_audit(session: Session, services: Services, actor: Actor, p: dict[str, Any]
               ) -> tuple[str, int]:
    version = session.get(ModelVersion, p["version_id"])
    dataset = session.get(Dataset, p["dataset_id"])
    assert version is not None and dataset is not None
    audit = monitoring.run_bias_audit(
        session, actor, version, dataset, label_column=p["label_column"],
        positive_label=p["positive_label"], threshold=p["threshold"],
        sensitive_features=p.get("sensitive_features"), extra_groupings=p.get("extra_groupings", []),
        policy=services.policy, store=services.store, now=services.clock.now())
    return "bias_audit", audit.id


@handler("drift_check")
def drift_check(session: Session, services: Services, actor: Actor, p: dict[str, Any]
                ) -> tuple[str, int]:
    import pandas as pd

    monitor = session.get(DriftMonitor, p["monitor_id"])
    assert monitor is not None
    if p.get("batch_path"):
        data = services.store.read(p["batch_path"])
        frame = (pd.read_parquet(io.BytesIO(data)) if data[:4] == b"PAR1"
                 else pd.read_csv(io.BytesIO(data)))
        source = "batch"
    else:
        frame = monitoring.receipts_batch(session, monitor, p.get("limit") or 1000)
        source = p.get("source", "receipts")
    check = monitoring.run_drift_check(session, actor, monitor, frame, source, services.policy,
                                       services.store, services.clock.now())
    return "drift_check", check.id


def due_monitors(session: Session, services: Services) -> list[DriftMonitor]:
    """Active monitors whose schedule says a check is due: N receipts since the last, or a day."""
    now = services.clock.now()
    due = []
    for monitor in session.scalars(select(DriftMonitor).where(DriftMonitor.active.is_(True))):
        last = session.scalars(select(DriftCheck).where(DriftCheck.monitor_id == monitor.id)
                               .order_by(DriftCheck.id.desc())).first()
        since = last.created_at if last else monitor.created_at
        fresh = session.scalar(select(func.count()).select_from(ScoreReceipt).where(
            ScoreReceipt.model_version_id == monitor.model_version_id,
            ScoreReceipt.created_at > since, ScoreReceipt.inputs.is_not(None))) or 0
        if (monitor.every_receipts and fresh >= monitor.every_receipts) or (
                monitor.daily and fresh and (now - since).total_seconds() >= 86400):
            due.append(monitor)
    return due


def version_of(session: Session, name: str, number: int) -> ModelVersion:
    version = registration.get(session, "model_version", (name, number))
    assert isinstance(version, ModelVersion)
    return version


__all__ = ["due_monitors", "version_of"]
