"""HTML pages for officers, DPOs and data scientists, and the public transparency register.

Thin views: they parse a form, call a use case (`usecases/`, which the API calls too and which
commits), and render a template from `templates/` built with the GOV.UK Design System's Jinja
macros.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from flask import Flask, request
from jinja2 import BytecodeCache, ChoiceLoader, PackageLoader, PrefixLoader
from jinja2.bccache import Bucket
from werkzeug.exceptions import HTTPException

from . import present

SESSION_HOURS = 8


class _MemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept for the life of the process, shared by every app it creates.

    The GOV.UK macros are large: compiling them costs more than rendering a page. Jinja checks
    each template's source checksum, so an edited template is compiled again."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


BYTECODE = _MemoryBytecodeCache()


def init_app(app: Flask) -> None:
    """Register the web blueprints, the GOV.UK templates, sessions and CSRF protection."""
    _configure_sessions(app)
    app.jinja_loader = ChoiceLoader([  # type: ignore[assignment]
        app.jinja_loader,  # templates/
        PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    ])
    app.jinja_env.bytecode_cache = BYTECODE
    present.register(app)

    # decisions, agreement_sides, agreement_stages, downloads, evidence_decisions and
    # watch_alerts add their routes to pages.bp, so they are imported before that is registered
    from . import (  # noqa: F401
        agreement_sides,
        agreement_stages,
        auth,
        decisions,
        downloads,
        dpia,
        evidence_decisions,
        ledger_public,
        pages,
        security,
        transparency,
        verify,
        watch_alerts,
        webhooks_page,
    )

    security.init_app(app)
    auth.init_app(app)
    for blueprint in (auth.bp, pages.bp, dpia.bp, transparency.bp, ledger_public.bp, verify.bp):
        security.protect(blueprint)
        app.register_blueprint(blueprint)


def _configure_sessions(app: Flask) -> None:
    """Signed session cookies: HttpOnly, SameSite=Lax, and Secure except in tests or debugging."""
    insecure = (app.config.get("TESTING") or app.config.get("DEBUG") or app.debug
                or os.environ.get("GATEHOUSE_INSECURE_COOKIES", "").lower() in ("1", "true", "yes"))
    app.config.update(
        SESSION_COOKIE_NAME="gatehouse_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not insecure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
    )
    # A form stays valid as long as the session it was shown in.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", SESSION_HOURS * 3600)


def not_found(_exc: HTTPException) -> Any:
    """The page for a URL no route matches (the app factory sends the API's its JSON error)."""
    from .security import render_error

    return render_error(404, request.path)
