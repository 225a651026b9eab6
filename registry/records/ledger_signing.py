"""Signed checkpoints of the ledger, and the public keys that signed them.

The private key is never here (it is in a file outside the database, `platform/keys.py`): these
rows are the published copy. Verification trusts the public keys held outside the database.
"""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class SigningKey(Base):
    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)  # sha256(raw)[:16]
    algorithm: Mapped[str] = mapped_column(String(16), default="Ed25519")
    public_key: Mapped[str] = mapped_column(String(64))  # hex of the 32 raw bytes
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class LedgerCheckpoint(Base):
    """Checkpoint `number` signs (seq, entry_hash) at created_at; numbers run 1, 2, 3…"""

    __tablename__ = "ledger_checkpoints"

    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(index=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]  # whole seconds: it is part of the signed message
    key_id: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(128))  # hex of the 64-byte Ed25519 signature
