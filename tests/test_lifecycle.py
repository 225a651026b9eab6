"""The lifecycle every record kind shares: transitions and their 409s, rationale and leases,
separation of duties, expiry on its date with no job, the cascade, the sweep and dependents."""

from __future__ import annotations

from typing import Any

import pytest

from . import builders as b
from .chain import build_chain, case, fitted, ok
from .conftest import Api

SCORE = {"purpose": "credit_risk_research"}
ALLOWED = {
    "draft": [],
    "submitted": ["approve", "reject", "request_changes"],
    "approved": ["request_changes", "suspend", "retire"],
    "suspended": ["request_changes", "reinstate", "retire"],
    "changes_requested": [],
    "rejected": [],
    "retired": [],
}
DECISIONS = ["approve", "reject", "request_changes", "suspend", "reinstate", "retire"]


def decide(api: Api, url: str, decision: str, as_: str = "olivia", **extra: Any
           ) -> tuple[int, Any]:
    return api.post(f"{url}/decisions", as_=as_,
                    json={"decision": decision, "rationale": f"{decision}: reasons", **extra})


def state(api: Api, url: str) -> str:
    return ok(api.get(url))["state"]


def score(api: Api, model: str = "credit-risk") -> tuple[int, Any]:
    return api.post(f"/api/v1/models/{model}/score", as_="app",
                    json={**SCORE, "features": case(0)})


def agreement_url(api: Api, reference: str = "DSA-1", as_: str = "sam", **over: Any) -> str:
    body = ok(api.post("/api/v1/agreements", as_=as_, json=b.agreement(reference, **over)), 201)
    return f"/api/v1/agreements/{body['id']}"


def approved_dpia(api: Api, reference: str, **links: Any) -> int:
    body = ok(api.post("/api/v1/dpias", json=b.dpia(reference, **links)), 201)
    ok(api.post(f"/api/v1/dpias/{body['id']}/dpo-advice", as_="dee", json={"advice": "ok"}))
    ok(api.post(f"/api/v1/dpias/{body['id']}/advice-response", as_="olivia",
                json={"accepted": True, "reason": "agreed"}))
    ok(api.post(f"/api/v1/dpias/{body['id']}/submit"))
    b.approve(api, f"/api/v1/dpias/{body['id']}")
    return body["id"]


def ready_record(api: Api, kind: str) -> tuple[str, dict[str, Any]]:
    """A draft of each kind whose gate is met but for approvals, and a harmless edit for it."""
    if kind == "agreement":
        return agreement_url(api), {"title": "Renamed"}
    if kind == "dpia":
        body = ok(api.post("/api/v1/dpias", json=b.dpia("DPIA-L")), 201)
        url = f"/api/v1/dpias/{body['id']}"
        ok(api.post(f"{url}/dpo-advice", as_="dee", json={"advice": "ok"}))
        ok(api.post(f"{url}/advice-response", as_="olivia",
                    json={"accepted": True, "reason": "agreed"}))
        return url, {"title": "Renamed"}
    if kind == "model":
        ok(api.post("/api/v1/models", json=b.model("life")), 201)
        approved_dpia(api, "DPIA-life", model_names=["life"])
        return "/api/v1/models/life", {"title": "Renamed"}
    agreement = agreement_url(api, "DSA-L")
    ok(api.post(f"{agreement}/submit"))
    b.approve(api, agreement)
    body = ok(api.post("/api/v1/datasets", json=b.dataset(
        "life-data", agreement_ids=[int(agreement.rsplit("/", 1)[1])])), 201)
    ok(b.upload_csv(api, body["id"], b.credit_csv()))
    approved_dpia(api, "DPIA-L", dataset_ids=[body["id"]])
    return f"/api/v1/datasets/{body['id']}", {"steward": "Someone else"}


def state_trail(api: Api, kind: str, record_id: Any) -> list[tuple[str, str, str]]:
    """(action, from, to) of every ledger entry that moved the record."""
    _, page = api.get(f"/api/v1/ledger?subject_kind={kind}&subject_id={record_id}&per_page=500",
                      as_="audrey")
    return [(e["action"], e["change"]["from_state"], e["change"]["to_state"])
            for e in page["items"] if "to_state" in e["change"]]


