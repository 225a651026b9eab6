"""How long personal data is kept: score inputs and drift reports, each by the policy.

The receipt's other facts (score, explanation, inputs' hash, outcome) and a drift check's
results are the record and are kept (the explanation without the values: it reads them
from the inputs, see `serving.compact`; its contributions stay, from which a linear model's
coefficients give a numeric value back); what goes are the copies of people's data kept for
drift checks (``serving.retain_inputs_days``) and the drift reports drawn from them
(``drift.report_retention_days``). Readers treat inputs past their time as gone even before
the erasure runs (:func:`inputs_kept`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Text, cast, func, select, update
from sqlalchemy.orm import Session

from ..platform.storage import FileStore
from ..records import DriftCheck, ModelVersion, ScoreReceipt
from . import ledger
from .actors import SYSTEM
from .policy import Policy


def inputs_kept(now: datetime) -> ColumnElement[bool]:
    """Receipts whose inputs are still kept at ``now``: not erased (SQL NULL, or the JSON null
    that versions before 2026-11 stored) and not past the retention period."""
    return (ScoreReceipt.inputs.is_not(None) & (cast(ScoreReceipt.inputs, Text) != "null")
            & (ScoreReceipt.inputs_expire_at >= now))


def still_kept(inputs_expire_at: datetime | None, now: datetime) -> bool:
    """The same rule as :func:`inputs_kept`, for one receipt already read."""
    return inputs_expire_at is not None and inputs_expire_at >= now


def erase_expired_inputs(session: Session, now: datetime) -> int:
    """Erase inputs kept past the policy's retention (the hash stays); how many receipts. The
    erasure is on the ledger: one entry per organisation whose receipts' inputs went."""
    expired = (ScoreReceipt.inputs_expire_at < now, ScoreReceipt.inputs.is_not(None))
    counts = session.execute(
        select(ModelVersion.organisation_id, func.count())
        .join(ScoreReceipt, ScoreReceipt.model_version_id == ModelVersion.id)
        .where(*expired).group_by(ModelVersion.organisation_id)).all()
    result = session.execute(update(ScoreReceipt).where(*expired).values(inputs=None))
    for organisation_id, count in counts:
        recorded_erasure(session, "receipts", "expired", count, now, organisation_id)
    return result.rowcount or 0  # type: ignore[attr-defined]


def recorded_erasure(session: Session, kind: str, subject_id: object, count: int,
                     now: datetime, organisation_id: int | None = None) -> None:
    """The ledger entry of an erasure of inputs past their retention."""
    ledger.append(session, SYSTEM, "erase_inputs", kind, subject_id,
                  {"receipts": count, "expired_before": now.isoformat()}, now, organisation_id)


def prune_drift_reports(session: Session, store: FileStore, policy: Policy,
                        now: datetime) -> int:
    """Delete drift reports older than the policy keeps them; the checks' results stay."""
    cutoff = now - timedelta(days=policy.drift_report_retention_days)
    old = session.scalars(select(DriftCheck).where(
        DriftCheck.created_at < cutoff, DriftCheck.report_path.is_not(None))).all()
    for check in old:
        store.path(check.report_path or "").unlink(missing_ok=True)
        check.report_path = None
    return len(old)
