"""Sign-in resists guessing: growing delays and a lockout per account, a limit per address, and
passwords people commonly choose refused; the CLI never takes a password on its command line."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from registry.governance import passwords, people, sign_in
from registry.governance.actors import OPERATOR
from registry.governance.errors import Invalid
from registry.platform.clock import FrozenClock
from registry.records import User

from .conftest import Api
from .test_cli import GATEHOUSE
from .web.conftest import Browser

RIGHT = "olivia-correct-horse"  # conftest's `api` fixture gives olivia this password


@pytest.mark.parametrize("password,ok", [
    ("short", False), ("password", False), ("Password1234!", False), ("qwertyuiop123", False),
    ("123456789012", False), ("olivia@northmere.gov.uk", False),
    ("mangle-teapot-orbit", True), ("sam-correct-horse", True), ("x" * 1001, False),
])
def test_passwords_follow_the_ncsc(password: str, ok: bool) -> None:
    assert (passwords.problems(password, "olivia@northmere.gov.uk") == []) is ok


def test_a_user_cannot_be_created_with_a_common_password(app: Flask) -> None:
    services = app.extensions["gatehouse"]
    with services.sessions() as session, pytest.raises(Invalid) as refused:
        people.create_user(session, OPERATOR, {"email": "kim@northmere.gov.uk",
                                               "roles": ["dpo"]}, services.clock.now(),
                           password="a")
    assert "12 characters" in refused.value.details["password"][0]


def test_wrong_passwords_grow_the_wait_then_lock_until_an_admin_unlocks(
        app: Flask, api: Api, clock: FrozenClock) -> None:
    services = app.extensions["gatehouse"]
    email = "olivia@northmere.gov.uk"

    def attempt(password: str) -> sign_in.Attempt:
        with services.sessions() as session:
            result = sign_in.attempt(session, email, password, clock.now())
            session.commit()
            return result

    waits = []
    for failures in range(1, sign_in.LOCK_AFTER):
        wrong = attempt("wrong-password-x")
        assert wrong.user is None and not wrong.locked
        if failures >= sign_in.FREE_FAILURES:
            waiting = attempt(RIGHT)  # the right password is not even checked during a wait
            assert waiting.user is None and waiting.wait is not None
            waits.append(waiting.wait)
            clock.advance(seconds=waiting.wait.total_seconds())
    assert waits == [timedelta(seconds=2 ** i) for i in range(7)]
    final = attempt("wrong-password-x")
    assert final.locked and final.user is None
    clock.advance(days=2)
    assert attempt(RIGHT).locked  # time alone does not lift a lockout

    status, body = api.post("/api/v1/users/3/unlock", as_="sam")
    assert status == 403
    olivia = api.get("/api/v1/me")[1]
    assert olivia["locked_at"] is not None
    unlocked = api.post(f"/api/v1/users/{olivia['id']}/unlock", as_="ada")
    assert unlocked[0] == 200 and unlocked[1]["locked_at"] is None
    assert attempt(RIGHT).user is not None
    entries = api.get("/api/v1/ledger?subject_kind=user&per_page=200", as_="audrey")[1]["items"]
    assert [e["action"] for e in entries if e["action"] in ("lock", "unlock")] == \
        ["lock", "unlock"]


def test_the_sign_in_page_says_to_wait_and_then_that_the_account_is_locked(
        app: Flask, api: Api, clock: FrozenClock) -> None:
    browser = Browser(app.test_client())
    form = {"email": "olivia@northmere.gov.uk", "password": "wrong-password-x"}
    statuses = []
    for _ in range(sign_in.FREE_FAILURES + 1):
        statuses.append(browser.post("/sign-in", form).status_code)
    assert statuses == [401] * sign_in.FREE_FAILURES + [429]
    page = browser.post("/sign-in", {**form, "password": RIGHT})
    assert page.status_code == 429 and "Wait 1 second" in page.get_data(as_text=True)


def test_wrong_sign_ins_from_one_address_are_limited_across_accounts(app: Flask,
                                                                     api: Api) -> None:
    browser = Browser(app.test_client())
    names = ["sam", "priya", "olivia", "gus", "dee", "audrey", "ada"]
    answers = [browser.post("/sign-in", {"email": f"{names[i % len(names)]}@northmere.gov.uk",
                                         "password": f"guess-number-{i}"}).status_code
               for i in range(11)]
    assert answers[:10] == [401] * 10 and answers[10] == 429
    # Right passwords are not counted: a busy office signing in is not throttled.
    for _ in range(12):
        office = app.test_client()
        office.environ_base["REMOTE_ADDR"] = "10.0.0.7"
        assert Browser(office).post("/sign-in", {"email": "sam@northmere.gov.uk",
                                                 "password": "sam-correct-horse"}
                                    ).status_code == 302


def test_the_cli_reads_a_password_from_a_file_or_the_environment_never_argv(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {**os.environ, "DATABASE_URL": url, "GATEHOUSE_DATA_DIR": str(tmp_path / "data"),
           "SECRET_KEY": "cli-test"}

    def run(*args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([GATEHOUSE, *args], env={**env, **extra}, input=stdin,
                              capture_output=True, text=True, timeout=120, cwd=tmp_path)

    assert run("db", "upgrade").returncode == 0
    old_way = run("users", "create", "kim@x.gov.uk", "--role", "dpo", "--password", "a")
    assert old_way.returncode != 0 and "No such option" in old_way.stderr
    weak = run("users", "create", "kim@x.gov.uk", "--role", "dpo", "--password-file", "-",
               stdin="password1\n")
    assert weak.returncode == 2 and "password" in weak.stderr
    (tmp_path / "pw").write_text("mangle-teapot-orbit\n")
    made = run("users", "create", "kim@x.gov.uk", "--role", "dpo", "--password-file",
               str(tmp_path / "pw"))
    assert made.returncode == 0, made.stderr
    env_made = run("users", "create", "lee@x.gov.uk", "--role", "dpo",
                   GATEHOUSE_NEW_PASSWORD="orbit-mangle-teapot")
    assert env_made.returncode == 0, env_made.stderr
    unlocked = run("users", "unlock", "kim@x.gov.uk")
    assert unlocked.returncode == 0 and "unlocked kim@x.gov.uk" in unlocked.stdout
    assert run("users", "unlock", "nobody@x.gov.uk").returncode == 2


def test_user_rows_count_failures_from_zero(app: Flask, api: Api) -> None:
    with app.extensions["gatehouse"].sessions() as session:
        assert {u.failed_sign_ins for u in session.query(User)} == {0}
