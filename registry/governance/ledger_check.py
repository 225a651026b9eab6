"""Verifying the ledger against its signatures: the chain, the signed head, the signed
checkpoints, and optionally a copy of the checkpoints kept elsewhere. Each finding is named:

- `entry_missing`, `entry_edited`, `chain_broken`: the chain itself does not hold;
- `tail_truncated`: entries were cut off the end, with or without the head row updated;
- `chain_recomputed`: entries were edited and every hash after them recomputed;
- `ledger_wiped`: the entries are gone, but signed checkpoints or a signed head say there were;
- `head_forged`: the head row was written without the signing key (or deleted);
- `head_replayed`: an older signed head was put back;
- `entries_added`: entries after the signed head, appended without the key;
- `checkpoint_missing`, `checkpoint_forged`: a checkpoint deleted, or not signed by our keys;
- `key_replaced`, `copy_invalid`: against a copy, a public key differs, or the copy is not genuine.
- `receipts_altered`, `receipt_batch_unrecorded`: score receipts chained in a Merkle batch were
  edited, deleted or added to; or a batch is not the one its ledger entry records.

Signatures are checked with the public keys held outside the database (the key files, and the
copy's keys): someone who can write to the database could replace the ones stored there.

Incremental: the walk starts after the last checkpoint this host found good (a mark kept in
the instance folder), having checked that the entry there is unchanged. The mark only saves
work: when it does not match (a database restored from a backup, say), the walk starts from
the first entry, and what proves a cut is the signatures and the copies. Every checkpoint's
entry hash is still checked each time, so a rewrite below the mark is still caught; its
signature too, unless every checkpoint up to the mark is byte for byte as it was then (a digest
kept in the mark, covering the public key each was checked with). Receipt batches likewise:
only those recorded from the walk's start on are recomputed from their receipts. `full` walks
everything, checks every signature and recomputes every batch, which also catches an edit
below the mark left with its old hashes, or a receipt edited in a batch below it (what the
incremental run does not re-read).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..platform.db import read_first
from ..platform.keys import KeyStore, PublicKey, VerifiedMark
from ..records import LedgerCheckpoint, LedgerEntry, LedgerHead, SigningKey
from . import ledger, receipt_chain
from .checkpoints import checkpoint_message, head_message, seq_message, stamp

ORDER = ("ledger_wiped", "tail_truncated", "chain_recomputed", "entry_missing", "entry_edited",
         "chain_broken", "head_replayed", "head_forged", "entries_added", "checkpoint_missing",
         "checkpoint_forged", "key_replaced", "copy_invalid", "receipts_altered",
         "receipt_batch_unrecorded")


@dataclass(frozen=True)
class Finding:
    code: str
    seq: int | None  # the first entry it concerns, where there is one
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "seq": self.seq, "message": self.message}


@dataclass
class Check:
    entries: int = 0
    checkpoints: int = 0
    walked_from: int = 1
    full: bool = True
    receipts_unchained: int = 0  # what no check covers yet: see receipt_chain.unchained
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, code: str, seq: int | None, message: str) -> None:
        if not any(f.code == code and f.seq == seq for f in self.findings):
            self.findings.append(Finding(code, seq, message))

    def first(self) -> Finding | None:
        ranked = sorted(self.findings, key=lambda f: (f.seq is None, f.seq or 0,
                                                      ORDER.index(f.code)))
        return ranked[0] if ranked else None

    def as_dict(self) -> dict[str, Any]:
        first = self.first()
        return {"ok": self.ok, "entries": self.entries,
                "first_bad_seq": first.seq if first else None,
                "problem": f"{first.code}: {first.message}" if first else None,
                "findings": [f.as_dict() for f in self.findings],
                "checkpoints": self.checkpoints, "walked_from": self.walked_from,
                "full": self.full, "receipts_unchained": self.receipts_unchained}


def check(session: Session, store: KeyStore, marks: VerifiedMark | None, database_url: str, *,
          full: bool = False, copy: dict[str, Any] | None = None) -> Check:
    """Verify; on success remember the last good checkpoint for the next, incremental, run.

    Reads in a transaction of its own that sees one state of the database throughout (an
    append between two reads would otherwise look like tampering) and blocks no writer."""
    engine = session.get_bind()
    with Session(engine) as reader:
        if engine.dialect.name == "sqlite":
            read_first(reader)  # BEGIN DEFERRED: WAL gives the reader a snapshot
        else:
            reader.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return _check(reader, store, marks, database_url, full, copy)


def _check(session: Session, store: KeyStore, marks: VerifiedMark | None, database_url: str,
           full: bool, copy: dict[str, Any] | None) -> Check:
    trusted = store.trusted()
    copy_keys = _copy_keys(copy) if copy is not None else {}
    result = Check(full=full)
    mark = None if marks is None else marks.read(database_url)
    good, digest = _checkpoints(session, {**copy_keys, **trusted}, result,
                                None if full else mark)
    hashes = _entry_hashes(session, [c.seq for c in good])
    last_seq = session.scalar(select(func.max(LedgerEntry.seq))) or 0
    result.entries = session.scalar(select(func.count()).select_from(LedgerEntry)) or 0
    _walk(session, result, good, mark, full)
    _against_checkpoints(result, good, hashes, last_seq)
    _against_head(session, result, {**copy_keys, **trusted}, good, last_seq)
    if copy is not None:
        _against_copy(session, result, copy, copy_keys, last_seq)
    for code, seq, message in receipt_chain.problems(session, result.walked_from):
        result.add(code, seq, message)
    result.receipts_unchained = receipt_chain.unchained(session)
    if result.ok and marks is not None and good:
        top = good[-1]
        marks.write(database_url, {"checkpoint": top.number, "seq": top.seq,
                                   "entry_hash": top.entry_hash, "checkpoints_digest": digest,
                                   "verified_at": stamp(datetime.now(UTC))})
    return result


def _digest(checkpoints: list[LedgerCheckpoint], keys: dict[str, PublicKey]) -> str:
    """A digest of the checkpoints as signed, with the public key each is checked against."""
    digest = hashlib.sha256()
    for c in checkpoints:
        key = keys.get(c.key_id)
        digest.update(checkpoint_message(c.number, c.seq, c.entry_hash, c.created_at) + b" "
                      + (c.signature or "").encode() + b" "
                      + (key.raw.hex() if key else "-").encode() + b"\n")
    return digest.hexdigest()


def _checkpoints(session: Session, keys: dict[str, PublicKey], result: Check,
                 mark: dict[str, Any] | None) -> tuple[list[LedgerCheckpoint], str]:
    """Every checkpoint whose signature verifies, in order, the others named; and the digest
    of them all. The signatures of those up to the mark are not checked again if they are
    exactly as they were when verified (their digest is the mark's): one hash each, where a
    signature check costs a hundred, so that verification does not grow with the ledger."""
    stored = list(session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.number)))
    result.checkpoints = len(stored)
    known = 0
    if mark and mark.get("checkpoints_digest"):
        upto = [c for c in stored if c.number <= int(mark.get("checkpoint") or 0)]
        if _digest(upto, keys) == mark["checkpoints_digest"]:
            known = len(upto)
    good: list[LedgerCheckpoint] = []
    for i, c in enumerate(stored):
        key = keys.get(c.key_id)
        message = checkpoint_message(c.number, c.seq, c.entry_hash, c.created_at)
        if key is None:
            result.add("checkpoint_forged", None, f"checkpoint #{c.number} is signed by key "
                       f"{c.key_id}, which is not one of this register's keys")
        elif i >= known and not key.verify(c.signature, message):
            result.add("checkpoint_forged", None, f"checkpoint #{c.number}'s signature does not "
                       "verify: it was written or changed without the signing key")
        elif good and c.seq < good[-1].seq:
            result.add("checkpoint_forged", None, f"checkpoint #{c.number} goes back to entry "
                       f"{c.seq}")
        else:
            good.append(c)
    numbers = {c.number for c in stored}
    missing = [n for n in range(1, max(numbers, default=0) + 1) if n not in numbers]
    if missing:
        result.add("checkpoint_missing", None,
                   f"checkpoint(s) {', '.join(f'#{n}' for n in missing)} were deleted")
    return good, _digest(good, keys)


def _entry_hashes(session: Session, seqs: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    unique = sorted(set(seqs))
    for i in range(0, len(unique), 500):
        query = select(LedgerEntry.seq, LedgerEntry.entry_hash).where(
            LedgerEntry.seq.in_(unique[i:i + 500]))
        found.update({seq: h for seq, h in session.execute(query)})
    return found


def _walk(session: Session, result: Check, good: list[LedgerCheckpoint],
          mark: dict[str, Any] | None, full: bool) -> None:
    start, prev, v2_seen = 1, ledger.GENESIS, False
    if not full and mark:
        anchor = next((c for c in good if c.number == mark.get("checkpoint")), None)
        entry = session.get(LedgerEntry, anchor.seq) if anchor else None
        version = ledger.entry_intact(entry) if entry else None
        if (anchor and entry and version and anchor.seq == mark.get("seq")
                and anchor.entry_hash == mark.get("entry_hash") == entry.entry_hash):
            start, prev, v2_seen = entry.seq + 1, entry.entry_hash, version == 2
    result.walked_from, result.full = start, start == 1
    walked = ledger.walk(session, start, prev, v2_seen)
    if not walked.ok and walked.kind and walked.first_bad_seq is not None:
        result.add(walked.kind, walked.first_bad_seq, walked.problem or "")


def _gone(result: Check, last_seq: int, what: str) -> None:
    if last_seq == 0:
        result.add("ledger_wiped", 1, f"the ledger holds no entries, but {what}")
    else:
        result.add("tail_truncated", last_seq + 1, f"{what}, but the ledger ends at entry "
                   f"{last_seq}: the entries after it were cut off")


def _since(good: list[LedgerCheckpoint], seq: int) -> int:
    """The first entry not vouched for by a checkpoint at or before `seq` - 1."""
    return max((c.seq for c in good if c.seq < seq), default=0) + 1


def _against_checkpoints(result: Check, good: list[LedgerCheckpoint], hashes: dict[int, str],
                         last_seq: int) -> None:
    for c in good:
        if c.seq > last_seq:
            _gone(result, last_seq, f"checkpoint #{c.number} signs entry {c.seq}")
            return
        if c.seq in hashes and hashes[c.seq] != c.entry_hash:
            since = _since(good, c.seq)
            result.add("chain_recomputed", since, f"entry {c.seq} is not the entry checkpoint "
                       f"#{c.number} signed: entries from {since} to {c.seq} were rewritten "
                       "and the chain recomputed")
            return


def _against_head(session: Session, result: Check, keys: dict[str, PublicKey],
                  good: list[LedgerCheckpoint], last_seq: int) -> None:
    head = session.get(LedgerHead, 1)
    if head is None:
        if last_seq:
            result.add("head_forged", last_seq, "the ledger's head row was deleted")
        elif good:
            _gone(result, 0, f"checkpoint #{good[-1].number} signs entry {good[-1].seq}")
        return
    if not head.signature:
        if last_seq or head.seq:
            result.add("head_forged", head.seq or 1, "the head row carries no signature (a "
                       "ledger from before signing is signed by `gatehouse db upgrade`)")
        return
    at_head = _entry_hashes(session, [head.seq]).get(head.seq)
    key = keys.get(head.key_id or "")
    if key is None:
        result.add("head_forged", head.seq, f"the head row is signed by key {head.key_id}, "
                   "which is not one of this register's keys")
        return
    matches_end = head.seq == last_seq and at_head == head.entry_hash
    if last_seq == 0 and not key.verify(head.signature, head_message(head.seq, head.entry_hash,
                                                                      head.checkpoint)):
        if good:  # the entries are gone and the head reset: one wipe, named above
            _gone(result, 0, f"checkpoint #{good[-1].number} signs entry {good[-1].seq}")
        else:
            result.add("head_forged", 1, "the head row was reset without the signing key")
        return
    if key.verify(head.signature, head_message(head.seq, head.entry_hash, head.checkpoint)):
        top = good[-1].number if good else 0
        if head.checkpoint < top:
            result.add("head_replayed", head.seq + 1, f"the head is an older signed head (it "
                       f"names checkpoint #{head.checkpoint}, but #{top} exists): it was put "
                       "back after entries were cut off")
        elif head.checkpoint > top and head.checkpoint not in {c.number for c in good}:
            result.add("checkpoint_missing", None, f"the signed head names checkpoint "
                       f"#{head.checkpoint}, but the last in the database is #{top}: deleted")
        named = next((c for c in good if c.number == head.checkpoint), None)
        if named and (named.seq, named.created_at) != (head.checkpoint_seq, head.checkpoint_at):
            result.add("head_forged", None, "the head's note of where and when its checkpoint "
                       "was cut was changed (which would stop checkpoints being cut)")
        if head.seq > last_seq:
            _gone(result, last_seq, f"the signed head names entry {head.seq}")
        elif head.seq < last_seq:
            result.add("entries_added", head.seq + 1, f"entries after {head.seq} were added "
                       "without the signing key (the signed head names entry "
                       f"{head.seq})")
        elif at_head != head.entry_hash:
            since = _since(good, head.seq)
            result.add("chain_recomputed", since, f"entry {head.seq} is not the one the signed "
                       f"head names: entries from {since} on were rewritten and the chain "
                       "recomputed")
    elif key.verify(head.seq_signature, seq_message(head.seq)):  # seq kept, hash rewritten
        if head.seq > last_seq:
            _gone(result, last_seq, f"the head names entry {head.seq}")
        elif matches_end:
            since = _since(good, head.seq + 1)
            result.add("chain_recomputed", since, f"the head row's hash was changed without the "
                       f"signing key to match entries rewritten from {since} on: the chain was "
                       "recomputed")
        else:
            result.add("head_forged", head.seq, "the head row's signature does not verify: it "
                       "was written without the signing key")
    elif matches_end:  # seq and hash moved back together to the last entry left
        result.add("tail_truncated", head.seq + 1, f"the head row was moved back to entry "
                   f"{head.seq} without the signing key: the entries after it were cut off and "
                   "the head updated to hide it")
    else:
        result.add("head_forged", head.seq, "the head row's signature does not verify: it was "
                   "written without the signing key")


def _copy_keys(copy: dict[str, Any]) -> dict[str, PublicKey]:
    keys = {}
    for item in copy.get("keys", []):
        try:
            key = PublicKey.from_dict(item)
        except (KeyError, ValueError, TypeError):
            continue
        keys[key.key_id] = key
    return keys


def _against_copy(session: Session, result: Check, copy: dict[str, Any],
                  keys: dict[str, PublicKey], last_seq: int) -> None:
    """The database against checkpoints (and a head) kept elsewhere."""
    for stored in session.scalars(select(SigningKey)):
        kept = keys.get(stored.key_id)
        if kept is not None and kept.raw.hex() != stored.public_key:
            result.add("key_replaced", None, f"public key {stored.key_id} in the database is not "
                       "the one in the copy")
    listed = copy.get("checkpoints", [])
    hashes = _entry_hashes(session, [int(c["seq"]) for c in listed]
                           + ([int(copy["head"]["seq"])] if copy.get("head") else []))
    for item in listed:
        number, seq, entry_hash = int(item["number"]), int(item["seq"]), item["entry_hash"]
        at = datetime.strptime(item["created_at"], "%Y-%m-%dT%H:%M:%SZ")
        key = keys.get(item.get("key_id", ""))
        if key is None or not key.verify(item.get("signature"),
                                         checkpoint_message(number, seq, entry_hash, at)):
            result.add("copy_invalid", None, f"checkpoint #{number} in the copy does not verify "
                       "with the copy's keys: the copy is not genuine")
            continue
        stored = session.get(LedgerCheckpoint, number)
        if stored is None:
            result.add("checkpoint_missing", None, f"checkpoint #{number} (entry {seq}), kept in "
                       "the copy, is not in the database")
        elif (stored.seq, stored.entry_hash, stored.signature) != (seq, entry_hash,
                                                                     item["signature"]):
            result.add("checkpoint_forged", None, f"checkpoint #{number} in the database differs "
                       "from the copy")
        _copied_entry(result, hashes, seq, entry_hash, f"checkpoint #{number} in the copy",
                      last_seq)
    head = copy.get("head")
    if head:
        key = keys.get(head.get("key_id", ""))
        message = head_message(int(head["seq"]), head["entry_hash"], int(head["checkpoint"]))
        if key is None or not key.verify(head.get("signature"), message):
            result.add("copy_invalid", None, "the head in the copy does not verify with the "
                       "copy's keys: the copy is not genuine")
        else:
            _copied_entry(result, hashes, int(head["seq"]), head["entry_hash"],
                          "the signed head in the copy", last_seq)


def _copied_entry(result: Check, hashes: dict[int, str], seq: int, entry_hash: str, what: str,
                  last_seq: int) -> None:
    if seq > last_seq:
        _gone(result, last_seq, f"{what} signs entry {seq}")
    elif seq in hashes and hashes[seq] != entry_hash:
        result.add("chain_recomputed", seq, f"entry {seq} is not the entry {what} signs: the "
                   "chain was rewritten up to it and recomputed")
