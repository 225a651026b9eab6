"""The hash-chained audit ledger: append in the same transaction as the change; verify the chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from ..records import (
    DPIA,
    ApiClient,
    Dataset,
    DataSharingAgreement,
    LedgerEntry,
    LedgerHead,
    ModelVersion,
    PredictiveModel,
    RefusalTally,
    ScoreReceipt,
    User,
)
from . import checkpoints
from .actors import Actor

GENESIS = "0" * 64
# Set in a session's info by every append: what it commits holds new entries (see jobs.notify).
APPENDED = "gatehouse_ledger_appended"


def canonical(value: Any) -> bytes:
    """Deterministic JSON: the same content always hashes the same."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def snapshot(record: Any) -> dict[str, Any]:
    """A record's own columns, as evidence of what a decision was taken on."""
    return {c.key: getattr(record, c.key) for c in record.__table__.columns}


HASH_VERSION = 2


def _entry_hash(e: LedgerEntry | Row[Any], version: int = HASH_VERSION) -> str:
    """Version 2 (every entry written now) also covers the organisation the entry belongs to,
    so moving an entry to another organisation's view breaks it; version 1 is how entries
    written before were hashed, and still verify (see `walk`)."""
    fields: dict[str, Any] = {
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor": e.actor,
        "action": e.action,
        "subject": [e.subject_kind, e.subject_id],
        "change_hash": e.change_hash,
        "prev_hash": e.prev_hash,
    }
    if version >= 2:
        fields.update(hash_version=version, organisation_id=e.organisation_id)
    return sha256(fields)


def hash_version(e: LedgerEntry | Row[Any], v2_seen: bool) -> int | None:
    """The version the entry's stored hash is of (None: neither, it was edited). Once an entry
    of version 2 has been seen, no later entry may be of version 1: an edit passed off as an
    old entry (whose hash does not cover its organisation) is an edit."""
    if e.entry_hash == _entry_hash(e, 2):
        return 2
    if not v2_seen and e.entry_hash == _entry_hash(e, 1):
        return 1
    return None


def append(
    session: Session,
    actor: Actor,
    action: str,
    subject_kind: str,
    subject_id: object,
    change: dict[str, Any],
    now: datetime,
    organisation_id: int | None = None,
) -> LedgerEntry:
    """Add the next link, after the summaries of any refusals counted since the last one. Locks
    the head row, so concurrent writers queue rather than fork. When a checkpoint is due, the
    receipts not yet chained are chained first, so it signs them. The entry belongs to the
    organisation given, else to its subject's."""
    head = lock_head(session)
    summarise_refusals(session, head, now)
    if checkpoints.due(session, head, now):
        _chain_receipts(session, head, now)
    if organisation_id is None:
        organisation_id = _organisation_of(session, subject_kind, subject_id)
    entry = _link(session, head, actor.ledger_name, action, subject_kind, subject_id, change, now,
                  organisation_id)
    checkpoints.after_append(session, head, now)  # sign the head; cut a checkpoint when due
    session.flush()
    return entry


def chain_receipts(session: Session, now: datetime) -> bool:
    """Chain the receipts not yet chained now (before a checkpoint is cut by hand)."""
    head = lock_head(session)
    if not _chain_receipts(session, head, now):
        return False
    checkpoints.after_append(session, head, now)
    session.flush()
    return True


def lock_head(session: Session) -> LedgerHead:
    """The head row, locked: concurrent writers queue rather than fork."""
    head = session.scalars(select(LedgerHead).where(LedgerHead.id == 1).with_for_update()).first()
    if head is None:
        head = LedgerHead(id=1, seq=0, entry_hash=GENESIS, checkpoint=0, checkpoint_seq=0)
        session.add(head)
    return head


def _chain_receipts(session: Session, head: LedgerHead, now: datetime) -> bool:
    # loaded here, when a checkpoint is due, not with the ledger: most appends (a user created
    # by `gatehouse users create`, issue 17) chain no receipts
    from . import receipt_chain

    batch = receipt_chain.batch_pending(session, now)
    if batch is not None:
        number, change = batch
        _link(session, head, receipt_chain.ACTOR.ledger_name, receipt_chain.ACTION,
              "receipt_batch", number, change, now)
    return batch is not None


def summarise_refusals(session: Session, head: LedgerHead, now: datetime) -> None:
    """Write each tally of refused score calls counted since the last entry as one entry,
    "N further refusals …", and start counting again."""
    query = select(RefusalTally).where(RefusalTally.pending > 0).order_by(RefusalTally.id)
    for tally in list(session.scalars(query)):
        first, last = tally.first_pending_at, tally.last_pending_at
        # the tool's organisation, as for the refusal logged in full (the model may be no one's)
        tool = session.scalars(select(LedgerEntry.organisation_id).where(
            LedgerEntry.actor == tally.actor).order_by(LedgerEntry.seq.desc()).limit(1)
            .execution_options(**_EVERYWHERE)).first()
        assert first is not None and last is not None
        summary = (f"{tally.pending} further refusal{'s' if tally.pending != 1 else ''} "
                   f"({tally.reason}) from {first.isoformat()} to {last.isoformat()}")
        _link(session, head, tally.actor, "score_refused", "model", tally.model,
              {"refusals": tally.pending, "summary": summary, "reason": tally.reason,
               "first_at": first.isoformat(), "last_at": last.isoformat(),
               "latest": {"purpose": tally.purpose, "problems": tally.problems}}, now, tool)
        tally.pending, tally.first_pending_at, tally.last_pending_at = 0, None, None


