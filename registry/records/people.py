"""Organisations, the people who use Gatehouse, and the frontline tools that ask for scores."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..platform.roles import ROLES as ROLES  # the roles the records hold
from .base import Base

ORGANISATION_KINDS = ("council", "agency", "police", "health", "supplier", "other")


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="council")
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    roles: Mapped[list[str]]
    # Only hashes are stored: the token is shown once, at creation.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    # Sign-in throttling (see governance/sign_in.py): wrong passwords in a row, the latest, and
    # when the account was locked (until an administrator unlocks it).
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    last_failed_sign_in_at: Mapped[datetime | None]
    locked_at: Mapped[datetime | None]
    # Bumped at sign-out: every session cookie issued before then stops working.
    session_generation: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]


class ApiClient(Base):
    """A frontline tool (e.g. a caseworker app): the models and purposes it may use."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    models: Mapped[list[str]]
    purposes: Mapped[list[str]]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
