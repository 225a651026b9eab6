"""Fixtures for the web pages: signed-in test clients and seeded records."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ..conftest import Api
from . import seed

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A Flask test client that signs in through the form and posts forms with their token."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, **kw)

    def token(self, url: str = "/sign-in") -> str:
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
        return self


@pytest.fixture
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt costs a quarter of a second a password; these tests sign in dozens of times."""
    from werkzeug.security import generate_password_hash

    from registry.governance import people

    monkeypatch.setattr(people, "generate_password_hash",
                        lambda password: generate_password_hash(password, "pbkdf2:sha256:1"))


@pytest.fixture
def api(fast_hashing: None, api: Api) -> Api:
    """The people of tests/conftest.py, with passwords hashed cheaply."""
    return api


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
