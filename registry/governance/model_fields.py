"""A model's fields as registered or changed: its name (fixed once registered, unique within
its organisation) and its outcome vocabulary."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..records import Governed, PredictiveModel
from .errors import Invalid
from .record_fields import assign, unique


def apply(session: Session, record: Governed, data: dict[str, Any]) -> None:
    if "name" in data:
        if record.id is not None and data["name"] != record.name:  # type: ignore[attr-defined]
            raise Invalid("a model's name cannot change", {"name": ["fixed once registered"]})
        unique(session, record, PredictiveModel.name, data["name"], "name")
    words = [w.strip() for w in data.get("outcome_vocabulary") or []]
    if len({w.casefold() for w in words}) != len(words) or not all(words):
        raise Invalid("the outcome vocabulary repeats or has an empty word",
                      {"outcome_vocabulary": ["distinct, non-empty words"]})
    if "outcome_vocabulary" in data:
        data = {**data, "outcome_vocabulary": words or None}
    assign(record, data)