# --- transitions ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["agreement", "dataset", "dpia", "model"])
def test_every_kind_moves_through_the_whole_lifecycle(api: Api, kind: str) -> None:
    url, edit = ready_record(api, kind)
    assert state(api, url) == "draft"
    ok(api.post(f"{url}/submit"))
    assert ok(decide(api, url, "request_changes"), 201)["to_state"] == "changes_requested"
    ok(api.patch(url, json=edit))  # editable again
    ok(api.post(f"{url}/submit"))
    approval = ok(decide(api, url, "approve"), 201)
    record = ok(api.get(url))
    assert record["state"] == "approved" and record["approval_id"] == approval["id"]
    assert record["approved_until"] == b.date_str(365)
    assert ok(decide(api, url, "suspend", as_="gus"), 201)["to_state"] == "suspended"
    assert ok(decide(api, url, "reinstate", as_="gus"), 201)["to_state"] == "approved"
    assert ok(decide(api, url, "retire"), 201)["to_state"] == "retired"
    for decision in DECISIONS:
        status, err = decide(api, url, decision)
        assert status == 409 and err["error"]["details"] == {"state": "retired",
                                                               "allowed_decisions": []}
        assert "allowed: none (final state)" in err["error"]["message"]
    assert api.post(f"{url}/submit")[0] == 409
    assert api.patch(url, json=edit)[0] == 409
    key = url.rsplit("/", 1)[1] if kind != "model" else str(ok(api.get(url))["id"])
    assert state_trail(api, kind, key) == [
        ("submit", "draft", "submitted"),
        ("decision:request_changes", "submitted", "changes_requested"),
        ("submit", "changes_requested", "submitted"),
        ("decision:approve", "submitted", "approved"),
        ("decision:suspend", "approved", "suspended"),
        ("decision:reinstate", "suspended", "approved"),
        ("decision:retire", "approved", "retired"),
    ]


def test_reject_is_final_and_retire_from_suspended(api: Api) -> None:
    rejected = agreement_url(api, "DSA-R")
    ok(api.post(f"{rejected}/submit"))
    assert ok(decide(api, rejected, "reject"), 201)["to_state"] == "rejected"
    assert api.post(f"{rejected}/submit")[0] == 409
    status, err = decide(api, rejected, "approve")
    assert status == 409 and err["error"]["details"]["allowed_decisions"] == []
    url = agreement_url(api, "DSA-S")
    ok(api.post(f"{url}/submit"))
    ok(decide(api, url, "approve"), 201)
    ok(decide(api, url, "suspend"), 201)
    assert ok(decide(api, url, "retire"), 201)["to_state"] == "retired"


def test_illegal_transitions_get_409_naming_the_state_and_the_allowed_ones(api: Api) -> None:
    urls = {}
    for name, steps in {
        "draft": [],
        "submitted": ["submit"],
        "approved": ["submit", "approve"],
        "suspended": ["submit", "approve", "suspend"],
        "changes_requested": ["submit", "request_changes"],
        "rejected": ["submit", "reject"],
        "retired": ["submit", "approve", "retire"],
    }.items():
        url = agreement_url(api, f"DSA-{name}")
        for step in steps:
            if step == "submit":
                ok(api.post(f"{url}/submit"))
            else:
                ok(decide(api, url, step), 201)
        assert state(api, url) == name
        urls[name] = url
    for name, url in urls.items():
        for decision in DECISIONS:
            if decision in ALLOWED[name]:
                continue
            status, err = decide(api, url, decision)
            assert status == 409, (name, decision)
            assert err["error"]["code"] == "conflict"
            assert err["error"]["details"] == {"state": name, "allowed_decisions": ALLOWED[name]}
            message = err["error"]["message"]
            assert f"is {name}: it cannot be given '{decision}'; allowed: " in message
            assert message.endswith(", ".join(ALLOWED[name]) or (
                "none until it is submitted" if name in ("draft", "changes_requested")
                else "none (final state)"))
            assert state(api, url) == name


