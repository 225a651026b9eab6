"""Every signed-in page: 200 for those allowed, 302 to sign-in when signed out, 403 when not
allowed; the checklist, decisions and ledger on record pages; decisions and their refusals."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

import pytest
from flask import Flask
from sqlalchemy import delete, select

from registry.records import DataSharingAgreement, DriftCheck, DriftMonitor, ModelVersion, User

from .. import builders as b
from ..conftest import Api
from . import seed
from .conftest import World

ROLES = ("olivia", "sam", "dee", "audrey", "ada")


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def button(page: str, text: str) -> bool:
    return re.search(rf"<button[^>]*>\s*{re.escape(text)}\s*</button>", page) is not None


def pages(world: World) -> list[str]:
    c, p = world.submitted, world.pilot
    return [
        "/dashboard", "/agreements", "/datasets", "/dpias", "/models",
        "/agreements?state=approved", "/models?owner=1&state=draft",
        f"/agreements/{c.agreement_id}", f"/agreements/{c.agreement_id}/impact",
        f"/datasets/{c.dataset_id}", f"/dpias/{c.dpia_id}", f"/dpias/{world.draft_dpia}",
        f"/models/{c.model}", f"/models/{c.model}/versions/1", f"/models/{p.model}",
        f"/models/{p.model}/versions/1", "/models/paused-model/versions/1",
        "/models/old-model/versions/1", "/models/sick-leave",
    ]


# --- reading: the shared world ------------------------------------------------------------------

def test_every_page_opens_for_every_role(visit, world: World) -> None:
    for who in ROLES:
        client = visit(who)
        for url in pages(world) if who in ("olivia", "sam") else pages(world)[:13]:
            response = client.get(url)
            assert response.status_code == 200, (who, url, html(response)[:400])
            assert html(response).count("<h1") == 1, url
            assert "<main" in html(response)


def test_signed_out_visitors_are_sent_to_sign_in(visit, world: World) -> None:
    client = visit()
    for url in [*pages(world), "/ledger", "/dpias/new", f"/dpias/{world.draft_dpia}/steps/need"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in?next="), url
    assert client.get("/").headers["Location"] == "/dashboard"
    posted = client.post("/models/credit-risk/versions/1/decisions",
                         {"decision": "approve", "rationale": "x"})
    assert posted.status_code == 302 and "/sign-in" in posted.headers["Location"]


def test_the_ledger_is_for_officers_and_auditors(visit) -> None:
    assert visit("audrey").get("/ledger").status_code == 200
    page = visit("olivia").get("/ledger")
    assert page.status_code == 200 and "is intact" in html(page)
    # each hash shortened, the full value on hover
    full = re.search(r'<code class="app-hash" title="([0-9a-f]{64})"[^>]*>([0-9a-f]{12})…</code>',
                     html(page))
    assert full and full.group(1).startswith(full.group(2))
    refused = visit("sam").get("/ledger")
    assert refused.status_code == 403 and "You cannot do this" in html(refused)
    assert "govuk-template" in html(refused)  # a GOV.UK page, not JSON


def test_who_may_not_register_cannot_start_or_edit_a_dpia(visit, world: World) -> None:
    assert visit("audrey").get("/dpias/new").status_code == 403
    assert visit("sam").get("/dpias/new").status_code == 200
    step = f"/dpias/{world.draft_dpia}/steps/need"
    assert visit("sam").get(step).status_code == 200
    assert visit("priya").get(step).status_code == 403  # not the owner
    assert visit("audrey").get(step).status_code == 403
    assert visit("sam").get(f"/dpias/{world.submitted.dpia_id}/steps/need").status_code == 409


def test_unknown_records_and_urls_are_html_404s(visit, world: World) -> None:
    client = visit("sam")
    for url in ["/models/nope", "/models/nope/versions/3", "/agreements/99", "/dpias/42",
                "/no/such/page", "/transparency/nope", f"/dpias/{world.draft_dpia}/steps/nine"]:
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Page not found" in html(response), url
    api = world.app.test_client().get("/api/v1/nothing-here")
    assert api.status_code in (401, 404) and api.is_json  # the API still answers JSON


def test_lists_filter_by_state_and_owner(visit, world: World) -> None:
    client = visit("olivia")
    drafts = html(client.get("/models?state=draft"))
    assert "sick-leave" in drafts and ">credit-risk<" not in drafts
    assert re.search(r'value="draft"\s+selected', drafts)
    approved = html(client.get("/models?state=approved"))
    assert ">credit-risk<" in approved and "sick-leave" not in approved
    with world.app.extensions["gatehouse"].sessions() as session:
        ids = {u.email.split("@")[0]: u.id for u in session.scalars(select(User))}
    assert "sick-leave" in html(client.get(f"/models?owner={ids['sam']}"))
    assert "0 records" in html(client.get(f"/models?owner={ids['olivia']}"))
    assert "6 records" in html(client.get("/dpias"))  # five chains and a draft


def test_a_record_page_shows_checklist_decisions_and_ledger(visit, world: World) -> None:
    url = f"/agreements/{world.submitted.agreement_id}"
    page = html(visit("olivia").get(url))
    for requirement in ("legal_basis", "statutory_gateway", "purposes", "dates", "signatories",
                        "approvals"):
        assert f'id="req-{requirement}"' in page
    assert "Decision history" in page and "Checked against the policy" in page
    assert "Audit ledger" in page and "Decision: approve" in page
    hidden = html(visit("sam").get(url))
    assert "Checked against the policy" in hidden  # decisions are open to every reader
    assert "open to governance officers and auditors" in hidden
    assert "Decision: approve" not in hidden


def test_the_version_page_shows_its_checklist_evidence_and_decision_buttons(visit) -> None:
    page = html(visit("olivia").get("/models/credit-risk/versions/1"))
    for requirement in ("model", "artefact", "feature_schema", "datasets", "purpose_permitted",
                        "bias_audit", "drift_monitor", "explanation", "decision_role",
                        "pilot_terms", "approvals"):
        assert f'id="req-{requirement}"' in page, requirement
    assert "Every requirement for approval is met" in page
    assert "<svg" in page and "Selection rate by sex" in page  # the bias audit's chart
    assert "Share of columns drifted at each check" in page  # the drift chart
    assert button(page, "Approve") and button(page, "Request changes") and button(page, "Reject")
    assert not button(page, "Suspend")


def test_a_data_scientist_sees_no_decision_buttons(visit) -> None:
    page = html(visit("sam").get("/models/credit-risk/versions/1"))
    assert not button(page, "Approve") and 'name="decision"' not in page
    assert 'id="decide"' not in page


def test_a_forged_approval_by_a_data_scientist_is_refused(visit, world: World) -> None:
    response = visit("sam").post("/models/credit-risk/versions/1/decisions",
                                 {"decision": "approve", "rationale": "Looks fine"})
    assert response.status_code == 403 and "may not decide" in html(response)
    assert version_state(world.app, "credit-risk") == "submitted"


def version_state(app: Flask, name: str) -> str:
    from registry.records import PredictiveModel

    with app.extensions["gatehouse"].sessions() as session:
        return session.scalars(select(ModelVersion).join(PredictiveModel).where(
            PredictiveModel.name == name)).one().state


def test_a_decision_needs_a_rationale_and_a_real_date(visit, world: World) -> None:
    client, url = visit("olivia"), "/models/credit-risk/versions/1"
    response = client.post(f"{url}/decisions", {"decision": "reject", "rationale": "  "})
    assert response.status_code == 422
    page = html(response)
    assert "govuk-error-summary" in page and 'href="#rationale"' in page
    assert "govuk-textarea--error" in page and "<title>Error:" in page
    bad_day = client.post(f"{url}/decisions", {
        "decision": "approve", "rationale": "ok", "approved_until-day": "31",
        "approved_until-month": "2", "approved_until-year": "2027"})
    assert bad_day.status_code == 422 and 'href="#approved_until-day"' in html(bad_day)
    assert 'value="31"' in html(bad_day)  # what was typed is shown again
    too_late = client.post(f"{url}/decisions", {
        "decision": "approve", "rationale": "ok", "approved_until-day": "1",
        "approved_until-month": "1", "approved_until-year": "2030"})
    assert too_late.status_code == 422 and "no later than" in html(too_late)
    assert version_state(world.app, "credit-risk") == "submitted"


def test_a_decision_not_allowed_in_this_state_is_a_409(visit, world: World) -> None:
    response = visit("olivia").post(f"/agreements/{world.submitted.agreement_id}/decisions",
                                    {"decision": "reinstate", "rationale": "why not"})
    assert response.status_code == 409 and "cannot be given" in html(response)


def test_the_model_page_shows_tier_versions_audit_drift_and_overrides(visit) -> None:
    page = html(visit("olivia").get("/models/live-model"))
    assert "Risk tier 1 of 4" in page
    assert "A score from 0 to 1: higher means more likely to repay. Caseworkers decide." in page
    assert "Version 1</a>" in page and "Pilot until" in page
    assert "Bias audit of version 1" in page and "Figures for each group" in page
    assert re.search(r"20\.0%.*4 of 20 decisions went against the score", page, re.S)
    assert "Drift report of" in page


def test_the_drift_report_opens_in_a_sandbox(visit) -> None:
    client = visit("sam")
    page = html(client.get("/models/live-model/versions/1"))
    link = re.search(r'href="(/models/[^"]+/report)"', page)
    assert link, "no link to the latest drift report"
    report = client.get(link.group(1))
    assert report.status_code == 200 and b"Drift report" in report.data
    assert report.headers["Content-Security-Policy"].startswith("sandbox")
    assert client.get(link.group(1).replace("live-model", "credit-risk")).status_code == 404
    assert client.get(link.group(1).replace("drift-checks/", "drift-checks/99")).status_code == 404


def test_dashboards_differ_by_role(visit) -> None:
    olivia = html(visit("olivia").get("/dashboard"))
    assert "Awaiting your decision" in olivia and "Ready for your decision" in olivia
    assert "Credit risk research score, version 1" in olivia
    # told apart from another of the same title: its name and version, and its owner
    assert "credit-risk v1, owned by Sam" in olivia
    assert "Drift found: a private reason" in olivia  # suspended, and why
    sam = html(visit("sam").get("/dashboard"))
    assert "Awaiting your decision" not in sam
    assert "Sick leave forecast" in sam and "awaiting approval by information governance" in sam
    dee = html(visit("dee").get("/dashboard"))
    assert "Nothing is waiting for your decision" in dee  # a tier-1 model needs no DPO


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


def test_every_form_control_has_a_label(visit, world: World) -> None:
    forms = [
        ("olivia", "/models/credit-risk/versions/1"), ("sam", "/dpias/new"),
        ("olivia", "/agreements"), ("dee", f"/dpias/{world.draft_dpia}"),
        ("olivia", f"/dpias/{world.submitted.dpia_id}"), (None, "/sign-in"),
        *[("sam", f"/dpias/{world.draft_dpia}/steps/{step}")
          for step in ("need", "risks", "measures", "signoff")],
    ]
    clients = {who: visit(who) for who in {w for w, _ in forms}}
    for who, url in forms:
        page = clients[who].get(url)
        assert page.status_code == 200, url
        parser = _Controls()
        parser.feed(html(page))
        assert parser.ids, f"no form controls on {url}"
        assert all(i and i in parser.labels for i in parser.ids), (url, parser.ids)


# --- changing records: a fresh app each ---------------------------------------------------------

def test_an_officer_approves_a_version(app: Flask, browser, chain: seed.Chain) -> None:
    client, url = browser("olivia"), f"/models/{chain.model}/versions/1"
    response = client.post(f"{url}/decisions", {"decision": "approve",
                                                "rationale": "All evidence in.",
                                                "conditions": "Review after 200 cases"})
    assert response.status_code == 302 and response.headers["Location"] == url
    page = html(client.get(url))
    assert "govuk-notification-banner--success" in page and "approved" in page
    assert "All evidence in." in page and "Review after 200 cases" in page
    assert version_state(app, chain.model) == "approved"
    assert button(page, "Suspend") and not button(page, "Approve")


def test_unmet_requirements_refuse_approval_with_an_error_summary(
        app: Flask, browser, chain: seed.Chain) -> None:
    with app.extensions["gatehouse"].sessions() as session:
        session.execute(delete(DriftCheck))
        session.execute(delete(DriftMonitor))
        session.commit()
    client, url = browser("olivia"), f"/models/{chain.model}/versions/1"
    assert "approving will be refused" in html(client.get(url))
    response = client.post(f"{url}/decisions", {"decision": "approve", "rationale": "Try"})
    assert response.status_code == 409
    page = html(response)
    assert "govuk-error-summary" in page and "1 requirement(s) unmet" in page
    assert 'href="#req-drift_monitor"' in page and "no drift monitor is configured" in page
    assert version_state(app, chain.model) == "submitted"


def test_suspending_an_agreement_shows_its_impact(app: Flask, browser, chain: seed.Chain) -> None:
    client, url = browser("olivia"), f"/agreements/{chain.agreement_id}"
    suspend = client.post(f"{url}/decisions", {"decision": "suspend", "rationale": "Revoked"})
    assert suspend.status_code == 302
    with app.extensions["gatehouse"].sessions() as session:
        assert session.get(DataSharingAgreement, chain.agreement_id).state == "suspended"
    impact = html(client.get(f"{url}/impact"))
    assert "German credit applicants" in impact
    assert "Credit risk research score, version 1" in impact and "is suspended" in impact


def test_no_one_approves_what_they_submitted(api: Api, browser) -> None:
    status, body = api.post("/api/v1/agreements", as_="olivia", json=b.agreement("DSA-O"))
    assert status == 201
    api.post(f"/api/v1/agreements/{body['id']}/submit", as_="olivia")
    url = f"/agreements/{body['id']}"
    olivia = browser("olivia")
    own = html(olivia.get(url))
    assert "separation of duties" in own and not button(own, "Approve")
    assert button(html(browser("gus").get(url)), "Approve")
    forged = olivia.post(f"{url}/decisions", {"decision": "approve", "rationale": "mine"})
    assert forged.status_code == 403 and "separation of duties" in html(forged)


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


@pytest.mark.parametrize("policy_name", ["childrens_services"])  # officer and DPO approve
def test_a_round_short_of_people_says_who_else_must_decide(api: Api, browser,
                                                           policy_name: str) -> None:
    status, body = api.post("/api/v1/agreements", as_="sam", json=b.agreement(
        "DSA-CS", purposes=["early_help_triage"]))
    assert status == 201, body
    assert api.post(f"/api/v1/agreements/{body['id']}/submit", as_="sam")[0] == 200
    client, url = browser("olivia"), f"/agreements/{body['id']}"
    response = client.post(f"{url}/decisions", {"decision": "approve", "rationale": "In order"})
    assert response.status_code == 302
    page = html(client.get(url))
    assert ("your approval is recorded. It takes effect once the data protection officer also "
            "approves it.") in page
    assert "approved. The decision" not in page

    # reinstating after a suspension needs both again; the dashboard asks the DPO
    dee = browser("dee")
    assert dee.post(f"{url}/decisions", {"decision": "approve", "rationale": "Agree"}
                    ).status_code == 302
    gus = browser("gus")
    assert gus.post(f"{url}/decisions", {"decision": "suspend", "rationale": "Query from the ICO"}
                    ).status_code == 302
    assert gus.post(f"{url}/decisions", {"decision": "reinstate", "rationale": "Answered"}
                    ).status_code == 302
    page = html(gus.get(url))
    assert "takes effect once the data protection officer also reinstates it" in page
    assert not button(page, "Reinstate")  # gus has given his; only the DPO's place is open
    assert not button(html(browser("olivia").get(url)), "Reinstate")
    assert button(html(dee.get(url)), "Reinstate")
    dashboard = html(dee.get("/dashboard"))
    assert "Reinstatement begun: yours is needed too" in dashboard and "DSA-CS" in dashboard


def test_the_owner_ticks_what_each_purpose_covers_and_the_checklist_tells_the_order(
        app: Flask, api: Api, browser) -> None:
    body = b.agreement("DSA-T", purposes=["credit_risk_research", "service_planning"],
                       stages={"credit_risk_research": ["development", "use"]})
    agreement = api.post("/api/v1/agreements", as_="sam", json=body)[1]["id"]
    url = f"/agreements/{agreement}"
    sam = browser("sam")
    page = unescape(html(sam.get(url)))
    assert 'id="stages-service_planning-use"' in page
    assert button(page, "Save what each purpose covers")
    assert "no stage is stated for 'service_planning'" in page  # the checklist says what is missing
    response = sam.post(f"{url}/stages", {"stages-credit_risk_research": ["development", "use"],
                                          "stages-service_planning": ["use", "fairness_audit"]},
                        token_from=url)
    assert response.status_code == 302
    with app.extensions["gatehouse"].sessions() as session:
        assert session.get(DataSharingAgreement, agreement).stages == {
            "credit_risk_research": ["development", "use"],
            "service_planning": ["use", "fairness_audit"]}
    # an officer reads the table but cannot tick it; the owner cannot once it is submitted
    assert 'name="stages-' not in html(browser("olivia").get(url))
    api.post(f"/api/v1/agreements/{agreement}/submit", as_="sam")
    assert 'name="stages-' not in html(sam.get(url))
    refused = sam.post(f"{url}/stages", {"stages-service_planning": ["use"]}, token_from=url)
    assert refused.status_code == 409 and "govuk-error-summary" in html(refused)

    # a dataset under the submitted agreement waits on it, and its page says so first
    dataset = api.post("/api/v1/datasets", as_="sam", json=b.dataset(
        "t-data", agreement_ids=[agreement]))[1]["id"]
    page = unescape(html(sam.get(f"/datasets/{dataset}")))
    assert "Waiting on, in this order" in page
    assert 'Approve agreement "DSA-T" first: it is awaiting approval.' in page
