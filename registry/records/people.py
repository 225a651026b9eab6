"""Organisations, the people who use Gatehouse and the roles they hold in each organisation, and
the frontline tools that ask for scores."""

import re
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..platform.roles import ORGANISATION_KINDS as ORGANISATION_KINDS  # noqa: F401
from ..platform.roles import ROLES as ROLES  # the roles the records hold
from .base import Base


def slug_of(name: str) -> str:
    """A slug made from an organisation's name ("Northmere Borough Council" → "northmere-…")."""
    return "-".join(re.findall(r"[a-z0-9]+", name.lower()))[:80] or "organisation"


def _default_slug(context: Any) -> str:
    return slug_of(context.get_current_parameters()["name"])


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    # How commands and URLs name it (`gatehouse users create … --organisation northmere`).
    slug: Mapped[str] = mapped_column(String(80), unique=True, default=_default_slug)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="council")
    created_at: Mapped[datetime]


class Membership(Base):
    """The roles a user holds in one organisation; with no organisation, deployment-wide roles
    (the administrator who creates organisations)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    roles: Mapped[list[str]]
    created_at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
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

    memberships: Mapped[list["Membership"]] = relationship(
        order_by="Membership.id", lazy="selectin", cascade="all, delete-orphan")

    @property
    def roles(self) -> list[str]:
        """Every role the user holds, in any organisation."""
        return sorted({r for m in self.memberships for r in m.roles})

    @property
    def organisation_id(self) -> int | None:
        """The organisation the user first joined (None: deployment-wide only)."""
        return next((m.organisation_id for m in self.memberships
                     if m.organisation_id is not None), None)

    @property
    def organisation_ids(self) -> list[int]:
        return [m.organisation_id for m in self.memberships if m.organisation_id is not None]


class ApiClient(Base):
    """A frontline tool (e.g. a caseworker app): the models and purposes it may use, all of its
    one organisation."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    models: Mapped[list[str]]
    purposes: Mapped[list[str]]
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