def test_a_decision_needs_a_known_decision_and_a_rationale(api: Api) -> None:
    url = agreement_url(api)
    ok(api.post(f"{url}/submit"))
    for body, field in (({"decision": "approve"}, "rationale"),
                        ({"decision": "approve", "rationale": ""}, "rationale"),
                        ({"decision": "approve", "rationale": "   "}, "rationale"),
                        ({"decision": "bless", "rationale": "why not"}, "decision"),
                        ({"rationale": "why not"}, "decision")):
        status, err = api.post(f"{url}/decisions", as_="olivia", json=body)
        assert status == 422 and field in err["error"]["details"], (body, err)
    assert state(api, url) == "submitted"
    assert ok(api.get(f"{url}/decisions")) == []
    d = ok(api.post(f"{url}/decisions", as_="olivia", json={
        "decision": "approve", "rationale": "  Signed by both parties  ",
        "conditions": "Review the retention clause at renewal"}), 201)
    assert d["rationale"] == "Signed by both parties"
    assert d["conditions"] == "Review the retention clause at renewal"


def test_approved_until_no_later_than_the_policy_allows(api: Api) -> None:
    url = agreement_url(api)  # ends in 700 days; the policy's leases run 365
    ok(api.post(f"{url}/submit"))
    status, err = decide(api, url, "approve", approved_until=b.date_str(366))
    assert status == 422
    assert err["error"]["details"]["approved_until"] == [
        "no later than 2027-11-02 under policy test"]
    status, err = decide(api, url, "approve", approved_until=b.date_str(-1))
    assert status == 422 and "in the past" in err["error"]["message"]
    assert state(api, url) == "submitted"
    d = ok(decide(api, url, "approve", approved_until=b.date_str(90)), 201)
    assert d["approved_until"] == b.date_str(90)
    assert ok(api.get(url))["approved_until"] == b.date_str(90)
    status, err = decide(api, url, "suspend", approved_until=b.date_str(10))
    assert status == 422 and "approved_until" in err["error"]["details"]
    # an agreement's approval ends no later than the agreement
    short = agreement_url(api, "DSA-short", end_date=b.date_str(100), review_date=b.date_str(50))
    ok(api.post(f"{short}/submit"))
    status, err = decide(api, short, "approve", approved_until=b.date_str(101))
    assert status == 422 and "no later than 2027-02-10" in err["error"]["message"]
    ok(decide(api, short, "approve"), 201)
    assert ok(api.get(short))["approved_until"] == b.date_str(100)


# --- who may decide ---------------------------------------------------------------------------

def test_only_officers_and_the_dpo_decide(api: Api) -> None:
    url = agreement_url(api)
    ok(api.post(f"{url}/submit"))
    for person in ("sam", "priya", "audrey", "ada"):
        status, err = decide(api, url, "approve", as_=person)
        assert status == 403 and "may not decide" in err["error"]["message"], person
    status, err = decide(api, url, "approve", as_="dee")  # the DPO is not an agreement approver
    assert status == 403 and err["error"]["details"]["roles_needed"] == ["governance_officer"]
    assert state(api, url) == "submitted"
    assert ok(api.get(f"{url}/decisions")) == []


def test_who_built_a_record_cannot_approve_or_reinstate_it(api: Api) -> None:
    url = agreement_url(api, "DSA-olivia", as_="olivia")  # an officer drafts an agreement
    ok(api.post(f"{url}/submit", as_="olivia"))
    status, err = decide(api, url, "approve", as_="olivia")
    assert status == 403 and err["error"]["details"]["rule"] == "separation_of_duties"
    assert "separation of duties" in err["error"]["message"]
    assert ok(decide(api, url, "approve", as_="gus"), 201)["to_state"] == "approved"
    ok(decide(api, url, "suspend", as_="olivia"), 201)  # anyone may stop it
    status, err = decide(api, url, "reinstate", as_="olivia")
    assert status == 403 and err["error"]["details"]["rule"] == "separation_of_duties"
    status, err = decide(api, url, "reinstate", as_="dee")  # not an approver of agreements
    assert status == 403 and err["error"]["details"]["roles_needed"] == ["governance_officer"]
    ok(decide(api, url, "reinstate", as_="gus"), 201)
    decisions = ok(api.get(f"{url}/decisions"))
    olivia = ok(api.get("/api/v1/me", as_="olivia"))["id"]
    assert [d["decision"] for d in decisions if d["actor_id"] == olivia] == ["suspend"]


