"""Score receipts chained into the ledger in Merkle batches, so the scoring path writes only
its receipt rows.

Before a checkpoint is cut, the receipts not yet chained become a batch: an RFC 6962 Merkle tree
of their leaves (see `leaf`), whose root a ledger entry ("chain_receipts") records; the
checkpoint then signs it. Verification recomputes every batch's root from its receipts: a
receipt edited, deleted or slipped into a batch changes it. A receipt's short code lets anyone
check, on the public page, that it is in a signed checkpoint (see `receipt_codes`).

A leaf covers what the receipt says of the score (`LEAF_FIELDS`), not its explanation
(sealed, and not read back to verify) nor its outcome, whose every report is a ledger entry of
its own: an explanation or an outcome edited in its row is not found by verification. Receipts
not yet in a batch (those since the last checkpoint) are covered by nothing until it is cut.
"""

from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..platform import merkle
from ..records import (
    LedgerEntry,
    ReceiptBatch,
    ScoreReceipt,
)
from .actors import Actor

ACTION = "chain_receipts"
ACTOR = Actor("system", None, "receipts")
# Crockford's base32: no I, L, O or U, so a code read aloud or copied by hand survives.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 random bits
LEAF_FIELDS = ("id", "code", "model_version_id", "approval_id", "client_id", "purpose",
                "inputs_hash", "score", "band", "created_at")


_FROM_BASE32 = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET)


def new_code() -> str:
    return base64.b32encode(secrets.token_bytes(8)).decode()[:CODE_LENGTH].translate(_FROM_BASE32)


def normalise_code(text: str) -> str | None:
    """A code as typed (any case, dashes or spaces, O for 0, I or L for 1); None if it cannot
    be one."""
    code = text.upper().replace("-", "").replace(" ", "").translate(str.maketrans("OIL", "011"))
    return code if len(code) == CODE_LENGTH and all(c in _ALPHABET for c in code) else None


def display_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def leaf(values: dict[str, Any]) -> bytes:
    """A receipt's leaf hash: what it says about the score, never the inputs themselves."""
    fields = {f: values[f] for f in LEAF_FIELDS}
    fields["created_at"] = fields["created_at"].isoformat()
    return merkle.leaf_hash(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())


def leaf_rows(session: Session, *where: Any) -> list[tuple[str, bytes]]:
    columns = [getattr(ScoreReceipt, f) for f in LEAF_FIELDS]
    query = select(*columns).where(*where).order_by(ScoreReceipt.batch_index,
                                                    ScoreReceipt.created_at, ScoreReceipt.id)
    return [(row.id, leaf(row._asdict())) for row in session.execute(query)]


def batch_pending(session: Session, now: datetime) -> tuple[int, dict[str, Any]] | None:
    """Put the receipts not yet chained into the next batch; its number and what the ledger
    entry records (None if there are none)."""
    rows = leaf_rows(session, ScoreReceipt.batch.is_(None))
    if not rows:
        return None
    number = (session.scalar(select(func.max(ReceiptBatch.number))) or 0) + 1
    root = merkle.root([h for _, h in rows]).hex()
    session.add(ReceiptBatch(number=number, root=root, size=len(rows), created_at=now))
    session.execute(update(ScoreReceipt), [
        {"id": receipt_id, "batch": number, "batch_index": i}
        for i, (receipt_id, _) in enumerate(rows)])
    return number, {"root": root, "size": len(rows), "tree": "RFC 6962 SHA-256"}


def unchained(session: Session) -> int:
    """How many receipts no batch chains yet: nothing protects them until the next checkpoint
    chains them (a receipt deleted or changed before then is not seen)."""
    return session.scalar(select(func.count()).select_from(ScoreReceipt)
                          .where(ScoreReceipt.batch.is_(None))) or 0


def problems(session: Session, from_seq: int = 1) -> list[tuple[str, int | None, str]]:
    """Each batch whose receipts no longer give the root its ledger entry records, or whose
    entry is missing: (code, ledger seq, message). Only the batches recorded from entry
    `from_seq` on, and any made since, are recomputed: those below were verified already (the
    incremental verification; `from_seq=1` checks every one)."""
    # The last batch recorded below: found by walking back from `from_seq` (batches come before
    # checkpoints, so not far), unless there are none, when it would read the whole ledger.
    below = None if from_seq == 1 or session.scalar(
        select(func.max(ReceiptBatch.number))) is None else session.scalar(
        select(LedgerEntry.subject_id).where(LedgerEntry.seq < from_seq,
                                             LedgerEntry.action == ACTION)
        .order_by(LedgerEntry.seq.desc()).limit(1))
    entries = {e.subject_id: e for e in session.scalars(
        select(LedgerEntry).where(LedgerEntry.seq >= from_seq, LedgerEntry.action == ACTION))}
    found = []
    batches = select(ReceiptBatch).where(ReceiptBatch.number > int(below or 0))
    for batch in session.scalars(batches.order_by(ReceiptBatch.number)):
        entry = entries.pop(str(batch.number), None)
        if entry is None or entry.change.get("root") != batch.root:
            found.append(("receipt_batch_unrecorded", None,
                          f"receipt batch {batch.number} is not the one the ledger records"))
            continue
        leaves = [h for _, h in leaf_rows(session, ScoreReceipt.batch == batch.number)]
        if len(leaves) != entry.change.get("size") or merkle.root(leaves).hex() != batch.root:
            found.append(("receipts_altered", entry.seq,
                          f"the receipts of batch {batch.number} (entry {entry.seq}) were "
                          "edited, deleted or added to"))
    for number, entry in entries.items():
        found.append(("receipt_batch_unrecorded", entry.seq,
                      f"receipt batch {number}, recorded by entry {entry.seq}, is missing"))
    return found
