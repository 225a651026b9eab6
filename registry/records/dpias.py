"""Data protection impact assessments, following the ICO's seven steps."""

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Governed

if TYPE_CHECKING:
    from .datasets import Dataset
    from .models import PredictiveModel
    from .people import User

RISK_EFFECTS = ("eliminated", "reduced", "accepted")

dpia_datasets = Table(
    "dpia_datasets",
    Base.metadata,
    Column("dpia_id", ForeignKey("dpias.id"), primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), primary_key=True),
)
dpia_models = Table(
    "dpia_models",
    Base.metadata,
    Column("dpia_id", ForeignKey("dpias.id"), primary_key=True),
    Column("model_id", ForeignKey("models.id"), primary_key=True),
)


class DPIA(Governed, Base):
    __tablename__ = "dpias"
    __table_args__ = (UniqueConstraint("organisation_id", "reference"),)  # each organisation's
    kind = "dpia"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(300))
    # Steps 1-4: need and screening, the processing, consultation, necessity and proportionality.
    need: Mapped[str] = mapped_column(Text, default="")
    processing: Mapped[str] = mapped_column(Text, default="")
    consultation: Mapped[str] = mapped_column(Text, default="")
    necessity: Mapped[str] = mapped_column(Text, default="")
    # Step 7: sign-off and outcomes.
    # who approved the measures and accepted the residual risk: a governance officer or DPO of
    # the DPIA's organisation (registry.governance.dpia.check_signoffs)
    measures_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    residual_risk_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dpo_advice: Mapped[str | None] = mapped_column(Text)
    dpo_advice_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dpo_advice_accepted: Mapped[bool | None]
    dpo_response_reason: Mapped[str | None] = mapped_column(Text)
    prior_consultation: Mapped[str | None] = mapped_column(Text)
    review_date: Mapped[date | None]

    datasets: Mapped[list["Dataset"]] = relationship(secondary=dpia_datasets, order_by="Dataset.id")
    models: Mapped[list["PredictiveModel"]] = relationship(
        secondary=dpia_models, order_by="PredictiveModel.id"
    )
    measures_approved_by: Mapped["User | None"] = relationship(
        foreign_keys=[measures_approved_by_id], lazy="joined")
    residual_risk_approved_by: Mapped["User | None"] = relationship(
        foreign_keys=[residual_risk_approved_by_id], lazy="joined")
    # Steps 5-6: the risk register with measures and residual risk.
    risks: Mapped[list["DpiaRisk"]] = relationship(
        order_by="DpiaRisk.position", cascade="all, delete-orphan"
    )

    @property
    def dataset_ids(self) -> list[int]:
        return [d.id for d in self.datasets]

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    @property
    def label(self) -> str:
        return f'DPIA "{self.reference}"'


class DpiaRisk(Base):
    """One risk: likelihood and severity each 1 (remote/minimal) to 3 (probable/severe)."""

    __tablename__ = "dpia_risks"

    id: Mapped[int] = mapped_column(primary_key=True)
    dpia_id: Mapped[int] = mapped_column(ForeignKey("dpias.id"), index=True)
    position: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    likelihood: Mapped[int | None]
    severity: Mapped[int | None]
    measure: Mapped[str | None] = mapped_column(Text)
    effect: Mapped[str | None] = mapped_column(String(12))
    residual_likelihood: Mapped[int | None]
    residual_severity: Mapped[int | None]

    @property
    def level(self) -> str | None:
        return risk_level(self.likelihood, self.severity)

    @property
    def residual_level(self) -> str | None:
        return risk_level(self.residual_likelihood, self.residual_severity)


def risk_level(likelihood: int | None, severity: int | None) -> str | None:
    """ICO-style level of likelihood × severity (1-3 each): low 1-2, medium 3-4, high 6-9."""
    if likelihood is None or severity is None:
        return None
    score = likelihood * severity
    return "low" if score <= 2 else "medium" if score <= 4 else "high"
