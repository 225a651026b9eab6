"""The use cases on a session, without HTTP: the unit of work commits what succeeds and rolls
back what the governance layer refuses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from registry.governance import gates, lifecycle
from registry.governance import people as people_rules
from registry.governance.actors import OPERATOR, Actor
from registry.governance.errors import Conflict, Forbidden, NotFound
from registry.records import DataSharingAgreement, Decision, User
from registry.usecases import decisions, people, records
from registry.usecases.inputs import AgreementIn
from registry.usecases.unit import Unit, of_app

from . import builders as b
from .conftest import table_counts

UnitOf = Callable[[Actor], Unit]
ROLES = {"sam": ["data_scientist"], "olivia": ["governance_officer"],
         "gus": ["governance_officer"], "ada": ["admin"]}


@pytest.fixture
def actors(app: Flask) -> dict[str, Actor]:
    """People who never sign in (no password to hash), as the use cases see them."""
    services = app.extensions["gatehouse"]
    found = {}
    with services.sessions() as session:
        org = people_rules.ensure_organisation(session, OPERATOR, "Northmere", START(app))
        for name, roles in ROLES.items():
            user, _ = people_rules.create_user(
                session, OPERATOR, {"email": f"{name}@northmere.gov.uk", "name": name.title(),
                                    "roles": roles, "organisation_id": org.id}, START(app))
            found[name] = people_rules.actor_for_user(user)
        session.commit()
    return found


@pytest.fixture
def unit_of(app: Flask) -> Iterator[UnitOf]:
    """A unit of work (its own session) for an actor; each is closed after the test."""
    opened: list[Unit] = []

    def make(actor: Actor) -> Unit:
        opened.append(of_app(app, actor))
        return opened[-1]

    yield make
    for unit in opened:
        unit.session.close()


def START(app: Flask) -> Any:  # noqa: N802 - the moment the test clock stands at
    return app.extensions["gatehouse"].clock.now()


def _agreement(unit: Unit, reference: str = "DSA-1") -> DataSharingAgreement:
    record = records.create(unit, "agreement", AgreementIn().load(b.agreement(reference)))
    assert isinstance(record, DataSharingAgreement)
    return record


def test_a_use_case_commits_what_it_did(app: Flask, actors: dict[str, Actor],
                                        unit_of: UnitOf) -> None:
    created = _agreement(unit_of(actors["sam"]))
    with app.extensions["gatehouse"].sessions() as other:  # another session sees it
        stored = other.get(DataSharingAgreement, created.id)
        assert stored is not None and stored.reference == "DSA-1" and stored.state == "draft"


def test_a_refusal_rolls_back_and_leaves_the_session_usable(app: Flask, actors: dict[str, Actor],
                                                            unit_of: UnitOf) -> None:
    unit = unit_of(actors["sam"])
    record = _agreement(unit)
    before = table_counts(app)
    with pytest.raises(Conflict):
        records.create(unit, "agreement", AgreementIn().load(b.agreement("DSA-1")))
    assert table_counts(app) == before
    assert not unit.session.new and not unit.session.dirty
    assert records.submit(unit, record).state == "submitted"  # the same unit carries on


def test_only_the_owner_edits(app: Flask, actors: dict[str, Actor], unit_of: UnitOf) -> None:
    sam = unit_of(actors["sam"])
    record = _agreement(sam)
    gus = unit_of(actors["gus"])
    with pytest.raises(Forbidden):
        records.edit(gus, gus.session.merge(record), {"title": "Someone else's"})
    records.edit(sam, record, {"title": "Renamed"})
    with app.extensions["gatehouse"].sessions() as other:
        stored = other.get(DataSharingAgreement, record.id)
        assert stored is not None and stored.title == "Renamed"


def test_decide_judges_the_gate_once(app: Flask, actors: dict[str, Actor], unit_of: UnitOf,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sam = unit_of(actors["sam"])
    record = records.submit(sam, _agreement(sam))
    olivia = unit_of(actors["olivia"])
    record = olivia.session.merge(record)
    judged: list[Any] = []
    requirements = gates.requirements
    monkeypatch.setattr(gates, "requirements",
                        lambda *a, **k: judged.append(a[1]) or requirements(*a, **k))
    made = decisions.decide(olivia, record, "approve", "Signed and in order")
    assert (made.to_state, record.state, len(judged)) == ("approved", "approved", 1)
    with app.extensions["gatehouse"].sessions() as other:
        assert other.get(Decision, made.id) is not None


def test_a_refused_decision_stores_nothing(app: Flask, actors: dict[str, Actor],
                                           unit_of: UnitOf) -> None:
    record = _agreement(unit_of(actors["sam"]))  # a draft: nothing to decide yet
    olivia = unit_of(actors["olivia"])
    before = table_counts(app)
    with pytest.raises(Conflict):
        decisions.decide(olivia, olivia.session.merge(record), "approve", "Too early")
    assert table_counts(app) == before


def test_who_can_approve_is_the_rule_decide_applies(app: Flask, actors: dict[str, Actor],
                                                    unit_of: UnitOf) -> None:
    gus = unit_of(actors["gus"])  # an officer may register records too
    record = records.submit(gus, _agreement(gus, "DSA-2"))
    session, policy = gus.session, gus.policy
    assert not lifecycle.can_approve(session, actors["gus"], record, policy)  # built it
    assert not lifecycle.can_approve(session, actors["sam"], record, policy)  # may not decide
    assert lifecycle.can_approve(session, actors["olivia"], record, policy)
    with pytest.raises(Forbidden):
        decisions.decide(gus, record, "approve", "My own")


def test_unlock_is_for_administrators(app: Flask, actors: dict[str, Actor],
                                      unit_of: UnitOf) -> None:
    ada = unit_of(actors["ada"])
    with pytest.raises(NotFound):
        people.find_user(ada, 999)
    with pytest.raises(Forbidden):
        people.find_user(unit_of(actors["olivia"]), actors["sam"].user_id or 0)
    user = ada.session.get(User, actors["sam"].user_id)
    assert user is not None
    user.locked_at, user.failed_sign_ins = START(app), 5
    ada.session.commit()
    unlocked = people.unlock(ada, people.find_user(ada, user.id))
    assert (unlocked.locked_at, unlocked.failed_sign_ins) == (None, 0)
