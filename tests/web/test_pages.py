"""Every signed-in page: 200 for those allowed, 302 to sign-in when signed out, 403 when not
allowed; the checklist, decisions and ledger on record pages; decisions and their refusals."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask import Flask
from sqlalchemy import delete, select

from registry.records import DataSharingAgreement, DriftCheck, DriftMonitor, ModelVersion

from .. import builders as b
from ..conftest import Api
from . import seed


def pages(chain: seed.Chain) -> list[str]:
    return [
        "/dashboard", "/agreements", "/datasets", "/dpias", "/models",
        "/agreements?state=approved", "/models?owner=1", f"/agreements/{chain.agreement_id}",
        f"/agreements/{chain.agreement_id}/impact", f"/datasets/{chain.dataset_id}",
        f"/dpias/{chain.dpia_id}", f"/models/{chain.model}",
        f"/models/{chain.model}/versions/{chain.version}",
    ]


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def button(page: str, text: str) -> bool:
    return re.search(rf"<button[^>]*>\s*{re.escape(text)}\s*</button>", page) is not None


def test_every_page_opens_for_every_role(browser, chain: seed.Chain) -> None:
    for who in ("olivia", "sam", "dee", "audrey", "ada"):
        b = browser(who)
        for url in pages(chain):
            response = b.get(url)
            assert response.status_code == 200, (who, url, html(response)[:400])
            assert html(response).count("<h1") == 1, url


def test_signed_out_visitors_are_sent_to_sign_in(browser, chain: seed.Chain) -> None:
    b = browser()
    for url in [*pages(chain), "/ledger", "/dpias/new", f"/dpias/{chain.dpia_id}/steps/need"]:
        response = b.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in?next="), url
    assert b.get("/").headers["Location"] == "/dashboard"


def test_posts_from_signed_out_visitors_are_sent_to_sign_in(browser, chain: seed.Chain) -> None:
    b = browser()
    response = b.post(f"/models/{chain.model}/versions/1/decisions",
                      {"decision": "approve", "rationale": "x"})
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_ledger_is_for_officers_and_auditors(browser, chain: seed.Chain) -> None:
    assert browser("audrey").get("/ledger").status_code == 200
    page = browser("olivia").get("/ledger")
    assert page.status_code == 200 and "The chain of" in html(page)
    refused = browser("sam").get("/ledger")
    assert refused.status_code == 403 and "You cannot do this" in html(refused)
    assert "govuk-template" in html(refused)  # a GOV.UK page, not JSON


def test_who_may_not_register_cannot_start_a_dpia(browser, api: Api) -> None:
    assert browser("audrey").get("/dpias/new").status_code == 403
    assert browser("sam").get("/dpias/new").status_code == 200


def test_unknown_records_and_urls_are_html_404s(browser, api: Api) -> None:
    b = browser("sam")
    for url in ["/models/nope", "/models/nope/versions/3", "/agreements/99", "/dpias/42",
                "/no/such/page", "/transparency/nope"]:
        response = b.get(url)
        assert response.status_code == 404, url
        assert "Page not found" in html(response), url


def test_the_api_still_answers_json_for_unknown_urls(app: Flask) -> None:
    response = app.test_client().get("/api/v1/nothing-here")
    assert response.status_code in (401, 404)
    assert response.is_json


def test_lists_filter_by_state_and_owner(app: Flask, browser, chain: seed.Chain) -> None:
    seed.draft_model(app, "sick-leave", title="Sick leave forecast")
    b = browser("olivia")
    drafts = html(b.get("/models?state=draft"))
    assert "sick-leave" in drafts and "credit-risk" not in drafts
    approved = html(b.get("/models?state=approved"))
    assert "credit-risk" in approved and "sick-leave" not in approved
    with app.extensions["gatehouse"].sessions() as session:
        sam = seed.person(session, "sam").user_id
        olivia = seed.person(session, "olivia").user_id
    assert "sick-leave" in html(b.get(f"/models?owner={sam}"))
    assert "1 record" not in html(b.get(f"/models?owner={olivia}"))
    assert "0 records" in html(b.get(f"/models?owner={olivia}"))
    assert 'value="draft" selected' in drafts


def test_a_record_page_shows_checklist_decisions_and_ledger(browser, chain: seed.Chain) -> None:
    page = html(browser("olivia").get(f"/agreements/{chain.agreement_id}"))
    for requirement in ("legal_basis", "statutory_gateway", "purposes", "dates", "signatories",
                        "approvals"):
        assert f'id="req-{requirement}"' in page
    assert "Decision history" in page and "Checked against the policy" in page
    assert "Audit ledger" in page and "Decision: approve" in page
    hidden = html(browser("sam").get(f"/agreements/{chain.agreement_id}"))
    assert "Checked against the policy" in hidden  # decisions are open to every reader
    assert "open to governance officers and auditors" in hidden and "Decision: approve" not in hidden


def test_the_version_page_shows_its_checklist_and_evidence(browser, chain: seed.Chain) -> None:
    page = html(browser("olivia").get(f"/models/{chain.model}/versions/1"))
    for requirement in ("model", "artefact", "feature_schema", "datasets", "purpose_permitted",
                        "bias_audit", "drift_monitor", "explanation", "decision_role",
                        "pilot_terms", "approvals"):
        assert f'id="req-{requirement}"' in page, requirement
    assert "Every requirement for approval is met" in page
    assert "<svg" in page and "Selection rate by sex" in page  # bias audit chart
    assert "Share of columns drifted at each check" in page  # drift chart
    assert button(page, "Approve") and button(page, "Request changes")


def test_a_data_scientist_sees_no_decision_buttons(browser, chain: seed.Chain) -> None:
    page = html(browser("sam").get(f"/models/{chain.model}/versions/1"))
    assert not button(page, "Approve") and 'name="decision"' not in page
    assert 'id="decide"' not in page


def test_a_forged_approval_by_a_data_scientist_is_refused(app: Flask, browser,
                                                          chain: seed.Chain) -> None:
    b = browser("sam")
    url = f"/models/{chain.model}/versions/1"
    response = b.post(f"{url}/decisions", {"decision": "approve", "rationale": "Looks fine"},
                      token_from=url)
    assert response.status_code == 403
    assert "may not decide" in html(response)
    assert state_of(app, ModelVersion, chain) == "submitted"


def state_of(app: Flask, cls: type, chain: seed.Chain) -> str:
    with app.extensions["gatehouse"].sessions() as session:
        if cls is ModelVersion:
            return session.scalars(select(ModelVersion)).first().state  # type: ignore[union-attr]
        return session.get(cls, chain.agreement_id).state  # type: ignore[union-attr]


def test_an_officer_approves_a_version(app: Flask, browser, chain: seed.Chain) -> None:
    b = browser("olivia")
    url = f"/models/{chain.model}/versions/1"
    response = b.post(f"{url}/decisions", {"decision": "approve", "rationale": "All evidence in.",
                                           "conditions": "Review after 200 cases"},
                      token_from=url)
    assert response.status_code == 302 and response.headers["Location"] == url
    page = html(b.get(url))
    assert "govuk-notification-banner--success" in page and "approved" in page
    assert "All evidence in." in page and "Review after 200 cases" in page
    assert state_of(app, ModelVersion, chain) == "approved"
    assert button(page, "Suspend") and not button(page, "Approve")


def test_a_decision_needs_a_rationale(app: Flask, browser, chain: seed.Chain) -> None:
    b = browser("olivia")
    url = f"/models/{chain.model}/versions/1"
    response = b.post(f"{url}/decisions", {"decision": "reject", "rationale": "  "},
                      token_from=url)
    assert response.status_code == 422
    page = html(response)
    assert "govuk-error-summary" in page and 'href="#rationale"' in page
    assert "govuk-textarea--error" in page
    assert state_of(app, ModelVersion, chain) == "submitted"


def test_a_bad_valid_until_date_is_named(browser, chain: seed.Chain) -> None:
    b = browser("olivia")
    url = f"/models/{chain.model}/versions/1"
    response = b.post(f"{url}/decisions", {"decision": "approve", "rationale": "ok",
                                           "valid_until-day": "31", "valid_until-month": "2",
                                           "valid_until-year": "2027"}, token_from=url)
    assert response.status_code == 422 and 'href="#valid_until-day"' in html(response)
    late = b.post(f"{url}/decisions", {"decision": "approve", "rationale": "ok",
                                       "valid_until-day": "1", "valid_until-month": "1",
                                       "valid_until-year": "2030"}, token_from=url)
    assert late.status_code == 422 and "no later than" in html(late)


def test_unmet_requirements_refuse_approval_with_an_error_summary(
        app: Flask, browser, chain: seed.Chain) -> None:
    with app.extensions["gatehouse"].sessions() as session:
        session.execute(delete(DriftCheck))
        session.execute(delete(DriftMonitor))
        session.commit()
    b = browser("olivia")
    url = f"/models/{chain.model}/versions/1"
    page = html(b.get(url))
    assert "approving will be refused" in page
    response = b.post(f"{url}/decisions", {"decision": "approve", "rationale": "Try"},
                      token_from=url)
    assert response.status_code == 409
    page = html(response)
    assert "govuk-error-summary" in page and "1 requirement(s) unmet" in page
    assert 'href="#req-drift_monitor"' in page and "no drift monitor is configured" in page
    assert state_of(app, ModelVersion, chain) == "submitted"


def test_a_decision_not_allowed_in_this_state_is_a_409(app: Flask, browser,
                                                       chain: seed.Chain) -> None:
    b = browser("olivia")
    url = f"/agreements/{chain.agreement_id}"
    response = b.post(f"{url}/decisions", {"decision": "reinstate", "rationale": "why not"},
                      token_from=url)
    assert response.status_code == 409 and "cannot be given" in html(response)
    suspend = b.post(f"{url}/decisions", {"decision": "suspend", "rationale": "Revoked"},
                     token_from=url)
    assert suspend.status_code == 302
    assert state_of(app, DataSharingAgreement, chain) == "suspended"
    impact = html(b.get(f"{url}/impact"))
    assert "German credit applicants" in impact and "Credit risk research score, version 1" in impact
    assert "is suspended" in impact


def test_no_one_approves_what_they_submitted(app: Flask, api: Api, browser) -> None:
    status, body = api.post("/api/v1/agreements", as_="olivia", json=b.agreement("DSA-O"))
    assert status == 201
    api.post(f"/api/v1/agreements/{body['id']}/submit", as_="olivia")
    url = f"/agreements/{body['id']}"
    own = html(browser("olivia").get(url))
    assert "separation of duties" in own and not button(own, "Approve")
    assert button(html(browser("gus").get(url)), "Approve")
    forged = browser("olivia").post(f"{url}/decisions", {"decision": "approve",
                                                         "rationale": "mine"}, token_from=url)
    assert forged.status_code == 403 and "separation of duties" in html(forged)


def test_the_model_page_shows_tier_versions_audit_drift_and_overrides(
        browser, live_chain: seed.Chain) -> None:
    page = html(browser("olivia").get(f"/models/{live_chain.model}"))
    assert "Risk tier 1 of 4" in page
    assert "A score from 0 to 1: higher means more likely to repay. Caseworkers decide." in page
    assert "Version 1</a>" in page and "Pilot until" in page
    assert "Bias audit of version 1" in page and "Figures for each group" in page
    assert re.search(r"20\.0%.*4 of 20 decisions went against the score", page, re.S)
    assert "Drift report of" in page


def test_the_drift_report_opens_in_a_sandbox(browser, live_chain: seed.Chain) -> None:
    b = browser("sam")
    page = html(b.get(f"/models/{live_chain.model}/versions/1"))
    link = re.search(r'href="(/models/[^"]+/report)"', page)
    assert link, "no link to the latest drift report"
    report = b.get(link.group(1))
    assert report.status_code == 200 and b"Drift report" in report.data
    assert report.headers["Content-Security-Policy"].startswith("sandbox")
    wrong = link.group(1).replace("/versions/1/", "/versions/2/")
    assert b.get(wrong).status_code == 404
    assert b.get(link.group(1).replace("drift-checks/", "drift-checks/999")).status_code == 404


def test_dashboards_differ_by_role(app: Flask, browser, chain: seed.Chain) -> None:
    seed.draft_model(app, "sick-leave", title="Sick leave forecast")
    olivia = html(browser("olivia").get("/dashboard"))
    assert "Awaiting your decision" in olivia
    assert "Credit risk research score, version 1" in olivia and "Ready for your decision" in olivia
    sam = html(browser("sam").get("/dashboard"))
    assert "Awaiting your decision" not in sam
    assert "Sick leave forecast" in sam and "awaiting approval by information governance" in sam
    dee = html(browser("dee").get("/dashboard"))
    assert "Nothing is waiting for your decision" in dee  # a tier-1 model needs no DPO


def test_the_dashboard_lists_what_ends_soon_and_what_stopped(app: Flask, browser,
                                                             live_chain: seed.Chain) -> None:
    services = app.extensions["gatehouse"]
    services.clock.advance(days=40)  # the pilot ends 60 days after the start
    page = html(browser("olivia").get("/dashboard"))
    assert "pilot end (1 January 2027)" in page and "In 20 days" in page
    services.clock.advance(days=30)
    page = html(browser("olivia").get("/dashboard"))
    assert re.search(r"v1 is not servable: the (approval|pilot) of .* (lapsed|ended) on 2027-01-0",
                     page.replace("&#34;", '"'))


class _Controls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "textarea", "select") and a.get("type") not in ("hidden", "submit"):
            self.ids.append(a.get("id") or "")
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"] or "")


FORMS = [
    ("olivia", "/models/credit-risk/versions/1"), ("sam", "/dpias/new"),
    ("olivia", "/agreements"), ("dee", "/dpias/{approved}"), ("sam", "/dpias/{draft}/steps/risks"),
    ("sam", "/dpias/{draft}/steps/measures"), ("sam", "/dpias/{draft}/steps/signoff"),
    ("sam", "/dpias/{draft}/steps/need"), (None, "/sign-in"),
]


def test_every_form_control_has_a_label(app: Flask, browser, chain: seed.Chain) -> None:
    draft = _draft_dpia(app)
    clients = {who: browser(who) for who in {w for w, _ in FORMS}}
    for who, url in FORMS:
        url = url.format(approved=chain.dpia_id, draft=draft)
        page = clients[who].get(url)
        assert page.status_code == 200, url
        parser = _Controls()
        parser.feed(html(page))
        assert parser.ids, f"no form controls on {url}"
        assert all(i and i in parser.labels for i in parser.ids), (url, parser.ids)


def _draft_dpia(app: Flask) -> int:
    from registry.api import schemas as s
    from registry.governance import registration

    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        p = registration.create(session, seed.person(session, "sam"), "dpia",
                                s.DpiaIn().load(b.dpia("DPIA-DRAFT")), services.clock.now())
        session.commit()
        return p.id
