"""Files kept under the data folder: uploaded datasets, model artefacts, references, reports."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


class FileStore:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        # People's data: the folder is the service's alone, and so is every file (mkstemp: 0600).
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)

    def write(self, relative: str, data: bytes) -> str:
        """Write atomically (temp file, then rename) and return the path relative to the root."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
        return relative

    def read(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()

    def path(self, relative: str) -> Path:
        """The file's path; refused (ValueError) if it would lead outside the store."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{relative!r} is outside the file store")
        return path

    def exists(self, relative: str | None) -> bool:
        return bool(relative) and (self.root / relative).is_file()