def test_who_built_the_model_cannot_approve_its_versions(api: Api) -> None:
    ok(api.post("/api/v1/models", as_="olivia", json=b.model("olivias")), 201)
    _, artefact = fitted("gbm")
    data = ok(api.post("/api/v1/datasets", json=b.dataset()), 201)["id"]
    version = ok(b.upload_version(api, "olivias", artefact, {
        "stage": "production", "training_dataset_ids": [data],
        "evaluation_dataset_ids": [data]}), 201)
    url = f"/api/v1/models/olivias/versions/{version['number']}"
    ok(api.post(f"{url}/submit"))
    status, err = decide(api, url, "approve", as_="olivia")
    assert status == 403 and err["error"]["details"]["rule"] == "separation_of_duties"
    status, err = decide(api, url, "approve", as_="gus")  # gus may; the gate then refuses
    assert status == 409 and "unmet" in err["error"]["details"]


@pytest.mark.parametrize("policy_name", ["childrens_services"])
def test_sending_back_closes_the_round_of_approvals(api: Api, policy_name: str) -> None:
    url = agreement_url(api, purposes=["early_help_triage"])
    ok(api.post(f"{url}/submit"))
    assert ok(decide(api, url, "approve"), 201)["to_state"] == "submitted"
    status, err = decide(api, url, "approve")
    assert status == 403 and err["error"]["details"]["rule"] == "one_approval_per_person"
    ok(decide(api, url, "request_changes", as_="dee"), 201)
    ok(api.patch(url, json={"retention": "Deleted after 6 months"}))
    ok(api.post(f"{url}/submit"))
    gate = ok(api.get(f"{url}/gate"))
    approvals = next(r for r in gate["requirements"] if r["id"] == "approvals")
    assert approvals["detail"].startswith("0 of 2")  # the earlier approval no longer counts
    ok(decide(api, url, "approve"), 201)  # olivia again, in the new round
    assert ok(decide(api, url, "approve", as_="dee"), 201)["to_state"] == "approved"


# --- leases, expiry and the cascade -----------------------------------------------------------

def short_agreements(monkeypatch: pytest.MonkeyPatch, end: int, review: int) -> None:
    """Make build_chain's agreement end after `end` days."""
    original = b.agreement

    def agreement(reference: str = "DSA-12", **over: Any) -> dict[str, Any]:
        return original(reference, **{"end_date": b.date_str(end),
                                      "review_date": b.date_str(review), **over})

    monkeypatch.setattr(b, "agreement", agreement)


def test_an_agreement_expires_on_its_date_with_no_job_running(api: Api, clock,
                                                              monkeypatch) -> None:
    short_agreements(monkeypatch, end=100, review=50)
    chain = build_chain(api)
    clock.advance(days=100)  # the agreement's last day
    assert score(api)[0] == 200
    clock.advance(days=1)
    status, body = score(api)
    assert status == 409
    assert body["error"]["message"] == (
        'model "credit-risk" v1 is not servable: dataset "credit-risk-data" is not usable: '
        'agreement "DSA-credit-risk" expired on 2027-02-11; dataset "credit-risk-eval" is not '
        'usable: agreement "DSA-credit-risk" expired on 2027-02-11')
    deps = ok(api.get(f"/api/v1/agreements/{chain.agreement}/dependents"))
    assert deps["datasets"][0]["usable"] is False
    assert deps["model_versions"][0]["servable"] is False
    # no decision was needed for that; the records are still "approved"
    assert state(api, f"/api/v1/agreements/{chain.agreement}") == "approved"


def test_a_dpia_past_its_review_stops_serving_on_that_day(api: Api, clock) -> None:
    chain = build_chain(api)
    status, _ = score(api)
    assert status == 200
    clock.advance(days=201)  # past the DPIA's review date (200 days)
    status, body = score(api)
    assert status == 409 and body["error"]["message"] == (
        'model "credit-risk" v1 is not servable: model "credit-risk" is not usable: '
        'DPIA "DPIA-credit-risk" was due for review on 2027-05-21')
    assert state(api, chain.version_url) == "approved"

    # The review: sent back, its owner revises it, it is approved again, and the DPIA no longer
    # holds serving back (the bias audit, past its own validity by now, still does).
    dpia = f"/api/v1/dpias/{chain.dpia}"
    ok(decide(api, dpia, "request_changes", rationale="Annual review: update the risks"), 201)
    assert state(api, dpia) == "changes_requested"
    ok(api.patch(dpia, json={"review_date": b.date_str(201 + 365)}))
    ok(api.post(f"{dpia}/submit"))
    b.approve(api, dpia)
    assert state(api, dpia) == "approved"
    status, body = score(api)
    assert status == 409 and "DPIA" not in body["error"]["message"]
    assert body["error"]["message"].endswith("audit 1 expired on 2027-05-01")


