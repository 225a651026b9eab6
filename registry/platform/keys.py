"""The ledger's Ed25519 signing key, kept in a file outside the database, and the public keys
of every key it has ever had (so old signatures still verify after a rotation).

The private key lives in a PEM file readable by the service's user alone (0600); the public
keys in a JSON file beside it. Both are the trust anchor: someone who can write to the database
can replace the public keys stored there, but not these files. Nothing here logs key material.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from .config import private_file, private_folder

KEY_FILE_NAME = "ledger_signing_key.pem"
VERIFIED_FILE_NAME = "ledger_verified.json"

log = logging.getLogger(__name__)


class KeyMissing(Exception):
    """The configured key file does not exist and may not be created by itself."""


class KeyExists(Exception):
    """`keys init` found a key already: it never overwrites one."""


def raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(raw: bytes) -> str:
    """The first 16 hex digits of the sha256 of the 32 raw public key bytes."""
    return hashlib.sha256(raw).hexdigest()[:16]


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(at: str | None) -> datetime | None:
    return None if at is None else datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    raw: bytes  # the 32 raw Ed25519 public key bytes
    created_at: datetime | None = None
    retired_at: datetime | None = None

    def verify(self, signature_hex: str | None, message: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(bytes.fromhex(signature_hex or ""),
                                                                 message)
        except (InvalidSignature, ValueError):
            return False
        return True

    def as_dict(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "algorithm": "Ed25519", "public_key_hex": self.raw.hex(),
                "public_key_base64": b64encode(self.raw).decode(),
                "created_at": _iso(self.created_at), "retired_at": _iso(self.retired_at)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PublicKey:
        raw = bytes.fromhex(data["public_key_hex"])
        if len(raw) != 32 or key_id_of(raw) != data["key_id"]:
            raise ValueError(f"public key {data.get('key_id')!r} does not match its id")
        return cls(data["key_id"], raw, _parse(data.get("created_at")),
                   _parse(data.get("retired_at")))


class KeyStore:
    """The signing key file and its public keys file (`<key file stem>.public.json`).

    `may_create`: make a key on first use when there is none (the default location in the
    instance folder); False when the operator named a file, which must then exist."""

    def __init__(self, path: Path, may_create: bool) -> None:
        self.path, self.may_create = path, may_create
        self.public_path = path.with_suffix(".public.json")
        self._lock = threading.Lock()
        self._loaded: tuple[int, Ed25519PrivateKey, str] | None = None  # (mtime_ns, key, id)

    def current(self, now: datetime) -> tuple[Ed25519PrivateKey, str]:
        """The key to sign with and its id. Re-read when the file changes, so processes that
        are running pick up a rotation made by `gatehouse keys rotate`."""
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                if not self.may_create:
                    raise KeyMissing(f"the ledger signing key file {self.path} does not exist;"
                                     " restore it, or create one with `gatehouse keys init`"
                                     ) from None
                known = len(self.public_keys())
                self._write_new(now, retire=set(self.public_keys()))
                if known:  # a lost key file: the new key is a rotation, the old ones stay listed
                    log.warning("the ledger signing key file %s was missing: a new key was made; "
                                "the %d earlier public keys are kept", self.path, known)
                mtime = self.path.stat().st_mtime_ns
            if self._loaded is None or self._loaded[0] != mtime:
                key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise KeyMissing(f"{self.path} does not hold an Ed25519 private key")
                self._loaded = (mtime, key, key_id_of(raw_public(key.public_key())))
            return self._loaded[1], self._loaded[2]

    def exists(self) -> bool:
        return self.path.exists()

    def init(self, now: datetime) -> PublicKey:
        """Create the key file; refuse if one is there."""
        with self._lock:
            if self.path.exists():
                raise KeyExists(f"a signing key already exists at {self.path}; "
                                "`gatehouse keys rotate` replaces it")
            return self._write_new(now)

    def rotate(self, now: datetime) -> tuple[str | None, PublicKey]:
        """A new key becomes current; the old public key is kept, marked retired."""
        with self._lock:
            old = None
            if self.path.exists():
                key = serialization.load_pem_private_key(self.path.read_bytes(), password=None)
                old = key_id_of(raw_public(key.public_key()))  # type: ignore[arg-type]
            return old, self._write_new(now, retire={old} if old else set())

    def trusted(self) -> dict[str, PublicKey]:
        """The public keys verification trusts: those listed in the file, and the current key's
        (read from the key file, never created here)."""
        keys = self.public_keys()
        if self.path.exists():
            key, kid = self.current(datetime.now(UTC))
            keys.setdefault(kid, PublicKey(kid, raw_public(key.public_key())))
        return keys

    def public_keys(self) -> dict[str, PublicKey]:
        """Every public key this register has signed with, by id."""
        if not self.public_path.exists():
            return {}
        listed = json.loads(self.public_path.read_text())["keys"]
        return {k["key_id"]: PublicKey.from_dict(k) for k in listed}

    def _write_new(self, now: datetime, retire: set[str] | frozenset[str] = frozenset()
                   ) -> PublicKey:
        if not self.path.parent.exists():
            private_folder(self.path.parent)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        # Written beside the key file with mode 0600 from the start, then moved into place in one
        # step: a reader never sees half a key, nor a moment where it is readable by others.
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        private_file(tmp)
        with open(tmp, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
        raw = raw_public(key.public_key())
        new = PublicKey(key_id_of(raw), raw, now.replace(microsecond=0))
        keys = self.public_keys()
        for k in [keys[r] for r in retire if r in keys and keys[r].retired_at is None]:
            keys[k.key_id] = PublicKey(k.key_id, k.raw, k.created_at, now.replace(microsecond=0))
        keys[new.key_id] = new
        self._write_public(list(keys.values()))
        log.info("ledger signing key %s is now current (%s)", new.key_id, self.path)
        return new

    def _write_public(self, keys: list[PublicKey]) -> None:
        tmp = self.public_path.with_name(f".{self.public_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"keys": [k.as_dict() for k in keys]}, indent=2) + "\n")
        os.replace(tmp, self.public_path)


def default_key_store(instance: Path, configured: str | None) -> KeyStore:
    """The file named by GATEHOUSE_SIGNING_KEY_FILE, or one made in the instance folder."""
    if configured:
        return KeyStore(Path(configured), may_create=False)
    return KeyStore(instance / KEY_FILE_NAME, may_create=True)


class VerifiedMark:
    """How far this host last verified each database's ledger (a checkpoint it found good), so
    the next verification need not walk the chain below it again. Kept outside the database,
    so that someone who can write to it cannot mark a tampered stretch as verified; keyed by a
    hash of the database URL (never the URL, which may hold a password)."""

    def __init__(self, instance: Path) -> None:
        self.path = instance / VERIFIED_FILE_NAME

    @staticmethod
    def _key(database_url: str) -> str:
        return hashlib.sha256(database_url.encode()).hexdigest()[:16]

    def read(self, database_url: str) -> dict[str, Any] | None:
        try:
            marks = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        mark = marks.get(self._key(database_url))
        return mark if isinstance(mark, dict) else None

    def write(self, database_url: str, mark: dict[str, Any]) -> None:
        try:
            marks = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            marks = {}
        marks[self._key(database_url)] = mark
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        private_file(tmp)
        tmp.write_text(json.dumps(marks))
        os.replace(tmp, self.path)
