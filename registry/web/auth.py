"""Signing in with email and password, signing out, and who is signed in.

The session cookie holds the user's id and a fingerprint of their password hash and session
generation: changing a password, deactivating the user or signing out (which bumps the generation
in the database) ends every session they had, so a copied cookie stops working.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, g, redirect, render_template, request, session, url_for

from ..governance.actors import Actor
from ..platform.ratelimit import limiter
from ..platform.services import db, now
from ..records import User
from ..usecases import people
from ..usecases.unit import Unit, for_request
from .forms import by_field

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
# Wrong sign-ins from one address, whichever accounts they try (guessing spread over many
# accounts escapes the per-account delays); see platform/ratelimit.py for where they are counted.
FAILED_SIGN_INS_PER_ADDRESS = "10 per minute; 100 per day"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["current_user"] = current_user


def _fingerprint(user: User) -> str:
    material = f"{user.password_hash or ''}:{user.session_generation}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def current_user() -> User | None:
    """The signed-in user, loaded once per request; None if nobody is (still) signed in."""
    if "web_user" not in g:
        user = None
        user_id = session.get("user_id")
        if isinstance(user_id, int):
            candidate = db().get(User, user_id)
            if (candidate is not None and candidate.active
                    and session.get("auth") == _fingerprint(candidate)):
                user = candidate
        g.web_user = user
    return g.web_user  # type: ignore[no-any-return]


def current_actor() -> Actor:
    user = current_user()
    assert user is not None, "login_required must guard this view"
    return people.signed_in(db(), user, request.args.get("organisation"))


def unit() -> Unit:
    """This request's unit of work, for the person signed in."""
    return for_request(current_actor())


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("auth.sign_in", next=_here()))
        current_actor()  # the request's session sees only what this person may from here on
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _here() -> str:
    return request.full_path.rstrip("?") if request.method == "GET" else request.path


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute URL or a scheme-relative one."""
    if not target:
        return url_for("pages.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return url_for("pages.dashboard")
    return target


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(FAILED_SIGN_INS_PER_ADDRESS, methods=["POST"],
               deduct_when=lambda response: response.status_code != 302,
               error_message="Too many wrong sign-ins from this address. Wait a minute, then "
                             "try again.")
def sign_in() -> Any:
    next_url = request.values.get("next", "")
    if request.method == "GET":
        if current_user() is not None:
            return redirect(_safe_next(next_url))
        return render_template("auth/sign_in.html", next_url=next_url, errors=[], email="",
                               field_errors={})
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    errors = []
    if not email:
        errors.append({"text": "Enter your email address", "href": "#email"})
    if not password:
        errors.append({"text": "Enter your password", "href": "#password"})
    status = 422
    user = None
    if not errors:
        tried = people.attempt_sign_in(db(), email, password, now())
        user, status = tried.user, 401
        if tried.locked:
            status = 429
            errors.append({"text": "This account is locked after too many wrong passwords. "
                                   "Ask an administrator to unlock it.", "href": "#email"})
        elif tried.wait is not None:
            status = 429
            seconds = max(1, round(tried.wait.total_seconds()))
            errors.append({"text": "Too many wrong passwords for this account. Wait "
                                   f"{seconds} second{'s' if seconds != 1 else ''}, then try "
                                   "again.", "href": "#password"})
        elif user is None:
            errors.append({"text": "Enter a correct email address and password",
                           "href": "#email"})
    if errors:
        return render_template("auth/sign_in.html", next_url=next_url, errors=errors,
                               email=email, field_errors=by_field(errors)), status
    assert user is not None
    session.clear()  # a fresh session (and CSRF token) for the signed-in user
    session.permanent = True
    session["user_id"], session["auth"] = user.id, _fingerprint(user)
    g.pop("web_user", None)
    return redirect(_safe_next(next_url))


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    user = current_user()
    if user is not None:
        people.sign_out(db(), user.id)
    session.clear()
    g.pop("web_user", None)
    return render_template("auth/signed_out.html")
