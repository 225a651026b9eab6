"""Data-sharing agreements: the legal permission for data to flow between organisations."""

from datetime import date
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text, UniqueConstraint
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

# What a permitted purpose may cover, each needing its own basis: developing a model (training and
# evaluating it), using it (scoring cases), and auditing its fairness on special-category data
# (GDPR Art. 9; EU AI Act Art. 10(5)).
AGREEMENT_STAGES = ("development", "use", "fairness_audit")
STAGE_WORDS = {
    "development": "development (training)",
    "use": "use (scoring cases)",
    "fairness_audit": "fairness auditing with special-category data",
}

agreement_datasets = Table(
    "agreement_datasets",
    Base.metadata,
    Column("agreement_id", ForeignKey("agreements.id"), primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), primary_key=True),
)


class DataSharingAgreement(Governed, Base):
    __tablename__ = "agreements"
    # references are each organisation's own: two councils may both have a "DSA-01"
    __table_args__ = (UniqueConstraint("organisation_id", "reference"),)
    kind = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    provider: Mapped[str] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(200))
    # The parties as organisations of this deployment, where they are (an outside provider is
    # named only in `provider`); the recipient is the organisation whose records rest on it.
    provider_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    recipient_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"))
    # Each party may stop its side of the flow (governance/parties.py): while either side is
    # suspended nothing may rest on the agreement, whatever its state.
    provider_suspended: Mapped[bool] = mapped_column(default=False)
    recipient_suspended: Mapped[bool] = mapped_column(default=False)
    controllers: Mapped[list[str]]
    legal_basis: Mapped[str] = mapped_column(String(40))
    special_category: Mapped[bool] = mapped_column(default=False)
    art9_condition: Mapped[str | None] = mapped_column(String(80))
    statutory_gateway: Mapped[str] = mapped_column(Text, default="")
    purposes: Mapped[list[str]]
    # Each permitted purpose → the stages (AGREEMENT_STAGES) the agreement covers it for.
    stages: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    data_categories: Mapped[list[str]]
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    review_date: Mapped[date | None]
    retention: Mapped[str] = mapped_column(Text, default="")
    signatories: Mapped[list[dict[str, Any]]]

    def grants(self, purpose: str, stage: str) -> bool:
        """Whether the agreement permits the purpose for this stage."""
        return purpose in self.purposes and stage in self.stages.get(purpose, [])

    @property
    def label(self) -> str:
        return f'agreement "{self.reference}"'
