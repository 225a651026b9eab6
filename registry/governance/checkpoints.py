"""The signed head and the signed checkpoints of the ledger (Ed25519; the key is a file, see
`platform/keys.py`), and the public document outsiders copy.

What is signed, and when:
- **The head, on every append**, in the append's transaction: `signature` over (seq, entry hash,
  latest checkpoint number) and `seq_signature` over seq alone. The head row is written by every
  append anyway and a signature costs about 20 µs, so this adds no row, no query and no
  noticeable time; yet no one without the key can move the head (cut the tail and hide it) or
  delete the latest checkpoint (the head names it).
- **A checkpoint** (a row kept for ever and published) with the first entry, then once
  `[ledger] checkpoint_every_entries` entries or `checkpoint_every_minutes` minutes have passed
  since the last, checked as entries are appended; by `gatehouse ledger checkpoint`; and at a
  key rotation. Checkpoints are what outsiders keep: a head overwritten by the next append
  cannot be kept, and a database alone cannot show that an older signed head was put back.

The messages are plain ASCII, so anyone can rebuild them from the published fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform.keys import KeyMissing, KeyStore, PublicKey, raw_public
from ..records import LedgerCheckpoint, LedgerHead, SigningKey
from .errors import Unavailable

# Where a session made by the application finds how to sign (set on the sessionmaker's info).
LEDGER_SIGNING = "gatehouse.ledger_signing"

CHECKPOINT_FORMAT = "gatehouse-ledger-checkpoint/1 {number} {seq} {entry_hash} {created_at}"
HEAD_FORMAT = "gatehouse-ledger-head/1 {seq} {entry_hash} {checkpoint}"
HEAD_SEQ_FORMAT = "gatehouse-ledger-head-seq/1 {seq}"


def stamp(at: datetime) -> str:
    """A checkpoint's time as signed and published: UTC, whole seconds."""
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def checkpoint_message(number: int, seq: int, entry_hash: str, created_at: datetime) -> bytes:
    return CHECKPOINT_FORMAT.format(number=number, seq=seq, entry_hash=entry_hash,
                                    created_at=stamp(created_at)).encode()


def head_message(seq: int, entry_hash: str, checkpoint: int) -> bytes:
    return HEAD_FORMAT.format(seq=seq, entry_hash=entry_hash, checkpoint=checkpoint).encode()


def seq_message(seq: int) -> bytes:
    return HEAD_SEQ_FORMAT.format(seq=seq).encode()


@dataclass(frozen=True)
class Signing:
    """How the application signs: its key store and the active policy's checkpoint cadence."""

    keys: KeyStore
    every_entries: int
    every_minutes: int


def signing_of(session: Session) -> Signing | None:
    return session.info.get(LEDGER_SIGNING)


def _key(signing: Signing, now: datetime) -> tuple[Ed25519PrivateKey, str]:
    try:
        return signing.keys.current(now)
    except KeyMissing as exc:  # fail closed: an unsigned change would be one no one can check
        raise Unavailable(f"nothing can be recorded: {exc}") from None


def after_append(session: Session, head: LedgerHead, now: datetime) -> None:
    """Called by `ledger.append` with the head already moved: cut a checkpoint if one is due,
    then sign the head. Sessions made without the application's signing (none today) leave the
    head unsigned, which verification names."""
    signing = signing_of(session)
    if signing is None:
        return
    key, key_id = _key(signing, now)
    if due(session, head, now, pending=0):
        _cut(session, head, signing, key, key_id, now)
    _sign_head(head, key, key_id)


def due(session: Session, head: LedgerHead, now: datetime, pending: int = 1) -> bool:
    """Whether the next append (`pending` more entries) brings a checkpoint."""
    signing = signing_of(session)
    return signing is not None and (
        head.checkpoint == 0
        or head.seq + pending - head.checkpoint_seq >= signing.every_entries
        or (head.checkpoint_at is not None
            and now - head.checkpoint_at >= timedelta(minutes=signing.every_minutes)))


