"""Who watches: each person's inbox, and a version's watch alerts and their acknowledgement."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..usecases import watch
from .auth import unit

blp = Blueprint("watch", __name__, url_prefix="/api/v1",
                description="What waits for each person; alerts raised by the watch rules over "
                            "how models are used.")
VERSION = "/models/<name>/versions/<int:number>"


class InboxItemOut(Schema):
    kind = fields.String(metadata={"description": "dpo_advice | advice_response | decision | "
                                   "changes_requested | alert | monitor | overdue | due"})
    subject_kind = fields.String()
    subject_id = fields.String()
    title = fields.String()
    todo = fields.String(metadata={"description": "what to do, in the officer's words"})
    detail = fields.String(metadata={"description": "why it waits, e.g. whose approval is "
                                     "still missing"})
    link = fields.String(metadata={"description": "the web page where it is done"})
    when = fields.String(allow_none=True, metadata={"description": "waiting since, or due on"})
    ref = fields.String(allow_none=True, metadata={"description": "e.g. watch_alert:3"})


class InboxOut(Schema):
    items = fields.List(fields.Nested(InboxItemOut))
    total = fields.Integer()


class WatchAlertOut(Schema):
    id = fields.Integer()
    rule = fields.String(metadata={"description": "override_rate | volume | hours | "
                                   "repeated_inputs | unreported_outcomes"})
    action = fields.String(metadata={"description": "alert | suspend"})
    figures = fields.Dict()
    window_start = fields.DateTime()
    window_end = fields.DateTime()
    reason = fields.String()
    created_at = fields.DateTime()
    acknowledged_by_id = fields.Integer(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledgement = fields.String(allow_none=True)


class AcknowledgeIn(Schema):
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=10_000),
                              metadata={"description": "what was found and what was done"})


@blp.route("/inbox")
@blp.response(200, InboxOut)
def inbox() -> Any:
    items = [i.as_dict() for i in watch.my_inbox(unit())]
    return {"items": items, "total": len(items)}


@blp.route(f"{VERSION}/alerts")
@blp.response(200, WatchAlertOut(many=True))
def alerts(name: str, number: int) -> Any:
    return watch.alerts(unit(), name, number)


@blp.route(f"{VERSION}/alerts/<int:alert_id>/acknowledge", methods=["POST"])
@blp.arguments(AcknowledgeIn)
@blp.response(200, WatchAlertOut)
def acknowledge(data: dict[str, Any], name: str, number: int, alert_id: int) -> Any:
    return watch.acknowledge(unit(), name, number, alert_id, data["rationale"])
