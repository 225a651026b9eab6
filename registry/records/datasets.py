"""Datasets, their declared column schema, and the facts recorded when data is uploaded."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Governed

if TYPE_CHECKING:
    from .agreements import DataSharingAgreement

CLASSIFICATIONS = (
    "personal",
    "special_category",
    "pseudonymised",
    "anonymised",
    "synthetic",
    "non_personal",
)
# Classifications under which the data still relates to identifiable people.
PERSONAL_CLASSIFICATIONS = ("personal", "special_category", "pseudonymised")
COLUMN_TYPES = ("integer", "number", "category", "boolean", "date", "string")


class Dataset(Governed, Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)  # each organisation's own
    kind = "dataset"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    data_owner: Mapped[str] = mapped_column(String(200), default="")
    steward: Mapped[str] = mapped_column(String(200), default="")
    classification: Mapped[str] = mapped_column(String(24))
    purpose: Mapped[str] = mapped_column(String(80))
    label_column: Mapped[str | None] = mapped_column(String(120))
    no_protected_justification: Mapped[str | None] = mapped_column(Text)
    # Facts recorded from the uploaded data.
    data_path: Mapped[str | None] = mapped_column(String(500))
    data_format: Mapped[str | None] = mapped_column(String(10))
    row_count: Mapped[int | None]
    content_hash: Mapped[str | None] = mapped_column(String(64))
    completeness: Mapped[dict[str, Any] | None]
    uploaded_at: Mapped[datetime | None]

    agreements: Mapped[list["DataSharingAgreement"]] = relationship(
        secondary="agreement_datasets", order_by="DataSharingAgreement.id"
    )
    columns: Mapped[list["DatasetColumn"]] = relationship(
        order_by="DatasetColumn.position", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        return f'dataset "{self.name}"'

    @property
    def agreement_ids(self) -> list[int]:
        return [a.id for a in self.agreements]

    @property
    def protected_attributes(self) -> list[str]:
        return [c.name for c in self.columns if c.protected]


class DatasetColumn(Base):
    __tablename__ = "dataset_columns"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    position: Mapped[int]
    name: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(Text, default="")
    protected: Mapped[bool] = mapped_column(default=False)
    proxy: Mapped[bool] = mapped_column(default=False)
    identifier: Mapped[bool] = mapped_column(default=False)
    suppressed: Mapped[bool] = mapped_column(default=False)
    nullable: Mapped[bool] = mapped_column(default=True)
    allowed: Mapped[list[str] | None]
    minimum: Mapped[float | None]
    maximum: Mapped[float | None]
