"""Decisions on a version's evidence from its page: a proposed change to the drift monitor, shown
field by field, accepted or declined by an officer who may; a drift alert acknowledged item by
item; the officer's dashboard listing both. Refusals re-show the page naming the field."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from registry.governance import evidence, gaps
from registry.records import DriftMonitor, ModelVersion

from . import seed
from .test_pages import _Controls, button, html

URL = "/models/credit-risk/versions/1"
WEAKER = {"action": "alert", "columns": {"numerical": ["duration"], "categorical": []},
          "every_receipts": 10_000}


def in_session(app: Flask, work: Any) -> Any:
    """Run `work(session, version, now)` on the credit-risk version and commit."""
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        result = work(session, seed.version_of(session), services.clock.now())
        session.commit()
        return result


def propose(app: Flask, **over: Any) -> int:
    return in_session(app, lambda s, v, now: seed.new_monitor(
        s, v, seed.person(s, "sam"), now, **(over or WEAKER)).id)


def alert(app: Flask, *columns: str) -> int:
    return in_session(app, lambda s, v, now: seed.drift_alert(s, v, columns, now).id)


def owned_by(app: Flask, name: str) -> None:
    def give(session: Any, version: ModelVersion, now: Any) -> None:
        version.owner_id = seed.person(session, name).user_id
    in_session(app, give)


def monitor_status(app: Flask, monitor_id: int) -> str:
    with app.extensions["gatehouse"].sessions() as session:
        return session.get(DriftMonitor, monitor_id).status  # type: ignore[union-attr]


def labelled(page: str) -> bool:
    parser = _Controls()
    parser.feed(page)
    return all(i and i in parser.labels for i in parser.ids)


# --- proposed changes ---------------------------------------------------------------------------

def test_a_proposal_reads_field_by_field_and_only_who_may_settle_sees_the_form(
        app: Flask, browser, live_chain: seed.Chain) -> None:
    monitor_id = propose(app)
    action = f'action="{URL}/proposals/drift_monitor/{monitor_id}"'
    page = html(browser("olivia").get(URL))
    assert 'id="proposals"' in page and "A new drift monitor, proposed by Sam" in page
    for words in ("On a breach", "suspend the version", "alert the officers",
                  "every 10,000 receipts", "every 500 receipts", "1 column: duration"):
        assert words in page, words
    assert action in page and button(page, "Accept") and button(page, "Decline")
    assert labelled(page)
    assert action in html(browser("gus").get(URL))
    for who in ("sam", "priya", "dee"):  # the proposer, another data scientist, the DPO
        other = html(browser(who).get(URL))
        assert "alert the officers" in other and action not in other, who
    owned_by(app, "gus")
    gus = html(browser("gus").get(URL))
    assert action not in gus and "you built this version or proposed it" in gus


def test_an_officer_accepts_a_proposal_from_the_page(app: Flask, browser,
                                                     live_chain: seed.Chain) -> None:
    old = in_session(app, lambda s, v, now: evidence.in_force_monitor(s, v).id)
    monitor_id = propose(app)
    client, settle = browser("olivia"), f"{URL}/proposals/drift_monitor/{monitor_id}"
    response = client.post(settle, {"decision": "accept", "rationale": "Alerting is enough."})
    assert response.status_code == 302 and response.headers["Location"] == f"{URL}#proposals"
    page = html(client.get(URL))
    assert "govuk-notification-banner--success" in page
    assert "the proposed drift monitor was accepted and is now in force" in page
    assert "No change to this version" in page
    assert "Proposed change accepted" in page and "Alerting is enough." in page
    assert f"On drift monitor {monitor_id}, in place of drift monitor {old}" in page
    assert (monitor_status(app, monitor_id), monitor_status(app, old)) == (
        "in_force", "superseded")
    again = client.post(settle, {"decision": "decline", "rationale": "Changed my mind."})
    assert again.status_code == 409 and "not awaiting a decision" in html(again)
    assert monitor_status(app, monitor_id) == "in_force"


def test_settling_needs_a_choice_a_reason_a_token_and_an_officer(
        app: Flask, browser, live_chain: seed.Chain) -> None:
    monitor_id = propose(app)
    settle, anchor = (f"{URL}/proposals/drift_monitor/{monitor_id}",
                      f"proposal-drift_monitor-{monitor_id}")
    olivia = browser("olivia")
    blank = olivia.post(settle, {"decision": "accept", "rationale": "  "})
    assert blank.status_code == 422
    page = html(blank)
    assert "govuk-error-summary" in page and f'href="#{anchor}-rationale"' in page
    assert "Enter the reasons for your decision" in page and "govuk-textarea--error" in page
    unchosen = olivia.post(settle, {"rationale": "Fine by me"})
    assert unchosen.status_code == 422 and f'href="#{anchor}-decision"' in html(unchosen)
    assert "Fine by me</textarea>" in html(unchosen)  # what was typed is shown again
    assert olivia.post(settle, {"decision": "accept", "rationale": "x"},
                       csrf=False).status_code == 400
    refused = browser("sam").post(settle, {"decision": "accept", "rationale": "Mine is fine"})
    assert refused.status_code == 403 and "may not decide" in html(refused)
    dpo = browser("dee").post(settle, {"decision": "accept", "rationale": "Agreed"})
    assert dpo.status_code == 403 and "only a governance officer" in html(dpo)
    assert olivia.post(f"{URL}/proposals/drift_monitor/{monitor_id + 50}",
                       {"decision": "accept", "rationale": "x"}).status_code == 404
    assert olivia.post(f"{URL}/proposals/nonsense/{monitor_id}",
                       {"decision": "accept", "rationale": "x"}).status_code == 404
    assert monitor_status(app, monitor_id) == "proposed"
    declined = browser("gus").post(settle, {"decision": "decline", "rationale": "Keep suspend."})
    assert declined.status_code == 302 and monitor_status(app, monitor_id) == "declined"


# --- gaps ---------------------------------------------------------------------------------------

def test_an_officer_acknowledges_an_alert_item_by_item(app: Flask, browser,
                                                       live_chain: seed.Chain) -> None:
    check = alert(app, "duration", "credit_amount")
    anchor = f"gap-drift_alert-drift_check-{check}"
    form = {"requirement": "drift_alert", "evidence": f"drift_check:{check}"}
    olivia = browser("olivia")
    page = html(olivia.get(URL))
    assert f'id="{anchor}"' in page and f"Drift alert, found in drift check {check}" in page
    assert "Still to acknowledge: duration, credit_amount" in page
    assert 'name="items" type="checkbox" value="credit_amount"' in page
    assert button(page, "Acknowledge the selected items") and labelled(page)
    for who in ("sam", "dee"):
        other = html(browser(who).get(URL))
        assert "Still to acknowledge" in other and 'name="items"' not in other, who

    nothing = olivia.post(f"{URL}/waivers", {**form, "rationale": "Looked into it"})
    assert nothing.status_code == 422
    assert f'href="#{anchor}-items"' in html(nothing)
    assert "Looked into it</textarea>" in html(nothing)  # what was typed is shown again
    unexplained = olivia.post(f"{URL}/waivers", {**form, "items": ["duration"]})
    assert unexplained.status_code == 422 and f'href="#{anchor}-rationale"' in html(unexplained)
    assert re.search(r'value="duration"\s+checked', html(unexplained))
    wrong = olivia.post(f"{URL}/waivers", {**form, "items": ["age"], "rationale": "Fine"})
    assert wrong.status_code == 422
    assert "Items: outstanding: drift_check" in html(wrong)
    assert f'href="#{anchor}-items"' in html(wrong)
    assert browser("dee").post(f"{URL}/waivers", {**form, "items": ["duration"],
                                                  "rationale": "Fine"}).status_code == 403
    assert olivia.post(f"{URL}/waivers", {**form, "items": ["duration"], "rationale": "Fine"},
                       csrf=False).status_code == 400

    done = olivia.post(f"{URL}/waivers", {**form, "items": ["duration"],
                                          "rationale": "A migration batch, not live cases."})
    assert done.status_code == 302 and done.headers["Location"] == f"{URL}#gaps"
    page = html(olivia.get(URL))
    assert "duration acknowledged. The decision is recorded" in page
    assert "Waivers and acknowledgements recorded" in page
    assert "A migration batch, not live cases." in page
    assert f"Drift alert in drift check {check}: duration" in page
    assert "Still to acknowledge: credit_amount; already acknowledged: duration" in page
    with app.extensions["gatehouse"].sessions() as session:
        [gap] = gaps.open_alerts(session, seed.version_of(session),
                                 app.extensions["gatehouse"].policy)
        assert gap.outstanding == ["credit_amount"]


# --- the dashboard ------------------------------------------------------------------------------

def test_the_dashboard_lists_proposals_and_gaps_for_officers_who_may_decide(
        app: Flask, browser, live_chain: seed.Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    propose(app)
    audit = in_session(app, lambda s, v, now: evidence.ref(evidence.in_force_audit(s, v)))

    def small_groups(session: Any, v: ModelVersion, policy: Any) -> list[gaps.Gap]:
        return [gaps.Gap("small_groups", audit, ("age 65–129",),
                         frozenset(evidence.waived(session, v, "small_groups", audit)),
                         "too few people to assess: age 65–129", "merge or waive them")]

    monkeypatch.setitem(gaps.FINDERS, "small_groups", small_groups)
    page = html(browser("olivia").get("/dashboard"))
    assert "Evidence changes and gaps to decide" in page
    assert "drift monitor proposed by Sam on 2 November 2026" in page
    assert f'href="{URL}#proposals">Accept or decline the proposed change<' in page
    assert "Small groups: age 65–129" in page and f'href="{URL}#gaps"' in page
    assert "Evidence changes and gaps to decide" not in html(browser("sam").get("/dashboard"))
    owned_by(app, "gus")  # what Gus built is for another officer
    assert "No proposed change or gap in the evidence awaits your decision" in html(
        browser("gus").get("/dashboard"))
