"""Predictive models and their versions (the servable unit)."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Governed
from .types import label_type, typed_label

if TYPE_CHECKING:
    from .datasets import Dataset

PURPOSE_CLASSES = ("aggregate_analysis", "individual_case_work")
DECISION_ROLES = ("advisory", "automated")
BUILDERS = ("in_house", "supplier", "consultant")
STAGES = ("pilot", "production")

version_datasets = Table(
    "version_datasets",
    Base.metadata,
    Column("version_id", ForeignKey("model_versions.id"), primary_key=True),
    Column("dataset_id", ForeignKey("datasets.id"), primary_key=True),
    Column("role", String(12), primary_key=True),  # "training" or "evaluation"
)


class PredictiveModel(Governed, Base):
    __tablename__ = "models"
    # names are each organisation's own: two councils may both have an "hmo-finder"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)
    kind = "model"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(String(80))
    purpose_description: Mapped[str] = mapped_column(Text, default="")
    purpose_class: Mapped[str] = mapped_column(String(24))
    business_owner: Mapped[str] = mapped_column(String(200), default="")
    technical_owner: Mapped[str] = mapped_column(String(200), default="")
    maintenance_owner: Mapped[str] = mapped_column(String(200), default="")
    builder: Mapped[str] = mapped_column(String(12), default="in_house")
    supplier: Mapped[str | None] = mapped_column(String(200))
    code_owner: Mapped[str] = mapped_column(String(200), default="")
    weights_owner: Mapped[str] = mapped_column(String(200), default="")
    data_owner: Mapped[str] = mapped_column(String(200), default="")
    exit_terms: Mapped[str] = mapped_column(Text, default="")
    decision_role: Mapped[str] = mapped_column(String(12), default="advisory")
    art22_basis: Mapped[str | None] = mapped_column(Text)
    population: Mapped[str] = mapped_column(Text, default="")
    people_scored_per_year: Mapped[int | None]
    vulnerable_groups: Mapped[bool] = mapped_column(default=False)
    benefit: Mapped[str] = mapped_column(Text, default="")
    benefit_measure: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    # The outcomes a caseworker may report on this model's scores; None: the policy's default.
    outcome_vocabulary: Mapped[list[str] | None]

    versions: Mapped[list["ModelVersion"]] = relationship(
        back_populates="model", order_by="ModelVersion.number"
    )

    @property
    def label(self) -> str:
        return f'model "{self.name}"'


class ModelVersion(Governed, Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "number"),)
    kind = "model_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    number: Mapped[int]
    artefact_path: Mapped[str | None] = mapped_column(String(500))
    artefact_sha256: Mapped[str | None] = mapped_column(String(64))
    artefact_size: Mapped[int | None]
    feature_schema: Mapped[list[dict[str, Any]]]
    label_column: Mapped[str | None] = mapped_column(String(120))
    positive_label: Mapped[str | None] = mapped_column(String(120))
    threshold: Mapped[float] = mapped_column(default=0.5)
    bands: Mapped[list[dict[str, Any]] | None]
    metrics: Mapped[dict[str, Any] | None]
    summary: Mapped[str] = mapped_column(Text, default="")
    explainer: Mapped[str | None] = mapped_column(String(12))
    self_check: Mapped[dict[str, Any] | None]
    self_checked_at: Mapped[datetime | None]
    stage: Mapped[str] = mapped_column(String(12), default="pilot")
    # The explanation background chosen at upload: {"dataset_id", "rows", "seed"}.
    background: Mapped[dict[str, Any] | None]
    # The evaluation data compared with the training data at the self-check (see .overlap).
    evaluation_overlap: Mapped[dict[str, Any] | None]
    pilot_end_date: Mapped[date | None]
    pilot_case_cap: Mapped[int | None]

    model: Mapped["PredictiveModel"] = relationship(back_populates="versions")
    # Links are written as rows of version_datasets (with their role), so these only read.
    training_datasets: Mapped[list["Dataset"]] = relationship(
        secondary=version_datasets,
        secondaryjoin="and_(Dataset.id == version_datasets.c.dataset_id, "
        "version_datasets.c.role == 'training')",
        viewonly=True,
    )
    evaluation_datasets: Mapped[list["Dataset"]] = relationship(
        secondary=version_datasets,
        secondaryjoin="and_(Dataset.id == version_datasets.c.dataset_id, "
        "version_datasets.c.role == 'evaluation')",
        viewonly=True,
    )

    @property
    def positive_label_typed(self) -> Any:
        """The positive label as its column's type in the version's data (1, not "1")."""
        return typed_label(self.positive_label, label_type(
            [*self.training_datasets, *self.evaluation_datasets], self.label_column))

    @property
    def training_dataset_ids(self) -> list[int]:
        return [d.id for d in self.training_datasets]

    @property
    def evaluation_dataset_ids(self) -> list[int]:
        return [d.id for d in self.evaluation_datasets]

    @property
    def label(self) -> str:
        return f'model "{self.model.name}" v{self.number}'
