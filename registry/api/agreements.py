"""Data-sharing agreements: the shared governed routes plus what depends on an agreement."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..governance import upstream
from ..governance.chain import servability, usable
from ..records import DataSharingAgreement
from ..usecases import decisions, records
from ..usecases.inputs import AgreementIn, SideIn
from . import schemas as s
from .auth import unit
from .governed import by_id


class DependentsOut(Schema):
    datasets = fields.List(fields.Dict())
    model_versions = fields.List(fields.Dict())
    clients = fields.List(fields.Dict())


def blueprint() -> Blueprint:
    blp = by_id("agreement", "agreements",
                "Agreements: register, read, update, submit, decide.", AgreementIn,
                s.AgreementOut)

    @blp.route("/<int:record_id>/dependents", methods=["GET"])
    @blp.response(200, DependentsOut)
    def dependents(record_id: int) -> Any:
        u = unit()
        agreement = records.find(u, "agreement", record_id)
        assert isinstance(agreement, DataSharingAgreement)
        deps = upstream.dependents_of_agreement(u.session, agreement)
        session, policy, today = u.session, u.policy, u.now.date()
        return {
            "datasets": [
                {
                    "id": d.id,
                    "name": d.name,
                    "state": d.state,
                    "usable": usable(session, d, policy, today).ok,
                }
                for d in deps["datasets"]
            ],
            "model_versions": [
                {
                    "id": v.id,
                    "model": v.model.name,
                    "number": v.number,
                    "state": v.state,
                    "servable": servability(session, v, policy, today).ok,
                }
                for v in deps["model_versions"]
            ],
            "clients": [{"id": c.id, "name": c.name, "models": c.models} for c in deps["clients"]],
        }

    @blp.route("/<int:record_id>/sides/<side>", methods=["POST"])
    @blp.arguments(SideIn)
    @blp.response(201, s.DecisionOut)
    def side(data: dict[str, Any], record_id: int, side: str) -> Any:
        """A party (provider or recipient) suspends its side of the agreement, or lifts its
        suspension: nothing rests on the agreement while either side is suspended."""
        u = unit()
        agreement = records.find(u, "agreement", record_id)
        assert isinstance(agreement, DataSharingAgreement)
        return decisions.set_side(u, agreement, side, data["suspended"], data["rationale"])

    return blp
