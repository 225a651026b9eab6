"""A DPIA filled in step by step through the pages, with the DPO's advice and the officer's
answer, using the API's field names and validation."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from registry.records import DPIA

from ..builders import OLIVIA_ID
from ..conftest import Api
from . import seed


def html(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def stored(app: Flask) -> DPIA:
    with app.extensions["gatehouse"].sessions() as session:
        p = session.scalars(select(DPIA).order_by(DPIA.id.desc())).first()
        assert p is not None
        _ = (p.risks, p.models, p.datasets)
        return p


def test_a_dpia_is_written_step_by_step_advised_and_answered(app: Flask, api: Api,
                                                             browser) -> None:
    seed.draft_model(app, "hmo-finder", title="Hidden HMO finder")
    sam = browser("sam")
    start = sam.post("/dpias/new", {"reference": "DPIA-2026-09", "title": "Hidden HMO finder",
                                    "model_names": "hmo-finder"}, token_from="/dpias/new")
    assert start.status_code == 302
    base = start.headers["Location"].rsplit("/steps/", 1)[0]
    assert start.headers["Location"].endswith("/steps/need")

    texts = {"need": "Profiling of landlords' properties: screening says a DPIA is needed.",
             "processing": "Council tax and licensing records are matched by address.",
             "consultation": "Private sector housing team, the DPO and two landlord groups.",
             "necessity": "Public task (Housing Act 2004 Part 2); data minimised to 12 fields."}
    following = {"need": "processing", "processing": "consultation",
                 "consultation": "necessity", "necessity": "risks"}
    for slug, text in texts.items():
        url = f"{base}/steps/{slug}"
        page = html(sam.get(url))
        assert f'<textarea class="govuk-textarea" id="{slug}" name="{slug}"' in page
        saved = sam.post(url, {slug: text, "action": "continue"}, token_from=url)
        assert saved.status_code == 302 and saved.headers["Location"].endswith(
            f"/steps/{following[slug]}")

    risks = f"{base}/steps/risks"
    added = sam.post(risks, {"risks-new-description": "Tenants' addresses could identify people",
                             "risks-new-likelihood": "2", "risks-new-severity": "3",
                             "action": "add"}, token_from=risks)
    assert added.status_code == 302 and added.headers["Location"].endswith("/steps/risks#new-risk")
    page = html(sam.get(risks))
    assert "Tenants&#39; addresses could identify people" in page
    assert "<strong>high</strong>" in page
    done = sam.post(risks, {"risks-0-description": "Tenants' addresses could identify people",
                            "risks-0-likelihood": "2", "risks-0-severity": "3",
                            "risks-new-description": "Inspectors over-trust the score",
                            "risks-new-likelihood": "1", "risks-new-severity": "2",
                            "action": "continue"}, token_from=risks)
    assert done.headers["Location"].endswith("/steps/measures")

    measures = f"{base}/steps/measures"
    saved = sam.post(measures, {
        "risks-0-measure": "Addresses never leave the council; outputs are street-level",
        "risks-0-effect": "reduced", "risks-0-residual_likelihood": "1",
        "risks-0-residual_severity": "2",
        "risks-1-measure": "Training; the score is one factor", "risks-1-effect": "reduced",
        "risks-1-residual_likelihood": "1", "risks-1-residual_severity": "1",
        "action": "continue"}, token_from=measures)
    assert saved.headers["Location"].endswith("/steps/signoff")

    signoff = f"{base}/steps/signoff"
    offered = html(sam.get(signoff))
    # the officers and the DPO of the organisation are offered to sign; no data scientist
    assert all(f'>{who}</option>' in offered for who in ("Olivia", "Gus", "Dee"))
    assert ">Sam</option>" not in offered
    bad = sam.post(signoff, {"measures_approved_by_id": str(OLIVIA_ID),
                             "review_date-day": "31", "review_date-month": "13",
                             "review_date-year": "2027"}, token_from=signoff)
    assert bad.status_code == 422 and 'href="#review_date-day"' in html(bad)
    assert 'value="31"' in html(bad)  # what was typed is shown again
    not_a_signer = sam.post(signoff, {"measures_approved_by_id": "1",  # Sam, data scientist
                                      "action": "continue"}, token_from=signoff)
    assert not_a_signer.status_code == 422
    assert "is not a governance officer or DPO" in html(not_a_signer)
    assert stored(app).measures_approved_by_id is None  # nothing stored
    saved = sam.post(signoff, {"measures_approved_by_id": str(OLIVIA_ID),
                               "residual_risk_approved_by_id": str(OLIVIA_ID),
                               "review_date-day": "1", "review_date-month": "6",
                               "review_date-year": "2027", "action": "continue"},
                     token_from=signoff)
    assert saved.status_code == 302 and saved.headers["Location"] == base

    p = stored(app)
    assert p.need == texts["need"] and p.necessity == texts["necessity"]
    assert [(r.likelihood, r.severity, r.residual_level) for r in p.risks] == [
        (2, 3, "low"), (1, 2, "low")]
    assert str(p.review_date) == "2027-06-01" and p.model_names == ["hmo-finder"]
    assert p.measures_approved_by_id == p.residual_risk_approved_by_id == OLIVIA_ID

    page = html(sam.get(base))
    assert page.count("Completed") == 7  # every step of the task list
    assert "no advice from the DPO yet" in page

    # the DPO advises; the data scientist may not; the officer answers with reasons
    dee = browser("dee")
    assert sam.post(f"{base}/advice", {"advice": "x"}, token_from=base).status_code == 403
    advised = dee.post(f"{base}/advice", {"advice": "Go ahead; never publish street maps."},
                       token_from=base)
    assert advised.status_code == 302
    olivia = browser("olivia")
    missing = olivia.post(f"{base}/advice-response", {"accepted": "no"}, token_from=base)
    assert missing.status_code == 422 and 'href="#reason"' in html(missing)
    answered = olivia.post(f"{base}/advice-response",
                           {"accepted": "no", "reason": "Street maps are already public data."},
                           token_from=base)
    assert answered.status_code == 302
    page = html(olivia.get(base))
    assert "Advice overruled" in page and "Street maps are already public data." in page
    assert "Go ahead; never publish street maps." in page

    # submitted, it is ready for the officer: every requirement is met
    submitted = sam.post(f"{base}/submit", {}, token_from=base)
    assert submitted.status_code == 302
    page = html(olivia.get(base))
    assert "Every requirement for approval is met" in page
    assert re.search(r"<button[^>]*>\s*Approve\s*</button>", page)
    assert stored(app).state == "submitted"
    assert sam.get(f"{base}/steps/need").status_code == 409  # no longer editable


def test_a_risk_scored_outside_one_to_three_is_refused(app: Flask, api: Api, browser) -> None:
    sam = browser("sam")
    start = sam.post("/dpias/new", {"reference": "DPIA-R", "title": "R"},
                     token_from="/dpias/new")
    url = start.headers["Location"].replace("/steps/need", "/steps/risks")
    bad = sam.post(url, {"risks-new-description": "A risk", "risks-new-likelihood": "7",
                         "risks-new-severity": "1"}, token_from=url)
    assert bad.status_code == 422
    assert 'href="#risks-0-likelihood"' in html(bad)
    assert "Risk 1, likelihood: choose 1, 2 or 3" in html(bad)
    assert stored(app).risks == []


def test_new_dpia_needs_a_reference_and_title_and_a_unique_reference(app: Flask, api: Api,
                                                                    browser) -> None:
    sam = browser("sam")
    empty = sam.post("/dpias/new", {"reference": "", "title": ""}, token_from="/dpias/new")
    assert empty.status_code == 422
    assert 'href="#reference"' in html(empty) and 'href="#title"' in html(empty)
    assert sam.post("/dpias/new", {"reference": "D-1", "title": "One"},
                    token_from="/dpias/new").status_code == 302
    clash = sam.post("/dpias/new", {"reference": "D-1", "title": "Two"},
                     token_from="/dpias/new")
    assert clash.status_code == 409 and "already used" in html(clash)


def test_only_the_owner_edits_a_draft(app: Flask, api: Api, browser) -> None:
    start = browser("sam").post("/dpias/new", {"reference": "D-2", "title": "Two"},
                                token_from="/dpias/new")
    url = start.headers["Location"]
    assert browser("priya").get(url).status_code == 403
    refused = browser("priya").post(url, {"need": "mine now"}, token_from="/dashboard")
    assert refused.status_code == 403
    assert browser("audrey").get(url).status_code == 403
    assert stored(app).need == ""
