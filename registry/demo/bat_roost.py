"""Bat roost screening: a planned model for planning applications, registered and submitted
before any data or version exists."""

from __future__ import annotations

from .council import Demo


def load(d: Demo) -> None:
    model = d.model(
        {
            "name": "bat-roost-screen",
            "title": "Bat roost likelihood for planning applications",
            "purpose": "planning_ecology_screening",
            "purpose_class": "aggregate_analysis",
            "business_owner": "Head of Planning",
            "technical_owner": "Ecology officer",
            "population": "Planning applications",
            "benefit": "Fewer unnecessary bat surveys",
            "benefit_measure": "Survey requests per year",
            "summary": "Where bats are likely, so planners ask for surveys only there. No "
            "personal data.",
        }
    )
    d.submit(model)
