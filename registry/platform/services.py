"""The services one application holds, and the per-request database session."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock
from .db import DATABASE_AWAY
from .keys import KeyStore, VerifiedMark
from .storage import FileStore

if TYPE_CHECKING:  # the policy is governance's; the platform only holds it
    from ..governance.policy import Policy


@dataclass
class Services:
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    policies: dict[str, Policy]
    policy: Policy
    store: FileStore
    keys: KeyStore  # the ledger's signing key (files outside the database)
    marks: VerifiedMark  # how far this host last verified the ledger
    extras: dict[str, Any] = field(default_factory=dict)


def services() -> Services:
    return current_app.extensions["gatehouse"]


def now() -> datetime:
    """The application's time (its clock is injectable: tests move it)."""
    return services().clock.now()


def db() -> Session:
    """This request's session; rolled back at teardown unless the view committed."""
    if "db" not in g:
        g.db = services().sessions()
    return g.db


def close_db(_exc: BaseException | None = None) -> None:
    session = g.pop("db", None)
    if session is not None:
        end_session(session)


def end_session(session: Session) -> None:
    """A request's session ended as teardown ends it: what the view did not commit is undone."""
    try:
        session.rollback()
    except DATABASE_AWAY:
        pass  # the server went away: the answer already says so; the pool reconnects
    finally:
        session.close()
