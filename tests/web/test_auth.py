"""Signing in and out, session cookie settings, safe redirects and CSRF on every form."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from registry.app import create_app


def test_sign_in_page_is_public_and_carries_a_csrf_token(visit) -> None:
    page = visit().get("/sign-in")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="csrf_token"' in html and 'for="email"' in html and 'for="password"' in html
    assert 'lang="en"' in html and "Skip to main content" in html


def test_signing_in_sets_a_hardened_session_cookie(visit) -> None:
    b = visit()
    response = b.post("/sign-in", {"email": "olivia@northmere.gov.uk",
                                   "password": "olivia-correct-horse"})
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    cookie = next(v for k, v in response.headers.items()
                  if k == "Set-Cookie" and v.startswith("gatehouse_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # TESTING: plain http on 127.0.0.1
    assert b.get("/dashboard").status_code == 200


def test_cookies_are_secure_outside_tests_unless_the_env_flag_says_otherwise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def make() -> Flask:
        return create_app({"INSTANCE_PATH": str(tmp_path / "i"), "SECRET_KEY": "x",
                           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
                           "DATA_DIR": str(tmp_path / "d"), "JOB_WORKERS": 0})

    monkeypatch.delenv("GATEHOUSE_INSECURE_COOKIES", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    secure = make()
    assert secure.config["SESSION_COOKIE_SECURE"] is True
    assert secure.config["SESSION_COOKIE_HTTPONLY"] is True
    assert secure.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    monkeypatch.setenv("GATEHOUSE_INSECURE_COOKIES", "1")
    assert make().config["SESSION_COOKIE_SECURE"] is False


def test_a_wrong_password_shows_an_error_summary(visit) -> None:
    response = visit().post("/sign-in", {"email": "olivia@northmere.gov.uk",
                                           "password": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "govuk-error-summary" in html and "Enter a correct email address and password" in html
    assert "<title>Error: Sign in" in html


def test_missing_fields_are_named(visit) -> None:
    response = visit().post("/sign-in", {"email": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'href="#email"' in html and 'href="#password"' in html


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_next_never_leaves_the_site(visit, target: str) -> None:
    response = visit().post("/sign-in", {"email": "sam@northmere.gov.uk",
                                           "password": "sam-correct-horse", "next": target})
    assert response.headers["Location"] == "/dashboard"


def test_next_returns_to_the_page_asked_for(visit) -> None:
    b = visit()
    first = b.get("/models?state=draft")
    assert first.status_code == 302 and "/sign-in?next=" in first.headers["Location"]
    response = b.post("/sign-in", {"email": "sam@northmere.gov.uk",
                                   "password": "sam-correct-horse", "next": "/models?state=draft"})
    assert response.headers["Location"] == "/models?state=draft"


def test_sign_out_ends_the_session(visit) -> None:
    b = visit("sam")
    token = b.token("/dashboard")
    response = b.post("/sign-out", {"csrf_token": token})
    assert response.status_code == 200 and "You have signed out" in response.get_data(as_text=True)
    assert b.get("/dashboard").status_code == 302


def test_a_deactivated_user_is_signed_out(app: Flask, browser) -> None:
    b = browser("sam")
    with app.extensions["gatehouse"].sessions() as session:
        from sqlalchemy import update

        from registry.records import User

        session.execute(update(User).where(User.email == "sam@northmere.gov.uk")
                        .values(active=False))
        session.commit()
    assert b.get("/dashboard").status_code == 302


@pytest.mark.parametrize("url", ["/sign-in", "/sign-out", "/dpias/new"])
def test_a_form_posted_without_its_csrf_token_is_refused(visit, url: str) -> None:
    b = visit("sam")
    response = b.post(url, {"email": "sam@northmere.gov.uk", "password": "sam-correct-horse",
                            "reference": "DPIA-X", "title": "T"}, csrf=False)
    assert response.status_code == 400
    assert "The form could not be accepted" in response.get_data(as_text=True)
    assert b.get("/dashboard").status_code == 200  # still signed in: nothing happened


def test_a_token_from_another_session_is_refused(visit) -> None:
    stolen = visit("olivia").token("/dashboard")
    b = visit("sam")
    response = b.post("/dpias/new", {"reference": "DPIA-X", "title": "T",
                                     "csrf_token": stolen})
    assert response.status_code == 400


def test_pages_send_safe_headers(visit) -> None:
    response = visit("sam").get("/dashboard")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    nonce = policy.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.get_data(as_text=True)


def test_a_copied_cookie_stops_working_after_sign_out(app: Flask, browser) -> None:
    b = browser("sam")
    cookie = b.client.get_cookie("gatehouse_session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("gatehouse_session", cookie.value)
    assert thief.get("/dashboard").status_code == 200  # the copy works while Sam is signed in
    assert b.post("/sign-out", token_from="/dashboard").status_code == 200
    assert thief.get("/dashboard").status_code == 302  # and not after Sam signs out
    assert browser("sam").get("/dashboard").status_code == 200  # signing in again works
