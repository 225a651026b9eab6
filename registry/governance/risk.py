"""Risk tier (1-4) of a model, computed from recorded facts with the policy's points."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..records import PredictiveModel
from .policy import Policy


@dataclass(frozen=True)
class RiskTier:
    tier: int
    facts: tuple[str, ...]  # the facts that raised it
    approver_roles: tuple[str, ...]


def facts_of(session: Session, model: PredictiveModel) -> tuple[str, ...]:
    from .upstream import model_datasets

    found = []
    if any(d.classification == "special_category" or any(a.special_category for a in d.agreements)
           for d in model_datasets(session, model)):
        found.append("special_category")
    if model.vulnerable_groups:
        found.append("vulnerable_groups")
    if model.decision_role == "automated":
        found.append("automated")
    return tuple(found)


def tier(session: Session, model: PredictiveModel, policy: Policy) -> RiskTier:
    facts = list(facts_of(session, model))
    if (model.people_scored_per_year or 0) >= policy.large_population:
        facts.append("large_population")
    if model.builder != "in_house":
        facts.append("supplier")
    points = sum(policy.risk_points.get(f, 0) for f in facts)
    level = min(4, 1 + points)
    return RiskTier(level, tuple(facts), policy.tier_rule(level).approver_roles)
