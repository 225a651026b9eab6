"""Serving at the limit: a warm one-row score costs one round trip to the database (two for a
token the process has not seen); a process is warm before its first caller (the first score
loads no model) and says ready only then; an approval is loaded before anyone scores with it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event, select

from registry.platform import db
from registry.platform.db import make_engine, make_sessionmaker
from registry.records import Base, ScoreReceipt
from registry.serving import loaded, tokens, warm

from . import builders as b
from .chain import build_chain, case
from .conftest import Api, forget_process_state

PURPOSE = "credit_risk_research"


class RoundTrips:
    """What reaches the database server: each statement, and on PostgreSQL each BEGIN, COMMIT
    or ROLLBACK the driver sends (one sent in autocommit, or with no transaction open, costs
    nothing). SQLite's BEGINs and COMMITs are calls inside this process, not counted."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.seen = engine, []  # type: tuple[Engine, list[str]]
        self.postgres = engine.dialect.name == "postgresql"

    def _open(self, raw: Any) -> bool:
        from psycopg.pq import TransactionStatus

        return raw.info.transaction_status != TransactionStatus.IDLE

    def _statement(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if self.postgres:
            raw = conn.connection.dbapi_connection
            if not raw.autocommit and not self._open(raw):
                self.seen.append("BEGIN")  # psycopg opens the transaction first
        elif statement.lstrip().upper().startswith("BEGIN"):
            return
        self.seen.append(statement.split()[0].upper())

    def _commit(self, conn: Any) -> None:
        if self.postgres and self._open(conn.connection.dbapi_connection):
            self.seen.append("COMMIT")

    def _rollback(self, conn: Any) -> None:
        if self.postgres and self._open(conn.connection.dbapi_connection):
            self.seen.append("ROLLBACK")

    def _reset(self, raw: Any, *_: Any) -> None:  # the pool's rollback as a connection returns
        if self.postgres and self._open(raw):
            self.seen.append("ROLLBACK")

    def _driver(self, raw: Any, statement: str, _rows: int) -> None:  # past SQLAlchemy
        if self.postgres and not raw.autocommit and not self._open(raw):
            self.seen.append("BEGIN")
        self.seen.append(statement.split()[0].upper())

    def __enter__(self) -> RoundTrips:
        db.observers.append(self._driver)
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)
        event.listen(self.engine.pool, "reset", self._reset)
        return self

    def __exit__(self, *_: Any) -> None:
        db.observers.remove(self._driver)
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)
        event.remove(self.engine.pool, "reset", self._reset)


def score(api: Api, model: str, row: int) -> dict[str, Any]:
    status, body = api.post(f"/api/v1/models/{model}/score", as_="app",
                            json={"purpose": PURPOSE, "features": case(row)})
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def test_a_warm_one_row_score_is_one_round_trip_and_durable(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    engine = app.extensions["gatehouse"].engine
    score(api, chain.model, 0)
    tokens.clear()  # a token this process has not seen yet
    for row, seen in ((1, ["SELECT", "INSERT"]), (2, ["INSERT"]), (3, ["INSERT"])):
        with RoundTrips(engine) as trips:
            body = score(api, chain.model, row)
        # unseen: the token with the ledger's head in one SELECT, then the receipt's INSERT in
        # autocommit; seen: the INSERT alone, which checks the token and the head itself
        assert trips.seen == seen, (row, trips.seen)
        # committed before the answer left: a connection of its own reads it
        with engine.connect() as other:
            stored = other.scalar(select(ScoreReceipt.score).where(
                ScoreReceipt.id == body["results"][0]["receipt_id"]))
        assert stored == body["results"][0]["score"]


def test_the_first_score_after_a_fresh_start_loads_no_model(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    cold = score(api, chain.model, 5)["results"][0]  # loaded on demand, as before
    services = app.extensions["gatehouse"]
    forget_process_state()  # a new process: no model loaded, no verdict cached
    services.extras.clear()
    before = loaded.loads
    warmer = warm.start(services, watch=False)  # what gunicorn.conf.py does at start
    assert warmer.ready and loaded.loads == before + 1 and loaded.count() == 1
    status, ready = api.get("/v2/health/ready", as_=None)
    assert status == 200 and ready == {"ready": True, "models_loaded": 1}

    warm_answer = score(api, chain.model, 5)["results"][0]
    assert loaded.loads == before + 1  # the first score after the start loaded nothing
    for key in ("score", "band", "explanation"):  # the same answer, bit for bit
        assert warm_answer[key] == cold[key], key
    assert warmer.warm() == 0  # the ledger has moved on (the receipt): nothing new to load


def test_not_ready_until_a_pass_completes(app: Flask, api: Api, tmp_path: Path) -> None:
    build_chain(api)
    services = app.extensions["gatehouse"]
    forget_process_state()
    services.extras.clear()
    saved, before = services.sessions, loaded.loads
    blank = make_engine(f"sqlite:///{tmp_path / 'blank.sqlite3'}")
    services.sessions = make_sessionmaker(blank)  # reachable, but not migrated: no pass ends
    try:
        status, body = api.get("/v2/health/ready", as_=None)
        assert status == 503 and "still loading" in body["error"], body
    finally:
        services.sessions = saved
        blank.dispose()
    status, body = api.get("/v2/health/ready", as_=None)  # warms now, then answers
    assert status == 200 and body["models_loaded"] == 1
    assert loaded.loads == before + 1


def test_an_approval_is_loaded_before_its_first_score(app: Flask, api: Api) -> None:
    chain = build_chain(api, approve_version=False)
    services = app.extensions["gatehouse"]
    forget_process_state()
    # only the decision's own wake-up can load it in time, not the watcher's round
    warmer = warm.start(services, interval=3600)
    try:
        assert warmer.ready and loaded.count() == 0  # nothing approved yet
        assert api.post(f"{chain.version_url}/submit")[0] == 200
        b.approve(api, chain.version_url)
        deadline = time.monotonic() + 60
        while loaded.count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert loaded.count() == 1
        loads = loaded.loads
        score(api, chain.model, 0)
        assert loaded.loads == loads
    finally:
        warmer.stop()


def test_gatehouse_serve_runs_gunicorn_with_the_shipped_configuration(tmp_path: Path) -> None:
    """`gatehouse serve` starts gunicorn with gunicorn.conf.py: the master warms and forks, each
    worker warms and watches, and the readiness probe answers."""
    database = tmp_path / "g.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    Base.metadata.create_all(engine)
    engine.dispose()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "x",
           "GATEHOUSE_DATA_DIR": str(tmp_path / "data"), "GATEHOUSE_INSTANCE_PATH": str(tmp_path),
           "GATEHOUSE_JOB_WORKERS": "0", "PYTHONPATH": str(Path(__file__).parent.parent)}
    server = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'gatehouse'; "
         "from registry.app import main; main()", "serve", "--bind", f"127.0.0.1:{port}",
         "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, answer = time.monotonic() + 120, None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", "/v2/health/ready")
                response = connection.getresponse()
                answer = (response.status, response.read())
            except OSError:
                time.sleep(0.2)
        assert answer is not None and answer[0] == 200, answer
        assert json.loads(answer[1]) == {"ready": True, "models_loaded": 0}
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=60)[0].decode()
    assert "Using worker: gthread" in output and "Traceback" not in output, output
