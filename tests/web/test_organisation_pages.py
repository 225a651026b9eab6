"""The pages of a deployment of two councils, in real headless Chromium: a person of both says
which one's DPIA it is; each party suspends its own side of a shared agreement."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from registry.governance.actors import OPERATOR
from registry.records import DPIA, DataSharingAgreement
from registry.usecases import people
from registry.usecases.unit import of_app

from .. import builders as b
from ..chain import ok
from ..conftest import Api
from ..test_organisations import add_eastbrook, shared_agreement
from .live import LiveServer


@pytest.fixture
def page(chrome: Any) -> Iterator[Any]:
    ctx = chrome.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx.new_page()
    ctx.close()


def sign_in(page: Any, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))


def test_a_person_of_two_councils_chooses_whose_dpia_it_is(app: Flask, api: Api,
                                                            page: Any) -> None:
    east = add_eastbrook(app, api)
    unit = of_app(app, OPERATOR)
    eli = people.find_user(unit, ok(api.get("/api/v1/me", as_="eli"))["id"])
    people.add_membership(unit, eli, 1, ["data_scientist"])
    with LiveServer(app) as live:
        sign_in(page, live.url, "eli@eastbrook.gov.uk", "eli-correct-horse")
        page.goto(f"{live.url}/dpias/new")
        page.get_by_label("Reference").fill("DPIA-E1")
        page.get_by_label("Title").fill("Boundary HMO enforcement")
        page.get_by_role("button", name="Start the assessment").click()
        summary = page.locator(".govuk-error-summary")
        assert "Choose the organisation the DPIA belongs to" in summary.inner_text()
        page.get_by_label("Eastbrook District Council").check()
        page.get_by_role("button", name="Start the assessment").click()
        page.wait_for_url(re.compile(r".*/steps/need$"))
    with app.extensions["gatehouse"].sessions() as session:
        made = session.scalars(select(DPIA).where(DPIA.reference == "DPIA-E1")).one()
        assert made.organisation_id == east


def test_one_councils_people_see_no_choice(app: Flask, api: Api, page: Any) -> None:
    add_eastbrook(app, api)
    with LiveServer(app) as live:
        sign_in(page, live.url, "sam@northmere.gov.uk", "sam-correct-horse")
        page.goto(f"{live.url}/dpias/new")
        assert page.get_by_text("Which organisation is it for?").count() == 0


def test_each_party_suspends_its_own_side_from_the_agreement_page(app: Flask, api: Api,
                                                                  page: Any) -> None:
    east = add_eastbrook(app, api)
    shared = ok(api.post("/api/v1/agreements", json=shared_agreement(east)), 201)
    url = f"/api/v1/agreements/{shared['id']}"
    ok(api.post(f"{url}/submit"))
    b.approve(api, url)
    with LiveServer(app) as live:
        sign_in(page, live.url, "erin@eastbrook.gov.uk", "erin-correct-horse")
        page.goto(f"{live.url}/agreements/{shared['id']}")
        assert page.get_by_role("button", name="Suspend our side (provider)").count() == 0
        page.get_by_role("button", name="Suspend our side (recipient)").click()
        assert "Enter the reasons" in page.locator(".govuk-error-summary").inner_text()
        page.get_by_label("Why suspend your side (recipient)?").fill(
            "Our records team has paused receipt while the boundary changes.")
        page.get_by_role("button", name="Suspend our side (recipient)").click()
        assert "is suspended" in page.locator(".govuk-notification-banner").inner_text()
        assert page.get_by_role("button", name="Lift the suspension of our side (recipient)"
                                ).count() == 1
    with app.extensions["gatehouse"].sessions() as session:
        stored = session.get(DataSharingAgreement, shared["id"])
        assert stored is not None
        assert stored.recipient_suspended and not stored.provider_suspended
        assert stored.state == "approved"


def test_a_person_of_two_councils_reaches_each_councils_model_of_one_name(
        app: Flask, api: Api, page: Any) -> None:
    """Dual is Eastbrook's officer and Northmere's auditor; both councils have an "hmo-finder".
    The list links each (naming its organisation); the bare name asks which."""
    add_eastbrook(app, api)
    ok(api.post("/api/v1/models", json=b.model("hmo-finder", title="Northmere HMO finder")), 201)
    ok(api.post("/api/v1/models", as_="eli", json=b.model("hmo-finder",
                                                          title="Eastbrook HMO finder")), 201)
    with LiveServer(app) as live:
        sign_in(page, live.url, "dual@eastbrook.gov.uk", "dual-correct-horse")
        for council in ("Northmere", "Eastbrook"):
            page.goto(f"{live.url}/models")
            page.locator("tr", has_text=f"{council} HMO finder").get_by_role(
                "link", name="hmo-finder").click()
            page.wait_for_url(re.compile(r".*/models/hmo-finder\?organisation=.+"))
            assert f"{council} HMO finder" in page.locator("h1").inner_text()
        response = page.goto(f"{live.url}/models/hmo-finder")
        assert response is not None and response.status == 422
        assert "?organisation=" in page.locator("main").inner_text()
