"""DPIAs: the shared governed routes plus the DPO's advice and the officer's response to it."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import select

from ..governance import dpia as dpia_rules
from ..governance import registration
from ..platform.services import db
from ..records import DPIA
from . import current_actor
from . import schemas as s
from .governed import governed_routes, now


def blueprint() -> Blueprint:
    blp = Blueprint(
        "dpias",
        __name__,
        url_prefix="/api/v1/dpias",
        description="Data protection impact assessments (the ICO's seven steps).",
    )

    @blp.route("", methods=["POST"])
    @blp.arguments(s.DpiaIn)
    @blp.response(201, s.DpiaOut)
    def create(data: dict[str, Any]) -> Any:
        record = registration.create(db(), current_actor(), "dpia", data, now())
        db().commit()
        return record

    @blp.route("/<int:record_id>/dpo-advice", methods=["POST"])
    @blp.arguments(s.DpoAdviceIn)
    @blp.response(200, s.DpiaOut)
    def advice(data: dict[str, Any], record_id: int) -> Any:
        record = registration.get(db(), "dpia", record_id)
        dpia_rules.record_advice(db(), current_actor(), record, data["advice"], now())
        db().commit()
        return record

    @blp.route("/<int:record_id>/advice-response", methods=["POST"])
    @blp.arguments(s.AdviceResponseIn)
    @blp.response(200, s.DpiaOut)
    def respond(data: dict[str, Any], record_id: int) -> Any:
        record = registration.get(db(), "dpia", record_id)
        dpia_rules.respond_to_advice(
            db(), current_actor(), record, data["accepted"], data["reason"], now()
        )
        db().commit()
        return record

    governed_routes(
        blp,
        "dpia",
        "/<int:record_id>",
        lambda record_id: record_id,
        s.DpiaIn,
        s.DpiaOut,
        list_query=lambda: select(DPIA),
    )
    return blp
