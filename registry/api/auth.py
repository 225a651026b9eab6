"""Who is asking: the bearer token every /api/ and /v2/ request carries, checked before the view;
and whether a request is the API's (its errors are then JSON)."""

from __future__ import annotations

from flask import g, request

from ..governance.actors import Actor
from ..governance.errors import Invalid, Unauthenticated
from ..governance.inputs import DEEP, NUL, json_loads, refuse_nul
from ..platform.services import db
from ..usecases import people
from ..usecases.unit import Unit, for_request

# Reachable without a token; everything else under these prefixes needs one.
PUBLIC = ("/api/openapi.json", "/v2/health/live", "/v2/health/ready")
JSON_PREFIXES = ("/api/", "/v2/")


def wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.path in ("/transparency.json",)


def current_actor() -> Actor:
    return g.actor  # type: ignore[no-any-return]


def unit() -> Unit:
    """This request's unit of work, for the person or tool the token names."""
    return for_request(current_actor())


def authenticate() -> None:
    if not request.path.startswith(JSON_PREFIXES) or request.path in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(
            "this endpoint needs a bearer token", {"Authorization": ["expected 'Bearer <token>'"]}
        )
    g.actor = people.authenticate(db(), token.strip(), request.args.get("organisation"))


def bounded_json() -> None:
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
