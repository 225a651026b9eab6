"""The JSON API under /api/v1 and its OpenAPI document at /api/openapi.json."""

from __future__ import annotations

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, g, request
from flask_smorest import Api
from marshmallow import Schema, fields

from ..governance.actors import Actor
from ..governance.errors import Invalid, Unauthenticated
from ..governance.inputs import DEEP, NUL, json_loads, refuse_nul
from ..governance.people import authenticate
from ..platform.db import read_first
from ..platform.services import db
from . import errors

# Reachable without a token; everything else under these prefixes needs one.
PUBLIC = ("/api/openapi.json", "/v2/health/live", "/v2/health/ready")
JSON_PREFIXES = ("/api/", "/v2/")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.path in ("/transparency.json",)


def current_actor() -> Actor:
    return g.actor


def _authenticate() -> None:
    if not request.path.startswith(JSON_PREFIXES) or request.path in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "this endpoint needs a bearer token", {"Authorization": ["expected 'Bearer <token>'"]}
        )
    session = db()
    reading = read_first(session)
    g.actor = authenticate(session, token.strip())
    if reading:
        session.rollback()  # the view's own transaction takes whatever lock it needs


def _bounded_json() -> None:
    """Refuse, as 422 naming the body, JSON nested so deeply that parsing it would exhaust the
    interpreter's recursion limit, or holding a NUL character (a 500 otherwise, from whichever
    parser or database meets it first)."""
    if not request.path.startswith(JSON_PREFIXES):
        return
    refuse_nul([*request.args.items(multi=True), *request.form.items(multi=True)])
    if request.is_json:
        try:
            json_loads(request.get_data(cache=True), "json")
        except Invalid as exc:
            if exc.details.get("json") in ([DEEP], [NUL]):
                raise
            # Malformed JSON is left to the view's own parser, which names what it expected.


class ErrorBody(Schema):
    code = fields.String(metadata={"description": "e.g. invalid, forbidden, conflict, unavailable"})
    message = fields.String(metadata={"description": "what went wrong and what to do"})
    details = fields.Raw(metadata={"description": "field by field problems, or the unmet "
                                                  "requirements, or the reason chain"})


class Error(Schema):
    """Every error of /api/v1, as sent (the /v2 protocol's errors are flat: see its paths)."""

    error = fields.Nested(ErrorBody)


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
        spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=_schema_name)},
    )
    from . import evidence, governed, inference, ledger, monitoring, people, scoring

    for blueprint in (
        *governed.blueprints(),
        ledger.blp,
        people.blp,
        scoring.blp,
        monitoring.blp,
        evidence.blp,
        inference.blp,
    ):
        api.register_blueprint(blueprint)
    app.before_request(_authenticate)
    app.before_request(_bounded_json)
    errors.register(app, wants_json)
    app.extensions["gatehouse_api"] = api
