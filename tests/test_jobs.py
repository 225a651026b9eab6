"""The job runner: in-process worker threads, Celery on Redis (an in-thread worker and a real
`gatehouse worker` process), and failures recorded with their message."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from registry.governance.actors import SYSTEM
from registry.governance.errors import Unavailable
from registry.jobs import queue as jobs
from registry.records import BiasAudit

from .chain import build_chain, ok
from .conftest import Api, table_counts

BROKER = os.environ.get("GATEHOUSE_TEST_BROKER_URL", "redis://127.0.0.1:6379/13")
GATEHOUSE = str(Path(sys.executable).parent / "gatehouse")


def redis_required() -> None:
    import redis

    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis at {BROKER} ({exc}): start redis-server, or name another with "
                    "GATEHOUSE_TEST_BROKER_URL")


def audits(app: Flask) -> int:
    return table_counts(app)[BiasAudit.__tablename__]


def post_audit(api: Api, url: str, dataset: int, **over: object) -> dict:
    body = {"dataset_id": dataset, **over}
    return ok(api.post(f"{url}/bias-audits", json=body), 202)


def test_worker_threads_run_jobs_in_the_background(app: Flask, api: Api) -> None:
    chain = build_chain(api)
    app.config["JOB_WORKERS"] = 2
    assert jobs.mode(app) == "threads"
    try:
        queued = [post_audit(api, chain.version_url, chain.evaluation),
                  post_audit(api, chain.version_url, chain.evaluation,
                             extra_groupings=["job"]),
                  post_audit(api, chain.version_url, chain.evaluation, positive_label="excellent")]
        assert all(j["state"] in ("queued", "running", "succeeded", "failed") for j in queued)
        done = [jobs.wait(app, j["id"], timeout=120) for j in queued]
        assert [j.state for j in done] == ["succeeded", "succeeded", "failed"]
        assert "never occurs" in str(done[2].params["error_details"])
        assert ok(api.get(f"/api/v1/jobs/{queued[0]['id']}"))["result_kind"] == "bias_audit"
        assert audits(app) == 3  # build_chain's and the two that succeeded
    finally:
        app.extensions["gatehouse"].extras.pop("jobs").shutdown(wait=True)


@pytest.fixture
def celery_worker(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Celery worker in this process (solo pool, in a thread), on a queue of its own."""
    from celery.contrib.testing.worker import start_worker

    from registry.jobs import celery_worker as celery_app

    redis_required()
    queue = f"gatehouse-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setattr(celery_app, "_app", app)
    monkeypatch.setitem(celery_app.celery.conf, "broker_url", BROKER)
    with start_worker(celery_app.celery, pool="solo", perform_ping_check=False, queues=[queue],
                      loglevel="WARNING", shutdown_timeout=30):
        yield queue


def test_celery_runs_jobs_and_records_failures(app: Flask, api: Api,
                                              celery_worker: str) -> None:
    chain = build_chain(api)  # its own audit runs inline, before Celery is switched on
    app.config.update(CELERY_BROKER_URL=BROKER, CELERY_QUEUE=celery_worker)
    assert jobs.mode(app) == "celery"
    job = post_audit(api, chain.version_url, chain.evaluation)
    assert job["state"] == "queued"
    done = jobs.wait(app, job["id"], timeout=120)
    assert done.state == "succeeded" and done.result_kind == "bias_audit", done.error
    audit = ok(api.get(f"/api/v1/bias-audits/{done.result_id}"))
    assert audit["verdict"] == "pass" and audit["sensitive_features"] == [
        "status_sex", "age", "foreign_worker", "sex"]

    before = table_counts(app)
    failing = post_audit(api, chain.version_url, chain.evaluation, positive_label="excellent")
    done = jobs.wait(app, failing["id"], timeout=120)
    assert done.state == "failed" and "no row has credit = 'excellent'" in (done.error or "")
    after = table_counts(app)
    assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {"jobs": 1}


