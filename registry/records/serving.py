"""Score receipts (one per score served), the Merkle batches that chain them, and background
jobs."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .types import Sealed

if TYPE_CHECKING:
    from .models import ModelVersion


class ScoreReceipt(Base):
    __tablename__ = "score_receipts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    purpose: Mapped[str] = mapped_column(String(80))
    inputs_hash: Mapped[str] = mapped_column(String(64))
    # Encrypted at rest. None is SQL NULL (not JSON null): inputs not kept, or erased after
    # retention.
    inputs: Mapped[dict[str, Any] | None] = mapped_column(Sealed("score_receipts.inputs"))
    inputs_expire_at: Mapped[datetime | None]
    score: Mapped[float]
    band: Mapped[str | None] = mapped_column(String(40))
    # encrypted too: it repeats the inputs' values
    explanation: Mapped[dict[str, Any] | None] = mapped_column(Sealed("score_receipts.explanation"))
    created_at: Mapped[datetime] = mapped_column(index=True)
    outcome: Mapped[str | None] = mapped_column(Text)
    overrode: Mapped[bool | None]
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime | None]
    # The short code a decision letter quotes (public page /verify/<code>); none on receipts made
    # before codes existed.
    code: Mapped[str | None] = mapped_column(String(16), unique=True)
    # The Merkle batch that chains the receipt into the ledger, and its leaf's place in it.
    batch: Mapped[int | None] = mapped_column(index=True)
    batch_index: Mapped[int | None]

    model_version: Mapped["ModelVersion"] = relationship()
    outcome_reports: Mapped[list["OutcomeReport"]] = relationship(order_by="OutcomeReport.id")


class OutcomeReport(Base):
    """One report of a receipt's outcome: the first, or a correction of the one before (with
    the reason for it). The receipt holds the latest; this keeps the history."""

    __tablename__ = "outcome_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[str] = mapped_column(ForeignKey("score_receipts.id"), index=True)
    outcome: Mapped[str] = mapped_column(Text)
    overrode: Mapped[bool]
    reason: Mapped[str | None] = mapped_column(Text)
    correction_reason: Mapped[str | None] = mapped_column(Text)  # None: the first report
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    created_at: Mapped[datetime]


class ReceiptBatch(Base):
    """Receipts chained together: an RFC 6962 Merkle tree whose root a ledger entry records."""

    __tablename__ = "receipt_batches"

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    created_at: Mapped[datetime]


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(
        String(12), default="queued"
    )  # queued|running|succeeded|failed
    params: Mapped[dict[str, Any]]
    result_kind: Mapped[str | None] = mapped_column(String(40))
    result_id: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The organisation whose record the job works on: it runs scoped to it, and only that
    # organisation's people see it.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
