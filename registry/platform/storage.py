"""Files kept under the data folder: uploaded datasets, model artefacts, references, reports.

Files of people's data are written sealed (AES-GCM, see :mod:`.sealing`) and opened in memory
when read; a sealed file is bound to its path.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .sealing import MAGIC, Keyring


class FileStore:
    def __init__(self, root: str | Path, keyring: Keyring | None = None) -> None:
        self.root, self.keyring = Path(root), keyring
        # People's data: the folder is the service's alone, and so is every file (mkstemp: 0600).
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)

    def write(self, relative: str, data: bytes, *, seal: bool = False) -> str:
        """Write atomically (temp file, then rename) and return the path relative to the root;
        with `seal`, encrypted."""
        path = self.root / relative
        if seal:
            if self.keyring is None:
                raise ValueError("this file store has no keyring to seal with")
            data = self.keyring.seal(data, relative.encode())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        return relative

    def read(self, relative: str) -> bytes:
        """The file's bytes, opened in memory if sealed."""
        data = self.path(relative).read_bytes()
        if data.startswith(MAGIC):
            if self.keyring is None:
                raise ValueError(f"{relative!r} is sealed and this file store has no keyring")
            return self.keyring.open(data, relative.encode())
        return data

    def path(self, relative: str) -> Path:
        """The file's path; refused (ValueError) if it would lead outside the store."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{relative!r} is outside the file store")
        return path

    def exists(self, relative: str | None) -> bool:
        return bool(relative) and (self.root / relative).is_file()
