"""Evidence in force, without HTTP: proposals to change the monitor or audit of a version in use,
settled by an officer; an audit standing only at the version's threshold; gaps waived or
acknowledged item by item. The records come from tests/web/seed.py (no model is fitted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.governance import chain, evidence, gaps, proposals, waivers
from registry.governance.errors import Conflict, Forbidden, Invalid
from registry.records import LedgerEntry, ModelVersion

from .conftest import Api
from .web import seed


class World:
    """One approved version (built by Sam, approved by Olivia) and the people who act on it."""

    def __init__(self, app: Flask, session: Session) -> None:
        services = app.extensions["gatehouse"]
        self.session, self.policy, self.now = session, services.policy, services.clock.now()
        self.version = seed.version_of(session)
        self.people = {n: seed.person(session, n)
                       for n in ("sam", "priya", "olivia", "gus", "dee")}

    def __getattr__(self, name: str) -> Any:
        return self.people[name]

    def settle(self, who: str, proposed: evidence.Evidence, accept: bool = True,
               rationale: str = "Reviewed the change.") -> Any:
        return proposals.settle(self.session, self.people[who], self.version, proposed, accept,
                                rationale, self.policy, self.now)

    def waive(self, who: str, items: list[str], rationale: str = "Investigated: a data fix.",
              requirement: str = "drift_alert", **kw: Any) -> Any:
        return waivers.record(self.session, self.people[who], self.version, self.policy,
                              self.now, requirement, items, rationale, **kw)

    def requirement(self, rid: str) -> Any:
        gate = chain.evaluate(self.session, self.version, self.policy, self.now)
        return next(r for r in gate.requirements if r.id == rid)

    def last_ledger(self) -> LedgerEntry:
        return self.session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).first()


def world_of(app: Flask, **build: Any) -> Iterator[World]:
    seed.build(app, **build)
    with app.extensions["gatehouse"].sessions() as session:
        yield World(app, session)


@pytest.fixture
def approved(app: Flask, api: Api) -> Iterator[World]:
    yield from world_of(app, approve_version=True)


@pytest.fixture
def submitted(app: Flask, api: Api) -> Iterator[World]:
    yield from world_of(app)


# --- who may bring new evidence -----------------------------------------------------------------

def test_new_evidence_is_in_force_before_use_and_an_owners_proposal_after(
        submitted: World) -> None:
    w, version = submitted, submitted.version
    # Still being built: anyone who may monitor puts evidence in force.
    assert evidence.arrival_status(w.sam, version, "drift monitor") == "in_force"
    assert evidence.arrival_status(w.priya, version, "drift monitor") == "in_force"
    for state in ("approved", "suspended"):
        version.state = state
        assert evidence.arrival_status(w.sam, version, "drift monitor") == "proposed"
        for outsider in (w.priya, w.olivia):
            with pytest.raises(Forbidden, match="only the model's owners") as refused:
                evidence.arrival_status(outsider, version, "drift monitor")
            assert refused.value.details["rule"] == "owners_only"
    for state in ("rejected", "retired"):
        version.state = state
        with pytest.raises(Conflict, match=f"is {state}"):
            evidence.arrival_status(w.sam, version, "bias audit")


# --- proposals ----------------------------------------------------------------------------------

def test_an_officer_accepts_or_declines_a_proposed_monitor(approved: World) -> None:
    w, version = approved, approved.version
    old = evidence.in_force_monitor(w.session, version)
    assert old is not None and old.action == "suspend"
    # The change: alert instead of suspend, one column, a check every 10⁹ receipts.
    weaker = seed.new_monitor(w.session, version, w.sam, w.now, action="alert",
                              columns={"numerical": ["duration", "score"], "categorical": []},
                              every_receipts=10_000)
    assert weaker.status == "proposed"
    assert evidence.in_force_monitor(w.session, version) is old  # still in force
    assert evidence.proposals(w.session, version) == [weaker]
    assert proposals.changes(w.session, version, weaker) == {
        "columns": [old.columns, {"numerical": ["duration", "score"], "categorical": []}],
        "every_receipts": [500, 10_000], "action": ["suspend", "alert"]}

    # Only an officer who neither built the version nor proposed the change settles it.
    assert {n: proposals.may_settle(p, version, weaker) for n, p in w.people.items()} == {
        "sam": False, "priya": False, "olivia": True, "gus": True, "dee": False}
    with pytest.raises(Forbidden, match="may not decide"):  # a data scientist, and its proposer
        w.settle("sam", weaker)
    with pytest.raises(Forbidden, match="may not decide"):
        w.settle("priya", weaker)
    with pytest.raises(Forbidden, match="only a governance officer"):
        w.settle("dee", weaker)
    with pytest.raises(Invalid, match="rationale"):
        w.settle("olivia", weaker, rationale="   ")
    assert weaker.status == "proposed"

    decision = w.settle("gus", weaker)
    assert decision.decision == "accept_change" and decision.actor_role == "governance_officer"
    assert decision.from_state == decision.to_state == "approved"
    assert decision.scope == {"evidence": f"drift_monitor:{weaker.id}",
                              "replaces": f"drift_monitor:{old.id}"}
    assert (weaker.status, old.status) == ("in_force", "superseded")
    assert evidence.in_force_monitor(w.session, version) is weaker
    entry = w.last_ledger()
    assert entry.action == "decision:accept_change" and entry.change["scope"] == decision.scope
    # Settled once only.
    assert not proposals.may_settle(w.olivia, version, weaker)
    with pytest.raises(Conflict, match="in force, not awaiting a decision"):
        w.settle("olivia", weaker)

    # Declined: what is in force stays so.
    stronger = seed.new_monitor(w.session, version, w.sam, w.now, action="suspend")
    declined = w.settle("olivia", stronger, accept=False, rationale="Keep the alert for now.")
    assert declined.decision == "decline_change"
    assert (stronger.status, weaker.status) == ("declined", "in_force")
    assert evidence.proposals(w.session, version) == []
    with pytest.raises(Conflict, match="declined"):
        w.settle("gus", stronger)


def test_who_proposed_a_change_never_settles_it(approved: World) -> None:
    w = approved
    proposed = seed.new_monitor(w.session, w.version, w.sam, w.now, every_receipts=100)
    proposed.created_by_id = w.gus.user_id  # Gus proposed it, when he still owned the model
    assert not proposals.may_settle(w.gus, w.version, proposed)
    with pytest.raises(Forbidden, match="proposed drift monitor"):
        w.settle("gus", proposed)
    assert proposals.may_settle(w.olivia, w.version, proposed)


def test_an_audit_stands_only_at_the_versions_threshold(submitted: World) -> None:
    w, version = submitted, submitted.version
    audit = evidence.in_force_audit(w.session, version)
    assert audit is not None and w.requirement("bias_audit").met
    # A passing audit of the same artefact, but of decisions at another threshold: before the
    # gate checked the threshold this was met.
    audit.threshold = 0.6
    requirement = w.requirement("bias_audit")
    assert not requirement.met
    assert "threshold of 0.6" in requirement.detail and "decides at 0.5" in requirement.detail
    assert "at the version's threshold" in requirement.remedy


def test_an_audit_proposed_at_another_threshold_sets_it_when_accepted(approved: World) -> None:
    w, version = approved, approved.version
    old = evidence.in_force_audit(w.session, version)
    assert old is not None
    proposed = seed.new_audit(w.session, version, w.sam, w.now, threshold=0.6)
    assert proposed.status == "proposed"
    assert proposals.changes(w.session, version, proposed) == {"threshold": [0.5, 0.6]}
    # Until an officer decides, the gate reads the audit in force at the version's threshold.
    assert w.requirement("bias_audit").detail.startswith(f"audit {old.id} passed")
    assert version.threshold == 0.5

    decision = w.settle("olivia", proposed)
    assert decision.scope == {"evidence": f"bias_audit:{proposed.id}",
                              "replaces": f"bias_audit:{old.id}"}
    assert version.threshold == 0.6 and old.status == "superseded"
    requirement = w.requirement("bias_audit")
    assert requirement.met and requirement.detail.startswith(f"audit {proposed.id} passed")

    # Declined: neither the audit in force nor the threshold moves.
    back = seed.new_audit(w.session, version, w.sam, w.now, threshold=0.4)
    w.settle("gus", back, accept=False, rationale="0.4 lets too many through.")
    assert back.status == "declined" and version.threshold == 0.6
    assert evidence.in_force_audit(w.session, version) is proposed


# --- waivers and acknowledgements ---------------------------------------------------------------

def test_an_alert_is_acknowledged_item_by_item_by_an_officer_who_did_not_build(
        approved: World) -> None:
    w, version = approved, approved.version
    check = seed.drift_alert(w.session, version, ("duration", "credit_amount"), w.now)
    [gap] = gaps.find(w.session, version, w.policy)
    assert (gap.requirement, gap.evidence, gap.decision) == (
        "drift_alert", f"drift_check:{check.id}", "acknowledge")
    assert gap.outstanding == ["duration", "credit_amount"]
    assert gaps.open_alerts(w.session, version, w.policy) == [gap]
    assert w.requirement("drift_monitor").met  # an alert does not stop serving

    outstanding = f"outstanding: drift_check:{check.id}: duration, credit_amount"
    for items in (["age"], ["duration", "age"], []):
        with pytest.raises(Invalid) as refused:
            w.waive("olivia", items)
        assert refused.value.details == {"items": [outstanding]}
    with pytest.raises(Invalid, match="cannot be waived"):
        w.waive("olivia", ["duration"], requirement="small_groups_of_nothing")
    with pytest.raises(Invalid, match="rationale"):
        w.waive("olivia", ["duration"], rationale=" ")
    for who in ("sam", "priya", "dee"):
        assert not waivers.may_waive(w.people[who], version)
        with pytest.raises(Forbidden, match="may not decide|only a governance officer"):
            w.waive(who, ["duration"])
    version.owner_id = w.gus.user_id  # an officer who owns the version: separation of duties
    assert not waivers.may_waive(w.gus, version) and waivers.may_waive(w.olivia, version)
    with pytest.raises(Forbidden, match="separation of duties"):
        w.waive("gus", ["duration"])

    first = w.waive("olivia", ["duration"])
    assert first.decision == "acknowledge" and first.rationale == "Investigated: a data fix."
    assert first.scope == {"requirement": "drift_alert", "evidence": f"drift_check:{check.id}",
                           "items": ["duration"], "detail": gap.detail}
    assert w.last_ledger().action == "decision:acknowledge"
    [gap] = gaps.find(w.session, version, w.policy)
    assert gap.outstanding == ["credit_amount"] and gap.waived == {"duration"}
    w.waive("olivia", ["credit_amount"])
    assert gaps.open_alerts(w.session, version, w.policy) == []
    with pytest.raises(Conflict, match="nothing outstanding"):
        w.waive("olivia", ["credit_amount"])

    # A new alert needs a decision of its own, even on the same columns.
    later = seed.drift_alert(w.session, version, ("duration",), w.now)
    [alert] = gaps.open_alerts(w.session, version, w.policy)
    assert alert.evidence == f"drift_check:{later.id}" and alert.outstanding == ["duration"]


def test_a_waiver_names_the_evidence_the_officer_chose(approved: World) -> None:
    w, version = approved, approved.version
    first = seed.drift_alert(w.session, version, ("duration",), w.now)
    second = seed.drift_alert(w.session, version, ("duration",), w.now)
    # Without naming it, the newest check with the items is acknowledged...
    assert w.waive("olivia", ["duration"]).scope["evidence"] == f"drift_check:{second.id}"
    third = seed.drift_alert(w.session, version, ("duration",), w.now)
    # ...naming it, exactly that one (an officer acknowledging from the first check's entry).
    chosen = w.waive("olivia", ["duration"], evidence=f"drift_check:{first.id}")
    assert chosen.scope["evidence"] == f"drift_check:{first.id}"
    [left] = gaps.open_alerts(w.session, version, w.policy)
    assert left.evidence == f"drift_check:{third.id}"
    with pytest.raises(Conflict, match=f"in drift_check:{first.id}"):
        w.waive("olivia", ["duration"], evidence=f"drift_check:{first.id}")


def test_gaps_to_waive_are_unmet_requirements_until_every_item_is_waived(
        approved: World, monkeypatch: pytest.MonkeyPatch) -> None:
    w, version = approved, approved.version
    audit = evidence.in_force_audit(w.session, version)
    assert audit is not None
    ref = evidence.ref(audit)

    def small_groups(session: Session, v: ModelVersion, policy: Any) -> list[gaps.Gap]:
        return [gaps.Gap("small_groups", ref, ("age 65–129", "age 0–24"),
                         frozenset(evidence.waived(session, v, "small_groups", ref)),
                         "groups too small to assess: age 65–129, age 0–24",
                         "merge them into a declared group, or an officer waives them")]

    monkeypatch.setitem(gaps.FINDERS, "small_groups", small_groups)
    assert not w.requirement("small_groups").met
    w.waive("gus", ["age 65–129"], requirement="small_groups",
            rationale="Too few people over 65 apply; reviewed by hand.")
    requirement = w.requirement("small_groups")
    assert not requirement.met and "waived by an officer: age 65–129" in requirement.detail
    w.waive("olivia", ["age 0–24"], requirement="small_groups", rationale="Likewise.")
    assert w.requirement("small_groups").met
