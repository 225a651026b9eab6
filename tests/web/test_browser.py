"""End to end in real headless Chromium (Debian's package) against a real server on 127.0.0.1.

Fails, saying how to install it, where /usr/bin/chromium is absent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from registry.records import DriftMonitor, ModelVersion, PredictiveModel

from . import seed
from .conftest import World
from .live import LiveServer


@pytest.fixture
def server(app: Flask, chain: seed.Chain) -> Iterator[LiveServer]:
    """A fresh app, for the test that changes records."""
    with LiveServer(app) as live:
        yield live


@pytest.fixture(scope="module")
def world_server(world: World) -> Iterator[LiveServer]:
    """The shared world, for tests whose every change is refused."""
    with LiveServer(world.app) as live:
        yield live


@pytest.fixture
def context(chrome: Any) -> Iterator[Any]:
    ctx = chrome.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


def sign_in(page: Any, server: LiveServer, who: str) -> None:
    page.goto(f"{server.url}/dashboard")
    assert "/sign-in" in page.url  # signed out: sent to sign in
    page.get_by_label("Email address").fill(f"{who}@northmere.gov.uk")
    page.get_by_label("Password", exact=True).fill(seed.PASSWORD.format(who))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/dashboard$"))


def version_state(app: Flask, name: str = "credit-risk") -> str:
    with app.extensions["gatehouse"].sessions() as session:
        return session.scalars(select(ModelVersion).join(PredictiveModel).where(
            PredictiveModel.name == name)).one().state


def test_an_officer_reviews_approves_and_the_model_reaches_the_public_register(
        app: Flask, server: LiveServer, context: Any) -> None:
    public = context.browser.new_page()
    public.goto(f"{server.url}/transparency")
    assert public.get_by_role("link", name="Credit risk research score").is_visible()
    row = public.locator("tr", has=public.get_by_role("link", name="Credit risk research score"))
    assert "Planned" in row.inner_text()

    page = context.new_page()
    sign_in(page, server, "olivia")
    awaiting = page.locator("#awaiting + table, #awaiting ~ div table").first
    assert "Ready for your decision" in awaiting.inner_text()
    page.get_by_role("link", name="Credit risk research score, version 1").click()
    page.wait_for_url(re.compile(r".*/models/credit-risk/versions/1$"))

    checklist = page.locator("#checklist ~ table").first
    for requirement in ("Bias audit", "Drift monitor", "Explanations", "Pilot terms"):
        assert "Met" in checklist.locator("tr", has_text=requirement).inner_text()
    assert "Not met" in checklist.locator("tr", has_text="Approvals").inner_text()

    page.get_by_label("Rationale").fill("Checklist complete; bias audit passed on sex.")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_url(re.compile(r".*/models/credit-risk/versions/1$"))
    banner = page.locator(".govuk-notification-banner--success")
    assert "approved" in banner.inner_text()
    expect(banner).to_be_in_viewport()
    assert page.locator("h1 + p .govuk-tag").inner_text().strip() == "Approved"
    assert version_state(app) == "approved"

    public.goto(f"{server.url}/transparency")
    row = public.locator("tr", has=public.get_by_role("link", name="Credit risk research score"))
    assert "In pilot" in row.inner_text()
    public.get_by_role("link", name="Credit risk research score").click()
    assert public.locator("h1").inner_text() == "Credit risk research score"
    assert "Checklist complete" not in public.content()  # the rationale stays internal


def test_a_data_scientist_has_no_approve_button_and_a_forged_post_is_refused(
        world: World, world_server: LiveServer, context: Any) -> None:
    server = world_server
    page = context.new_page()
    sign_in(page, server, "sam")
    page.goto(f"{server.url}/models/credit-risk/versions/1")
    assert page.get_by_role("heading", name="Gate checklist").is_visible()
    assert page.get_by_role("button", name="Approve").count() == 0
    assert page.locator("form[action$='/decisions']").count() == 0

    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = page.request.post(
        f"{server.url}/models/credit-risk/versions/1/decisions",
        form={"csrf_token": token, "decision": "approve", "rationale": "I built it; it is fine"},
        max_redirects=0)
    assert forged.status == 403
    assert "may not decide" in forged.text()
    assert version_state(world.app) == "submitted"


def test_a_form_sent_without_its_csrf_token_is_refused(world: World, world_server: LiveServer,
                                                      context: Any) -> None:
    server = world_server
    page = context.new_page()
    sign_in(page, server, "olivia")
    page.goto(f"{server.url}/models/credit-risk/versions/1")
    page.get_by_label("Rationale").fill("Approving without a token")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    page.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "The form could not be accepted"
    assert version_state(world.app) == "submitted"


def test_keyboard_users_can_skip_to_the_content_and_reach_the_form(
        world_server: LiveServer, context: Any) -> None:
    server = world_server
    page = context.new_page()
    page.goto(f"{server.url}/sign-in")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "email"
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()  # waits for the new page
    # govuk-frontend's script moves focus to the summary once it has initialised. (Playwright's
    # own assertions, not wait_for_function, whose polling the pages' CSP forbids as eval.)
    expect(page.locator(".govuk-error-summary")).to_be_focused(timeout=10_000)
    page.get_by_role("link", name="Enter your email address").click()
    expect(page.locator("#email")).to_be_focused(timeout=10_000)


@pytest.fixture
def live_server(app: Flask, live_chain: seed.Chain) -> Iterator[LiveServer]:
    """A fresh app whose version is in use, for changes proposed to its evidence."""
    with LiveServer(app) as live:
        yield live


def test_an_officer_accepts_a_proposed_change_from_the_dashboard(
        app: Flask, live_server: LiveServer, context: Any) -> None:
    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        version = seed.version_of(session)
        proposed = seed.new_monitor(session, version, seed.person(session, "sam"),
                                    services.clock.now(), action="alert", every_receipts=10_000)
        session.commit()
        anchor = f"proposal-drift_monitor-{proposed.id}"

    page = context.new_page()
    sign_in(page, live_server, "olivia")
    page.get_by_role("link", name="Accept or decline the proposed change").click()
    page.wait_for_url(re.compile(r".*/models/credit-risk/versions/1#proposals$"))
    changes = page.locator(f"#{anchor} + table")
    assert "alert the officers" in changes.locator("tr", has_text="On a breach").inner_text()
    page.locator(f"#{anchor}-rationale").fill("Alerts are enough for a capped pilot.")
    page.get_by_role("button", name="Accept", exact=True).click()
    page.wait_for_url(re.compile(r".*/models/credit-risk/versions/1#proposals$"))
    assert "accepted and is now in force" in page.locator(
        ".govuk-notification-banner--success").inner_text()
    # the page was asked for at #proposals, far down: the banner is still in view
    expect(page.locator(".govuk-notification-banner--success")).to_be_in_viewport()
    expect(page.locator("#proposals + p")).to_contain_text("No change to this version")
    with services.sessions() as session:
        assert session.get(DriftMonitor, proposed.id).status == "in_force"  # type: ignore[union-attr]
