"""DPIAs: the shared governed routes plus the DPO's advice and the officer's response to it."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from ..governance import registration
from ..records import DPIA
from ..usecases import decisions
from ..usecases.inputs import AdviceResponseIn, DpiaIn, DpoAdviceIn
from . import schemas as s
from .auth import unit
from .governed import by_id


def _dpia(record_id: int) -> DPIA:
    record = registration.get(unit().session, "dpia", record_id)
    assert isinstance(record, DPIA)
    return record


def blueprint() -> Blueprint:
    blp = by_id("dpia", "dpias", "Data protection impact assessments (the ICO's seven steps).",
                DpiaIn, s.DpiaOut)

    @blp.route("/<int:record_id>/dpo-advice", methods=["POST"])
    @blp.arguments(DpoAdviceIn)
    @blp.response(200, s.DpiaOut)
    def advice(data: dict[str, Any], record_id: int) -> Any:
        return decisions.advise(unit(), _dpia(record_id), data["advice"])

    @blp.route("/<int:record_id>/advice-response", methods=["POST"])
    @blp.arguments(AdviceResponseIn)
    @blp.response(200, s.DpiaOut)
    def respond(data: dict[str, Any], record_id: int) -> Any:
        return decisions.respond(unit(), _dpia(record_id), data["accepted"], data["reason"])

    return blp
