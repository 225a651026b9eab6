"""Notifications: the events the ledger's entries raise, the webhooks that subscribe to them, and
each delivery (a webhook's POST or an email) with its attempts."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .types import Sealed


class Event(Base):
    """Something people or tools should hear of (``version.suspended``, ``record.expiring`` …),
    of one organisation; ``key`` makes each at most once (an entry's event, a record's expiry
    warning of one day)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(80))
    models: Mapped[list[str]]  # the models concerned (what a tool's webhook is filtered on)
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    urgent: Mapped[bool]
    ledger_seq: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(index=True)
    dispatched_at: Mapped[datetime | None]  # its deliveries made
    digested_at: Mapped[datetime | None]  # put in a daily digest (events that are not urgent)


class EventCursor(Base):
    """How far the ledger has been turned into events (one row)."""

    __tablename__ = "event_cursor"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int]


class VersionLapse(Base):
    """A version approved but no longer fit for use, as last notified: a lapse is told once, and
    again only after the version was fit for use in between or the reason changed."""

    __tablename__ = "version_lapses"

    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"),
                                                  primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


class Webhook(Base):
    """A URL told of an organisation's events of the kinds listed, each POST signed with the
    secret (sealed at rest, never shown again); a tool's webhook hears only of its models."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]]
    secret: Mapped[Any] = mapped_column(Sealed("webhooks.secret"))
    api_client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class Delivery(Base):
    """One message to send: a webhook's POST of an event (or a ping), or an email (an urgent
    event's, or a digest). Sent by a job; a failure is tried again with backoff until
    ``attempts`` reaches the limit. ``attempts_log`` holds each try: when, the answer, how long."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(12))  # "webhook" | "email"
    kind: Mapped[str] = mapped_column(String(40))  # the event's kind, "ping" or "digest"
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("webhooks.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    recipients: Mapped[list[str] | None]
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), index=True)  # pending|succeeded|failed
    attempts: Mapped[int] = mapped_column(default=0)
    attempts_log: Mapped[list[dict[str, Any]]]
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
