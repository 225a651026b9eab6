"""Changes proposed to a version's evidence, and the gaps in it an officer waives or acknowledges.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..governance import evidence, gaps, proposals
from ..records import ModelVersion
from ..usecases import decisions, records
from .auth import unit
from .schemas import DecisionOut

blp = Blueprint("evidence", __name__, url_prefix="/api/v1",
                description="Proposed changes to a version's bias audit or drift monitor, which "
                            "an officer accepts or declines; gaps an officer waives, alerts an "
                            "officer acknowledges.")
VERSION = "/models/<name>/versions/<int:number>"


class ProposalOut(Schema):
    kind = fields.String(metadata={"description": "bias_audit | drift_monitor"})
    id = fields.Integer()
    status = fields.String()
    proposed_by_id = fields.Integer(allow_none=True)
    proposed_at = fields.DateTime()
    changes = fields.Dict(metadata={"description": "field -> [in force, proposed]"})


class SettleIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["accept", "decline"]))
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


class GapOut(Schema):
    requirement = fields.String()
    evidence = fields.String()
    items = fields.List(fields.String())
    outstanding = fields.List(fields.String())
    detail = fields.String()
    remedy = fields.String()
    decision = fields.String(metadata={"description": "waive | acknowledge"})


class WaiverIn(Schema):
    requirement = fields.String(required=True, metadata={
        "description": "the gap's requirement, e.g. small_groups or drift_alert"})
    items = fields.List(fields.String(validate=validate.Length(min=1, max=500)), required=True,
                        validate=validate.Length(min=1, max=1000),
                        metadata={"description": "each outstanding item waived, by name"})
    evidence = fields.String(load_default=None, allow_none=True, metadata={
        "description": "the evidence the gap was found in, e.g. drift_check:7 (default: the "
                       "newest in which the items are outstanding)"})
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=10_000))


def _version(name: str, number: int) -> ModelVersion:
    return records.find_version(unit(), name, number)


@blp.route(f"{VERSION}/proposals")
@blp.response(200, ProposalOut(many=True))
def list_proposals(name: str, number: int) -> Any:
    version, session = _version(name, number), unit().session
    return [{"kind": evidence.kind_of(p), "id": p.id, "status": p.status,
             "proposed_by_id": p.created_by_id, "proposed_at": p.created_at,
             "changes": proposals.changes(session, version, p)}
            for p in evidence.proposals(session, version)]


@blp.route(f"{VERSION}/proposals/<kind>/<int:evidence_id>", methods=["POST"])
@blp.arguments(SettleIn)
@blp.response(200, DecisionOut)
def settle(data: dict[str, Any], name: str, number: int, kind: str, evidence_id: int) -> Any:
    u = unit()
    version = records.find_version(u, name, number)
    proposed = proposals.get(u.session, version, kind, evidence_id)
    return decisions.settle(u, version, proposed, data["decision"] == "accept", data["rationale"])


@blp.route(f"{VERSION}/gaps")
@blp.response(200, GapOut(many=True))
def list_gaps(name: str, number: int) -> Any:
    u = unit()
    return [g.as_dict() for g in gaps.find(u.session, _version(name, number), u.policy)]


@blp.route(f"{VERSION}/waivers", methods=["POST"])
@blp.arguments(WaiverIn)
@blp.response(201, DecisionOut)
def waive(data: dict[str, Any], name: str, number: int) -> Any:
    """Waive (or, for an alert, acknowledge) outstanding items of a gap; listed with the
    version's other decisions at .../decisions."""
    return decisions.waive(unit(), _version(name, number), data["requirement"], data["items"],
                           data["rationale"], data["evidence"])
