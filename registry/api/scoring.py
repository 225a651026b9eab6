"""Scoring for frontline tools, and the receipts they get back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import orjson
from flask import Response, current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow import ValidationError as MarshmallowError

from ..governance.errors import Invalid, TooManyRequests
from ..governance.receipt_chain import display_code
from ..platform import ratelimit
from ..serving.scoring import MAX_PURPOSE, Refused
from ..usecases import scoring
from .auth import current_actor, unit

blp = Blueprint("scoring", __name__, url_prefix="/api/v1",
                description="Scores with explanations for frontline tools; receipts and outcomes.")


class ScoreIn(Schema):
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=MAX_PURPOSE))
    features = fields.Dict(metadata={"description": "one case: feature name -> value"})
    # each case is checked against the version's schema when scored (serving.features), which
    # names a bad one as instances.<n>: marshmallow need not walk a thousand rows first
    instances = fields.List(fields.Raw(), metadata={"description": "a batch of cases (objects)"})
    version = fields.Integer(metadata={"description": "pin a version; default the approved one"})

    @validates_schema
    def one_of(self, data: dict[str, Any], **_: Any) -> None:
        if ("features" in data) == ("instances" in data):
            raise MarshmallowError("give exactly one of features or instances", "features")


class Contribution(Schema):
    feature = fields.String()
    value = fields.Raw(allow_none=True)
    contribution = fields.Float()
    statement = fields.String()


class ExplanationOut(Schema):
    score = fields.Float()
    base_value = fields.Float()
    scale = fields.String()
    explained_value = fields.Float()
    contributions = fields.List(fields.Nested(Contribution))
    notice = fields.String()


class ScoreResult(Schema):
    receipt_id = fields.String()
    verify_code = fields.String(metadata={"description": "for the decision letter: anyone can "
                                                        "check it at /verify/<code>"})
    score = fields.Float()
    band = fields.String()
    explanation = fields.Nested(ExplanationOut)


class ScoreOut(Schema):
    model = fields.String()
    version = fields.Integer()
    approval_id = fields.Integer()
    approved_until = fields.Date(allow_none=True)
    purpose = fields.String()
    results = fields.List(fields.Nested(ScoreResult))


class OutcomeIn(Schema):
    outcome = fields.String(required=True, validate=validate.Length(min=1), metadata={
        "description": "what the caseworker finally decided: one of the model's outcomes "
        "(GET /api/v1/models/<name>/schema lists them; by default accepted, overridden, "
        "no_action)"})
    overrode = fields.Boolean(allow_none=True, load_default=None, metadata={
        "description": "whether the caseworker went against the score; by default, whether "
        "the outcome is 'overridden'"})
    reason = fields.String(allow_none=True, load_default=None, metadata={
        "description": "the caseworker's reasons, in their words (required for an override)"})


class CorrectionIn(OutcomeIn):
    correction_reason = fields.String(required=True, validate=validate.Length(min=1), metadata={
        "description": "why the outcome reported before was wrong"})


class OutcomeReportOut(Schema):
    outcome = fields.String()
    overrode = fields.Boolean()
    reason = fields.String(allow_none=True)
    correction_reason = fields.String(allow_none=True, metadata={
        "description": "none for the first report; why it was corrected for each later one"})
    created_at = fields.DateTime()


class ReceiptOut(Schema):
    id = fields.String()
    verify_code = fields.Function(
        lambda r: display_code(r["code"]) if r["code"] else None, allow_none=True,
        metadata={"description": "for the decision letter: anyone can check it at "
                                 "/verify/<code> (none on receipts made before codes existed)"})
    model_version_id = fields.Integer()
    approval_id = fields.Integer()
    client_id = fields.Integer(allow_none=True)
    purpose = fields.String()
    inputs_hash = fields.String()
    inputs = fields.Dict(allow_none=True)
    inputs_expire_at = fields.DateTime(allow_none=True)
    score = fields.Float()
    band = fields.String(allow_none=True)
    explanation = fields.Dict(allow_none=True)
    created_at = fields.DateTime()
    outcome = fields.String(allow_none=True)
    overrode = fields.Boolean(allow_none=True)
    outcome_reason = fields.String(allow_none=True)
    outcome_at = fields.DateTime(allow_none=True)
    outcome_history = fields.List(fields.Nested(OutcomeReportOut), attribute="outcome_reports",
                                  metadata={"description": "every report, oldest first"})


_SCORE_IN = ScoreIn()


@blp.route("/models/<name>/score", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ScoreIn}}})
@blp.response(200, ScoreOut)
@blp.alt_response(422, description="invalid input, field by field")
@blp.alt_response(429, description="too many refused score calls from this client")
def score(name: str) -> Any:
    data = _score_arguments()
    cases = [data["features"]] if "features" in data else data["instances"]
    with refusals_limited():
        result = scoring.score(unit(), name, data["purpose"], cases, data.get("version"))
    return json_response(result)


@contextmanager
def refusals_limited() -> Iterator[None]:
    """Refused score calls beyond the limit per client are answered 429 with Retry-After (still
    counted on the ledger); a call that is served is never counted, nor limited."""
    try:
        yield
    except Refused as refused:
        limit = current_app.config["SCORE_REFUSAL_LIMIT"]
        actor = current_actor()
        wait = ratelimit.hit(limit, f"score-refusals/{actor.kind}:{actor.id}")
        if wait is None:
            raise
        raise TooManyRequests(
            f"too many refused score calls from {actor.name}: the limit is {limit}; try again "
            f"in {wait} second{'s' if wait != 1 else ''}",
            {"limit": [f"{limit} refused score calls per client"]}, retry_after=wait,
        ) from refused


def _score_arguments() -> dict[str, Any]:
    """The body checked against ``ScoreIn`` with errors as webargs would give them — without
    webargs, whose parsing costs ~20x the schema's own load on this hot path."""
    return score_arguments(request.get_json(silent=True))


