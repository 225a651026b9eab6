"""Fixtures for the web pages: signed-in test clients and seeded records.

Most page tests only read, so they share one `world` (an app on SQLite with every kind of
record in every interesting state, built once per run); tests that change records get a fresh
app from tests/conftest.py and build what they need.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.app import create_app
from registry.platform.clock import FrozenClock
from registry.records import Base

from ..conftest import START, Api, make_people
from . import seed
from .live import chromium, chromium_missing

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A Flask test client that signs in through the form and posts forms with their token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self._token: str | None = None

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def token(self, url: str = "/sign-in") -> str:
        """A CSRF token of this session (the same session's tokens are all valid)."""
        if self._token is None:
            self._token = self._fetch_token(url)
        return self._token

    def _fetch_token(self, url: str) -> str:
        page = self.client.get(url)
        if page.status_code == 302 and url == "/sign-in":  # signed in: take the sign-out form's
            page = self.client.get("/dashboard")
        found = CSRF.search(page.get_data(as_text=True))
        assert found, f"no CSRF token on {url}"
        return found.group(1)

    def post(self, url: str, data: dict[str, Any] | None = None, *, token_from: str | None = None,
             csrf: bool = True, **kw: Any) -> Any:
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.token(token_from or "/sign-in"))
        return self.client.post(url, data=data, **kw)

    def sign_in(self, name: str) -> Browser:
        response = self.post("/sign-in", {"email": f"{name}@northmere.gov.uk",
                                          "password": seed.PASSWORD.format(name)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        self._token = None  # signing in starts a new session, with a new token
        return self


@pytest.fixture
def browser(app: Flask, api: Api) -> Any:
    """`browser("olivia")` is a client signed in as Olivia; `browser()` is signed out."""
    def make(name: str | None = None) -> Browser:
        b = Browser(app.test_client())
        return b.sign_in(name) if name else b

    return make


@pytest.fixture
def chain(app: Flask, api: Api) -> seed.Chain:
    """A chain whose version 1 is submitted and ready for an officer's approval."""
    return seed.build(app, drift_checks=3)


@pytest.fixture
def live_chain(app: Flask, api: Api) -> seed.Chain:
    """A chain whose version 1 is approved for a pilot and has served scores."""
    return seed.build(app, approve_version=True, receipts=20, drift_checks=4)


@dataclass
class World:
    app: Flask
    submitted: seed.Chain   # credit-risk: version 1 submitted, ready for an officer
    pilot: seed.Chain       # live-model: approved pilot, scores served, a hidden column
    draft_dpia: int         # Sam's DPIA, part-way through its steps


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One app with records in every state the pages show; tests must not change it."""
    from registry.api import schemas as s
    from registry.governance import lifecycle, registration

    from .. import builders as b

    folder = tmp_path_factory.mktemp("web-world")
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(folder / "instance"),
                      "DATABASE_URL": f"sqlite:///{folder / 'world.sqlite3'}",
                      "DATA_DIR": str(folder / "data"), "SECRET_KEY": "test", "JOB_WORKERS": 0},
                     clock=FrozenClock(START))
    services = app.extensions["gatehouse"]
    Base.metadata.create_all(services.engine)
    make_people(services)  # passwords hashed cheaply: see `cheap_passwords`
    submitted = seed.build(app, drift_checks=3)
    pilot = seed.build(app, "live-model", approve_version=True, receipts=20, drift_checks=4,
                       hidden=("telephone",), title="Hardship loan repayment score")
    seed.build(app, "prod-model", approve_version=True, stage="production",
               title="Business rates review")
    seed.build(app, "old-model", approve_version=True, stage="production",
               title="Old HMO finder")
    seed.build(app, "paused-model", approve_version=True, title="Paused triage")
    seed.draft_model(app, "sick-leave", title="Sick leave forecast")
    for name in ("refused-model", "sent-back"):
        seed.draft_model(app, name, title=name.replace("-", " ").title())
    now = services.clock.now()
    with services.sessions() as session:
        sam, olivia = seed.person(session, "sam"), seed.person(session, "olivia")

        def decide(record: Any, decision: str, why: str) -> None:
            lifecycle.decide(session, olivia, record, services.policy, now, decision, why)

        decide(registration.get(session, "model_version", ("old-model", 1)), "retire",
               "Replaced by a new service")
        decide(registration.get(session, "model_version", ("paused-model", 1)), "suspend",
               "Drift found: a private reason")
        for name, decision in (("refused-model", "reject"), ("sent-back", "request_changes")):
            m = registration.get(session, "model", name)
            registration.submit(session, sam, m, now)
            decide(m, decision, "Not this one")
        draft = registration.create(session, sam, "dpia", s.DpiaIn().load(
            b.dpia("DPIA-DRAFT", consultation="", review_date=None)), now)
        session.commit()
        draft_id = draft.id
    yield World(app, submitted, pilot, draft_id)
    services.engine.dispose()


@pytest.fixture
def visit(world: World) -> Any:
    """`visit("olivia")`: a client of the world signed in as Olivia; `visit()`: signed out."""
    def make(name: str | None = None) -> Browser:
        b = Browser(world.app.test_client())
        return b.sign_in(name) if name else b

    return make


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    """Headless Chromium, one per test module."""
    missing = chromium_missing()
    if missing:  # a failure, not a skip: the web pages are not tested without a browser
        pytest.fail(missing)
    with chromium() as browser:
        yield browser
