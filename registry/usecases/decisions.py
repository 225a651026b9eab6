"""Decisions an officer takes: on a record's state (approve, reject, request changes, suspend,
reinstate, retire), on a change proposed to a version's evidence, on the gaps in it, and the
DPO's advice on a DPIA with the officer's response to it."""

from __future__ import annotations

from datetime import date

from ..governance import dpia, lifecycle, parties, proposals, waivers
from ..governance.evidence import Evidence
from ..records import DPIA, DataSharingAgreement, Decision, Governed, ModelVersion
from ..serving import warm
from .unit import Unit


def decide(unit: Unit, record: Governed, decision: str, rationale: str,
           conditions: str | None = None, approved_until: date | None = None) -> Decision:
    """Move the record through its lifecycle; the chain is evaluated once (in `lifecycle`).
    What it makes servable is loaded by this process's warmer at once (see `serving.warm`)."""
    with unit:
        taken = lifecycle.decide(unit.session, unit.actor, record, unit.policy, unit.now,
                                 decision=decision, rationale=rationale, conditions=conditions,
                                 approved_until=approved_until)
    warm.kick(unit.app.extensions["gatehouse"])
    return taken


def set_side(unit: Unit, agreement: DataSharingAgreement, side: str, suspended: bool,
             rationale: str) -> Decision:
    """A party suspends its side of an agreement (or lifts that), in its own organisation's
    decisions and ledger."""
    with unit:
        return parties.set_side(unit.session, unit.actor, agreement, side, suspended, rationale,
                                unit.policy, unit.now)


def settle(unit: Unit, version: ModelVersion, proposed: Evidence, accept: bool,
           rationale: str) -> Decision:
    """Accept or decline a change proposed to a version's bias audit or drift monitor."""
    with unit:
        settled = proposals.settle(unit.session, unit.actor, version, proposed, accept,
                                   rationale, unit.policy, unit.now)
    warm.kick(unit.app.extensions["gatehouse"])
    return settled


def waive(unit: Unit, version: ModelVersion, requirement: str, items: list[str],
          rationale: str, evidence: str | None = None) -> Decision:
    """Waive (or, for an alert, acknowledge) the outstanding items of a gap, by name."""
    with unit:
        waived = waivers.record(unit.session, unit.actor, version, unit.policy, unit.now,
                                requirement, items, rationale, evidence)
    warm.kick(unit.app.extensions["gatehouse"])
    return waived


def advise(unit: Unit, record: DPIA, advice: str) -> DPIA:
    """The DPO's advice on a DPIA."""
    with unit:
        return dpia.record_advice(unit.session, unit.actor, record, advice, unit.now)


def respond(unit: Unit, record: DPIA, accepted: bool, reason: str) -> DPIA:
    """The officer accepts or overrules the DPO's advice, with reasons."""
    with unit:
        return dpia.respond_to_advice(unit.session, unit.actor, record, accepted, reason,
                                      unit.now)
