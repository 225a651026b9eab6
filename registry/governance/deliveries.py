"""Deliveries: each event's POST to the webhooks that hear it and, for an urgent event, an email to
the owners and governance officers of its organisation; the daily digest of the rest; and the
backoff of what failed (30 s × 2ⁿ, at most an hour apart, 8 attempts in all).

A delivery is claimed before it is sent (its next attempt moved a lease ahead), so a job and
`gatehouse notify deliver` running at once never send it twice; a sender that dies leaves it due
again once the lease is over.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import (
    ApiClient,
    Delivery,
    Event,
    Membership,
    ModelVersion,
    Organisation,
    User,
    Webhook,
)
from .events import payload
from .kinds import KINDS

MAX_ATTEMPTS = 8
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
LEASE = timedelta(minutes=5)
OFFICERS = "governance_officer"


def backoff(attempts: int) -> timedelta:
    """How long after the n-th failed attempt the next is made."""
    return min(FIRST_WAIT * 2 ** (attempts - 1), LONGEST_WAIT)


def hears(session: Session, webhook: Webhook, kind: str, models: list[str]) -> bool:
    """Whether an event of this kind about these models is for the webhook: a tool's webhook
    hears only of the models the tool may use, and nothing once the tool is switched off."""
    if webhook.deleted_at is not None or kind not in webhook.events:
        return False
    if webhook.api_client_id is None:
        return True
    client = session.get(ApiClient, webhook.api_client_id)
    return client is not None and client.active and bool(set(models) & set(client.models))


def dispatch(session: Session, now: datetime, email: bool) -> list[Delivery]:
    """The deliveries of every event not yet dispatched: a POST to each webhook that hears it,
    and (``email``: mail is configured) an email of each urgent one."""
    made: list[Delivery] = []
    events = session.scalars(select(Event).where(Event.dispatched_at.is_(None))
                             .order_by(Event.id)).all()
    for event in events:
        hooks = session.scalars(select(Webhook).where(
            Webhook.organisation_id == event.organisation_id, Webhook.deleted_at.is_(None))
            .order_by(Webhook.id)).all()
        body = json.dumps(payload(event, _slug(session, event.organisation_id)))
        for hook in hooks:
            if hears(session, hook, event.kind, event.models):
                made.append(_add(session, "webhook", event.kind, event.organisation_id, now,
                                 body=body, webhook_id=hook.id, event_id=event.id))
        if email and event.urgent:
            to = recipients(session, event)
            if to:
                made.append(_add(session, "email", event.kind, event.organisation_id, now,
                                 body=_mail_body([event]), recipients=to, event_id=event.id,
                                 subject=f"[Gatehouse] {event.summary}"[:250]))
        event.dispatched_at = now
    session.flush()
    return made


def digest(session: Session, now: datetime) -> list[Delivery]:
    """One email to each recipient of the events not urgent and not yet in a digest, listing
    theirs; the events are then marked as digested."""
    events = session.scalars(select(Event).where(Event.urgent.is_(False),
                                                 Event.digested_at.is_(None))
                             .order_by(Event.id)).all()
    mine: dict[tuple[int | None, str], list[Event]] = defaultdict(list)
    for event in events:
        for address in recipients(session, event):
            mine[(event.organisation_id, address)].append(event)
        event.digested_at = now
    made = [_add(session, "email", "digest", org, now, body=_mail_body(listed),
                 recipients=[address], subject=f"[Gatehouse] daily digest: {len(listed)} "
                 f"event{'s' if len(listed) != 1 else ''} on {now.date()}")
            for (org, address), listed in sorted(mine.items(), key=lambda kv: (kv[0][0] or 0,
                                                                                kv[0][1]))]
    session.flush()
    return made


def ping(session: Session, webhook: Webhook, now: datetime) -> Delivery:
    """A test POST (event ``ping``) to the webhook, logged like any delivery."""
    body = json.dumps({"id": None, "event": "ping", "created_at": now.isoformat(),
                       "organisation": _slug(session, webhook.organisation_id),
                       "summary": "a test of this webhook from Gatehouse", "subject": None,
                       "models": [], "data": {"webhook_id": webhook.id}})
    delivery = _add(session, "webhook", "ping", webhook.organisation_id, now, body=body,
                    webhook_id=webhook.id)
    session.flush()
    return delivery


def recipients(session: Session, event: Event) -> list[str]:
    """Who is told of an event by email: the owners of its record (and of a version's model)
    and the governance officers of its organisation, active accounts only."""
    ids: set[int] = set()
    cls = KINDS.get(event.subject_kind)
    record = session.get(cls, int(event.subject_id)) if (
        cls and event.subject_id.isdigit()) else None
    if record is not None:
        ids.add(record.owner_id)
        if isinstance(record, ModelVersion):
            ids.add(record.model.owner_id)
    if event.organisation_id is not None:
        for membership in session.scalars(select(Membership).where(
                Membership.organisation_id == event.organisation_id)):
            if OFFICERS in membership.roles:
                ids.add(membership.user_id)
    users = session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))
                            .order_by(User.email)).all()
    return [u.email for u in users]


def claim(session: Session, delivery_id: int, now: datetime) -> Delivery | None:
    """The delivery, if it is due, with its next attempt moved a lease ahead (the caller
    commits before sending); None if it is not due or not pending."""
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if (delivery is None or delivery.state != "pending" or delivery.next_attempt_at is None
            or delivery.next_attempt_at > now):
        return None
    delivery.next_attempt_at = now + LEASE
    return delivery


def record_attempt(delivery: Delivery, now: datetime, status: int | None, error: str | None,
                   took_ms: int) -> None:
    """Log one attempt; on failure, the next is due after the backoff, or none after the last."""
    delivery.attempts += 1
    delivery.attempts_log = [*delivery.attempts_log, {
        "attempt": delivery.attempts, "at": now.isoformat(), "status": status,
        "error": error, "ms": took_ms}]
    if error is None:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = "succeeded", now, None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.state, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)


def due(session: Session, now: datetime) -> list[int]:
    """The deliveries whose next attempt is due."""
    return list(session.scalars(select(Delivery.id).where(
        Delivery.state == "pending", Delivery.next_attempt_at <= now).order_by(Delivery.id)))


def _add(session: Session, channel: str, kind: str, organisation_id: int | None, now: datetime,
         **fields: Any) -> Delivery:
    delivery = Delivery(channel=channel, kind=kind, organisation_id=organisation_id,
                        state="pending", attempts=0, attempts_log=[], next_attempt_at=now,
                        created_at=now, **fields)
    session.add(delivery)
    return delivery


def _slug(session: Session, organisation_id: int | None) -> str | None:
    org = session.get(Organisation, organisation_id) if organisation_id is not None else None
    return org.slug if org is not None else None


def _mail_body(events: list[Event]) -> str:
    lines = ["Gatehouse has news of records you own or oversee:", ""]
    for event in events:
        lines.append(f"- {event.created_at:%Y-%m-%d %H:%M} UTC  {event.kind}: {event.summary}")
    lines += ["", "Open Gatehouse to see each record and what to do. You receive this as an owner "
              "of the record or a governance officer of its organisation."]
    return "\n".join(lines) + "\n"