def test_anything_upstream_suspended_or_retired_stops_serving_at_once(api: Api) -> None:
    chain = build_chain(api)
    assert score(api)[0] == 200
    prefix = 'model "credit-risk" v1 is not servable: '
    upstream = [
        (f"/api/v1/agreements/{chain.agreement}",
         'dataset "credit-risk-data" is not usable: agreement "DSA-credit-risk" is suspended'),
        (f"/api/v1/datasets/{chain.dataset}", 'dataset "credit-risk-data" is suspended'),
        (f"/api/v1/dpias/{chain.dpia}",
         'model "credit-risk" is not usable: DPIA "DPIA-credit-risk" is suspended'),
        ("/api/v1/models/credit-risk", 'model "credit-risk" is suspended'),
        (chain.version_url, 'model "credit-risk" v1 is suspended'),
    ]
    for url, reason in upstream:
        ok(decide(api, url, "suspend", as_="gus"), 201)
        status, body = score(api)
        assert status == 409 and body["error"]["message"].startswith(prefix + reason), url
        ok(decide(api, url, "reinstate", as_="olivia"), 201)
        assert score(api)[0] == 200, url
    ok(decide(api, f"/api/v1/agreements/{chain.agreement}", "retire", as_="gus"), 201)
    status, body = score(api)
    assert status == 409 and body["error"]["message"] == prefix + (
        'dataset "credit-risk-data" is not usable: agreement "DSA-credit-risk" is retired; '
        'dataset "credit-risk-eval" is not usable: agreement "DSA-credit-risk" is retired')
    # the dataset cannot be reinstated onto a retired agreement
    ok(decide(api, f"/api/v1/datasets/{chain.dataset}", "suspend", as_="gus"), 201)
    status, err = decide(api, f"/api/v1/datasets/{chain.dataset}", "reinstate")
    assert status == 409 and [r["id"] for r in err["error"]["details"]["unmet"]] == ["agreement"]
    # summarised in a few lines with links: what to approve upstream first, then its own rows
    summary = err["error"]["details"]["summary"]
    assert summary == [
        {"text": 'Replace agreement "DSA-credit-risk" first: it is retired',
         "href": f"/agreements/{chain.agreement}"},
        {"text": 'Agreement "DSA-credit-risk" is retired: replace agreement "DSA-credit-risk" '
                 "first", "href": f"/datasets/{chain.dataset}#req-agreement"}]


# --- the sweep --------------------------------------------------------------------------------

