"""Score receipts: reading one (appeals, subject access), recording the caseworker's outcome;
both are chained in the ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..governance import ledger
from ..governance.actors import Actor
from ..governance.errors import Conflict, Forbidden, Invalid, NotFound
from ..governance.permissions import require
from ..governance.policy import Policy
from ..governance.retention import recorded_erasure, still_kept
from ..records import ModelVersion, OutcomeReport, ScoreReceipt
from . import compact


def read(session: Session, actor: Actor, receipt_id: str, now: datetime) -> ScoreReceipt:
    """A receipt as a person reads it; a read of its stored inputs is chained in the ledger."""
    receipt = get(session, actor, receipt_id, now)
    if receipt.inputs is not None:
        ledger.append(session, actor, "read_inputs", "receipt", receipt.id, {}, now)
    return receipt


_FIELDS = ("id", "code", "model_version_id", "approval_id", "client_id", "purpose", "inputs_hash",
           "inputs", "inputs_expire_at", "score", "band", "created_at", "outcome", "overrode",
           "outcome_reason", "outcome_at", "outcome_reports")


def view(session: Session, receipt: ScoreReceipt) -> dict[str, Any]:
    """A receipt as people read it: its explanation as the score gave it, from the compact form
    it is stored in, with the values of the inputs while they are kept (see `compact`)."""
    version = session.get(ModelVersion, receipt.model_version_id)
    schema = version.feature_schema if version is not None else []
    return {**{f: getattr(receipt, f) for f in _FIELDS},
            "explanation": compact.expand(receipt.explanation, schema or [], receipt.score,
                                          receipt.inputs)}


def get(session: Session, actor: Actor, receipt_id: str, now: datetime) -> ScoreReceipt:
    require(actor, "read_receipt")
    receipt = session.get(ScoreReceipt, receipt_id)
    if receipt is None or (actor.kind == "client" and receipt.client_id != actor.id):
        raise NotFound(f"no receipt {receipt_id!r} for {actor.name}", {"receipt_id": [receipt_id]})
    if receipt.inputs is not None and not still_kept(receipt.inputs_expire_at, now):
        receipt.inputs = None  # past retention and not yet erased: erase it now, on the ledger
        session.flush()
        recorded_erasure(session, "receipt", receipt.id, 1, now)
    return receipt


def vocabulary(receipt: ScoreReceipt, policy: Policy) -> tuple[str, ...]:
    """The outcomes the receipt's model accepts: its own words, else the policy's."""
    return tuple(receipt.model_version.model.outcome_vocabulary or policy.outcomes)


def _checked(receipt: ScoreReceipt, policy: Policy, outcome: str, overrode: bool | None,
             reason: str | None) -> tuple[str, bool, str | None]:
    """(the outcome in the vocabulary's spelling, whether the caseworker overrode the score,
    the reason), or Invalid naming the field."""
    words = vocabulary(receipt, policy)
    found = next((w for w in words if w.casefold() == outcome.strip().casefold()), None)
    if found is None:
        raise Invalid(f"outcome {outcome.strip()!r} is not one of the model's outcomes: "
                      + ", ".join(words), {"outcome": [f"one of: {', '.join(words)}"]})
    overrode = found == "overridden" if overrode is None else overrode
    reason = (reason or "").strip() or None
    if overrode and not reason:
        raise Invalid("an override needs the caseworker's reason", {"reason": ["required"]})
    return found, overrode, reason


def _tool_of(actor: Actor, receipt: ScoreReceipt) -> None:
    if actor.kind != "client" or receipt.client_id != actor.id:
        raise Forbidden("only the tool that asked for the score reports its outcome")


def record_outcome(session: Session, actor: Actor, receipt_id: str, outcome: str,
                   overrode: bool | None, reason: str | None, now: datetime,
                   policy: Policy) -> ScoreReceipt:
    """The caseworker's outcome, from the model's vocabulary, with free-text reasons; reported
    once (a wrong report is corrected with :func:`correct_outcome`)."""
    require(actor, "record_outcome")
    receipt = get(session, actor, receipt_id, now)
    _tool_of(actor, receipt)
    if receipt.outcome is not None:
        raise Conflict(f"receipt {receipt_id} already has its outcome: correct it with a reason "
                       f"(POST /api/v1/receipts/{receipt_id}/outcome/corrections)",
                       {"outcome": ["recorded"]})
    return _report(session, actor, receipt, *_checked(receipt, policy, outcome, overrode, reason),
                   None, now)


def correct_outcome(session: Session, actor: Actor, receipt_id: str, outcome: str,
                    overrode: bool | None, reason: str | None, correction_reason: str,
                    now: datetime, policy: Policy) -> ScoreReceipt:
    """A reported outcome corrected, with the reason for the correction; every report is kept."""
    require(actor, "record_outcome")
    receipt = get(session, actor, receipt_id, now)
    _tool_of(actor, receipt)
    if receipt.outcome is None:
        raise Conflict(f"receipt {receipt_id} has no outcome to correct: report it first",
                       {"outcome": ["not reported yet"]})
    if not correction_reason.strip():
        raise Invalid("say why the outcome is corrected", {"correction_reason": ["required"]})
    return _report(session, actor, receipt, *_checked(receipt, policy, outcome, overrode, reason),
                   correction_reason.strip(), now)


def _report(session: Session, actor: Actor, receipt: ScoreReceipt, outcome: str,
            overrode: bool, reason: str | None, correction: str | None,
            now: datetime) -> ScoreReceipt:
    receipt.outcome, receipt.overrode = outcome, overrode
    receipt.outcome_reason, receipt.outcome_at = reason, now
    session.add(OutcomeReport(receipt_id=receipt.id, outcome=outcome, overrode=overrode,
                              reason=reason, correction_reason=correction,
                              client_id=receipt.client_id, created_at=now))
    session.flush()
    # The reasons may name the person: the ledger keeps their hashes.
    change = {"outcome": outcome, "overrode": overrode,
              "reason_sha256": ledger.sha256(reason)}
    if correction is not None:
        change["correction_reason_sha256"] = ledger.sha256(correction)
    ledger.append(session, actor, "correct_outcome" if correction else "record_outcome",
                  "receipt", receipt.id, change, now)
    return receipt
