"""Webhooks: the URLs an organisation's officers and administrators, or a frontline tool for
its own models, ask to be told of events at, and how each POST is signed.

The secret is sealed at rest (`records.types.Sealed`) and never shown, logged or put on the
ledger again; the ledger records that a webhook was made or removed, naming its host only (a
URL's path or query may itself hold a token).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..platform.outbound import private_address
from ..records import Delivery, Webhook
from . import ledger
from .actors import Actor
from .errors import Forbidden, Invalid, NotFound
from .events import KINDS_OF_EVENT
from .people import organisation_for
from .permissions import RULES, require

MANAGERS = frozenset({"governance_officer", "admin"})
MAX_URL = 2000
SECRET_LENGTH = (16, 256)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Gatehouse-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of
    "<t>.<raw body>" under the secret>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def create(session: Session, actor: Actor, data: dict[str, Any], now: datetime,
           allow_private: bool = False) -> Webhook:
    """A webhook of the actor's organisation (a tool's: told only of its own models); its host
    on the public internet unless the deployment allows private addresses."""
    require(actor, "webhooks")
    problems: dict[str, list[str]] = {}
    url = _checked(problems, "url", check_url, data.get("url"))
    if url is not None and not allow_private:
        _checked(problems, "url", check_public, url)
    kinds = _checked(problems, "events", check_events, data.get("events"))
    secret = _checked(problems, "secret", check_secret, data.get("secret"))
    if problems:
        raise Invalid("the webhook cannot be made: " + "; ".join(
            f"{field} {p[0]}" for field, p in problems.items()), problems)
    if actor.kind == "client":
        org_id, client_id = actor.organisation_id, actor.id
    else:
        org_id = organisation_for(session, actor, data.get("organisation_id"), MANAGERS)
        client_id = None
        if not (actor.roles_in(org_id) & MANAGERS):
            raise _forbidden(actor)
    webhook = Webhook(organisation_id=org_id, url=url, events=kinds, secret=secret,
                      api_client_id=client_id, created_by_id=actor.user_id, created_at=now)
    session.add(webhook)
    session.flush()
    ledger.append(session, actor, "webhook_created", "webhook", webhook.id,
                  {"host": urlsplit(url).hostname, "events": kinds}, now, org_id)
    return webhook


def delete(session: Session, actor: Actor, webhook: Webhook, now: datetime) -> None:
    """Remove it: nothing more is sent to it (what is waiting is cancelled); its log stays."""
    webhook.deleted_at = now
    for waiting in session.scalars(select(Delivery).where(Delivery.webhook_id == webhook.id,
                                                          Delivery.state == "pending")):
        waiting.state, waiting.next_attempt_at = "cancelled", None
    ledger.append(session, actor, "webhook_deleted", "webhook", webhook.id,
                  {"host": urlsplit(webhook.url).hostname}, now, webhook.organisation_id)


def visible(session: Session, actor: Actor) -> list[Webhook]:
    """The webhooks the actor manages: a tool's own; an officer's or administrator's, those of
    the organisations where they hold that role."""
    require(actor, "webhooks")
    query = select(Webhook).where(Webhook.deleted_at.is_(None)).order_by(Webhook.id)
    if actor.kind == "client":
        query = query.where(Webhook.api_client_id == actor.id)
    elif not actor.deployment_roles & MANAGERS:
        query = query.where(Webhook.organisation_id.in_(actor.organisations(MANAGERS)))
    return list(session.scalars(query))


def find(session: Session, actor: Actor, webhook_id: int) -> Webhook:
    """One webhook the actor manages; any other answers as if it did not exist."""
    found = next((w for w in visible(session, actor) if w.id == webhook_id), None)
    if found is None:
        raise NotFound(f"no webhook {webhook_id}", {"webhook_id": [str(webhook_id)]})
    return found


def log(session: Session, webhook: Webhook, limit: int = 100) -> list[Delivery]:
    """Its deliveries, the latest first, each with every attempt."""
    return list(session.scalars(select(Delivery).where(Delivery.webhook_id == webhook.id)
                                .order_by(Delivery.id.desc()).limit(limit)))


# -- checks, each naming the problem -----------------------------------------------------------


def check_url(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("is needed: the http:// or https:// address to POST events to")
    url = value.strip()
    if len(url) > MAX_URL:
        raise ValueError(f"is too long ({len(url)} characters; at most {MAX_URL})")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"must be an http:// or https:// URL, not {parts.scheme or 'none'}:")
    if not parts.hostname:
        raise ValueError("must name a host, e.g. https://tools.example.gov.uk/gatehouse")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not hold a user name or password (the secret signs each POST)")
    return url


def check_public(url: str) -> str:
    host = urlsplit(url).hostname or ""
    private = private_address(host)
    if private is not None:
        raise ValueError(
            f"points at a private or loopback address ({host}: {private}); webhooks go to "
            "tools on the public internet unless the deployment allows private addresses "
            "(GATEHOUSE_WEBHOOK_PRIVATE=1, set by its administrator)")
    return url


def check_events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise ValueError(f"must list one or more of: {', '.join(KINDS_OF_EVENT)}")
    unknown = [v for v in value if not isinstance(v, str) or v not in KINDS_OF_EVENT]
    if unknown:
        raise ValueError(f"unknown event {str(unknown[0])[:80]!r}; known: "
                         f"{', '.join(KINDS_OF_EVENT)}")
    return sorted(set(value))


def check_secret(value: Any) -> str:
    low, high = SECRET_LENGTH
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise ValueError(f"must be a string of {low} to {high} characters (random, kept by the "
                         "receiver to verify each POST's signature)")
    return value


def _checked(problems: dict[str, list[str]], field: str, check: Any, value: Any) -> Any:
    try:
        return check(value)
    except ValueError as exc:
        problems[field] = [str(exc)]
        return None


def _forbidden(actor: Actor) -> Forbidden:
    return Forbidden(f"{actor.name} may not manage webhooks of this organisation: it needs one of "
                     f"the roles {', '.join(sorted(MANAGERS))} there",
                     {"action": "webhooks", "roles_needed": sorted(RULES["webhooks"] - {"client"})})
