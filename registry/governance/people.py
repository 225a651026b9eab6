"""Organisations, users and API clients; bearer tokens, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..records import ApiClient, Organisation, User
from . import ledger
from .actors import Actor
from .errors import Conflict, Invalid, Unauthenticated
from .permissions import require


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> tuple[str, str]:
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return token, hash_token(token)


def actor_for_user(user: User) -> Actor:
    return Actor("user", user.id, user.email, frozenset(user.roles))


def authenticate(session: Session, token: str) -> Actor:
    """The actor a bearer token belongs to; the token itself is never stored or logged."""
    digest = hash_token(token)
    user = session.scalars(select(User).where(User.token_hash == digest)).first()
    if user is not None and user.active:
        return actor_for_user(user)
    client = session.scalars(select(ApiClient).where(ApiClient.token_hash == digest)).first()
    if client is not None and client.active:
        return Actor("client", client.id, client.name)
    raise Unauthenticated("the bearer token is not valid", {"Authorization": ["unknown token"]})


def check_password(session: Session, email: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.active or not user.password_hash:
        return None
    return user if check_password_hash(user.password_hash, password) else None


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
    token, digest = new_token("ghu")
    user = User(
        email=email,
        name=data.get("name", ""),
        organisation_id=data.get("organisation_id"),
        roles=sorted(set(data["roles"])),
        token_hash=digest,
        password_hash=generate_password_hash(password) if password else None,
        created_at=now,
    )
    session.add(user)
    session.flush()
    ledger.append(session, actor, "create", "user", user.id, {**data, "email": email}, now)
    return user, token


def set_password(session: Session, actor: Actor, user: User, password: str, now: datetime) -> None:
    require(actor, "administer")
    if len(password) < 12:
        raise Invalid("the password is too short", {"password": ["use at least 12 characters"]})
    user.password_hash = generate_password_hash(password)
    ledger.append(session, actor, "set_password", "user", user.id, {}, now)


def create_client(
    session: Session, actor: Actor, data: dict[str, Any], now: datetime
) -> tuple[ApiClient, str]:
    require(actor, "administer")
    if session.scalars(select(ApiClient).where(ApiClient.name == data["name"])).first():
        raise Conflict("an API client with this name exists", {"name": ["already used"]})
    _check_organisation(session, data.get("organisation_id"))
    token, digest = new_token("ghc")
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
