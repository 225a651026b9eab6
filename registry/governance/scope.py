"""Which organisations' records a session may see, applied below every view.

Once a session is scoped to an actor (`enter`, done where a request's actor is known and by every
unit of work), each ORM query it runs — a lookup by id or name, a list, a count, a relationship
loaded later — carries one criterion per governed class: the record's organisation must be one
where the actor holds a role that reads it. A record outside answers as if it did not exist (404),
and a new route cannot forget the filter. Gatehouse's own actors (the CLI's operator, jobs of the
system, the sweep) and deployment-wide readers are not scoped, nor is the public register.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from ..records import (
    DPIA,
    ApiClient,
    BiasAudit,
    Dataset,
    DataSharingAgreement,
    Decision,
    DriftCheck,
    DriftMonitor,
    Job,
    LedgerEntry,
    Membership,
    ModelVersion,
    Organisation,
    PredictiveModel,
    ScoreReceipt,
    User,
    WatchAlert,
)
from ..records.notifications import Delivery, Event, Webhook
from .actors import Actor
from .errors import Invalid
from .permissions import RULES

_KEY = "gatehouse_scope"
_NAMED_IN = "gatehouse_named_in"
T = TypeVar("T")
# Each statement's execution option that asks for no scope (uniqueness checks must see every
# record, or a clash surfaces as the database's integrity error).
UNSCOPED = {"gatehouse_unscoped": True}


@dataclass(frozen=True)
class Scope:
    records: tuple[int, ...]  # organisations whose records, people and clients may be read
    ledger: tuple[int, ...]  # organisations whose ledger entries may be read


def of(actor: Actor) -> Scope | None:
    """The actor's scope; None where it sees every organisation."""
    if actor.kind == "system" or actor.deployment_roles & RULES["read"]:
        return None
    readers = RULES["read"] | RULES["read_receipt"] | RULES["sweep"]
    return Scope(tuple(sorted(actor.organisations(readers))),
                 tuple(sorted(actor.organisations(RULES["read_ledger"]))))


def enter(session: Session, actor: Actor) -> None:
    """Scope every later query of the session to what the actor may see."""
    session.info[_KEY] = of(actor)


def enter_organisation(session: Session, organisation_id: int) -> None:
    """Scope every later query of the session to one organisation's records and ledger (a job
    of that organisation, whoever queued it)."""
    session.info[_KEY] = Scope((organisation_id,), (organisation_id,))


def name_in(session: Session, actor: Actor, slug: str) -> None:
    """Resolve names in URLs within the organisation `slug` names (`?organisation=SLUG`): how a
    person of several organisations, each with a model of the same name, says which one."""
    org = session.scalars(select(Organisation).where(Organisation.slug == slug)).first()
    scope = of(actor)
    if org is None or (scope is not None and org.id not in scope.records):
        raise Invalid(f"{actor.name} holds no role in an organisation {slug[:80]!r}",
                      {"organisation": [f"not one of your organisations: {slug[:80]!r}"]})
    session.info[_NAMED_IN] = org.id


def one_named(session: Session, found: Sequence[T], what: str) -> T | None:
    """The one record of those found by a name that the session means: names are each
    organisation's own, so a reader of several organisations may find one in each, and must
    then name the organisation."""
    chosen = session.info.get(_NAMED_IN)
    if chosen is not None:
        found = [r for r in found if r.organisation_id == chosen]  # type: ignore[attr-defined]
    if len(found) > 1:
        slugs = sorted(session.scalars(select(Organisation.slug).where(Organisation.id.in_(
            {r.organisation_id for r in found}))))  # type: ignore[attr-defined]
        raise Invalid(f"{what} is a name in several of your organisations ({', '.join(slugs)}):"
                      f" say which one's with ?organisation={slugs[0]}",
                      {"organisation": [f"needed: one of {', '.join(slugs)}"]})
    return found[0] if found else None


def current(session: Session) -> Scope | None:
    return session.info.get(_KEY)  # type: ignore[no-any-return]


@contextmanager
def unscoped(session: Session) -> Iterator[Session]:
    """The session without its scope for a while: what everyone may see (the public register)
    or what must count every organisation (the ledger's verification)."""
    saved = session.info.pop(_KEY, None)
    try:
        yield session
    finally:
        if saved is not None:
            session.info[_KEY] = saved


@lru_cache(maxsize=256)
def _criteria(scope: Scope) -> tuple[Any, ...]:
    """The options scoping a statement, built once per scope: they are immutable, and building
    them afresh for every query took a fifth of a request's time."""
    orgs, ledger = scope.records, scope.ledger
    own = [with_loader_criteria(cls, cls.organisation_id.in_(orgs), include_aliases=True)
           for cls in (Dataset, DPIA, PredictiveModel, ModelVersion, Decision, ApiClient,
                       Webhook, Delivery, Event)]
    a = DataSharingAgreement
    members = select(Membership.user_id).where(Membership.organisation_id.in_(orgs))
    # evidence, receipts and jobs belong to the organisation of their version (their creator)
    versions = select(ModelVersion.id).where(ModelVersion.organisation_id.in_(orgs))
    monitors = select(DriftMonitor.id).where(DriftMonitor.model_version_id.in_(versions))
    return (
        *own,
        *(with_loader_criteria(cls, cls.model_version_id.in_(versions), include_aliases=True)
          for cls in (BiasAudit, DriftMonitor, ScoreReceipt, WatchAlert)),
        with_loader_criteria(DriftCheck, DriftCheck.monitor_id.in_(monitors),
                             include_aliases=True),
        with_loader_criteria(Job, Job.organisation_id.in_(orgs), include_aliases=True),
        # an agreement is seen by the organisation that registered it and by both parties
        with_loader_criteria(a, or_(a.organisation_id.in_(orgs), a.provider_organisation_id.in_(
            orgs), a.recipient_organisation_id.in_(orgs)), include_aliases=True),
        with_loader_criteria(LedgerEntry, LedgerEntry.organisation_id.in_(ledger),
                             include_aliases=True),
        with_loader_criteria(User, User.id.in_(members), include_aliases=True),
    )


@event.listens_for(Session, "do_orm_execute")
def _scope_query(state: ORMExecuteState) -> None:
    scope = current(state.session)
    if (scope is None or not state.is_select
            or state.execution_options.get("gatehouse_unscoped")):
        return
    state.statement = state.statement.options(*_criteria(scope))
