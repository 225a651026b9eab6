"""Data-sharing agreements: the legal permission for data to flow between organisations."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Governed

LEGAL_BASES = (  # GDPR Art. 6(1)
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
)

agreement_datasets = Table(
    "agreement_datasets",
    Base.metadata,
    Column("agreement_id", ForeignKey("agreements.id"), primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), primary_key=True),
)


class DataSharingAgreement(Governed, Base):
    __tablename__ = "agreements"
    kind = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    provider: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(200))
    controllers: Mapped[list[str]]
    legal_basis: Mapped[str] = mapped_column(String(40))
    special_category: Mapped[bool] = mapped_column(default=False)
    art9_condition: Mapped[str | None] = mapped_column(String(80))
    statutory_gateway: Mapped[str] = mapped_column(Text, default="")
    purposes: Mapped[list[str]]
    data_categories: Mapped[list[str]]
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    review_date: Mapped[date | None]
    retention: Mapped[str] = mapped_column(Text, default="")
    signatories: Mapped[list[dict[str, Any]]]

    @property
    def label(self) -> str:
        return f'agreement "{self.reference}"'
