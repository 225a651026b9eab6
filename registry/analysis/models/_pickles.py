"""What a pickle or joblib file would import if it were loaded: read, never run.

Such files are always refused; naming what they carry (``sklearn.pipeline.Pipeline``, or
``posix.system`` in a hostile one) tells the uploader what they sent. ``pickletools.genops``
only parses opcodes, so nothing here imports or calls anything from the file.
"""

from __future__ import annotations

import bz2
import lzma
import pickletools
import zlib
from typing import Any

# Read at most this much of a file (after decompression): enough for every import a model
# pickle makes, as they come before the bulk of the arrays.
SCAN_LIMIT = 64 * 1024 * 1024


def _decompressed(data: bytes) -> bytes:
    """``data`` unwrapped if compressed as joblib compresses (zlib, gzip, bz2, xz, lzma)."""
    try:
        if data.startswith(b"\x1f\x8b"):
            return zlib.decompressobj(wbits=31).decompress(data, SCAN_LIMIT)
        if data[:1] == b"\x78":
            return zlib.decompressobj().decompress(data, SCAN_LIMIT)
        if data.startswith(b"BZh"):
            return bz2.BZ2Decompressor().decompress(data, SCAN_LIMIT)
        if data.startswith((b"\xfd7zXZ\x00", b"\x5d\x00\x00")):
            return lzma.LZMADecompressor().decompress(data, SCAN_LIMIT)
    except (zlib.error, OSError, EOFError, lzma.LZMAError):
        return b""
    return data[:SCAN_LIMIT]


def imported_names(data: bytes) -> list[str]:
    """``module.name`` of every global the pickle stream in ``data`` would import, sorted.

    Empty for content that is not a pickle. A joblib file's raw array bytes end the parse
    early; the imports read up to there are reported.
    """
    found: set[str] = set()
    strings: list[str] = []  # recent string pushes: STACK_GLOBAL's module and name
    memo: dict[int, Any] = {}
    last: Any = None
    try:
        for opcode, arg, _ in pickletools.genops(_decompressed(data)):
            name = opcode.name
            if name in ("GLOBAL", "INST"):
                module, _, attribute = str(arg).partition(" ")
                found.add(f"{module}.{attribute}")
            elif name == "STACK_GLOBAL" and len(strings) >= 2:
                found.add(f"{strings[-2]}.{strings[-1]}")
            elif name == "MEMOIZE":
                memo[len(memo)] = last
            elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[int(arg)] = last
            elif name in ("GET", "BINGET", "LONG_BINGET") and isinstance(memo.get(int(arg)), str):
                strings.append(memo[int(arg)])
            elif isinstance(arg, str) and "UNICODE" in name:
                strings.append(arg)
            last = arg if isinstance(arg, str) and "UNICODE" in name else None
            if name == "STOP":
                break
    except (ValueError, EOFError, KeyError, TypeError, IndexError):
        pass  # not (or no longer) a pickle: report what was read
    return sorted(found)
