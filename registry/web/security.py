"""CSRF protection on every form, safe response headers, and the HTML error pages.

CSRF uses Flask-WTF's signed, session-bound tokens, checked on every unsafe request to a web
blueprint (the JSON API authenticates with bearer tokens and is not touched). A refusal of any
kind renders a GOV.UK-styled page with the right status; a refusal from the governance layer
keeps its message, which says what to do next.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Flask, Response, g, render_template, request, session
from flask_wtf.csrf import CSRFError, generate_csrf, validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms.validators import ValidationError

from ..governance.errors import GovernanceError
from ..governance.inputs import refuse_long, refuse_nul
from ..platform.db import DATABASE_AWAY, DATABASE_AWAY_MESSAGE, RETRY_AFTER_SECONDS

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"

TITLES = {
    400: "Sorry, there is a problem with the request",
    401: "You need to sign in",
    403: "You cannot do this",
    404: "Page not found",
    405: "Sorry, there is a problem with the request",
    409: "This cannot be done in the record's current state",
    413: "The file is too large",
    422: "Sorry, there is a problem with what was sent",
    429: "Too many attempts",
    500: "Sorry, there is a problem with the service",
}


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = generate_csrf
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.after_request(_every_response)


def _every_response(response: Response) -> Response:
    """Headers every answer carries, the JSON API's and the static files' included."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if request.is_secure:  # over plain http the header is ignored, and local use needs http
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=31536000; includeSubDomains")
    # Anything shown to someone signed in (a page, a receipt, a gate) may hold personal data or
    # what only they may see: no browser or proxy cache keeps it.
    if request.headers.get("Authorization") or "user_id" in session:
        response.headers["Cache-Control"] = "no-store"
    return response


def csp_nonce() -> str:
    """A fresh nonce per response for the one inline script the GOV.UK template needs."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return str(g.csp_nonce)


def protect(bp: Blueprint) -> None:
    """Check CSRF on unsafe requests, add safe headers, render errors as HTML, on `bp`.

    Blueprints are module-level and outlive one app (tests build many): set them up once."""
    if getattr(bp, "_gatehouse_protected", False):
        return
    bp._gatehouse_protected = True  # type: ignore[attr-defined]
    bp.before_request(_bounded_form)
    bp.before_request(_check_csrf)
    bp.after_request(_headers)
    bp.register_error_handler(CSRFError, _csrf_error)
    bp.register_error_handler(GovernanceError, _governance_error)
    for away in DATABASE_AWAY:
        bp.register_error_handler(away, _database_away)
    bp.register_error_handler(HTTPException, _http_error)


def _bounded_form() -> None:
    """No NUL character in a query or form value (422), nor a form value beyond reason (413)."""
    refuse_nul([*request.args.items(multi=True), *request.form.items(multi=True)])
    refuse_long(request.form.items(multi=True))


def _check_csrf() -> None:
    if request.method in UNSAFE:
        token = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
        try:
            validate_csrf(token)
        except ValidationError as exc:  # missing, wrong, from another session or expired
            raise CSRFError(exc.args[0] if exc.args else "CSRF check failed") from exc


def _headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        nonce = f" 'nonce-{g.csp_nonce}'" if "csp_nonce" in g else ""
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; "
            f"script-src 'self'{nonce}; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'",
        )
    return response


def render_error(status: int, detail: str = "", headline: str | None = None) -> Any:
    body = render_template("errors/error.html", status=status,
                           title=headline or TITLES.get(status, "Sorry, there is a problem"),
                           detail=detail)
    return _headers(Response(body, status=status, mimetype="text/html"))


def _csrf_error(exc: CSRFError) -> Any:
    return render_error(400, "The form was sent without a valid security token, so nothing was "
                        "changed. This happens when a form is left open for a long time or sent "
                        "from another site. Go back, reload the page and try again.",
                        "The form could not be accepted")


def _governance_error(exc: GovernanceError) -> Any:
    return render_error(exc.status, exc.message)


def _database_away(exc: Exception) -> Any:
    response = render_error(503, DATABASE_AWAY_MESSAGE, "The service is briefly unavailable")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _http_error(exc: HTTPException) -> Any:
    status = exc.code or 500
    if 300 <= status < 400:  # a RequestRedirect (e.g. a missing trailing slash) is not an error
        return exc
    detail = exc.description if status not in (404, 500) else ""
    return render_error(status, detail or "")
