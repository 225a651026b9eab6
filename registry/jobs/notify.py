"""Notifications after commit: once a transaction that appended to the ledger commits, its
entries are turned into events, the events into deliveries, and each delivery is handed to the
job queue (deployment-wide jobs: created by no one).

The hook is on the application's own sessions (`install`, from ``app.ledger_sessions``), not on
every SQLAlchemy session. It runs after the commit, so what was recorded never waits on it or
fails with it: if it fails (or the process stops first), the next commit, `gatehouse sweep` or
`gatehouse notify deliver` raises and sends what was missed, since events are read from the
ledger by a cursor.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from ..governance import deliveries, events
from ..governance.actors import SYSTEM
from ..governance.ledger import APPENDED
from ..governance.policy import Policy
from ..platform.services import Services
from ..records import Delivery

log = logging.getLogger("gatehouse.notify")


def install(sessions: sessionmaker[Session], policy: Policy) -> None:
    """After each commit of these sessions that appended to the ledger: `raise_events`."""

    def after_commit(session: Session) -> None:
        if session.info.pop(APPENDED, False):
            app = current_app._get_current_object() if has_app_context() else None  # type: ignore[attr-defined]
            raise_events(app, sessions, policy)

    def after_rollback(session: Session) -> None:
        session.info.pop(APPENDED, None)

    event.listen(sessions, "after_commit", after_commit)
    event.listen(sessions, "after_rollback", after_rollback)


def raise_events(app: Flask | None, sessions: sessionmaker[Session], policy: Policy) -> None:
    """Events from the new ledger entries; with an application, their deliveries, queued. Never
    raises: whatever is missed is raised and sent later."""
    try:
        if app is None:
            with sessions() as session:
                events.collect(session, policy)
                session.commit()
        else:
            send(app, calendar=False, only_new=True)
    except Exception:
        log.exception("events could not be raised now; the next commit, `gatehouse sweep` or "
                      "`gatehouse notify deliver` will")


def send(app: Flask, *, calendar: bool, only_new: bool = False, inline: bool = False
         ) -> list[Delivery]:
    """Raise what the ledger (and, with ``calendar``, the date) holds, dispatch every event not
    yet dispatched, and queue the deliveries due (``only_new``: those just made). Returns the
    deliveries queued, as they stand once queued."""
    services: Services = app.extensions["gatehouse"]
    now = services.clock.now()
    with services.sessions() as session:
        events.collect(session, services.policy)
        if calendar:
            events.by_calendar(session, services.policy, now)
        made = deliveries.dispatch(session, now, email=bool(app.config.get("SMTP_URL")))
        session.commit()
        ids = [d.id for d in made] if only_new else deliveries.due(session, now)
        return _queue(app, session, ids, inline)


def digest(app: Flask, *, inline: bool = False) -> list[Delivery]:
    """Queue the daily digest (nothing while email is off: the events wait for it)."""
    if not app.config.get("SMTP_URL"):
        return []
    services: Services = app.extensions["gatehouse"]
    now = services.clock.now()
    with services.sessions() as session:
        made = deliveries.digest(session, now)
        session.commit()
        return _queue(app, session, [d.id for d in made], inline)


def _queue(app: Flask, session: Session, ids: list[int], inline: bool) -> list[Delivery]:
    if not ids:
        return []
    # the queue (its runner and every job's handler) loads only when there is something to queue
    from .queue import enqueue, mode

    queued = []
    for delivery_id in ids:
        enqueue(app, session, SYSTEM, "deliver", {"delivery_id": delivery_id}, None,
                inline=inline and mode(app) != "celery")
        found = session.get(Delivery, delivery_id)
        if found is not None:
            session.refresh(found)
            queued.append(found)
    return queued
