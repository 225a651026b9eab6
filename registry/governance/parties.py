"""The two parties of a data-sharing agreement, each able to stop its own side of the flow.

An agreement is registered, approved and suspended by the organisation that registered it (its
lifecycle); either party that is an organisation of this deployment may, besides, suspend its
side — the provider stops sending, the recipient stops receiving — and only that party lifts its
own suspension. While either side is suspended nothing rests on the agreement (see
`chain._usable`), so the versions whose data came under it stop serving at the next request.
Each party's decision is recorded in its own organisation's decisions and ledger.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..records import DataSharingAgreement, Decision
from . import ledger
from .actors import Actor
from .errors import Conflict, Forbidden, Invalid
from .permissions import RULES
from .policy import Policy

SIDES = ("provider", "recipient")


def party(agreement: DataSharingAgreement, side: str) -> int | None:
    """The organisation on that side, if it is one of this deployment's."""
    return getattr(agreement, f"{side}_organisation_id")  # type: ignore[no-any-return]


def is_suspended(agreement: DataSharingAgreement, side: str) -> bool:
    return bool(getattr(agreement, f"{side}_suspended"))


def sides_of(actor: Actor, agreement: DataSharingAgreement) -> list[str]:
    """The sides whose organisation the actor decides for."""
    return [side for side in SIDES if party(agreement, side) is not None
            and actor.roles_in(party(agreement, side)) & RULES["decide"]]


def refusal(agreement: DataSharingAgreement) -> str | None:
    """Why nothing may rest on the agreement because a party stopped its side, or None."""
    stopped = [side for side in SIDES if is_suspended(agreement, side)]
    if not stopped:
        return None
    who = " and ".join(f"its {side} ({getattr(agreement, side)})" for side in stopped)
    return f"{agreement.label} is suspended by {who}"


def set_side(session: Session, actor: Actor, agreement: DataSharingAgreement, side: str,
             suspended: bool, rationale: str, policy: Policy, now: datetime) -> Decision:
    """Suspend (or lift the suspension of) one party's side of the agreement, for that party:
    an officer or DPO of the organisation on that side decides, with a rationale."""
    if side not in SIDES:
        raise Invalid(f"no side {side[:40]!r}", {"side": [f"one of {', '.join(SIDES)}"]})
    org_id = party(agreement, side)
    if org_id is None:
        raise Invalid(f"the {side} of {agreement.label} is not an organisation of this "
                      "deployment, so it has no side to suspend here",
                      {"side": [f"the {side} is {getattr(agreement, side)!r}, outside"]})
    deciding = actor.within(org_id)  # the roles held on that side
    if actor.kind != "system" and not deciding.roles & RULES["decide"]:
        raise Forbidden(f"only a governance officer or DPO of the {side} may "
                        f"{'suspend' if suspended else 'lift the suspension of'} its side of "
                        f"{agreement.label}; {actor.name} holds none there",
                        {"roles_needed": sorted(RULES["decide"]), "side": [side]})
    if not rationale.strip():
        raise Invalid("a decision needs a rationale", {"rationale": ["must not be empty"]})
    if agreement.state in ("rejected", "retired"):
        raise Conflict(f"{agreement.label} is {agreement.state}: nothing rests on it",
                       {"state": agreement.state})
    if is_suspended(agreement, side) == suspended:
        raise Conflict(f"the {side}'s side of {agreement.label} is already "
                       f"{'suspended' if suspended else 'in force'}",
                       {f"{side}_suspended": suspended})
    decision = "suspend_side" if suspended else "reinstate_side"
    role = next((r for r in ("governance_officer", "dpo") if r in deciding.roles), "system")
    setattr(agreement, f"{side}_suspended", suspended)
    agreement.updated_at = now
    scope = {"side": side, "organisation_id": org_id}
    d = Decision(
        subject_kind=agreement.kind, subject_id=agreement.id, decision=decision,
        from_state=agreement.state, to_state=agreement.state, actor_id=actor.user_id,
        actor_role=role, rationale=rationale.strip(), scope=scope,
        policy_name=policy.name, policy_version=policy.version, policy_hash=policy.content_hash,
        evidence_hash=ledger.sha256({"record": ledger.snapshot(agreement), "scope": scope}),
        created_at=now, organisation_id=org_id)
    session.add(d)
    session.flush()
    ledger.append(session, deciding, f"decision:{decision}", agreement.kind, agreement.id, {
        "decision_id": d.id, "side": side, f"{side}_suspended": suspended,
        "rationale": d.rationale, "policy": policy.summary(), "evidence_hash": d.evidence_hash,
    }, now, organisation_id=org_id)
    return d
