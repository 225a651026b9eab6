"""An officer waives a gap in a version's evidence, or acknowledges an alert, naming each item.

The waiver names the evidence the gap was found in and exactly its outstanding items, so it
cannot stand for anything else and new evidence needs a decision of its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..records import Decision, ModelVersion
from . import gaps
from .actors import Actor
from .errors import Conflict, Invalid
from .lifecycle import builders, evidence_decision, require_evidence_decider
from .policy import Policy


def may_waive(actor: Actor, version: ModelVersion) -> bool:
    """Whether `actor` may waive or acknowledge gaps of the version, by the rules `record`
    applies: a governance officer who did not build or submit it."""
    actor = actor.within(version.organisation_id)  # the roles held in its organisation
    return ("governance_officer" in actor.roles and actor.user_id is not None
            and actor.user_id not in builders(version))


def record(session: Session, actor: Actor, version: ModelVersion, policy: Policy,
           now: datetime, requirement: str, items: list[str], rationale: str,
           evidence: str | None = None) -> Decision:
    """Waive (or acknowledge, for an alert) the named items of the requirement's open gaps —
    of the named evidence (``drift_check:7``) when given, else of the newest that has them."""
    actor = actor.within(version.organisation_id)  # the roles held in its organisation
    require_evidence_decider(actor, version)
    if requirement not in gaps.FINDERS:
        raise Invalid(f"{requirement!r} cannot be waived",
                      {"requirement": [f"one of: {', '.join(sorted(gaps.FINDERS))}"]})
    open_ = [g for g in gaps.find(session, version, policy, requirement) if g.outstanding
             and evidence in (None, g.evidence)]
    if not open_:
        raise Conflict(f"{version.label} has nothing outstanding for {requirement!r}"
                       + (f" in {evidence}" if evidence else ""),
                       {"requirement": ["nothing to waive or acknowledge"]})
    wanted = list(dict.fromkeys(items))
    if not wanted:
        raise Invalid("name each item waived", {"items": [
            "outstanding: " + "; ".join(f"{g.evidence}: {', '.join(g.outstanding)}"
                                        for g in open_)]})
    # The items must all be outstanding in one piece of evidence (the newest that has them).
    gap = next((g for g in reversed(open_) if set(wanted) <= set(g.outstanding)), None)
    if gap is None:
        raise Invalid("the items are not outstanding in one piece of evidence", {"items": [
            "outstanding: " + "; ".join(f"{g.evidence}: {', '.join(g.outstanding)}"
                                        for g in open_)]})
    return evidence_decision(session, actor, version, policy, now, gap.decision, rationale, {
        "requirement": requirement, "evidence": gap.evidence, "items": wanted,
        "detail": gap.detail})
