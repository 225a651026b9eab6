"""Organisations, users and API clients; bearer tokens, stored only as hashes."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..platform.db import execute_alone
from ..records import ApiClient, LedgerHead, Membership, Organisation, User
from ..records.people import slug_of
from . import ledger, purposes
from .actors import Actor
from .errors import Conflict, Forbidden, Invalid, NotFound, Unauthenticated
from .passwords import require_acceptable
from .permissions import require


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> tuple[str, str]:
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return token, hash_token(token)


def actor_for_user(user: User) -> Actor:
    return Actor("user", user.id, user.email, frozenset(user.roles),
                 tuple((m.organisation_id, frozenset(m.roles)) for m in user.memberships))


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
_MEMBERS = Membership.__table__.c
_ACTIVE_USER = select(_USERS.id, _USERS.email).where(
    _USERS.token_hash == bindparam("h"), _USERS.active.is_(True))
_MEMBERSHIPS = select(_MEMBERS.organisation_id, _MEMBERS.roles).where(
    _MEMBERS.user_id == bindparam("u")).order_by(_MEMBERS.id)
# A client's lookup brings the ledger's head along (a scalar subquery): a score request then
# needs no round trip of its own for it (see `ledger_head_read`).
_HEAD = LedgerHead.__table__.c
_ACTIVE_CLIENT = select(
    _CLIENTS.id, _CLIENTS.name, _CLIENTS.organisation_id,
    select(_HEAD.entry_hash).where(_HEAD.id == 1).scalar_subquery().label("ledger_head"),
).where(_CLIENTS.token_hash == bindparam("h"), _CLIENTS.active.is_(True))
_LEDGER_HEAD_READ = "gatehouse_ledger_head_read"


# What a warm score's receipt INSERT checks in the same statement when its client was named from
# a token seen before (no lookup of its own): the token is still the client's, active and in the
# same organisation, and the ledger's head is the one the score's checks were answered at. Binds:
# guard_client, guard_org, guard_token (the token's hash), guard_head ("" for an empty ledger).
STILL_CURRENT: ColumnElement[bool] = and_(
    exists().where(_CLIENTS.id == bindparam("guard_client"),
                   _CLIENTS.organisation_id == bindparam("guard_org"),
                   _CLIENTS.token_hash == bindparam("guard_token"), _CLIENTS.active.is_(True)),
    func.coalesce(select(_HEAD.entry_hash).where(_HEAD.id == 1).scalar_subquery(), "")
    == bindparam("guard_head"))


class _ClientRow(NamedTuple):  # _ACTIVE_CLIENT's columns
    id: int
    name: str
    organisation_id: int | None
    ledger_head: str | None


def is_client_token(token: str) -> bool:
    """Whether the token is an API client's (whose lookup needs no session: see
    :func:`authenticate`)."""
    return token.partition("_")[0] == CLIENT_TOKEN


def ledger_head_seen(session: Session) -> str | None:
    """The ledger's head as the client's token lookup read it, left for
    :func:`ledger_head_read`."""
    return session.info.get(_LEDGER_HEAD_READ)  # type: ignore[no-any-return]


def assume_ledger_head(session: Session, head: str) -> None:
    """Take ``head`` as what a token lookup read (a client named from a token seen before): the
    receipt's INSERT then checks it is still the head (:data:`STILL_CURRENT`)."""
    session.info[_LEDGER_HEAD_READ] = head


def ledger_head_read(session: Session) -> str | None:
    """The ledger's head as the client's token lookup read it in this session, once (later
    calls: None, so a second use reads it afresh)."""
    return session.info.pop(_LEDGER_HEAD_READ, None)  # type: ignore[no-any-return]