def score_arguments(body: Any) -> dict[str, Any]:
    """A parsed score body checked against ``ScoreIn``; Invalid naming the fields."""
    if not isinstance(body, dict):
        raise Invalid("invalid input: json", {"json": ["send a JSON object"]})
    if len(body) == 2 and type(body.get("features")) is dict and \
            type(purpose := body.get("purpose")) is str and 0 < len(purpose) <= MAX_PURPOSE:
        return dict(body)  # one case and a purpose, plainly right: what the schema would give
    try:
        return _SCORE_IN.load(body)
    except MarshmallowError as exc:
        details = exc.normalized_messages()
        raise Invalid(f"invalid input: {', '.join(sorted(details))}", details) from exc


def json_response(body: dict[str, Any], status: int = 200) -> Response:
    """Already JSON-ready data as a response, without a marshmallow dump (the hot path).

    ``ScoreOut`` still documents it; the one non-JSON value, ``approved_until``, is a date.
    """
    return current_app.response_class(json_body(body), status=status,
                                      mimetype="application/json")


def json_body(body: dict[str, Any]) -> bytes:
    """Already JSON-ready data as JSON (a date as ISO 8601). orjson, ~8x quicker than the
    standard library's on a batch's thousands of explanations; it writes the same values
    (floats shortest round-trip), and serving never answers a NaN (see serving.scoring)."""
    try:
        return orjson.dumps(body)
    except TypeError:  # text orjson cannot write (a lone surrogate, which JSON can carry)
        return json.dumps(body, default=_isoformat, separators=(",", ":"),
                          allow_nan=False).encode()


def _isoformat(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@blp.route("/receipts/<receipt_id>")
class Receipt(MethodView):
    @blp.response(200, ReceiptOut)
    def get(self, receipt_id: str) -> Any:
        return scoring.read_receipt(unit(), receipt_id)


@blp.route("/receipts/<receipt_id>/outcome", methods=["POST"])
@blp.arguments(OutcomeIn)
@blp.response(200, ReceiptOut)
def outcome(data: dict[str, Any], receipt_id: str) -> Any:
    return scoring.record_outcome(unit(), receipt_id, data["outcome"], data["overrode"],
                                  data["reason"])


@blp.route("/receipts/<receipt_id>/outcome/corrections", methods=["POST"])
@blp.arguments(CorrectionIn)
@blp.response(200, ReceiptOut)
def correct_outcome(data: dict[str, Any], receipt_id: str) -> Any:
    """Correct a wrong outcome report, saying why; every report stays in the history."""
    return scoring.correct_outcome(unit(), receipt_id, data["outcome"], data["overrode"],
                                   data["reason"], data["correction_reason"])
