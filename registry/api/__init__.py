"""The JSON API under /api/v1 and its OpenAPI document at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask_smorest import Api
from marshmallow import Schema, fields

from . import (
    agreements,
    datasets,
    discovery,
    dpias,
    errors,
    evidence,
    inference,
    ledger,
    models,
    monitoring,
    people,
    score_lane,
    scoring,
    watch,
    webhooks,
)
from .auth import authenticate, bounded_json


class ErrorBody(Schema):
    code = fields.String(metadata={"description": "e.g. invalid, forbidden, conflict, unavailable"})
    message = fields.String(metadata={"description": "what went wrong and what to do"})
    details = fields.Raw(metadata={"description": "field by field problems, or the unmet "
                                                  "requirements, or the reason chain"})


class Error(Schema):
    """Every error of /api/v1, as sent (the /v2 protocol's errors are flat: see its paths)."""

    error = fields.Nested(ErrorBody)


class ProtocolError(Schema):
    """Every error of /v2, flat as the Open Inference Protocol has it (see inference.py)."""

    error = fields.String(metadata={"description": "what went wrong and what to do"})
    code = fields.String(metadata={"description": "as in /api/v1's errors"})
    details = fields.Raw(metadata={"description": "field by field problems, or the reason"})


class ProtocolErrors(BasePlugin):
    """The error answers of every /v2 operation documented with the flat ProtocolError."""

    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **_: Any) -> None:
        if not (path or "").startswith(inference.blp.url_prefix or "/v2"):
            return
        for operation in (operations or {}).values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if str(status) == "default" or str(status)[0] in "45":
                    description = (response.get("description") if isinstance(response, dict)
                                   else None) or "an error, as the protocol has it"
                    responses[status] = {"description": description, "content": {
                        "application/json": {"schema": "ProtocolError"}}}


class GatehouseApi(Api):
    ERROR_SCHEMA = Error


def _schema_name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    partial = not isinstance(schema, type) and bool(schema.partial)
    return cls.__name__.removesuffix("Schema") + ("Patch" if partial else "")


def init_app(app: Flask) -> None:
    app.config.update(
        API_TITLE="Gatehouse",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
            "info": {
                "description": "Register, gate, approve and serve the predictive models a "
                'public body uses. Errors are {"error": {"code", "message", "details"}}.'
            },
        },
    )
    api = GatehouseApi(
        app,
        spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name),
                     "extra_plugins": [ProtocolErrors()]},
    )
    api.spec.components.schema("ProtocolError", schema=ProtocolError)
    for blueprint in (  # every blueprint of the API, in one place
        agreements.blueprint(),
        datasets.blueprint(),
        dpias.blueprint(),
        *models.blueprints(),
        discovery.blp,
        ledger.blp,
        people.blp,
        scoring.blp,
        monitoring.blp,
        evidence.blp,
        watch.blp,
        inference.blp,
        webhooks.blp,
    ):
        api.register_blueprint(blueprint)
    app.before_request(authenticate)
    app.before_request(bounded_json)
    errors.register(app)
    score_lane.install(app)
    app.extensions["gatehouse_api"] = api
