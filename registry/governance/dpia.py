"""The DPO's advice on a DPIA, and the governance officer's acceptance or overruling of it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..records import DPIA
from . import ledger
from .actors import Actor
from .errors import Conflict, Invalid
from .permissions import require

OPEN = ("draft", "changes_requested", "submitted")


def record_advice(session: Session, actor: Actor, dpia: DPIA, advice: str, now: datetime) -> DPIA:
    actor = actor.within(dpia.organisation_id)  # the roles held in its organisation
    require(actor, "dpo_advice")
    _require_open(dpia)
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
    if not reason.strip():
        raise Invalid("give reasons", {"reason": ["must not be empty"]})
    dpia.dpo_advice_accepted, dpia.dpo_response_reason = accepted, reason.strip()
    dpia.updated_at = now
    ledger.append(session, actor, "advice_response", "dpia", dpia.id,
                  {"accepted": accepted, "reason": dpia.dpo_response_reason}, now)
    return dpia


def _require_open(dpia: DPIA) -> None:
    if dpia.state not in OPEN:
        raise Conflict(f"{dpia.label} is {dpia.state}; advice is given before approval",
                       {"state": dpia.state, "allowed_states": list(OPEN)})
