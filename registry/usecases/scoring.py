"""Scores for frontline tools (the JSON API and the Open Inference Protocol alike), and the
receipts they get back."""

from __future__ import annotations

from typing import Any

from ..serving import receipts, scoring
from .unit import Unit


def score(unit: Unit, name: str, purpose: str, cases: list[Any],
          number: int | None = None, guard: str | None = None) -> dict[str, Any]:
    """Score and explain the cases. Serving keeps its own short transactions (the checks end
    before the model runs; the receipts are stored before the answer leaves), so this unit's
    transaction is not held open around the model. ``guard``: see ``serving.scoring.score``."""
    return scoring.score(unit.session, unit.actor, name, purpose, cases, unit.policy,
                         unit.store, unit.now, number, commit=True, guard=guard)


def read_receipt(unit: Unit, receipt_id: str) -> dict[str, Any]:
    """A receipt (appeals, subject access) with its explanation as the score gave it; inputs
    past their retention are erased on the way."""
    with unit:
        return receipts.view(unit.session,
                             receipts.read(unit.session, unit.actor, receipt_id, unit.now))


def record_outcome(unit: Unit, receipt_id: str, outcome: str, overrode: bool | None,
                   reason: str | None) -> dict[str, Any]:
    """What the caseworker finally decided, reported by the tool that asked for the score."""
    with unit:
        return receipts.view(unit.session, receipts.record_outcome(
            unit.session, unit.actor, receipt_id, outcome, overrode, reason, unit.now,
            unit.policy))


def correct_outcome(unit: Unit, receipt_id: str, outcome: str, overrode: bool | None,
                    reason: str | None, correction_reason: str) -> dict[str, Any]:
    """A wrong outcome report corrected by the same tool, with the reason; the history kept."""
    with unit:
        return receipts.view(unit.session, receipts.correct_outcome(
            unit.session, unit.actor, receipt_id, outcome, overrode, reason, correction_reason,
            unit.now, unit.policy))
