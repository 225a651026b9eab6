"""The one state machine every governed record moves through, and the decisions that move it.

draft → submitted → approved | changes_requested | rejected; approved → suspended → approved;
approved | suspended → changes_requested (to revise) | retired.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import (
    DPIA,
    DataSharingAgreement,
    Decision,
    Governed,
    ModelVersion,
    User,
    WatchAlert,
)
from . import ledger
from .actors import Actor
from .chain import evaluate
from .errors import Conflict, Forbidden, Invalid
from .gates import approvals_missing, approver_roles, current_approvals
from .order import refusal_summary, waiting_on
from .permissions import allowed, require
from .policy import Policy

TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "approve": (frozenset({"submitted"}), "approved"),
    "reject": (frozenset({"submitted"}), "rejected"),
    # Also from approved or suspended: how a record in use is revised (a DPIA at its review,
    # say); it is out of force until approved again.
    "request_changes": (frozenset({"submitted", "approved", "suspended"}), "changes_requested"),
    "suspend": (frozenset({"approved"}), "suspended"),
    "reinstate": (frozenset({"suspended"}), "approved"),
    "retire": (frozenset({"approved", "suspended"}), "retired"),
}


def allowed_decisions(state: str) -> list[str]:
    return [d for d, (sources, _) in TRANSITIONS.items() if state in sources]


def builders(record: Governed) -> set[int]:
    """The people who made or put forward the record (and, for a version, its model)."""
    people = {record.created_by_id, record.owner_id, record.submitted_by_id}
    if isinstance(record, ModelVersion):
        people |= {record.model.created_by_id, record.model.owner_id}
    return {p for p in people if p is not None}


def check_separation(actor: Actor, record: Governed) -> None:
    if actor.kind != "user":
        return
    if actor.user_id in builders(record):
        raise Forbidden(
            f"separation of duties: {actor.name} built or submitted {record.label} and cannot "
            "approve, reinstate or decide on its evidence",
            {"actor": actor.name, "rule": "separation_of_duties"},
        )
    # The DPO advises and someone independent of the advice decides (GDPR Art. 38(6)): a DPO
    # who is also an officer would otherwise approve the assessment on their own advice.
    if isinstance(record, DPIA) and record.dpo_advice and actor.user_id == record.dpo_advice_by_id:
        raise Forbidden(
            f"separation of duties: {actor.name} gave the DPO's advice on {record.label} and "
            "cannot also approve or reinstate it: another governance officer decides",
            {"actor": actor.name, "rule": "separation_of_duties"},
        )


def lease_end(record: Governed, policy: Policy, today: date, requested: date | None) -> date:
    """The last day an approval may run: the policy's validity, the pilot's or agreement's end."""
    latest = today + timedelta(days=policy.approval_validity_days)
    if isinstance(record, ModelVersion) and record.stage == "pilot" and record.pilot_end_date:
        latest = min(latest, record.pilot_end_date)
    if isinstance(record, DataSharingAgreement) and record.end_date:
        latest = min(latest, record.end_date)
    if requested is None:
        return latest
    if requested < today:
        raise Invalid("approved_until is in the past", {"approved_until": [f"on or after {today}"]})
    if requested > latest:
        raise Invalid(f"approved_until may be no later than {latest}",
                      {"approved_until": [f"no later than {latest} under policy {policy.name}"]})
    return requested


def can_approve(session: Session, actor: Actor, record: Governed, policy: Policy) -> bool:
    """Whether `actor` could give the approval (or reinstatement) the record still needs: the
    refusals of roles and duties `decide` gives, asked without deciding."""
    actor = actor.within(record.organisation_id)  # the roles held in its organisation
    if not allowed(actor, "decide"):
        return False
    try:
        check_separation(actor, record)
        _open_places(session, actor, record, policy)
    except Forbidden:
        return False
    return True


def _open_places(session: Session, actor: Actor, record: Governed, policy: Policy
                 ) -> tuple[list[Decision], list[str], list[str]]:
    """The round's approvals so far, the places still open, and those `actor` could fill;
    refused if `actor` already took a place or holds none of the roles still needed."""
    given = current_approvals(session, record)
    if any(d.actor_id == actor.user_id for d in given):
        raise Forbidden(f"{actor.name} has already {_done(record)} {record.label}; the next "
                        f"{_act(record)} must come from someone else",
                        {"rule": "one_approval_per_person"})
    needed = list(approver_roles(session, record, policy))
    for d in given:
        if d.actor_role in needed:
            needed.remove(d.actor_role)
    fits = [role for role in dict.fromkeys(needed) if role in actor.roles]
    if not fits:
        raise Forbidden(f"{record.label} still needs {_act(record)} by {', '.join(needed)}; "
                        f"{actor.name} holds {', '.join(sorted(actor.roles))}",
                        {"roles_needed": needed})
    return given, needed, fits


