"""Who may use Gatehouse: bearer tokens and web sign-ins, organisations, users and API clients."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ..governance import people, scope, sign_in
from ..governance.actors import Actor
from ..governance.errors import NotFound
from ..governance.permissions import require
from ..platform.db import read_first
from ..records import ApiClient, Organisation, User
from .unit import Unit


def authenticate(session: Session, token: str, organisation: str | None = None) -> Actor:
    """The actor a bearer token belongs to; the session sees only what it may from now on, and
    resolves names in URLs within `organisation` (a slug) when one is named. The lookup's read
    transaction is ended at once, so the request's own work takes whatever lock it needs."""
    reading = not people.is_client_token(token) and read_first(session)
    actor = people.authenticate(session, token)
    if reading:
        session.rollback()
    _enter(session, actor, organisation)
    return actor


def signed_in(session: Session, user: User, organisation: str | None = None) -> Actor:
    """The actor a web sign-in is; the session sees only what it may from now on."""
    actor = people.actor_for_user(user)
    _enter(session, actor, organisation)
    return actor


def _enter(session: Session, actor: Actor, organisation: str | None) -> None:
    scope.enter(session, actor)
    # `?organisation=` is a slug here; a number is a listing's filter by id (api ListFilters)
    if organisation and not organisation.isdigit():
        scope.name_in(session, actor, organisation)


def attempt_sign_in(session: Session, email: str, password: str,
                    now: datetime) -> sign_in.Attempt:
    """A web sign-in; the count of wrong passwords is kept whatever the answer."""
    tried = sign_in.attempt(session, email, password, now)
    session.commit()
    return tried


def sign_out(session: Session, user_id: int) -> None:
    """End the user's web sessions server-side, so a copied cookie stops working."""
    user = session.get(User, user_id)
    if user is not None:
        sign_in.sign_out(user)
        session.commit()


def create_organisation(unit: Unit, data: dict[str, Any]) -> Organisation:
    with unit:
        return people.create_organisation(unit.session, unit.actor, data, unit.now)


def create_user(unit: Unit, data: dict[str, Any],
                password: str | None = None) -> tuple[User, str]:
    """A user and their bearer token (shown once, stored only as a hash)."""
    with unit:
        return people.create_user(unit.session, unit.actor, data, unit.now, password=password)


def create_client(unit: Unit, data: dict[str, Any]) -> tuple[ApiClient, str]:
    """A frontline tool's client and its bearer token, refused for what it could not be served."""
    with unit:
        return people.create_client(unit.session, unit.actor, data, unit.now)


def add_membership(unit: Unit, user: User, organisation_id: int | None,
                   roles: list[str]) -> User:
    """Roles for an existing user in another organisation (or new roles in one)."""
    with unit:
        people.add_membership(unit.session, unit.actor, user, organisation_id, roles, unit.now)
        return user


def find_user(unit: Unit, user_id: int) -> User:
    require(unit.actor, "administer")
    user = unit.session.get(User, user_id)
    # an administrator of one of the user's organisations (reading it is not enough)
    if user is not None and not any("admin" in unit.actor.roles_in(m.organisation_id)
                                    for m in user.memberships):
        user = None
    if user is None:
        raise NotFound(f"no user {user_id}", {"user_id": [str(user_id)]})
    return user


def unlock(unit: Unit, user: User) -> User:
    """Lift a lockout after too many wrong passwords."""
    with unit:
        sign_in.unlock(unit.session, unit.actor, user, unit.now)
        return user
