"""Bias audits and drift monitors: the evidence that a model treats groups fairly and still fits."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .types import label_type, typed_label

if TYPE_CHECKING:
    from .datasets import Dataset

AUDIT_VERDICTS = ("pass", "fail", "insufficient_data")
BREACH_ACTIONS = ("alert", "suspend")
# Evidence is in force, or proposed for a version in use (until an officer accepts or declines
# it), or was superseded by newer evidence in force, or declined.
EVIDENCE_STATUSES = ("in_force", "proposed", "superseded", "declined")
# A check ran ("ok", whatever it found), or could not run ("failed": its error says why; it then
# has no columns, no rows it could read, a share of 0 and no drift).
CHECK_STATUSES = ("ok", "failed")


class BiasAudit(Base):
    __tablename__ = "bias_audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    label_column: Mapped[str] = mapped_column(String(120))
    positive_label: Mapped[str] = mapped_column(String(120))
    dataset: Mapped["Dataset"] = relationship(viewonly=True)
    threshold: Mapped[float]
    sensitive_features: Mapped[list[str]]
    extra_groupings: Mapped[list[str]]
    status: Mapped[str] = mapped_column(String(12), default="in_force")
    results: Mapped[dict[str, Any]]
    verdict: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[list[str]]
    model_sha256: Mapped[str] = mapped_column(String(64))
    data_hash: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(80))
    policy_version: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


    @property
    def positive_label_typed(self) -> Any:
        """The positive label as its column's type in the audited data (1, not "1")."""
        return typed_label(self.positive_label, label_type([self.dataset], self.label_column))

class DriftMonitor(Base):
    __tablename__ = "drift_monitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    reference_path: Mapped[str] = mapped_column(String(500))
    reference_hash: Mapped[str] = mapped_column(String(64))
    reference_rows: Mapped[int]
    columns: Mapped[dict[str, Any]]  # {"numerical": [...], "categorical": [...]}
    method: Mapped[str | None] = mapped_column(String(40))
    column_threshold: Mapped[float | None]
    drift_share: Mapped[float]
    every_receipts: Mapped[int | None]
    daily: Mapped[bool] = mapped_column(default=False)
    action: Mapped[str] = mapped_column(String(10), default="alert")
    status: Mapped[str] = mapped_column(String(12), default="in_force")
    in_breach: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]


class DriftCheck(Base):
    __tablename__ = "drift_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("drift_monitors.id"), index=True)
    source: Mapped[str] = mapped_column(String(12))  # batch | receipts | schedule
    rows: Mapped[int]
    columns: Mapped[list[dict[str, Any]]]
    share_drifted: Mapped[float]
    drifted: Mapped[bool]
    report_path: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="ok")
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class WatchAlert(Base):
    """A watch rule that fired on how a version is used (see governance.watch): the rule, the
    figures and the window it judged, until an officer acknowledges it."""

    __tablename__ = "watch_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    rule: Mapped[str] = mapped_column(String(24))
    action: Mapped[str] = mapped_column(String(10))  # alert | suspend
    figures: Mapped[dict[str, Any]]
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)  # the rule, the figures and the window, in words
    created_at: Mapped[datetime]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
    acknowledgement: Mapped[str | None] = mapped_column(Text)  # what was found and done
