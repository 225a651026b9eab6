"""What every record kind's fields share when a record is registered or changed: names
unique within the organisation, plain fields assigned, declared columns checked (a dataset's
columns, a version's feature schema)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import Governed
from .errors import Conflict


def unique(session: Session, record: Governed, column: Any, value: Any, field: str) -> None:
    # each organisation's own: another organisation may use the same name
    cls = type(record)
    clash = session.scalars(select(cls).where(
        column == value, cls.organisation_id == record.organisation_id)
        .execution_options(gatehouse_unscoped=True)).first()
    if clash is not None and clash is not record:
        raise Conflict(f"{field} {value!r} is already used", {field: ["already used"]})


def assign(record: Governed, data: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    for key, value in data.items():
        if key not in skip:
            setattr(record, key, value)


def column_problems(columns: list[dict[str, Any]], field: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    seen: set[str] = set()
    for i, c in enumerate(columns):
        key = f"{field}.{i}"
        if c["name"] in seen:
            problems.setdefault(key, []).append(f"column {c['name']!r} is declared twice")
        seen.add(c["name"])
        if c.get("allowed") is not None and c["type"] != "category":
            problems.setdefault(key, []).append("allowed values only apply to category columns")
        lo, hi = c.get("minimum"), c.get("maximum")
        if (lo is not None or hi is not None) and c["type"] not in ("integer", "number"):
            problems.setdefault(key, []).append("minimum/maximum only apply to numeric columns")
        if lo is not None and hi is not None and lo > hi:
            problems.setdefault(key, []).append("minimum is above maximum")
    return problems
