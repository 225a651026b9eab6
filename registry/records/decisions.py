"""Decisions on governed records, and the hash-chained ledger of every change."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

# Decisions that move a record through the lifecycle.
DECISIONS = ("approve", "reject", "request_changes", "suspend", "reinstate", "retire")
# Decisions on a record's evidence that leave its state as it is: waiving a named gap (groups too
# small to assess, say), acknowledging an alert, and settling a proposed change of evidence.
EVIDENCE_DECISIONS = ("waive", "acknowledge", "accept_change", "decline_change")


class Decision(Base):
    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_subject", "subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    decision: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    actor_role: Mapped[str | None] = mapped_column(String(24))
    rationale: Mapped[str] = mapped_column(Text)
    conditions: Mapped[str | None] = mapped_column(Text)
    # What an evidence decision concerns: {"requirement", "evidence", "items"} for a waiver or an
    # acknowledgement, {"evidence": "bias_audit:12"} for a settled proposal. None otherwise.
    scope: Mapped[dict[str, Any] | None]
    approved_until: Mapped[date | None]
    # Set on an approval that was superseded (the record left `approved`) so it counts no more.
    closed: Mapped[bool] = mapped_column(default=False)
    policy_name: Mapped[str] = mapped_column(String(80))
    policy_version: Mapped[str] = mapped_column(String(40))
    policy_hash: Mapped[str] = mapped_column(String(64))
    evidence_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)


class LedgerEntry(Base):
    """One link of the chain: entry_hash covers every field and the previous entry's hash."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(400))
    action: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(80))  # as long as a model's name
    change: Mapped[dict[str, Any]]
    change_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    # Whose entry it is (None: the deployment's own), for scoping who reads it; not hashed, so
    # entries written before organisations verify as they were.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)


class LedgerHead(Base):
    """A single row naming the last entry; locking it serialises appends across processes."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    entry_hash: Mapped[str] = mapped_column(String(64))
    # Signed on every append (governance/checkpoints.py): `signature` covers seq, entry_hash and
    # the latest checkpoint's number; `seq_signature` covers seq alone, which tells a head
    # moved back (a cut tail) from a head whose hash was rewritten.
    key_id: Mapped[str | None] = mapped_column(String(16))
    signature: Mapped[str | None] = mapped_column(String(128))
    seq_signature: Mapped[str | None] = mapped_column(String(128))
    checkpoint: Mapped[int] = mapped_column(default=0)
    # When to cut the next checkpoint, without a query: where and when the latest was cut.
    checkpoint_seq: Mapped[int] = mapped_column(default=0)
    checkpoint_at: Mapped[datetime | None]


class RefusalTally(Base):
    """Refused score calls of one kind (client, model, reason) not yet on the ledger.

    The first refusal of a kind in a window is a ledger entry of its own; the further ones are
    counted here, in the refusal's own transaction, and written as one summary entry when the
    window closes or the next ledger entry of any other kind is appended (governance/ledger.py).
    """

    __tablename__ = "refusal_tallies"
    __table_args__ = (UniqueConstraint("actor", "model", "reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(400))
    model: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(40))
    window_started_at: Mapped[datetime]
    pending: Mapped[int] = mapped_column(default=0)  # refusals counted, not yet on the ledger
    first_pending_at: Mapped[datetime | None]
    last_pending_at: Mapped[datetime | None]
    purpose: Mapped[str | None] = mapped_column(String(80))  # of the latest refusal counted
    problems: Mapped[dict[str, Any] | None]
