"""How long personal data is kept: score inputs and drift reports, each by the policy.

The receipt's other facts (score, explanation, inputs' hash, outcome) and a drift check's
results are the record and are kept; what goes are the copies of people's data kept for drift
checks (``serving.retain_inputs_days``) and the drift reports drawn from them
(``drift.report_retention_days``). Readers treat inputs past their time as gone even before
the erasure runs (:func:`inputs_kept`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Text, cast, select, update
from sqlalchemy.orm import Session

from ..platform.storage import FileStore
from ..records import DriftCheck, ScoreReceipt
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
    """Erase inputs kept past the policy's retention (the hash stays); how many receipts."""
    result = session.execute(
        update(ScoreReceipt)
        .where(ScoreReceipt.inputs_expire_at < now, ScoreReceipt.inputs.is_not(None))
        .values(inputs=None)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


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