def cut(session: Session, signing: Signing, now: datetime, *, force: bool = False,
        only_if_unsigned: bool = False) -> LedgerCheckpoint | None:
    """Cut a checkpoint at the head now (`gatehouse ledger checkpoint`), unless the ledger is
    empty or nothing was appended since the last one (unless `force`)."""
    head = session.scalars(select(LedgerHead).where(LedgerHead.id == 1).with_for_update()).first()
    if head is None or head.seq == 0:
        return None
    if only_if_unsigned and head.signature:
        return None
    if not force and head.checkpoint and head.checkpoint_seq == head.seq:
        return None
    key, key_id = _key(signing, now)
    checkpoint = _cut(session, head, signing, key, key_id, now)
    _sign_head(head, key, key_id)
    session.flush()
    return checkpoint


def rotate(session: Session, signing: Signing, now: datetime) -> tuple[str | None, PublicKey,
                                                                        LedgerCheckpoint | None]:
    """A new key becomes current; the old one's public key is kept (file and database) and
    marked retired; a checkpoint signed with the new key binds the ledger so far to it."""
    old, new = signing.keys.rotate(now)
    if old is not None:
        record = session.get(SigningKey, old)
        if record is not None and record.retired_at is None:
            record.retired_at = now.replace(microsecond=0)
    _record_key(session, new)
    return old, new, cut(session, signing, now, force=True)


def _cut(session: Session, head: LedgerHead, signing: Signing, key: Ed25519PrivateKey,
         key_id: str, now: datetime) -> LedgerCheckpoint:
    at = now.replace(microsecond=0)
    number = head.checkpoint + 1
    checkpoint = LedgerCheckpoint(
        number=number, seq=head.seq, entry_hash=head.entry_hash, created_at=at, key_id=key_id,
        signature=key.sign(checkpoint_message(number, head.seq, head.entry_hash, at)).hex())
    session.add(checkpoint)
    known = signing.keys.public_keys().get(key_id)
    _record_key(session, known or PublicKey(key_id, raw_public(key.public_key()), at))
    head.checkpoint, head.checkpoint_seq, head.checkpoint_at = number, head.seq, at
    return checkpoint


def _record_key(session: Session, key: PublicKey) -> None:
    """The database's published copy of a public key (verification trusts the files)."""
    if session.get(SigningKey, key.key_id) is None:
        session.add(SigningKey(key_id=key.key_id, algorithm="Ed25519", public_key=key.raw.hex(),
                               created_at=key.created_at, retired_at=key.retired_at))


def _sign_head(head: LedgerHead, key: Ed25519PrivateKey, key_id: str) -> None:
    head.key_id = key_id
    head.signature = key.sign(head_message(head.seq, head.entry_hash, head.checkpoint)).hex()
    head.seq_signature = key.sign(seq_message(head.seq)).hex()


def published(session: Session, keys: KeyStore) -> dict[str, Any]:
    """What `GET /transparency/ledger/checkpoints` returns: every checkpoint, the signed head and
    every public key, with the message formats, so that anyone can check and keep a copy."""
    public = {k.key_id: k.as_dict() for k in _published_keys(session)}
    public.update({k: v.as_dict() for k, v in keys.public_keys().items()})  # the files win
    checkpoints = session.scalars(select(LedgerCheckpoint).order_by(LedgerCheckpoint.number))
    head = session.get(LedgerHead, 1)
    return {
        "algorithm": "Ed25519",
        "formats": {"checkpoint": CHECKPOINT_FORMAT, "head": HEAD_FORMAT,
                    "head_seq": HEAD_SEQ_FORMAT},
        "keys": sorted(public.values(), key=lambda k: k["created_at"] or ""),
        "checkpoints": [
            {"number": c.number, "seq": c.seq, "entry_hash": c.entry_hash,
             "created_at": stamp(c.created_at), "key_id": c.key_id, "signature": c.signature,
             "message": checkpoint_message(c.number, c.seq, c.entry_hash, c.created_at).decode()}
            for c in checkpoints
        ],
        "head": None if head is None or not head.signature else {
            "seq": head.seq, "entry_hash": head.entry_hash, "checkpoint": head.checkpoint,
            "key_id": head.key_id, "signature": head.signature,
            "seq_signature": head.seq_signature,
            "message": head_message(head.seq, head.entry_hash, head.checkpoint).decode(),
            "seq_message": seq_message(head.seq).decode(),
        },
    }


def _published_keys(session: Session) -> list[PublicKey]:
    return [PublicKey(k.key_id, bytes.fromhex(k.public_key), k.created_at, k.retired_at)
            for k in session.scalars(select(SigningKey))]