def _choose_role(session: Session, actor: Actor, record: Governed, policy: Policy) -> str:
    given, needed, fits = _open_places(session, actor, record, policy)
    # Someone holding two of the needed roles takes the place nobody else can fill: an officer
    # who is also the only DPO must not use up the officer's place.
    already = {actor.user_id, *(d.actor_id for d in given)}
    others = _other_approvers(session, record, needed, already)
    return next((role for role in fits if _fillable(_without(needed, role), others)), fits[0])


def _act(record: Governed) -> str:
    return "reinstatement" if record.state == "suspended" else "approval"


def _done(record: Governed) -> str:
    return "reinstated" if record.state == "suspended" else "approved"


def _other_approvers(session: Session, record: Governed, needed: list[str],
                     excluded: set[int | None]) -> Counter[frozenset[str]]:
    """How many other active users could still approve, by the needed roles each holds in the
    record's organisation."""
    barred = excluded | builders(record)
    counts: Counter[frozenset[str]] = Counter()
    for user in session.scalars(select(User).where(User.active.is_(True))):
        holds = frozenset(r for m in user.memberships
                          if m.organisation_id in (record.organisation_id, None)
                          for r in m.roles) & set(needed)
        if holds and user.id not in barred:
            counts[holds] += 1
    return counts


def _without(places: list[str], role: str) -> list[str]:
    rest = list(places)
    rest.remove(role)
    return rest


def _fillable(places: list[str], people: Counter[frozenset[str]]) -> bool:
    """Whether distinct people can fill every place (a matching; places are at most a few)."""
    if not places:
        return True
    for holds, count in people.items():
        if count and places[0] in holds:
            people[holds] -= 1
            found = _fillable(places[1:], people)
            people[holds] += 1
            if found:
                return True
    return False


def decide(
    session: Session,
    actor: Actor,
    record: Governed,
    policy: Policy,
    now: datetime,
    decision: str,
    rationale: str,
    conditions: str | None = None,
    approved_until: date | None = None,
) -> Decision:
    # the roles held in the record's organisation (a party to an agreement that did not
    # register it suspends its own side: governance/parties.py)
    actor = actor.within(record.organisation_id)
    if actor.kind != "system":
        require(actor, "decide")
    if not rationale.strip():
        raise Invalid("a decision needs a rationale", {"rationale": ["must not be empty"]})
    sources, to_state = TRANSITIONS[decision]
    if record.state not in sources:
        allowed = allowed_decisions(record.state)
        none = ("none until it is submitted" if record.state in ("draft", "changes_requested")
                else "none (final state)")
        raise Conflict(
            f"{record.label} is {record.state}: it cannot be given {decision!r}; "
            f"allowed: {', '.join(allowed) or none}",
            {"state": record.state, "allowed_decisions": allowed},
        )
    today = now.date()
    role = "system" if actor.kind == "system" else None
    puts_in_force = decision in ("approve", "reinstate")
    breaches: list[Any] = []
    if puts_in_force:
        check_separation(actor, record)
        if decision == "reinstate":  # reinstating is looking at the drift: not a blocker
            _require_watch_answered(session, record)  # a watch rule's alert must be answered
            breaches = _acknowledge_breaches(session, record)
    # The chain is walked once: the gate that lets the decision through is the evidence it
    # records (choosing a role and the lease's end change nothing the gate reads).
    gate = evaluate(session, record, policy, now)
    if puts_in_force:
        blocking = [r for r in gate.unmet if r.id != "approvals"]
        if blocking:
            gate.waiting_on = waiting_on(session, record, policy, today)
            raise Conflict(
                f"{record.label} cannot be {'approved' if decision == 'approve' else 'reinstated'}"
                f": {len(blocking)} requirement(s) unmet",
                {"summary": refusal_summary(gate, record),
                 "unmet": [r.as_dict() for r in blocking]},
            )
        approved_until = lease_end(record, policy, today, approved_until)
        role = _choose_role(session, actor, record, policy)
    elif approved_until is not None:
        raise Invalid("approved_until applies only to approve and reinstate",
                      {"approved_until": [f"not used by {decision}"]})
    elif role is None:
        role = next((r for r in ("governance_officer", "dpo") if r in actor.roles), None)

    d = Decision(
        subject_kind=record.kind, subject_id=record.id, decision=decision,
        from_state=record.state, to_state=to_state, actor_id=actor.user_id, actor_role=role,
        rationale=rationale.strip(), conditions=conditions, approved_until=approved_until,
        policy_name=policy.name, policy_version=policy.version, policy_hash=policy.content_hash,
        evidence_hash=ledger.sha256({"record": ledger.snapshot(record), "gate": gate.as_dict()}),
        created_at=now, organisation_id=record.organisation_id,
    )
    session.add(d)
    session.flush()
    if puts_in_force:  # in force once the round has every approver it needs
        round_ = current_approvals(session, record)
        complete = approvals_missing(session, record, policy) == []
        d.to_state = "approved" if complete else record.state
        if complete:
            record.approval_id = d.id
            record.approved_until = min(x.approved_until for x in round_ if x.approved_until)
        else:  # acknowledged only by the whole round
            for monitor in breaches:
                monitor.in_breach = True
    if decision in ("request_changes", "reject", "retire"):
        close_approvals(session, record)
    record.state = d.to_state
    record.updated_at = now
    ledger.append(session, actor, f"decision:{decision}", record.kind, record.id, {
        "decision_id": d.id, "from_state": d.from_state, "to_state": d.to_state,
        "rationale": d.rationale, "approved_until": approved_until, "role": role,
        "policy": policy.summary(), "evidence_hash": d.evidence_hash,
    }, now)
    return d


