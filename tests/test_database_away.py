"""A PostgreSQL server of this test's own is stopped under load and started again: every answer
meanwhile is 200 or 503 with Retry-After (never a 500), and the service recovers without a
restart."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from glob import glob
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine

from registry.app import create_app
from registry.platform.clock import FrozenClock
from registry.records import Base

from .conftest import START


def _as_postgres(*command: str) -> list[str]:
    # initdb refuses to run as root: the server runs as the postgres user, as packaged.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


class OwnPostgres:
    def __init__(self) -> None:
        found = sorted(glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        assert found, "PostgreSQL's server binaries are needed (Debian: postgresql)"
        self.bin = Path(found[-1]).parent
        self.folder = Path(tempfile.mkdtemp(prefix="gatehouse-pg-", dir="/tmp"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        subprocess.run(_as_postgres(str(self.bin / "initdb"), "-D", str(self.folder / "data"),
                                    "-A", "trust", "-U", "postgres"),
                       check=True, capture_output=True)
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-w", "-l",
            str(self.folder / "log"), "-o",
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1", *args),
            check=True, capture_output=True)

    def remove(self) -> None:
        subprocess.run(_as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
                                    "-m", "immediate", "stop"), capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    server.pg_ctl("start")
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def app_on(own_postgres: OwnPostgres, tmp_path: Path, policy_dir: Path) -> Iterator[Flask]:
    engine = create_engine(own_postgres.url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE_URL": own_postgres.url, "DATA_DIR": str(tmp_path / "data"),
                      "SECRET_KEY": "test", "JOB_WORKERS": 0, "POLICY_DIR": str(policy_dir),
                      "POLICY": "test"}, clock=FrozenClock(START))
    yield app
    app.extensions["gatehouse"].engine.dispose()


def _token(app: Flask) -> str:
    from registry.governance import people
    from registry.governance.actors import OPERATOR

    services = app.extensions["gatehouse"]
    with services.sessions() as session:
        org = people.ensure_organisation(session, OPERATOR, "Northmere", services.clock.now())
        _, token = people.create_user(session, OPERATOR, {
            "email": "olivia@northmere.gov.uk", "name": "Olivia",
            "roles": ["governance_officer"], "organisation_id": org.id},
            services.clock.now(), password="olivia-correct-horse")
        session.commit()
    return token


def test_a_stopped_database_answers_503_under_load_and_recovers(app_on: Flask,
                                                                own_postgres: OwnPostgres) -> None:
    headers = {"Authorization": f"Bearer {_token(app_on)}"}
    assert app_on.test_client().get("/api/v1/agreements", headers=headers).status_code == 200
    seen: Counter[int] = Counter()
    retry_after: set[str | None] = set()
    stop = threading.Event()

    def load() -> None:
        client = app_on.test_client()
        deadline = time.monotonic() + 60  # bounded whatever happens
        while not stop.is_set() and time.monotonic() < deadline:
            response = client.get("/api/v1/agreements", headers=headers)
            seen[response.status_code] += 1
            if response.status_code == 503:
                retry_after.add(response.headers.get("Retry-After"))
                assert response.get_json()["error"]["code"] == "unavailable"

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    own_postgres.pg_ctl("-m", "fast", "stop")
    time.sleep(1.5)
    page = app_on.test_client().get("/transparency")  # a web page, while it is away
    own_postgres.pg_ctl("start")
    time.sleep(1.0)
    stop.set()
    for worker in workers:
        worker.join()

    assert set(seen) <= {200, 503}, seen
    assert seen[503] > 0 and seen[200] > 0, seen
    assert retry_after == {"5"}
    assert page.status_code == 503 and page.headers["Retry-After"] == "5"
    assert "briefly unavailable" in page.get_data(as_text=True)
    # Recovered without a restart: the pool was replaced on the first failure.
    assert app_on.test_client().get("/api/v1/agreements", headers=headers).status_code == 200