def authenticate(session: Session, token: str) -> Actor:
    """The actor a bearer token belongs to; the token itself is never stored or logged.

    The token's prefix says which table holds it, so one indexed lookup answers. A client's,
    when the session is in no transaction, runs by itself straight on the driver (a snapshot of
    its own, no lock held): every score request makes it.
    """
    kind = token.partition("_")[0]
    if kind in (USER_TOKEN, CLIENT_TOKEN):
        digest = hash_token(token)
        if kind == USER_TOKEN:
            row = session.execute(_ACTIVE_USER, {"h": digest}).first()
            if row is not None:
                held = tuple((m.organisation_id, frozenset(m.roles))
                             for m in session.execute(_MEMBERSHIPS, {"u": row.id}))
                return Actor("user", row.id, row.email,
                             frozenset().union(*(r for _, r in held)), held)
        elif session.in_transaction():
            row = session.execute(_ACTIVE_CLIENT, {"h": digest}).first()
        else:
            found = execute_alone(session.get_bind(), _ACTIVE_CLIENT, {"h": digest})
            row = _ClientRow(*found[0]) if found else None
        if kind == CLIENT_TOKEN:
            if row is not None and row.organisation_id is None:  # made before organisations
                raise Forbidden(
                    f"API client {row.name!r} belongs to no organisation, so it may score no "
                    "organisation's models: an administrator must create it again in one "
                    "(gatehouse clients create NAME --organisation SLUG)",
                    {"organisation": ["the client belongs to no organisation"]})
            if row is not None:
                session.info[_LEDGER_HEAD_READ] = row.ledger_head or ""
                return Actor("client", row.id, row.name, organisation_id=row.organisation_id)
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


def find_organisation(session: Session, slug: str) -> Organisation:
    org = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    if org is None:
        raise NotFound(f"no organisation {slug!r}", {"organisation": [slug]})
    return org


def ensure_organisation(session: Session, actor: Actor, name: str, now: datetime) -> Organisation:
    org = session.scalars(select(Organisation).where(Organisation.name == name)).first()
    if org is None:
        org = create_organisation(session, actor, {"name": name, "kind": "council"}, now)
    return org


def create_organisation(
    session: Session, actor: Actor, data: dict[str, Any], now: datetime
) -> Organisation:
    """A new organisation: only a deployment-wide administrator creates one."""
    if "admin" not in actor.deployment_roles:
        raise Forbidden(f"{actor.name} may not create organisations: only a deployment-wide "
                        "administrator may", {"action": "create_organisation"})
    slug = data.get("slug") or slug_of(data["name"])
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{1,79}", slug):
        raise Invalid("the slug is not valid",
                      {"slug": ["use 2-80 lower-case letters, digits, - or _"]})
    for field, column, value in (("name", Organisation.name, data["name"]),
                                 ("slug", Organisation.slug, slug)):
        if session.scalars(select(Organisation).where(column == value)).first():
            raise Conflict(f"an organisation with this {field} exists", {field: ["already used"]})
    org = Organisation(slug=slug, name=data["name"], kind=data.get("kind", "council"),
                       created_at=now)
    session.add(org)
    session.flush()
    ledger.append(session, actor, "create", "organisation", org.id, {**data, "slug": slug}, now,
                  organisation_id=org.id)
    return org


def organisation_for(session: Session, actor: Actor, org_id: int | None,
                     roles: frozenset[str], slug: str | None = None) -> int | None:
    """The organisation an action of the actor's is for: the one named (by id, or by its slug
    in `organisation`), where the actor holds one of `roles`; else the only such organisation.
    A deployment-wide actor may act in any, and names none where there is only one (or none
    yet)."""
    if slug is not None:
        org = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
        if org is None or not actor.roles_in(org.id) & roles:
            raise Invalid(f"{actor.name} holds no role in an organisation {slug[:80]!r} that "
                          "allows this", {"organisation": [
                              f"not one of your organisations for this: {slug[:80]!r}"]})
        if org_id not in (None, org.id):
            raise Invalid("organisation and organisation_id name different organisations",
                          {"organisation": [f"{slug!r} is not organisation {org_id}"]})
        return org.id
    if org_id is not None:
        if session.get(Organisation, org_id) is None or not actor.roles_in(org_id) & roles:
            raise Invalid("unknown organisation",
                          {"organisation_id": [f"no organisation {org_id}"]})
        return org_id
    if actor.deployment_roles & roles:
        every = session.scalars(select(Organisation.id).limit(2)).all()
        if len(every) <= 1:
            return every[0] if every else None
    else:
        mine = actor.organisations(roles)
        if len(mine) == 1:
            return next(iter(mine))
    raise Invalid("name the organisation: you act for several", {
        "organisation": ["needed: the slug of one of your organisations (or organisation_id)"]})


