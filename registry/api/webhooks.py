"""Webhooks: an organisation's officers and administrators (or a frontline tool, for its own
models) are told of events by a signed POST; each webhook's delivery log and a test ping."""

from __future__ import annotations

import json
from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..governance.events import KINDS_OF_EVENT
from ..records import Delivery
from ..usecases import webhooks
from ..usecases.inputs import Id, Text
from .auth import unit

blp = Blueprint(
    "webhooks", __name__, url_prefix="/api/v1",
    description="Webhooks: each event of the organisation a webhook lists is POSTed to its URL "
                "with the headers Gatehouse-Event and Gatehouse-Signature: t=<unix seconds>,"
                "v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>. Events: "
                + "; ".join(f"{k}: {v}" for k, v in KINDS_OF_EVENT.items()) + ".")


class WebhookIn(Schema):
    url = Text(required=True, metadata={"description": "http:// or https:// address to POST to"})
    events = fields.List(Text(validate=validate.OneOf(list(KINDS_OF_EVENT))), required=True,
                         validate=validate.Length(min=1), metadata={
        "description": f"the events to send, of: {', '.join(KINDS_OF_EVENT)}"})
    secret = Text(required=True, load_only=True, validate=validate.Length(max=10_000), metadata={
        "description": "16 to 256 characters the receiver keeps to verify each signature; "
                       "stored sealed, never shown again"})
    organisation_id = Id(allow_none=True, load_default=None, metadata={
        "description": "needed when you manage webhooks in several organisations"})


class WebhookOut(Schema):
    id = fields.Integer()
    organisation_id = fields.Integer(allow_none=True)
    url = Text()
    events = fields.List(Text())
    api_client_id = fields.Integer(allow_none=True, metadata={
        "description": "the frontline tool that made it: told only of its own models"})
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class Attempt(Schema):
    attempt = fields.Integer()
    at = Text()
    status = fields.Integer(allow_none=True, metadata={"description": "the receiver's answer"})
    error = Text(allow_none=True, metadata={"description": "null: delivered"})
    ms = fields.Integer()


class DeliveryOut(Schema):
    id = fields.Integer()
    kind = Text(metadata={"description": "the event's kind, or ping"})
    event_id = fields.Integer(allow_none=True)
    state = Text(metadata={"description": "pending | succeeded | failed (gave up) | cancelled"})
    attempts = fields.Integer()
    attempts_log = fields.List(fields.Nested(Attempt))
    next_attempt_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    payload = fields.Method("_payload", metadata={"description": "the body POSTed"})

    def _payload(self, delivery: Delivery) -> Any:
        return json.loads(delivery.body)


WEBHOOK = "/webhooks/<int:webhook_id>"


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookOut(many=True))
    def get(self) -> Any:
        """The webhooks you manage."""
        return webhooks.listed(unit())

    @blp.arguments(WebhookIn)
    @blp.response(201, WebhookOut)
    def post(self, data: dict[str, Any]) -> Any:
        """A new webhook (officers and administrators of the organisation; a frontline tool,
        for its own models)."""
        return webhooks.create(unit(), data)


@blp.route(WEBHOOK)
class OneWebhook(MethodView):
    @blp.response(200, WebhookOut)
    def get(self, webhook_id: int) -> Any:
        return webhooks.find(unit(), webhook_id)

    @blp.response(204)
    def delete(self, webhook_id: int) -> Any:
        """Nothing more is sent to it; its delivery log stays."""
        webhooks.delete(unit(), webhook_id)
        return None


@blp.route(f"{WEBHOOK}/deliveries")
@blp.response(200, DeliveryOut(many=True))
def deliveries(webhook_id: int) -> Any:
    """Its deliveries, the latest first, each with every attempt and the receiver's answer."""
    return webhooks.log(unit(), webhook_id)


@blp.route(f"{WEBHOOK}/ping", methods=["POST"])
@blp.response(202, DeliveryOut)
def ping(webhook_id: int) -> Any:
    """Send a test event (``ping``) now; the delivery as it stands once handed to the queue."""
    return webhooks.ping(unit(), webhook_id)
