"""What a client sends, bounded before it reaches the database or the interpreter's limits."""

from __future__ import annotations

import json
from typing import Any

from .errors import Invalid

# Page numbers and the like: far beyond any real listing, far below any integer column's range.
MAX_SMALL_INT = 1_000_000_000


def small_int(text: str) -> int | None:
    """A whole number written in decimal digits, up to MAX_SMALL_INT; None for anything else.

    ``str.isdigit`` accepts "²", which ``int`` refuses; a long run of digits would pass it too.
    """
    text = text.strip()
    if not text.isdecimal() or len(text) > len(str(MAX_SMALL_INT)):
        return None
    value = int(text)
    return value if value <= MAX_SMALL_INT else None


def json_loads(data: bytes | str, field: str) -> Any:
    """Parse JSON, refusing (as `Invalid` on `field`) what is malformed or nested so deeply that
    parsing would exhaust the interpreter's recursion limit."""
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise Invalid(f"{field} is nested too deeply", {field: ["nested too deeply"]}) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Invalid(f"{field} is not valid JSON", {field: [str(exc)]}) from exc