def _link(session: Session, head: LedgerHead, actor: str, action: str, subject_kind: str,
          subject_id: object, change: dict[str, Any], now: datetime,
          organisation_id: int | None = None) -> LedgerEntry:
    change = json.loads(canonical(change))  # what is stored is exactly what was hashed
    entry = LedgerEntry(
        seq=head.seq + 1,
        at=now,
        actor=actor,
        action=action,
        subject_kind=subject_kind,
        subject_id=str(subject_id),
        change=change,
        change_hash=sha256(change),
        prev_hash=head.entry_hash,
        organisation_id=organisation_id,
    )
    entry.entry_hash = _entry_hash(entry)
    session.add(entry)
    session.info[APPENDED] = True
    head.seq, head.entry_hash = entry.seq, entry.entry_hash
    return entry


_OWNED: dict[str, type[Any]] = {"agreement": DataSharingAgreement, "dataset": Dataset,
                                "dpia": DPIA, "model": PredictiveModel,
                                "model_version": ModelVersion, "api_client": ApiClient,
                                "user": User}
_EVERYWHERE = {"gatehouse_unscoped": True}


def _organisation_of(session: Session, kind: str, subject_id: object) -> int | None:
    """The organisation a subject belongs to (a user: the first they joined)."""
    if kind == "organisation":
        return int(str(subject_id))
    if kind == "receipt":  # its version's: the auditors there see who read its inputs
        return session.scalar(select(ModelVersion.organisation_id).join(
            ScoreReceipt, ScoreReceipt.model_version_id == ModelVersion.id).where(
            ScoreReceipt.id == str(subject_id)).execution_options(**_EVERYWHERE))
    cls = _OWNED.get(kind)
    if cls is None:
        return None
    if cls is PredictiveModel and not str(subject_id).isdigit():  # a model named, not numbered
        subject = session.scalars(select(PredictiveModel).where(
            PredictiveModel.name == str(subject_id)).execution_options(**_EVERYWHERE)).first()
    else:
        subject = session.get(cls, int(str(subject_id)), execution_options=_EVERYWHERE)
    return getattr(subject, "organisation_id", None)


@dataclass
class Verification:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None
    kind: str | None = None  # entry_missing, entry_edited or chain_broken
    last_hash: str = GENESIS  # of the last entry found good

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
        }


def walk(session: Session, start_seq: int = 1, prev_hash: str = GENESIS,
         v2_seen: bool = False, end_seq: int | None = None) -> Verification:
    """Walk the chain in order from `start_seq` (whose predecessor's hash is `prev_hash`, and
    `v2_seen` whether it or any entry before it is of hash version 2) to `end_seq` (else the
    end); name the first entry that was edited, deleted or moved. `entries` counts from the
    start."""
    expected_prev, expected_seq, count = prev_hash, start_seq, start_seq - 1
    # rows, not entities: the walk reads each entry once, and the ORM would double its time
    query = (select(*LedgerEntry.__table__.columns).where(LedgerEntry.seq >= start_seq)
             .order_by(LedgerEntry.seq))
    if end_seq is not None:
        query = query.where(LedgerEntry.seq <= end_seq)
    for e in session.execute(query).yield_per(1000):
        count += 1
        if e.seq != expected_seq:
            return Verification(False, count, expected_seq,
                                f"entry {expected_seq} is missing (next is {e.seq})",
                                "entry_missing", expected_prev)
        if e.change_hash != sha256(e.change):
            return Verification(False, count, e.seq, f"entry {e.seq}: its change was edited",
                                "entry_edited", expected_prev)
        if e.prev_hash != expected_prev:
            return Verification(False, count, e.seq,
                                f"entry {e.seq} does not follow entry {e.seq - 1}",
                                "chain_broken", expected_prev)
        version = hash_version(e, v2_seen)
        if version is None:
            return Verification(False, count, e.seq, f"entry {e.seq} was edited", "entry_edited",
                                expected_prev)
        v2_seen = v2_seen or version == 2
        expected_prev, expected_seq = e.entry_hash, expected_seq + 1
    return Verification(True, count, last_hash=expected_prev)


def entry_intact(e: LedgerEntry) -> int | None:
    """The hash version of the entry if its stored hashes are those of its content (not
    whether it follows its predecessor), else None."""
    return hash_version(e, False) if e.change_hash == sha256(e.change) else None


def verify(session: Session) -> Verification:
    """The chain alone, against the head row (unsigned); `ledger_check.check` adds the
    signatures and checkpoints."""
    result = walk(session)
    if not result.ok:
        return result
    count = result.entries
    head = session.get(LedgerHead, 1)
    if head is not None and (head.seq != count or head.entry_hash != result.last_hash):
        return Verification(
            False, count, count + 1, f"entries after {count} are missing (head is {head.seq})"
        )
    return Verification(True, count)
