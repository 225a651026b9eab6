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
from ..governance.retention import still_kept
from ..records import ModelVersion, ScoreReceipt
from . import compact


def read(session: Session, actor: Actor, receipt_id: str, now: datetime) -> ScoreReceipt:
    """A receipt as a person reads it; a read of its stored inputs is chained in the ledger."""
    receipt = get(session, actor, receipt_id, now)
    if receipt.inputs is not None:
        ledger.append(session, actor, "read_inputs", "receipt", receipt.id, {}, now)
    return receipt


_FIELDS = ("id", "model_version_id", "approval_id", "client_id", "purpose", "inputs_hash",
           "inputs", "inputs_expire_at", "score", "band", "created_at", "outcome", "overrode",
           "outcome_reason", "outcome_at")


def view(session: Session, receipt: ScoreReceipt) -> dict[str, Any]:
    """A receipt as people read it: its explanation as the score gave it, from the compact form
    it is stored in (a receipt stored before that form, as it was stored)."""
    version = session.get(ModelVersion, receipt.model_version_id)
    schema = version.feature_schema if version is not None else []
    return {**{f: getattr(receipt, f) for f in _FIELDS},
            "explanation": compact.expand(receipt.explanation, schema or [], receipt.score)}


def get(session: Session, actor: Actor, receipt_id: str, now: datetime) -> ScoreReceipt:
    require(actor, "read_receipt")
    receipt = session.get(ScoreReceipt, receipt_id)
    if receipt is None or (actor.kind == "client" and receipt.client_id != actor.id):
        raise NotFound(f"no receipt {receipt_id!r} for {actor.name}", {"receipt_id": [receipt_id]})
    if receipt.inputs is not None and not still_kept(receipt.inputs_expire_at, now):
        receipt.inputs = None  # past retention and not yet erased: erase it now
        session.flush()
    return receipt


def record_outcome(session: Session, actor: Actor, receipt_id: str, outcome: str, overrode: bool,
                   reason: str | None, now: datetime) -> ScoreReceipt:
    require(actor, "record_outcome")
    receipt = get(session, actor, receipt_id, now)
    if actor.kind != "client" or receipt.client_id != actor.id:
        raise Forbidden("only the tool that asked for the score records its outcome")
    if receipt.outcome is not None:
        raise Conflict(f"receipt {receipt_id} already has its outcome", {"outcome": ["recorded"]})
    if not outcome.strip():
        raise Invalid("say what the caseworker decided", {"outcome": ["must not be empty"]})
    if overrode and not (reason or "").strip():
        raise Invalid("an override needs the caseworker's reason", {"reason": ["required"]})
    receipt.outcome, receipt.overrode = outcome.strip(), overrode
    receipt.outcome_reason, receipt.outcome_at = (reason or "").strip() or None, now
    # The reason may name the person: the ledger keeps its hash.
    ledger.append(session, actor, "record_outcome", "receipt", receipt.id,
                  {"outcome": receipt.outcome, "overrode": overrode,
                   "reason_sha256": ledger.sha256(receipt.outcome_reason)}, now)
    return receipt
