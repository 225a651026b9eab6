"""Encryption at rest: AES-256-GCM under data keys, each wrapped by a master key.

The master key (32 random bytes, hex) lives in a file readable by the service's user alone
(0600): GATEHOUSE_MASTER_KEY_FILE, or `master_key` in the instance folder, made on first use.
The data keys live wrapped (AES-GCM under the master key) in a JSON file beside it: a
rotation of the master key re-wraps them and re-encrypts nothing. A sealed value names the data
key that sealed it: ``MAGIC + key id + nonce + ciphertext``; it is bound to a context (a file's
path, a column's name) so it cannot be moved to another. Nothing here logs key material.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from base64 import b64decode, b64encode
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .config import private_file, private_folder
from .keys import KeyMissing

MAGIC = b"\x00GHS1"  # a sealed file's first bytes
TEXT_PREFIX = "ghs1:"  # a sealed value in a database column: this, then the sealed bytes' base64
MASTER_FILE_NAME = "master_key"
DATA_KEYS_FILE_NAME = "data_keys.json"
_ID = 16  # hex digits of a key id
_NONCE = 12


class Unreadable(Exception):
    """A sealed value whose data key is unknown, or whose ciphertext or context was altered."""


def _key_id(master: bytes) -> str:
    return hashlib.sha256(master).hexdigest()[:_ID]


def _write_private(path: Path, text: str) -> None:
    """Written with mode 0600 from the start, then moved into place in one step."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    private_file(tmp)
    with open(tmp, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


class Keyring:
    """The master key file and the wrapped data keys; unwrapped keys are held in memory only.

    `may_create`: make the master key on first use (the default location in the instance
    folder); False when the operator named a file, which must then exist."""

    def __init__(self, master_path: Path, keys_path: Path, may_create: bool) -> None:
        self.master_path, self.keys_path, self.may_create = master_path, keys_path, may_create
        self._pending = master_path.with_name(f".{master_path.name}.pending")
        self._keys_file = str(keys_path)
        self._lock = threading.Lock()
        self._keys: dict[str, AESGCM] = {}
        self._current: str | None = None
        self._loaded: tuple[int, int] | None = None  # the keys file (inode, mtime) when read

    def seal(self, data: bytes, context: bytes) -> bytes:
        return self.seal_all([data], context)[0]

    def seal_all(self, datas: Sequence[bytes], context: bytes) -> list[bytes]:
        """Each sealed under the current data key, looked up once; each with its own nonce."""
        key_id = self._current_key()
        key, head = self._keys[key_id], MAGIC + key_id.encode()
        out = []
        for data in datas:
            nonce = os.urandom(_NONCE)
            out.append(head + nonce + key.encrypt(nonce, data, context))
        return out

    def open(self, blob: bytes, context: bytes) -> bytes:
        if not blob.startswith(MAGIC):
            raise Unreadable("not a sealed value")
        start = len(MAGIC)
        key_id = blob[start:start + _ID].decode("ascii", "replace")
        key = self._keys.get(key_id) or self._reload().get(key_id)
        if key is None:
            raise Unreadable(f"sealed under data key {key_id}, which this keyring does not hold")
        nonce = blob[start + _ID:start + _ID + _NONCE]
        try:
            return key.decrypt(nonce, blob[start + _ID + _NONCE:], context)
        except InvalidTag:
            raise Unreadable("the sealed value was altered, or moved from where it was sealed"
                             ) from None

    def holds(self, key_id: str) -> bool:
        return key_id in self._keys or key_id in self._reload()

    def master_key_id(self) -> str:
        return _key_id(self._master())

    def current_key_id(self) -> str:
        return self._current_key()

    def rotate_data(self) -> tuple[str | None, str, int]:
        """A new data key seals what is written from now on; the old ones stay, to open what
        they sealed. Running processes pick it up at their next seal (the file changed):
        (old data key id, new, data keys held)."""
        with self._lock, self._file_lock():
            listed = self._read_keys()
            keys = self._unwrapped()
            new_id = os.urandom(_ID // 2).hex()
            keys[new_id] = AESGCM.generate_key(bit_length=256)
            self._write_keys(self._master(), keys, new_id)
            self._reload_locked()
            return listed.get("current"), new_id, len(keys)

    def rotate_master(self) -> tuple[str, str, int]:
        """A new master key re-wraps every data key: (old master id, new master id, keys)."""
        with self._lock, self._file_lock():
            keys = self._unwrapped()
            old = self._master()
            new = os.urandom(32)
            # The new key is kept aside until the data keys are wrapped under it: a crash between
            # the two steps leaves both files readable (see `_master`).
            _write_private(self._pending, new.hex())
            self._write_keys(new, keys, self._read_keys().get("current"))
            os.replace(self._pending, self.master_path)
            return _key_id(old), _key_id(new), len(keys)

    # -- loading -------------------------------------------------------------------------------

    def _current_key(self) -> str:
        with self._lock:
            if self._current is None or self._changed():
                self._reload_locked()
            if self._current is None:  # the first value ever sealed: make the first data key
                with self._file_lock():
                    self._reload_locked()
                    if self._current is None:
                        keys = self._unwrapped()
                        new_id = os.urandom(_ID // 2).hex()
                        keys[new_id] = AESGCM.generate_key(bit_length=256)
                        self._write_keys(self._master(), keys, new_id)
                        self._reload_locked()
            assert self._current is not None
            return self._current

    def _reload(self) -> dict[str, AESGCM]:
        with self._lock:
            self._reload_locked()
            return self._keys

    def _changed(self) -> bool:
        """Whether the keys file changed since read (another process rotated a key): a stat,
        a microsecond beside the sealing itself."""
        return self._stamp() != self._loaded

    def _stamp(self) -> tuple[int, int] | None:
        try:  # every write replaces the file: a new inode, even within one mtime tick
            found = os.stat(self._keys_file)  # (os.stat on text: pathlib's costs as much again)
        except FileNotFoundError:
            return None
        return found.st_ino, found.st_mtime_ns

    def _reload_locked(self) -> None:
        self._loaded = self._stamp()
        listed = self._read_keys()
        if listed.get("keys"):
            self._keys = {k: AESGCM(v) for k, v in self._unwrapped().items()}
            self._current = listed.get("current")

    def _read_keys(self) -> dict[str, Any]:
        try:
            return json.loads(self.keys_path.read_text())  # type: ignore[no-any-return]
        except FileNotFoundError:
            return {}

    def _unwrapped(self) -> dict[str, bytes]:
        listed = self._read_keys()
        if not listed.get("keys"):
            return {}
        master = self._master()
        if listed["master_key_id"] != _key_id(master):
            raise KeyMissing(f"the data keys in {self.keys_path} are wrapped by master key "
                             f"{listed['master_key_id']}, not by the one in {self.master_path}")
        wrapper = AESGCM(master)
        out = {}
        for key_id, entry in listed["keys"].items():
            blob = b64decode(entry["wrapped"])
            out[key_id] = wrapper.decrypt(blob[:_NONCE], blob[_NONCE:], key_id.encode())
        return out

    def _write_keys(self, master: bytes, keys: dict[str, bytes], current: str | None) -> None:
        wrapper = AESGCM(master)
        created = {k: v.get("created_at") for k, v in self._read_keys().get("keys", {}).items()}
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        entries = {}
        for key_id, key in keys.items():
            nonce = os.urandom(_NONCE)
            entries[key_id] = {
                "wrapped": b64encode(nonce + wrapper.encrypt(nonce, key, key_id.encode())).decode(),
                "created_at": created.get(key_id) or stamp}
        _write_private(self.keys_path, json.dumps(
            {"master_key_id": _key_id(master), "current": current, "keys": entries}, indent=2))

    def _master(self) -> bytes:
        listed = self._read_keys().get("master_key_id")
        if self._pending.exists():  # a rotation stopped half way: finish it, or drop it
            pending = bytes.fromhex(self._pending.read_text().strip())
            if listed == _key_id(pending):
                os.replace(self._pending, self.master_path)
            else:
                self._pending.unlink()
        if not self.master_path.exists():
            if not self.may_create:
                raise KeyMissing(f"the master key file {self.master_path} does not exist")
            if listed:
                raise KeyMissing(f"the master key file {self.master_path} is missing; the data "
                                 f"keys are wrapped by master key {listed}: restore it")
            private_folder(self.master_path.parent)
            _write_private(self.master_path, os.urandom(32).hex())
        return bytes.fromhex(self.master_path.read_text().strip())

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Across processes: two workers never make or re-wrap data keys at once."""
        private_folder(self.keys_path.parent)
        lock = self.keys_path.with_name(f".{self.keys_path.name}.lock")
        private_file(lock)
        with open(lock, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def default_keyring(instance: Path, configured: str | None) -> Keyring:
    """The master key named by GATEHOUSE_MASTER_KEY_FILE (the wrapped data keys beside it, in
    `<file>.data_keys.json`), or one made in the instance folder (beside it, `data_keys.json`):
    every process of one register names the same file."""
    if configured:
        master = Path(configured)
        return Keyring(master, master.with_name(f"{master.name}.{DATA_KEYS_FILE_NAME}"),
                       may_create=False)
    return Keyring(instance / MASTER_FILE_NAME, instance / DATA_KEYS_FILE_NAME, may_create=True)


# Database columns are sealed by their column type (records.types.Sealed), which sees no
# application: the keyrings of this process are installed here; the newest seals, any opens.
_installed: list[Keyring] = []


def install(keyring: Keyring) -> None:
    if keyring in _installed:
        _installed.remove(keyring)
    _installed.append(keyring)


def seal_json(value: Any, context: str) -> str:
    if isinstance(value, SealedText):
        if value.context != context:  # it would not open there: say so now, not when read
            raise ValueError(f"a value sealed for {value.context} given to {context}")
        return value
    blob = _keyring().seal(json.dumps(value, separators=(",", ":")).encode(), context.encode())
    return TEXT_PREFIX + b64encode(blob).decode()


class SealedText(str):
    """A value sealed before its INSERT (:func:`seal_many`), which its column stores as it is."""

    context: str

    def __new__(cls, text: str, context: str) -> SealedText:
        made = super().__new__(cls, text)
        made.context = context
        return made


def seal_many(values: Sequence[Any], context: str) -> list[SealedText | None]:
    """Plain JSON values (objects with text keys, lists, text, finite numbers, None) sealed in one
    pass under one data key, as :func:`seal_json` seals one (None stays None): a batch of score
    receipts. orjson writes them ~10x quicker than the standard library (it would write a NaN
    as null, hence "finite")."""
    datas = [_json(v) for v in values if v is not None]
    blobs = iter(_keyring().seal_all(datas, context.encode()) if datas else [])
    return [None if v is None else
            SealedText(TEXT_PREFIX + b64encode(next(blobs)).decode(), context) for v in values]


def _json(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:  # text orjson cannot write (a lone surrogate, which JSON can carry)
        return json.dumps(value, separators=(",", ":")).encode()


def _keyring() -> Keyring:
    if not _installed:
        raise RuntimeError("no keyring installed: personal data would be stored unencrypted")
    return _installed[-1]


def open_json(text: str, context: str) -> Any:
    blob = b64decode(text.removeprefix(TEXT_PREFIX))
    key_id = blob[len(MAGIC):len(MAGIC) + _ID].decode("ascii", "replace")
    keyring = next((k for k in reversed(_installed) if k.holds(key_id)), None)
    if keyring is None:
        raise Unreadable(f"sealed under data key {key_id}, which no keyring here holds")
    return json.loads(keyring.open(blob, context.encode()))
