"""Every error leaves as JSON `{"error": {"code", "message", "details"}}` with the right status."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from ..governance.errors import GovernanceError, TooManyRequests
from ..platform.db import DATABASE_AWAY, DATABASE_AWAY_MESSAGE, RETRY_AFTER_SECONDS
from .auth import wants_json

log = logging.getLogger("gatehouse.api")

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


def error_response(status: int, code: str, message: str, details: Any = None):  # type: ignore[no-untyped-def]
    response = jsonify({"error": {"code": code, "message": message, "details": details or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="gatehouse"'
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _details_from_webargs(exc: HTTPException) -> dict[str, Any]:
    """flask-smorest puts validation messages per location; flatten to field -> problems."""
    messages = (getattr(exc, "data", None) or {}).get("messages") or {}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
    """An HTTP error (a 404, a 405, webargs' 422 …) as the API's JSON error."""
    status = exc.code or 500
    details = _details_from_webargs(exc)
    if status == 422:
        names = ", ".join(sorted(details)) or "the request"
        return error_response(422, "invalid", f"invalid input: {names}", details)
    if status == 413:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return error_response(
            413,
            "too_large",
            f"the upload is larger than the limit of {limit} bytes",
            {"file": [f"at most {limit} bytes"]},
        )
    message = exc.description or exc.name
    return error_response(status, CODES.get(status, "error"), message, details)


def register(app: Flask) -> None:
    @app.errorhandler(GovernanceError)
    def _governance(exc: GovernanceError):  # type: ignore[no-untyped-def]
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        if isinstance(exc, TooManyRequests):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):  # type: ignore[no-untyped-def]
        return http_error(exc) if wants_json() else exc

    def _database_away(exc: Exception):  # type: ignore[no-untyped-def]
        log.warning("database unavailable on %s %s: %s", request.method, request.path,
                    type(exc).__name__)  # the message may quote the statement's parameters
        if not wants_json():
            raise exc
        return error_response(503, "unavailable", DATABASE_AWAY_MESSAGE,
                              {"database": ["unavailable"]})

    for away in DATABASE_AWAY:
        app.register_error_handler(away, _database_away)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error on %s %s", request.method, request.path)
        if not wants_json():
            raise exc
        return error_response(500, "internal", "an internal error occurred; it has been logged")
