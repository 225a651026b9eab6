"""The gate and lifecycle rules called directly on records in a session: no HTTP, no fitted model.

`registry.governance.chain.evaluate` answers which requirements a record meets; `lifecycle.decide`
moves it, refusing what the rules forbid. The chain is built by tests/web/seed.py from the same
payloads the API loads (tests/builders.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from registry.api import schemas as s
from registry.governance import lifecycle, registration
from registry.governance.actors import Actor
from registry.governance.chain import evaluate, servability, usable
from registry.governance.errors import Conflict, Forbidden, Invalid
from registry.records import Governed

from . import builders as b
from .conftest import Api
from .web import seed


class Rules:
    """A session on the test's database, its people, the policy and the clock's `now`."""

    def __init__(self, app: Flask, session: Session) -> None:
        services = app.extensions["gatehouse"]
        self.session, self.policy, self.clock = session, services.policy, services.clock
        self.sam, self.olivia, self.gus, self.dee = (
            seed.person(session, n) for n in ("sam", "olivia", "gus", "dee"))

    @property
    def now(self) -> Any:
        return self.clock.now()

    def unmet(self, record: Governed) -> set[str]:
        return {r.id for r in evaluate(self.session, record, self.policy, self.now).unmet}

    def met(self, record: Governed) -> set[str]:
        return {r.id for r in evaluate(self.session, record, self.policy, self.now).requirements
                if r.met}

    def agreement(self, reference: str = "DSA-1", by: Actor | None = None, **over: Any
                  ) -> Governed:
        return registration.create(self.session, by or self.sam, "agreement",
                                   s.AgreementIn().load(b.agreement(reference, **over)), self.now)

    def submit(self, record: Governed) -> Governed:
        return registration.submit(self.session, self.sam, record, self.now)

    def decide(self, record: Governed, decision: str, by: Actor | None = None) -> Any:
        return lifecycle.decide(self.session, by or self.olivia, record, self.policy, self.now,
                                decision, "Checked against the policy.")


@pytest.fixture
def rules(app: Flask, api: Api) -> Iterator[Rules]:
    with app.extensions["gatehouse"].sessions() as session:
        yield Rules(app, session)


def test_a_complete_agreement_meets_every_requirement_but_its_approval(rules: Rules) -> None:
    a = rules.agreement()
    assert rules.unmet(a) == {"approvals"}
    assert {"legal_basis", "statutory_gateway", "purposes", "stages", "dates", "review_date",
            "controllers", "signatories"} <= rules.met(a)
    gate = evaluate(rules.session, a, rules.policy, rules.now)
    assert gate.ready and [r.id for r in gate.unmet] == ["approvals"]


@pytest.mark.parametrize(("over", "unmet"), [
    ({"statutory_gateway": ""}, {"statutory_gateway"}),
    ({"controllers": []}, {"controllers"}),
    ({"signatories": [{"name": "R. Khan", "role": "Head of Data",
                       "organisation": "Statlog Bureau"}]}, {"signatories"}),
    ({"end_date": b.date_str(-1), "start_date": b.date_str(-60),
      "review_date": b.date_str(-30)}, {"dates"}),
    ({"special_category": True}, {"art9_condition"}),
])
def test_each_agreement_requirement_is_unmet_by_its_own_gap(
        rules: Rules, over: dict[str, Any], unmet: set[str]) -> None:
    a = rules.agreement(**over)
    assert rules.unmet(a) == unmet | {"approvals"}


def test_approval_is_refused_naming_the_unmet_requirements(rules: Rules) -> None:
    a = rules.agreement(controllers=[])
    rules.submit(a)
    with pytest.raises(Conflict) as refused:
        rules.decide(a, "approve")
    assert [r["id"] for r in refused.value.details["unmet"]] == ["controllers"]
    assert a.state == "submitted"


def test_decisions_follow_the_lifecycle_and_its_separation_of_duties(rules: Rules) -> None:
    a = rules.agreement()
    with pytest.raises(Conflict) as early:  # a draft is decided on once submitted
        rules.decide(a, "approve")
    assert early.value.details["state"] == "draft"
    rules.submit(a)
    with pytest.raises(Forbidden):  # a data scientist decides nothing
        rules.decide(a, "approve", by=rules.sam)
    own = rules.agreement("DSA-2", by=rules.olivia)  # an officer may not approve what they built
    registration.submit(rules.session, rules.olivia, own, rules.now)
    with pytest.raises(Forbidden) as separation:
        rules.decide(own, "approve")
    assert separation.value.details["rule"] == "separation_of_duties"
    with pytest.raises(Invalid):
        lifecycle.decide(rules.session, rules.olivia, a, rules.policy, rules.now, "approve", " ")
    decision = rules.decide(a, "approve")
    assert (decision.from_state, decision.to_state, a.state) == ("submitted", "approved",
                                                                 "approved")
    assert a.approval_id == decision.id and a.approved_until is not None
    assert lifecycle.allowed_decisions(a.state) == ["request_changes", "suspend", "retire"]
    assert rules.unmet(a) == set()
    rules.decide(a, "suspend")
    assert a.state == "suspended" and rules.unmet(a) == {"approvals"}  # reinstating is a round
    rules.decide(a, "reinstate", by=rules.gus)
    assert a.state == "approved"
    rules.decide(a, "retire")
    with pytest.raises(Conflict) as final:
        rules.decide(a, "reinstate")
    assert final.value.details["allowed_decisions"] == []


def test_a_dataset_rests_on_its_agreement_being_usable(rules: Rules) -> None:
    a = rules.agreement()
    d = registration.create(rules.session, rules.sam, "dataset", s.DatasetIn().load(
        b.dataset("credit", agreement_ids=[a.id])), rules.now)
    assert {"agreement", "dpia", "data"} <= rules.unmet(d)
    assert "schema" in rules.met(d) and "purpose" in rules.met(d)
    detail = {r.id: r for r in evaluate(rules.session, d, rules.policy, rules.now).requirements}
    assert "awaiting approval" not in detail["agreement"].detail  # a draft: "still a draft"
    assert "still a draft" in detail["agreement"].detail
    assert detail["agreement"].remedy == f"approve {a.label} first"
    rules.submit(a)
    rules.decide(a, "approve")
    assert "agreement" not in rules.unmet(d)


@pytest.fixture
def chain(app: Flask, api: Api) -> seed.Chain:
    return seed.build(app)  # a version submitted, its evidence passing


def test_a_submitted_version_with_its_evidence_is_ready_and_approval_makes_it_servable(
        app: Flask, chain: seed.Chain, rules: Rules) -> None:
    version = seed.version_of(rules.session)
    gate = evaluate(rules.session, version, rules.policy, rules.now)
    assert gate.ready and rules.unmet(version) == {"approvals"}
    assert {"model", "artefact", "feature_schema", "datasets", "purpose_permitted",
            "use_permitted", "bias_audit", "drift_monitor", "pilot_terms"} <= rules.met(version)
    today = rules.now.date()
    assert not servability(rules.session, version, rules.policy, today).ok
    rules.decide(version, "approve")
    assert version.state == "approved"
    assert servability(rules.session, version, rules.policy, today).ok
    # the chain rule: suspending the model stops its version at once, naming why
    model = registration.get(rules.session, "model", chain.model)
    rules.decide(model, "suspend")
    verdict = servability(rules.session, version, rules.policy, today)
    assert not verdict.ok and "suspended" in verdict.reason
    assert "model" in rules.unmet(version)
    rules.decide(model, "reinstate", by=rules.gus)
    assert servability(rules.session, version, rules.policy, today).ok


def test_a_dpia_past_its_review_date_is_unusable_from_the_next_day(
        chain: seed.Chain, rules: Rules) -> None:
    dpia = registration.get(rules.session, "dpia", chain.dpia_id)
    review = dpia.review_date
    assert usable(rules.session, dpia, rules.policy, review).ok
    later = usable(rules.session, dpia, rules.policy, review + timedelta(days=1))
    assert not later.ok and f"due for review on {review}" in later.reason