def test_an_unreachable_broker_fails_the_job_at_once(app: Flask) -> None:
    app.config.update(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
    services = app.extensions["gatehouse"]
    with services.sessions() as session, pytest.raises(Unavailable) as refused:
        jobs.enqueue(app, session, SYSTEM, "drift_check", {"monitor_id": 1}, None)
    assert "job queue cannot be reached" in refused.value.message
    job = jobs.wait(app, refused.value.details["job_id"], timeout=1)
    assert job.state == "failed" and "cannot be reached" in (job.error or "")


def shared_master_key(app: Flask, tmp_path: Path) -> Path:
    """The test's keys where a worker configured from the environment finds them."""
    keyring = app.extensions["gatehouse"].store.keyring
    master = tmp_path / "keys" / "master_key"
    master.parent.mkdir(mode=0o700)
    shutil.copy2(keyring.master_path, master)
    shutil.copy2(keyring.keys_path, master.with_name("master_key.data_keys.json"))
    return master


def test_gatehouse_worker_process(app: Flask, api: Api, tmp_path: Path) -> None:
    """`gatehouse worker`, configured from the environment like a deployment, runs the jobs.

    The job is one that fails early (a label that never occurs), so that the process need not
    import the analysis libraries: what is tested is the worker, and the failure's message
    coming back through the database."""
    redis_required()
    chain = build_chain(api)
    queue = f"gatehouse-test-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"],
           "GATEHOUSE_DATA_DIR": app.config["DATA_DIR"],
           "GATEHOUSE_POLICY_DIR": app.config["POLICY_DIR"], "GATEHOUSE_POLICY": "test",
           "SECRET_KEY": "worker-test", "CELERY_BROKER_URL": BROKER,
           "GATEHOUSE_CELERY_QUEUE": queue,
           # the register's keys: the worker reads the data it encrypted
           "GATEHOUSE_MASTER_KEY_FILE": str(shared_master_key(app, tmp_path))}
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([GATEHOUSE, "worker"], env=env, cwd=tmp_path, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        app.config.update(CELERY_BROKER_URL=BROKER, CELERY_QUEUE=queue)
        job = post_audit(api, chain.version_url, chain.evaluation, positive_label="excellent")
        done = jobs.wait(app, job["id"], timeout=180)
        output = (tmp_path / "worker.log").read_text()
        assert done.state == "failed", f"{done.state} {done.error}\n{output[-3000:]}"
        assert "no row has credit = 'excellent'" in (done.error or "")
        assert done.started_at is not None and done.finished_at is not None
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()


def test_a_job_whose_worker_stopped_runs_again_then_is_given_up(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import timedelta

    from registry.jobs import handlers
    from registry.records import Job

    ran: list[dict] = []

    def count_runs(_session, _services, _actor, params):  # type: ignore[no-untyped-def]
        ran.append(params)
        return "nothing", 0

    monkeypatch.setitem(handlers.HANDLERS, "count_runs", count_runs)

    services = app.extensions["gatehouse"]
    now = services.clock.now()
    long_ago, lately = now - jobs.STALE_AFTER - timedelta(minutes=1), now - timedelta(minutes=5)
    started = {"lost": (long_ago, 1), "lost_thrice": (long_ago, jobs.MAX_RUNS),
               "still_going": (lately, 1)}
    with services.sessions() as session:
        for name, (at, runs) in started.items():
            session.add(Job(id=name, kind="count_runs", state="running", created_at=at,
                            started_at=at, params={"name": name, "runs": runs}))
        session.commit()
        dealt_with = jobs.requeue_stale(app, session)
        assert sorted(j.id for j in dealt_with) == ["lost", "lost_thrice"]
        session.expire_all()
        lost, thrice, going = (session.get(Job, name) for name in started)
        assert lost.state == "succeeded" and lost.params["runs"] == 2
        assert ran == [{"name": "lost"}]  # the bookkeeping stays out of the handler's way
        assert thrice.state == "failed" and f"interrupted {jobs.MAX_RUNS} times" in thrice.error
        assert going.state == "running"
