"""Organisations, users and API clients; bearer tokens, stored only as hashes."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..records import ApiClient, Organisation, User
from . import ledger, purposes
from .actors import Actor
from .errors import Conflict, Invalid, Unauthenticated
from .passwords import require_acceptable
from .permissions import require


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> tuple[str, str]:
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return token, hash_token(token)


def actor_for_user(user: User) -> Actor:
    return Actor("user", user.id, user.email, frozenset(user.roles))


USER_TOKEN, CLIENT_TOKEN = "ghu", "ghc"

# How new passwords are hashed, as werkzeug names a method ("scrypt", its default, costs about a
# quarter of a second; "pbkdf2:sha256:1" next to nothing, for tests). Checking a password reads
# the method and its parameters from the stored hash, so hashes made under any setting verify.
# The application sets it from its PASSWORD_HASH_METHOD configuration, when that is given.
DEFAULT_PASSWORD_METHOD = "scrypt"
password_method = DEFAULT_PASSWORD_METHOD


def use_password_method(method: str | None) -> None:
    """Hash new passwords with `method` (None: the default)."""
    global password_method
    password_method = method or DEFAULT_PASSWORD_METHOD


def hash_password(password: str) -> str:
    return generate_password_hash(password, password_method)

# Core statements built once: this runs on every API request, and building an ORM query costs
# more than the indexed lookup itself (the scoring hot path).
_USERS, _CLIENTS = User.__table__.c, ApiClient.__table__.c
_ACTIVE_USER = select(_USERS.id, _USERS.email, _USERS.roles).where(
    _USERS.token_hash == bindparam("h"), _USERS.active.is_(True))
_ACTIVE_CLIENT = select(_CLIENTS.id, _CLIENTS.name).where(
    _CLIENTS.token_hash == bindparam("h"), _CLIENTS.active.is_(True))


def authenticate(session: Session, token: str) -> Actor:
    """The actor a bearer token belongs to; the token itself is never stored or logged.

    The token's prefix says which table holds it, so one indexed lookup answers.
    """
    kind = token.partition("_")[0]
    if kind in (USER_TOKEN, CLIENT_TOKEN):
        digest = hash_token(token)
        if kind == USER_TOKEN:
            row = session.execute(_ACTIVE_USER, {"h": digest}).first()
            if row is not None:
                return Actor("user", row.id, row.email, frozenset(row.roles))
        else:
            row = session.execute(_ACTIVE_CLIENT, {"h": digest}).first()
            if row is not None:
                return Actor("client", row.id, row.name)
    raise Unauthenticated("the bearer token is not valid", {"Authorization": ["unknown token"]})


def check_password(session: Session, email: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.active or not user.password_hash:
        # Hash anyway, so the answer takes as long whether or not the account exists.
        check_password_hash(_unused_hash(password_method), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


@functools.cache
def _unused_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method)


def ensure_organisation(session: Session, actor: Actor, name: str, now: datetime) -> Organisation:
    org = session.scalars(select(Organisation).where(Organisation.name == name)).first()
    if org is None:
        org = create_organisation(session, actor, {"name": name, "kind": "council"}, now)
    return org


def create_organisation(
    session: Session, actor: Actor, data: dict[str, Any], now: datetime
) -> Organisation:
    require(actor, "administer")
    if session.scalars(select(Organisation).where(Organisation.name == data["name"])).first():
        raise Conflict("an organisation with this name exists", {"name": ["already used"]})
    org = Organisation(name=data["name"], kind=data.get("kind", "council"), created_at=now)
    session.add(org)
    session.flush()
    ledger.append(session, actor, "create", "organisation", org.id, data, now)
    return org


def create_user(
    session: Session,
    actor: Actor,
    data: dict[str, Any],
    now: datetime,
    password: str | None = None,
) -> tuple[User, str]:
    """A new user and their bearer token (returned once, kept only as a hash)."""
    require(actor, "administer")
    email = data["email"].strip().lower()
    if session.scalars(select(User).where(User.email == email)).first():
        raise Conflict("a user with this email exists", {"email": ["already used"]})
    _check_organisation(session, data.get("organisation_id"))
    if password is not None:
        require_acceptable(password, email)
    token, digest = new_token(USER_TOKEN)
    user = User(
        email=email,
        name=data.get("name", ""),
        organisation_id=data.get("organisation_id"),
        roles=sorted(set(data["roles"])),
        token_hash=digest,
        password_hash=hash_password(password) if password else None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    ledger.append(session, actor, "create", "user", user.id, {**data, "email": email}, now)
    return user, token


def set_password(session: Session, actor: Actor, user: User, password: str, now: datetime) -> None:
    require(actor, "administer")
    require_acceptable(password, user.email)
    user.password_hash = hash_password(password)
    ledger.append(session, actor, "set_password", "user", user.id, {}, now)


def create_client(
    session: Session, actor: Actor, data: dict[str, Any], now: datetime
) -> tuple[ApiClient, str]:
    """A new frontline client and its token; refused unless every model/purpose pair it would
    be allowed can be served (see :func:`.purposes.client_problems`)."""
    require(actor, "administer")
    if session.scalars(select(ApiClient).where(ApiClient.name == data["name"])).first():
        raise Conflict("an API client with this name exists", {"name": ["already used"]})
    _check_organisation(session, data.get("organisation_id"))
    problems = purposes.client_problems(session, data["models"], data["purposes"])
    if problems:
        raise Invalid("the client's models cannot be served for its purposes", problems)
    token, digest = new_token(CLIENT_TOKEN)
    client = ApiClient(
        name=data["name"],
        organisation_id=data.get("organisation_id"),
        models=list(data["models"]),
        purposes=list(data["purposes"]),
        token_hash=digest,
        created_at=now,
    )
    session.add(client)
    session.flush()
    ledger.append(session, actor, "create", "api_client", client.id, data, now)
    return client, token


def _check_organisation(session: Session, org_id: int | None) -> None:
    if org_id is not None and session.get(Organisation, org_id) is None:
        raise Invalid("unknown organisation", {"organisation_id": [f"no organisation {org_id}"]})
