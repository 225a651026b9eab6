"""The unit of work a use case runs in, and the transaction it owns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import TracebackType

from flask import Flask, current_app
from sqlalchemy.orm import Session

from ..governance import scope
from ..governance.actors import Actor
from ..governance.errors import GovernanceError
from ..governance.policy import Policy
from ..platform.clock import Clock
from ..platform.services import Services, db
from ..platform.storage import FileStore


@dataclass
class Unit:
    """Everything a use case needs. ``with unit:`` commits on success and rolls back on a
    refusal (a GovernanceError); any other error is left to whoever closes the session, which
    rolls back too (a database that went away cannot be asked to)."""

    session: Session
    actor: Actor
    policy: Policy
    clock: Clock
    store: FileStore
    app: Flask  # jobs are handed to the app's queue

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def __enter__(self) -> Unit:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None:
            self.session.commit()
        elif isinstance(exc, GovernanceError):
            self.session.rollback()


def for_request(actor: Actor) -> Unit:
    """The unit of the current request: its session (`platform.services.db`) and the app's
    services."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    return of_app(app, actor, db())


def of_app(app: Flask, actor: Actor, session: Session | None = None) -> Unit:
    """A unit outside a request (the CLI, tests): a session of its own unless one is given.
    Its session sees only what the actor may (`governance.scope`)."""
    services: Services = app.extensions["gatehouse"]
    session = session if session is not None else services.sessions()
    scope.enter(session, actor)
    return Unit(session, actor, services.policy, services.clock, services.store, app)
