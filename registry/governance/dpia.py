"""The DPO's advice on a DPIA, and the governance officer's acceptance or overruling of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import DPIA, Membership, User
from . import ledger
from .actors import Actor
from .errors import Conflict, Forbidden, Invalid
from .permissions import require

OPEN = ("draft", "changes_requested", "submitted")
# who may sign off a DPIA's measures and residual risk (ICO step 7), in its organisation
SIGNERS = ("governance_officer", "dpo")
SIGNOFFS = {"measures_approved_by_id": "the measures", "residual_risk_approved_by_id":
            "the residual risk"}


def authors(dpia: DPIA) -> set[int]:
    """Who wrote or put forward the DPIA: they do not sign off or advise on their own work."""
    return {p for p in (dpia.created_by_id, dpia.owner_id, dpia.submitted_by_id) if p is not None}


def signer_problem(user: User | None, organisation_id: int | None,
                   wrote: set[int] | frozenset[int] = frozenset()) -> str | None:
    """Why `user` may not sign off a DPIA of the organisation (None: they may); `wrote`, the
    DPIA's authors, may not sign off their own assessment."""
    if user is None:
        return "no such user"
    if not user.active:
        return f"{user.name or user.email} is no longer active"
    roles = {r for m in user.memberships if m.organisation_id == organisation_id for r in m.roles}
    if not roles & set(SIGNERS):
        return (f"{user.name or user.email} is not a governance officer or DPO of the DPIA's "
                "organisation")
    if user.id in wrote:
        return (f"{user.name or user.email} wrote or put forward the DPIA and cannot sign off "
                "its own assessment: another governance officer or DPO signs")
    return None


def signers(session: Session, organisation_id: int | None) -> list[User]:
    """The active users who may sign off a DPIA of the organisation, by name."""
    users = session.scalars(select(User).join(Membership).where(
        Membership.organisation_id == organisation_id, User.active.is_(True))
        .order_by(User.name, User.id)).unique().all()
    return [u for u in users if signer_problem(u, organisation_id) is None]


def check_signoffs(session: Session, dpia: DPIA, data: dict[str, Any]) -> dict[str, list[str]]:
    """Field-by-field problems with the sign-offs in `data` (user ids)."""
    problems = {}
    for field in SIGNOFFS:
        if data.get(field) is not None:
            why = signer_problem(session.get(User, data[field]), dpia.organisation_id,
                                 authors(dpia))
            if why:
                problems[field] = [f"user {data[field]}: {why}"]
    return problems


def record_advice(session: Session, actor: Actor, dpia: DPIA, advice: str, now: datetime) -> DPIA:
    actor = actor.within(dpia.organisation_id)  # the roles held in its organisation
    require(actor, "dpo_advice")
    _require_open(dpia)
    if actor.user_id in authors(dpia):
        raise Forbidden(f"{actor.name} wrote or put forward {dpia.label} and cannot give the "
                        "DPO's advice on it: the advice must come from a DPO independent of it "
                        "(GDPR Art. 38(6))", {"actor": actor.name, "rule": "independent_advice"})
    if not advice.strip():
        raise Invalid("advice must not be empty", {"advice": ["must not be empty"]})
    dpia.dpo_advice, dpia.dpo_advice_by_id = advice.strip(), actor.user_id
    dpia.dpo_advice_accepted = dpia.dpo_response_reason = None  # new advice needs a new answer
    dpia.updated_at = now
    ledger.append(session, actor, "dpo_advice", "dpia", dpia.id, {"advice": dpia.dpo_advice}, now)
    return dpia


def respond_to_advice(session: Session, actor: Actor, dpia: DPIA, accepted: bool, reason: str,
                      now: datetime) -> DPIA:
    actor = actor.within(dpia.organisation_id)  # the roles held in its organisation
    require(actor, "respond_to_advice")
    _require_open(dpia)
    if not dpia.dpo_advice:
        raise Conflict(f"{dpia.label} has no DPO advice to respond to",
                       {"dpo_advice": ["missing"]})
    if actor.user_id is not None and actor.user_id == dpia.dpo_advice_by_id:
        raise Forbidden(f"{actor.name} gave the advice on {dpia.label} as its DPO and cannot also "
                        "accept or overrule it: another governance officer answers it",
                        {"actor": actor.name, "rule": "separation_of_duties"})
    if not reason.strip():
        raise Invalid("give reasons", {"reason": ["must not be empty"]})
    dpia.dpo_advice_accepted, dpia.dpo_response_reason = accepted, reason.strip()
    dpia.updated_at = now
    ledger.append(session, actor, "advice_response", "dpia", dpia.id,
                  {"accepted": accepted, "reason": dpia.dpo_response_reason}, now)
    return dpia


def assessment(dpia: DPIA) -> tuple[Any, ...]:
    """What the DPO's advice is given on: the steps' text, the risks with their measures and
    residual risk, and the datasets and models assessed (not the review date, the sign-offs or
    the outcome of a prior consultation with the ICO, recorded once the DPO has advised)."""
    return (dpia.need, dpia.processing, dpia.consultation, dpia.necessity,
            tuple((r.description, r.likelihood, r.severity, r.measure, r.effect,
                   r.residual_likelihood, r.residual_severity) for r in dpia.risks),
            tuple(sorted(d.id for d in dpia.datasets)), tuple(sorted(m.id for m in dpia.models)))


def advice_outdated(dpia: DPIA, before: tuple[Any, ...]) -> bool:
    """After an edit: if the assessment changed, the DPO's advice (and the officer's answer to
    it) was on another text; both are cleared, to be given again (the advice stays on the
    ledger). True if they were cleared."""
    if dpia.dpo_advice is None and dpia.dpo_advice_accepted is None:
        return False
    if assessment(dpia) == before:
        return False
    dpia.dpo_advice = dpia.dpo_advice_by_id = None
    dpia.dpo_advice_accepted = dpia.dpo_response_reason = None
    return True


def _require_open(dpia: DPIA) -> None:
    if dpia.state not in OPEN:
        raise Conflict(f"{dpia.label} is {dpia.state}; advice is given before approval",
                       {"state": dpia.state, "allowed_states": list(OPEN)})
