"""An officer settles a proposed change of a version's evidence: accept it, or decline it.

Accepting puts the proposed audit or monitor in force and supersedes the one before; an audit
proposed at another threshold carries the version's new threshold with it, since an audit only
stands for the threshold it measured. Declining leaves what was in force as it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..records import BiasAudit, Decision, ModelVersion
from . import evidence
from .actors import Actor
from .errors import Conflict, Forbidden, NotFound
from .lifecycle import builders, evidence_decision, require_evidence_decider
from .policy import Policy


def get(session: Session, version: ModelVersion, kind: str, evidence_id: int
        ) -> evidence.Evidence:
    model = evidence.EVIDENCE_KINDS.get(kind)
    found = None if model is None else session.get(model, evidence_id)
    if found is None or found.model_version_id != version.id:
        raise NotFound(f"{version.label} has no {kind.replace('_', ' ')} {evidence_id}",
                       {"evidence": [f"{kind}:{evidence_id}"]})
    return found


# What a proposal may change, by kind: compared with what is in force.
_COMPARED = {
    "bias_audit": ("dataset_id", "data_hash", "label_column", "positive_label", "threshold",
                   "sensitive_features", "extra_groupings", "verdict", "model_sha256"),
    "drift_monitor": ("reference_hash", "reference_rows", "columns", "method",
                      "column_threshold", "drift_share", "every_receipts", "daily", "action"),
}


def changes(session: Session, version: ModelVersion, proposed: evidence.Evidence
            ) -> dict[str, list[object]]:
    """What accepting the proposal would change: field -> [in force, proposed]."""
    kind = evidence.kind_of(proposed)
    current = (evidence.in_force_audit(session, version) if kind == "bias_audit"
               else evidence.in_force_monitor(session, version))
    out = {}
    for field in _COMPARED[kind]:
        old, new = getattr(current, field, None), getattr(proposed, field)
        if old != new:
            out[field] = [old, new]
    return out


def may_settle(actor: Actor, version: ModelVersion, proposed: evidence.Evidence) -> bool:
    """Whether `actor` may accept or decline the proposal now, by the rules `settle` applies:
    a governance officer who neither proposed it nor built the version, while it awaits one."""
    actor = actor.within(version.organisation_id)  # the roles held in its organisation
    return (proposed.status == "proposed" and version.state not in evidence.CLOSED
            and "governance_officer" in actor.roles
            and actor.user_id is not None and actor.user_id != proposed.created_by_id
            and actor.user_id not in builders(version))


def settle(session: Session, actor: Actor, version: ModelVersion, proposed: evidence.Evidence,
           accept: bool, rationale: str, policy: Policy, now: datetime) -> Decision:
    actor = actor.within(version.organisation_id)  # the roles held in its organisation
    require_evidence_decider(actor, version)
    what = evidence.EVIDENCE_WORDS[evidence.kind_of(proposed)]
    if version.state in evidence.CLOSED:
        raise Conflict(f"{version.label} is {version.state}: its proposals can no longer be "
                       "settled", {"state": version.state})
    if proposed.status != "proposed":
        raise Conflict(f"{what} {proposed.id} is {proposed.status.replace('_', ' ')}, not "
                       "awaiting a decision", {"status": proposed.status})
    if actor.user_id is not None and actor.user_id == proposed.created_by_id:
        raise Forbidden(f"separation of duties: {actor.name} proposed {what} {proposed.id} and "
                        "cannot decide on it", {"rule": "separation_of_duties"})
    scope = {"evidence": evidence.ref(proposed)}
    in_force = (evidence.in_force_audit(session, version) if isinstance(proposed, BiasAudit)
                else evidence.in_force_monitor(session, version))
    if in_force is not None:
        scope["replaces"] = evidence.ref(in_force)
    decision = evidence_decision(session, actor, version, policy, now,
                                 "accept_change" if accept else "decline_change", rationale,
                                 scope)
    if accept:
        evidence.take_in_force(session, proposed)
        if isinstance(proposed, BiasAudit) and proposed.threshold != version.threshold:
            version.threshold = proposed.threshold
            version.updated_at = now
    else:
        proposed.status = "declined"
    session.flush()
    return decision
