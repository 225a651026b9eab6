"""What the public page /verify/<code> says of a receipt: which model and version scored it,
the approval in force, and whether the receipt is in a signed checkpoint of the ledger: its leaf
gives the root its batch's ledger entry records, and that entry links, intact, to the entry the
checkpoint signs. Nothing about the person or their score."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform import merkle
from ..platform.keys import PublicKey
from ..records import (
    Decision,
    LedgerCheckpoint,
    LedgerEntry,
    ModelVersion,
    Organisation,
    PredictiveModel,
    ScoreReceipt,
)
from . import ledger
from .checkpoints import checkpoint_message
from .receipt_chain import (
    ACTION,
    LEAF_FIELDS,
    display_code,
    leaf,
    leaf_rows,
    normalise_code,
)


@dataclass(frozen=True)
class Standing:
    """Where a receipt stands in the chain: its batch's entry, and the checkpoint signing it."""

    batch: int | None
    entry_seq: int | None
    checkpoint: LedgerCheckpoint | None
    matches: bool  # its leaf, with the inclusion proof, gives the root the ledger records
    proven: bool  # and that entry is linked, intact, to the one its checkpoint signs


def standing(session: Session, receipt: ScoreReceipt) -> Standing:
    if receipt.batch is None or receipt.batch_index is None:
        return Standing(None, None, None, False, False)
    entry = session.scalars(select(LedgerEntry).where(
        LedgerEntry.action == ACTION, LedgerEntry.subject_id == str(receipt.batch))).first()
    if entry is None:
        return Standing(receipt.batch, None, None, False, False)
    leaves = [h for _, h in leaf_rows(session, ScoreReceipt.batch == receipt.batch)]
    mine = leaf({f: getattr(receipt, f) for f in LEAF_FIELDS})
    matches = (receipt.batch_index < len(leaves) and merkle.verify_inclusion(
        mine, receipt.batch_index, entry.change.get("size", 0),
        merkle.inclusion_proof(leaves, receipt.batch_index),
        bytes.fromhex(entry.change.get("root", ""))))
    checkpoint = session.scalars(select(LedgerCheckpoint).where(
        LedgerCheckpoint.seq >= entry.seq).order_by(LedgerCheckpoint.number)).first()
    return Standing(receipt.batch, entry.seq, checkpoint, matches,
                    matches and checkpoint is not None and _signed_over(session, entry,
                                                                          checkpoint))


def _signed_over(session: Session, entry: LedgerEntry, checkpoint: LedgerCheckpoint) -> bool:
    """Whether the entries from the batch's to the checkpoint's are intact and linked, ending
    in the hash the checkpoint signs: the signature vouches for the root only then (an entry
    edited, or rehashed, beneath it would otherwise pass). Batches are chained just before a
    checkpoint is cut, so this is a few entries."""
    walked = ledger.walk(session, entry.seq, entry.prev_hash, end_seq=checkpoint.seq)
    return walked.ok and walked.entries == checkpoint.seq and \
        walked.last_hash == checkpoint.entry_hash


@dataclass(frozen=True)
class Verified:
    """What the public page says of a receipt: nothing about the person or their score."""

    code: str
    model: str
    model_title: str
    version: int
    purpose: str
    scored_at: datetime
    approval: Decision | None
    standing: Standing
    signed: bool  # its checkpoint's signature verifies with the register's own public keys
    organisation: str | None = None  # the model's organisation's slug (names are each one's own)

    @property
    def state(self) -> str:
        """"signed"; "unbatched" or "unsigned" (not yet chained, or chained and not yet in a
        checkpoint); else "broken": the receipt, its batch or the ledger was changed since."""
        where = self.standing
        if self.signed:
            return "signed"
        if where.batch is None:
            return "unbatched"
        if where.matches and where.checkpoint is None:
            return "unsigned"
        return "broken"


def verify_code(session: Session, text: str, trusted: dict[str, PublicKey]) -> Verified | None:
    """The receipt a code names, where it stands in the chain; None for a code no receipt has."""
    code = normalise_code(text)
    receipt = None if code is None else session.scalars(
        select(ScoreReceipt).where(ScoreReceipt.code == code)).first()
    if receipt is None:
        return None
    version = session.get(ModelVersion, receipt.model_version_id)
    model = None if version is None else session.get(PredictiveModel, version.model_id)
    if version is None or model is None:
        return None
    where = standing(session, receipt)
    cp = where.checkpoint
    key = None if cp is None else trusted.get(cp.key_id)
    signed = cp is not None and key is not None and key.verify(
        cp.signature, checkpoint_message(cp.number, cp.seq, cp.entry_hash, cp.created_at))
    org = session.get(Organisation, model.organisation_id)
    return Verified(display_code(receipt.code or ""), model.name, model.title, version.number,
                    receipt.purpose, receipt.created_at,
                    session.get(Decision, receipt.approval_id), where, signed and where.proven,
                    org.slug if org is not None else None)
