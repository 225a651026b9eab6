"""The declarative base and the columns every governed record carries."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from .types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
        list[str]: JSON(),
        list[dict[str, Any]]: JSON(),
    }


class Governed:
    """State and provenance of a record that moves through the approval lifecycle.

    `kind` names the record kind in URLs, ledger entries and decisions.
    """

    kind: str = ""

    state: Mapped[str] = mapped_column(String(24), default="draft", index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime | None]
    # The approval currently in force (a Decision), and the day it lapses.
    approval_id: Mapped[int | None] = mapped_column(Integer)
    approved_until: Mapped[date | None]

    @property
    def label(self) -> str:
        """How people name this record in messages, e.g. `agreement "DSA-12"`."""
        return f'{self.kind} "{self.id}"'  # type: ignore[attr-defined]
