"""The warm score's lane: ``POST /api/v1/models/<name>/score`` answered in front of Flask's
request machinery, when nothing about it needs that machinery.

A warm score's own work (the token's lookup, the explanation, the receipt's insert) costs about
as much as what Flask does around it for every request: a request context, the before- and
after-request hooks (rate limits, the session cookie, the JSON body parsed twice), URL matching,
the schema-documenting wrappers, teardown. This lane takes a request only when it is an API
client's score (one row or a batch) with a JSON body, no query string and no cookie (Flask may
refresh a session's), and only when every check is answered from the caches and passes
(:func:`..serving.scoring.clear_to_serve`): the client is allowed the model and the purpose,
the version is servable and loaded. It then runs the very
same use case (:func:`..usecases.scoring.score`), so the answer, the receipt, and the receipt's
durability before the answer leaves are the same as on the Flask route. A client token it has
answered before names the client of a one-row score without a lookup: the receipt's INSERT
checks the token and the ledger's head in the same statement (:mod:`..serving.tokens`), one
round trip in all. A batch's token is looked up.

Anything else goes to Flask untouched, with the body it sent: a user's token, a pinned
version that is not cached, a refusal, an invalid feature (``serving.scoring.score`` raises a
governance error only before it writes anything, so Flask answers it from scratch). An error
after the receipt may have been written (the database gone away) is answered by Flask's own
error handlers, in a request context made for it, as the route would have.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g

from ..governance.errors import GovernanceError
from ..governance.inputs import json_loads
from ..governance.people import (
    assume_ledger_head,
    hash_token,
    is_client_token,
    ledger_head_seen,
)
from ..platform.services import end_session
from ..serving import tokens
from ..serving.scoring import Refused, Stale, clear_to_serve
from ..usecases import people, scoring
from ..usecases.unit import of_app
from .scoring import json_body, refusals_limited, score_arguments

_PATH = re.compile(r"/api/v1/models/([^/]+)/score")

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ScoreLane:
    """WSGI middleware before ``app.wsgi_app`` (see the module doc)."""

    def __init__(self, app: Flask, wsgi_app: Wsgi) -> None:
        self.app, self.flask = app, wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        match = None
        if environ.get("REQUEST_METHOD") == "POST" and not environ.get("QUERY_STRING") and \
                not environ.get("HTTP_COOKIE"):  # a session cookie may be refreshed
            match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        token = _client_token(environ) if match else None
        body = _body(environ, self.app.config.get("MAX_CONTENT_LENGTH")) if token else None
        if body is None:
            return self.flask(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it afresh if it answers
        answer = self._score(environ, match[1], token, body)  # type: ignore[index,arg-type]
        if answer is None:
            return self.flask(environ, start_response)
        return answer(environ, start_response)

    def _score(self, environ: dict[str, Any], name: str, token: str, body: bytes
               ) -> Wsgi | None:
        """The lane's answer, or None for Flask to answer instead (nothing was written)."""
        try:
            data = score_arguments(json_loads(body, "json"))
        except GovernanceError:
            return None  # not an object, or not a valid one: Flask names the problem
        cases = [data["features"]] if "features" in data else data["instances"]
        services = self.app.extensions["gatehouse"]
        session = services.sessions()
        digest = hash_token(token)
        # a batch's token is looked up: the guard that stands in for the lookup is one row's
        seen = tokens.recall(digest) if len(cases) == 1 else None
        try:
            try:
                if seen is not None:  # named without a lookup: the INSERT checks the token
                    actor, head = seen
                    assume_ledger_head(session, head)
                else:
                    actor = people.authenticate(session, token)
                    head = ledger_head_seen(session) or ""
                number = data.get("version")
                unit = of_app(self.app, actor, session)
                if not clear_to_serve(session, actor, name, data["purpose"], number,
                                      unit.policy, unit.now):
                    return None
            except Exception:  # an unknown token, the database away: nothing written yet
                return None
            try:
                result = scoring.score(unit, name, data["purpose"], cases, number,
                                       guard=digest if seen is not None else None)
            except Stale:  # the token or the ledger moved: nothing written, ask afresh
                tokens.forget(digest)
                return None
            except Refused as refused:  # on the ledger already: answered as the route does
                return self._flask_error(refused, actor)
            except GovernanceError:
                return None  # raised before anything is written
            except Exception as exc:  # the receipt may be written: no retry
                return self._flask_error(exc, actor)
            try:
                payload = json_body(result)
            except Exception as exc:  # as on the route, after its receipt
                return self._flask_error(exc, actor)
            if seen is None:
                tokens.remember(digest, actor, head)
        finally:
            end_session(session)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
                   *_EVERY_RESPONSE]
        if environ.get("wsgi.url_scheme") == "https":
            headers.append(_HSTS)

        def answer(_environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
            start_response("200 OK", headers)
            return [payload]

        return answer

    def _flask_error(self, exc: Exception, actor: Any) -> Wsgi:
        """Flask's answer to ``exc`` raised by the route's view: its error handlers and its
        after-request hooks, in a request context of its own."""
        app = self.app

        def answer(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            with app.request_context(environ):
                g.actor = actor
                try:
                    try:
                        with refusals_limited():
                            raise exc
                    except Exception as raised:  # as Flask's dispatch does
                        rv = app.handle_user_exception(raised)
                    response = app.finalize_request(rv)
                except Exception as unhandled:
                    response = app.handle_exception(unhandled)
                return response(environ, start_response)  # type: ignore[no-any-return]

        return answer


# What web.security's after-request hook adds to an API answer to a bearer token over http
# (tests/test_score_lane.py holds the two to the same headers).
_EVERY_RESPONSE = (("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"))
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def _client_token(environ: dict[str, Any]) -> str | None:
    scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not is_client_token(token):
        return None
    return token


def _body(environ: dict[str, Any], limit: int | None) -> bytes | None:
    """The JSON body, when its length is given and within the limit; else None."""
    mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if mimetype != "application/json" or environ.get("HTTP_TRANSFER_ENCODING"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if length <= 0 or (limit is not None and length > limit):
        return None
    body = environ["wsgi.input"].read(length)
    if len(body) != length:  # the client went away mid-body: Flask says so
        environ["wsgi.input"] = io.BytesIO(body)
        return None
    return body  # type: ignore[no-any-return]


def install(app: Flask) -> None:
    app.wsgi_app = ScoreLane(app, app.wsgi_app)  # type: ignore[method-assign]

