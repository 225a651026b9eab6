"""Column types shared by every record."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime
from sqlalchemy.types import TypeDecorator

from ..platform import sealing


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and always hands back an aware UTC datetime, on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Sealed(TypeDecorator[Any]):
    """JSON stored encrypted (a JSON string naming its data key, see platform.sealing) and
    opened when read; SQL NULL stays NULL. Values stored before encryption are read as they are.
    `context` binds the values to the column: a value moved from another column does not open."""

    impl = JSON(none_as_null=True)
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: Any, dialect: object) -> Any:
        return None if value is None else sealing.seal_json(value, self.context)

    def process_result_value(self, value: Any, dialect: object) -> Any:
        if isinstance(value, str) and value.startswith(sealing.TEXT_PREFIX):
            return sealing.open_json(value, self.context)
        return value


def typed_label(text: str | None, column_type: str | None) -> Any:
    """A stored label (text) as its column's type: "1" of an integer label is 1, so a record
    reads `positive_label: 1` where its data says 1."""
    if text is None:
        return None
    try:
        if column_type == "integer":
            return int(text)
        if column_type == "number":
            return float(text)
    except ValueError:
        return text
    if column_type == "boolean" and text.strip().casefold() in ("true", "false", "1", "0"):
        return text.strip().casefold() in ("true", "1")
    return text


def label_type(datasets: Any, column: str | None) -> str | None:
    """The declared type of `column` in the first of `datasets` that has it."""
    return next((c.type for d in datasets for c in d.columns if c.name == column), None)
