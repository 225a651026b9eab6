"""The `gatehouse` console command, run as a real process against a fresh database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from registry.governance.people import hash_token

from .conftest import PG_URL

GATEHOUSE = str(Path(sys.executable).parent / "gatehouse")


def run(tmp_path: Path, *args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "GATEHOUSE_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "cli-test",
    }
    return subprocess.run(
        [GATEHOUSE, *args], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


def test_db_users_clients_and_ledger_verify(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    if PG_URL:  # the CLI builds its own schema; keep it away from the shared test schema
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS clitest CASCADE"))
            conn.execute(text("CREATE SCHEMA clitest"))
        engine.dispose()
        url = PG_URL + "?options=-csearch_path%3Dclitest"
    assert run(tmp_path, "db", "upgrade", url=url).returncode == 0
    org = run(tmp_path, "organisations", "create", "northmere", "--name",
              "Northmere Borough Council", url=url)
    assert org.returncode == 0, org.stderr
    made = run(
        tmp_path,
        "users",
        "create",
        "olivia@northmere.gov.uk",
        "--role",
        "governance_officer",
        "--role",
        "dpo",
        url=url,
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    assert token.startswith("ghu_") and " " not in token
    client = run(
        tmp_path,
        "clients",
        "create",
        "caseworker-app",
        "--model",
        "early-help",
        "--purpose",
        "early_help_triage",
        url=url,
    )
    # No such model: a client that could never be served is refused, naming why.
    assert client.returncode == 2 and "no model named 'early-help'" in client.stderr
    engine = create_engine(url)
    with engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text("SELECT token_hash FROM users"))}
        roles = conn.execute(text("SELECT roles FROM memberships")).scalar_one()
    engine.dispose()
    assert hash_token(token) in stored and token not in stored
    assert "dpo" in str(roles)
    bad = run(tmp_path, "users", "create", "olivia@northmere.gov.uk", "--role", "dpo", url=url)
    assert bad.returncode == 2 and "already" in bad.stderr
    verified = run(tmp_path, "ledger", "verify", url=url)
    assert verified.returncode == 0 and "intact" in verified.stdout
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET action = 'forged' WHERE seq = 2"))
    engine.dispose()
    broken = run(tmp_path, "ledger", "verify", url=url)
    assert broken.returncode == 1 and "entry 2" in broken.stderr
    if PG_URL:
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA clitest CASCADE"))
        engine.dispose()
