"""The hash-chained audit ledger: append in the same transaction as the change; verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import LedgerEntry, LedgerHead
from .actors import Actor

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    """Deterministic JSON: the same content always hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def _entry_hash(e: LedgerEntry) -> str:
    return sha256(
        {
            "seq": e.seq,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "subject": [e.subject_kind, e.subject_id],
            "change_hash": e.change_hash,
            "prev_hash": e.prev_hash,
        }
    )


def append(
    session: Session,
    actor: Actor,
    action: str,
    subject_kind: str,
    subject_id: object,
    change: dict[str, Any],
    now: datetime,
) -> LedgerEntry:
    """Add the next link. Locks the head row, so concurrent writers queue rather than fork."""
    head = session.scalars(select(LedgerHead).where(LedgerHead.id == 1).with_for_update()).first()
    if head is None:
        head = LedgerHead(id=1, seq=0, entry_hash=GENESIS)
        session.add(head)
    change = json.loads(canonical(change))  # what is stored is exactly what was hashed
    entry = LedgerEntry(
        seq=head.seq + 1,
        at=now,
        actor=actor.ledger_name,
        action=action,
        subject_kind=subject_kind,
        subject_id=str(subject_id),
        change=change,
        change_hash=sha256(change),
        prev_hash=head.entry_hash,
    )
    entry.entry_hash = _entry_hash(entry)
    session.add(entry)
    head.seq, head.entry_hash = entry.seq, entry.entry_hash
    session.flush()
    return entry


@dataclass
class Verification:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def verify(session: Session) -> Verification:
    """Walk the chain in order; name the first entry that was edited, deleted or moved."""
    expected_prev, expected_seq, count = GENESIS, 1, 0
    for e in session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq)).yield_per(1000):
        count += 1
        if e.seq != expected_seq:
            return Verification(
                False, count, expected_seq, f"entry {expected_seq} is missing (next is {e.seq})"
            )
        if e.change_hash != sha256(e.change):
            return Verification(False, count, e.seq, f"entry {e.seq}: its change was edited")
        if e.prev_hash != expected_prev:
            return Verification(
                False, count, e.seq, f"entry {e.seq} does not follow entry {e.seq - 1}"
            )
        if e.entry_hash != _entry_hash(e):
            return Verification(False, count, e.seq, f"entry {e.seq} was edited")
        expected_prev, expected_seq = e.entry_hash, expected_seq + 1
    head = session.get(LedgerHead, 1)
    if head is not None and (head.seq != count or head.entry_hash != expected_prev):
        return Verification(
            False, count, count + 1, f"entries after {count} are missing (head is {head.seq})"
        )
    return Verification(True, count)