def test_sweep_records_lapses_as_system_decisions_and_lists_what_expires_soon(
        app, api: Api, clock, monkeypatch) -> None:
    short_agreements(monkeypatch, end=100, review=50)
    chain = build_chain(api)
    runner = app.test_cli_runner()
    clock.advance(days=80)
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert (f'Expires soon: the approval of agreement "DSA-credit-risk" ends on {b.date_str(100)}'
            in result.output)
    assert (f'Expires soon: the agreement end of agreement "DSA-credit-risk" ends on '
            f"{b.date_str(100)}" in result.output)
    assert ("\nLapsed: no records; expiring within 30 days: 2 records; drift monitors overdue: "
            "no monitors; watch alerts raised: no alerts; score inputs erased: no receipts;"
            in result.output)
    clock.advance(days=21)
    assert score(api)[0] == 409  # already unservable before the sweep runs
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert (f'Lapsed: the approval of agreement "DSA-credit-risk" passed on {b.date_str(100)}; '
            f'agreement end of agreement "DSA-credit-risk" passed on {b.date_str(100)}'
            in result.output)
    agreement = f"/api/v1/agreements/{chain.agreement}"
    assert state(api, agreement) == "retired"  # an ended agreement cannot come back
    decision = ok(api.get(f"{agreement}/decisions"))[-1]
    assert decision["decision"] == "retire" and decision["actor_id"] is None
    assert decision["actor_role"] == "system" and decision["policy_name"] == "test"
    _, page = api.get(f"/api/v1/ledger?subject_kind=agreement&subject_id={chain.agreement}",
                      as_="audrey")
    last = page["items"][-1]
    assert last["action"] == "decision:retire" and last["actor"] == "system:gatehouse"
    assert last["change"]["from_state"] == "approved" and last["change"]["to_state"] == "retired"
    assert ok(api.get("/api/v1/ledger/verify", as_="audrey"))["ok"]
    # a second sweep finds nothing new
    result = runner.invoke(args=["sweep"])
    assert "Lapsed: the" not in result.output
    # the DPIA's review, then every lease
    clock.advance(days=100)  # day 201
    result = runner.invoke(args=["sweep"])
    assert (f'Lapsed: the DPIA review of DPIA "DPIA-credit-risk" passed on {b.date_str(200)}'
            in result.output)
    assert state(api, f"/api/v1/dpias/{chain.dpia}") == "suspended"
    clock.advance(days=165)  # day 366: the one-year approvals have lapsed
    result = runner.invoke(args=["sweep"])
    for label in ('dataset "credit-risk-data"', 'model "credit-risk"',
                  'model "credit-risk" v1'):
        assert f"Lapsed: the approval of {label} passed on {b.date_str(365)}" in result.output
    assert state(api, chain.version_url) == "suspended"
    version_decision = ok(api.get(f"{chain.version_url}/decisions"))[-1]
    assert version_decision["decision"] == "suspend" and version_decision["actor_role"] == "system"


def test_sweep_suspends_a_lapsed_approval_which_can_be_renewed(app, api: Api, clock) -> None:
    url = agreement_url(api)
    ok(api.post(f"{url}/submit"))
    ok(decide(api, url, "approve", approved_until=b.date_str(10)), 201)
    clock.advance(days=11)
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert f'Lapsed: the approval of agreement "DSA-1" passed on {b.date_str(10)}' in result.output
    assert state(api, url) == "suspended"
    renewed = ok(decide(api, url, "reinstate", rationale="Renewed for a year"), 201)
    assert renewed["approved_until"] == b.date_str(11 + 365)
    assert state(api, url) == "approved"


# --- what rests on an agreement ---------------------------------------------------------------

def test_dependents_endpoint_and_cli(app, api: Api) -> None:
    chain = build_chain(api)
    url = f"/api/v1/agreements/{chain.agreement}/dependents"
    deps = ok(api.get(url))
    assert deps["datasets"] == [{"id": chain.dataset, "name": "credit-risk-data",
                                 "state": "approved", "usable": True},
                                {"id": chain.evaluation, "name": "credit-risk-eval",
                                 "state": "approved", "usable": True}]
    assert [(v["model"], v["number"], v["state"], v["servable"])
            for v in deps["model_versions"]] == [("credit-risk", 1, "approved", True)]
    assert [(c["name"], c["models"]) for c in deps["clients"]] == [
        ("credit-risk-caseworker-app", ["credit-risk"])]
    ok(decide(api, f"/api/v1/agreements/{chain.agreement}", "suspend", as_="gus"), 201)
    deps = ok(api.get(url))
    assert deps["datasets"][0]["usable"] is False
    assert deps["model_versions"][0]["servable"] is False
    # an agreement nothing rests on
    other = agreement_url(api, "DSA-unused")
    assert ok(api.get(f"{other}/dependents")) == {"datasets": [], "model_versions": [],
                                                   "clients": []}
    assert api.get(url, as_="app")[0] == 403
    assert api.get("/api/v1/agreements/999/dependents")[0] == 404

    runner = app.test_cli_runner()
    result = runner.invoke(args=["dependents", "DSA-credit-risk"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "dataset credit-risk-data (approved)",
        "dataset credit-risk-eval (approved)",
        "model version credit-risk v1 (approved)",
        "client credit-risk-caseworker-app",
    ]
    result = runner.invoke(args=["dependents", "DSA-nope"])
    assert result.exit_code == 2 and "no agreement 'DSA-nope'" in result.output
