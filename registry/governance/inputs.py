"""What a client sends, bounded before it reaches the database or the interpreter's limits."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .errors import Invalid, TooLarge

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


DEEP = "nested too deeply"
NUL = "contains a NUL character, which no text can hold"


def refuse_nul(values: Iterable[tuple[str | None, str | None]]) -> None:
    """Refuse query or form values holding a NUL character, naming the field (a malformed
    multipart part may come without a name or a value)."""
    bad = sorted({name or "form" for name, value in values
                  if "\x00" in (value or "") + (name or "")})
    if bad:
        raise Invalid(f"{', '.join(bad)} {NUL}", {name: [NUL] for name in bad})


# The longest value a web form field may hold: far beyond any real answer (a DPIA step's text).
MAX_FIELD = 100_000


def refuse_long(values: Iterable[tuple[str | None, str | None]]) -> None:
    """Refuse form values longer than MAX_FIELD characters (413), naming the field."""
    long = sorted({name or "form" for name, value in values if len(value or "") > MAX_FIELD})
    if long:
        raise TooLarge(f"{', '.join(long)}: at most {MAX_FIELD} characters",
                       {name: [f"at most {MAX_FIELD} characters"] for name in long})


def json_loads(data: bytes | str, field: str) -> Any:
    """Parse JSON, refusing (as `Invalid` on `field`) what is malformed, what holds a NUL
    character (PostgreSQL's text cannot), or what is nested so deeply that parsing would exhaust
    the interpreter's recursion limit."""
    raw = data.encode() if isinstance(data, str) else data
    if b"\\u0000" in raw or b"\x00" in raw:
        raise Invalid(f"{field} {NUL}", {field: [NUL]})
    try:
        return json.loads(data)
    except RecursionError as exc:
        raise Invalid(f"{field} is {DEEP}", {field: [DEEP]}) from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise Invalid(f"{field} is not valid JSON", {field: [str(exc)]}) from exc