def create_user(
    session: Session,
    actor: Actor,
    data: dict[str, Any],
    now: datetime,
    password: str | None = None,
) -> tuple[User, str]:
    """A new user with roles in one organisation, and their bearer token (returned once, kept
    only as a hash). An administrator of that organisation (or of the deployment) creates it."""
    require(actor, "administer")
    org_id = organisation_for(session, actor, data.get("organisation_id"), frozenset({"admin"}),
                              data.get("organisation"))
    email = data["email"].strip().lower()
    if session.scalars(select(User).where(User.email == email)
                       .execution_options(gatehouse_unscoped=True)).first():
        raise Conflict("a user with this email exists", {"email": ["already used"]})
    if password is not None:
        require_acceptable(password, email)
    token, digest = new_token(USER_TOKEN)
    user = User(
        email=email,
        name=data.get("name", ""),
        token_hash=digest,
        password_hash=hash_password(password) if password else None,
        created_at=now,
        memberships=[Membership(organisation_id=org_id, roles=sorted(set(data["roles"])),
                                created_at=now)],
    )
    session.add(user)
    session.flush()
    ledger.append(session, actor, "create", "user", user.id,
                  {**data, "email": email, "organisation_id": org_id}, now,
                  organisation_id=org_id)
    return user, token


def add_membership(session: Session, actor: Actor, user: User, org_id: int | None,
                   roles: list[str], now: datetime) -> Membership:
    """Give an existing user roles in an organisation (the roles there replaced, if held)."""
    require(actor, "administer")
    org_id = organisation_for(session, actor, org_id, frozenset({"admin"}))
    membership = next((m for m in user.memberships if m.organisation_id == org_id), None)
    if membership is None:
        membership = Membership(organisation_id=org_id, roles=[], created_at=now)
        user.memberships.append(membership)
    membership.roles = sorted(set(roles))
    session.flush()
    ledger.append(session, actor, "membership", "user", user.id,
                  {"organisation_id": org_id, "roles": membership.roles}, now,
                  organisation_id=org_id)
    return membership


def set_password(session: Session, actor: Actor, user: User, password: str, now: datetime) -> None:
    require(actor, "administer")
    require_acceptable(password, user.email)
    user.password_hash = hash_password(password)
    ledger.append(session, actor, "set_password", "user", user.id, {}, now,
                  organisation_id=user.organisation_id)


def create_client(
    session: Session, actor: Actor, data: dict[str, Any], now: datetime
) -> tuple[ApiClient, str]:
    """A new frontline client of one organisation and its token; refused unless every
    model/purpose pair it would be allowed is that organisation's and can be served (see
    :func:`.purposes.client_problems`)."""
    require(actor, "administer")
    org_id = organisation_for(session, actor, data.get("organisation_id"), frozenset({"admin"}),
                              data.get("organisation"))
    if session.scalars(select(ApiClient).where(ApiClient.name == data["name"])
                       .execution_options(gatehouse_unscoped=True)).first():
        raise Conflict("an API client with this name exists", {"name": ["already used"]})
    problems = purposes.client_problems(session, data["models"], data["purposes"], org_id)
    if problems:
        raise Invalid("the client's models cannot be served for its purposes", problems)
    token, digest = new_token(CLIENT_TOKEN)
    client = ApiClient(
        name=data["name"],
        organisation_id=org_id,
        models=list(data["models"]),
        purposes=list(data["purposes"]),
        token_hash=digest,
        created_at=now,
    )
    session.add(client)
    session.flush()
    ledger.append(session, actor, "create", "api_client", client.id,
                  {**data, "organisation_id": org_id}, now, organisation_id=org_id)
    return client, token
