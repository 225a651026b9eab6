"""Hardship loan research: the public Statlog German credit data, used for aggregate analysis
only. Its DPIA is left submitted and awaiting the DPO's advice.
"""

from __future__ import annotations

import pandas as pd

from ..platform.config import ROOT
from .council import Demo, risk
from .spec import ColumnSpec, DemoDataset

_NUMERIC = {
    "duration",
    "credit_amount",
    "installment_rate",
    "present_residence_since",
    "age",
    "number_of_existing_credits",
    "number_of_people_liable_for",
}
_PROTECTED = {"sex", "age", "foreign_worker", "status_sex"}


def load(d: Demo) -> None:
    frame = pd.read_csv(ROOT / "tests" / "fixtures" / "german_credit.csv")
    ds = DemoDataset(
        key="german_credit",
        title="Statlog German credit applicants (UCI, CC BY 4.0)",
        description="1,000 loan applicants with their repayment outcome (Hofmann, 1994)",
        classification="personal",
        label="credit",
        positive_label="good",
        columns=tuple(_credit_columns(frame)),
        frame=frame,
    )
    agreement = d.agreement(
        "DSA-CR-04",
        "Statlog credit data for hardship-loan research",
        "UCI ML Repository",
        ["credit_risk_research"],
        "Open data (CC BY 4.0); research under the public task",
        ["financial standing", "employment", "age"],
    )
    dataset = d.dataset(ds, agreement, "credit_risk_research", "Head of Revenues")
    model = d.model(
        {
            "name": "hardship-loans",
            "title": "Hardship loan repayment research score",
            "purpose": "credit_risk_research",
            "purpose_class": "aggregate_analysis",
            "business_owner": "Head of Revenues",
            "population": "Loan applicants",
            "people_scored_per_year": 1000,
            "benefit": "Understand who struggles to repay",
            "benefit_measure": "Findings used in the scheme's redesign",
            "summary": "Research only: describes groups, never scores an individual case.",
        }
    )
    dpia = d.dpia(
        "DPIA-CR-04",
        "Hardship loan research",
        [dataset],
        [model.name],
        "Screening: research use of personal financial data.",
        [
            risk(
                "Research findings used to refuse individuals",
                "Aggregate analysis only; no case scoring",
                "reduced",
                (2, 3),
                (1, 2),
            )
        ],
        advise=False,
        approve=False,
    )
    d.submit(dpia)
    d.lines.append('  DPIA "DPIA-CR-04": submitted, awaiting the DPO\'s advice')


def _credit_columns(frame: pd.DataFrame) -> list[ColumnSpec]:
    return [
        ColumnSpec(
            name=c,
            type="integer" if c in _NUMERIC else "category",
            description=c.replace("_", " ").capitalize(),
            protected=c in _PROTECTED,
            allowed=None if c in _NUMERIC else tuple(sorted(frame[c].unique())),
            minimum=0 if c in _NUMERIC else None,
            maximum=float(frame[c].max()) * 2 if c in _NUMERIC else None,
        )
        for c in frame.columns
    ]