def require_evidence_decider(actor: Actor, record: Governed) -> None:
    """Only a governance officer who did not build or submit the record decides on its evidence;
    checked before anything else, so nobody else learns more than that."""
    actor = actor.within(record.organisation_id)  # the roles held in its organisation
    require(actor, "decide")
    if "governance_officer" not in actor.roles:
        raise Forbidden(f"only a governance officer may decide on the evidence of "
                        f"{record.label}; {actor.name} holds {', '.join(sorted(actor.roles))}",
                        {"roles_needed": ["governance_officer"]})
    check_separation(actor, record)


def evidence_decision(session: Session, actor: Actor, record: Governed, policy: Policy,
                      now: datetime, decision: str, rationale: str, scope: dict[str, Any]
                      ) -> Decision:
    """Record an officer's decision on a record's evidence (a waiver, an acknowledgement, a
    settled proposal): it leaves the record's state as it is, and is on the ledger."""
    actor = actor.within(record.organisation_id)  # the roles held in its organisation
    require_evidence_decider(actor, record)
    if not rationale.strip():
        raise Invalid("a decision needs a rationale", {"rationale": ["must not be empty"]})
    gate = evaluate(session, record, policy, now).as_dict()
    d = Decision(
        subject_kind=record.kind, subject_id=record.id, decision=decision,
        from_state=record.state, to_state=record.state, actor_id=actor.user_id,
        actor_role="governance_officer", rationale=rationale.strip(), scope=scope,
        policy_name=policy.name, policy_version=policy.version, policy_hash=policy.content_hash,
        evidence_hash=ledger.sha256({"record": ledger.snapshot(record), "gate": gate,
                                     "scope": scope}),
        created_at=now, organisation_id=record.organisation_id)
    session.add(d)
    session.flush()
    ledger.append(session, actor, f"decision:{decision}", record.kind, record.id, {
        "decision_id": d.id, "rationale": d.rationale, "scope": scope,
        "policy": policy.summary(), "evidence_hash": d.evidence_hash}, now)
    return d


def _require_watch_answered(session: Session, record: Governed) -> None:
    """A version a watch rule suspended goes back into service only once an officer has
    acknowledged the alert, saying what was found and done (`watch.acknowledge`)."""
    if not isinstance(record, ModelVersion):
        return
    open_ = session.scalars(select(WatchAlert).where(
        WatchAlert.model_version_id == record.id, WatchAlert.action == "suspend",
        WatchAlert.acknowledged_at.is_(None)).order_by(WatchAlert.id)).all()
    if open_:
        named = "; ".join(f"watch alert {a.id} (rule {a.rule})" for a in open_)
        raise Conflict(
            f"{record.label} cannot be reinstated: {named} suspended it and is not yet "
            "acknowledged; a governance officer acknowledges it first, saying what was found "
            "and done", {"summary": f"acknowledge {named} first",
                         "unmet": [{"id": "watch_alerts", "met": False, "detail": a.reason,
                                    "remedy": f"acknowledge watch alert {a.id} (POST .../alerts/"
                                    f"{a.id}/acknowledge)"} for a in open_]})


def close_approvals(session: Session, record: Governed) -> None:
    for d in current_approvals(session, record):
        d.closed = True


def _acknowledge_breaches(session: Session, record: Governed) -> list[Any]:
    """Reinstating a version suspended for drift acknowledges the breach; the monitors it
    cleared (put back in breach if the round of reinstatements is not yet complete)."""
    if not isinstance(record, ModelVersion):
        return []
    from ..records import DriftMonitor

    breached = list(session.scalars(select(DriftMonitor).where(
        DriftMonitor.model_version_id == record.id, DriftMonitor.in_breach.is_(True))))
    for monitor in breached:
        monitor.in_breach = False
    return breached
