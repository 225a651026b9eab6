"""Background work: in-process worker threads by default; Celery on Redis when configured.

A job is a row first (so its state can be asked for), then runs in its own session:
queued → running → succeeded | failed. Where it runs:

- ``CELERY_BROKER_URL`` set: sent to Celery (``gatehouse worker`` runs it, on any host);
- else ``JOB_WORKERS`` > 0: a thread pool in this process;
- else at once, in the caller's thread (tests, and the CLI when asked).

A failure rolls back everything the job wrote and records the message (and any field-by-field
details) on the job: no half-written audit or check. A handler may commit only before it has
written anything (to end a read transaction while it computes). A kind of job may also say what
its failure means elsewhere (``handlers.FAILURE_HOOKS``: a drift check that cannot run marks its
monitor failing); that is written after the job's own failure, in a transaction of its own.
"""

from __future__ import annotations

import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..governance.actors import SYSTEM, Actor
from ..governance.errors import Unavailable
from ..platform.services import Services
from ..records import Job
from .runner import record_failure_elsewhere, run_job

log = logging.getLogger("gatehouse.jobs")
FINISHED = ("succeeded", "failed")
# A job running for longer than this has lost its worker (the longest, a drift check on 100k
# rows, takes seconds); it runs at most MAX_RUNS times in all.
STALE_AFTER = timedelta(minutes=30)
MAX_RUNS = 3


def mode(app: Flask) -> str:
    """Where jobs run: "celery", "threads" or "inline"."""
    if app.config.get("CELERY_BROKER_URL"):
        return "celery"
    return "threads" if app.config.get("JOB_WORKERS", 0) > 0 else "inline"


def enqueue(app: Flask, session: Session, actor: Actor, kind: str, params: dict[str, Any],
            organisation_id: int | None, *, inline: bool = False) -> Job:
    """Record the job, commit, and hand it to Celery or the worker pool (or run it now).

    The job is the organisation's whose record it works on: it runs scoped to it, and only
    that organisation's people see it. ``inline`` runs it now in this thread whatever the
    configuration. The returned job shows
    the state it had when this returned.
    """
    services: Services = app.extensions["gatehouse"]
    job = Job(id=str(uuid.uuid4()), kind=kind, state="queued", params=params,
              created_by_id=actor.user_id, organisation_id=organisation_id,
              created_at=services.clock.now())
    session.add(job)
    session.commit()
    _hand_over(app, session, job, "inline" if inline else mode(app))
    return job


def _hand_over(app: Flask, session: Session, job: Job, how: str) -> None:
    """Send a committed, queued job to where it runs (see :func:`mode`)."""
    services: Services = app.extensions["gatehouse"]
    if how == "celery":
        from . import celery_worker  # Celery is loaded only where it is configured

        try:
            celery_worker.dispatch(app, job.id)
        except Exception as exc:  # the broker is down: say so, and leave no job waiting forever
            message = f"the job queue cannot be reached: {type(exc).__name__}: {exc}"
            job.state, job.error, job.finished_at = "failed", message, services.clock.now()
            session.commit()
            raise Unavailable(message, {"job_id": job.id}) from exc
    elif how == "threads":
        _pool(app).submit(run_job, app, job.id)
    else:
        run_job(app, job.id)
        session.refresh(job)


def requeue_stale(app: Flask, session: Session) -> list[Job]:
    """Jobs whose worker stopped mid-run, found by running for longer than ``STALE_AFTER``.

    A worker process that dies (a restart, the memory killer) leaves its job "running" for
    ever, and nothing would pick it up again. Each is queued and handed over again, up to
    ``MAX_RUNS`` runs in all; after that it fails, saying why, and its kind's failure hook runs
   . Returns the jobs dealt with.
    """
    services: Services = app.extensions["gatehouse"]
    now = services.clock.now()
    stale = list(session.scalars(select(Job).where(
        Job.state == "running", Job.started_at < now - STALE_AFTER).order_by(Job.created_at)))
    for job in stale:
        if job.params.get("runs", 1) >= MAX_RUNS:
            job.state, job.finished_at = "failed", now
            job.error = (f"interrupted {MAX_RUNS} times: its worker stopped before it finished "
                         "(the data may be too large for the worker's memory); not retried")
        else:
            job.state, job.started_at = "queued", None
    session.commit()
    for job in stale:
        if job.state == "failed":
            record_failure_elsewhere(services, session, job, SYSTEM, job.error or "", None)
    for job in stale:
        if job.state == "queued":
            log.warning("job %s (%s) was interrupted; queued again", job.id, job.kind)
            _hand_over(app, session, job, mode(app))
    return stale


def _pool(app: Flask) -> ThreadPoolExecutor:
    extras = app.extensions["gatehouse"].extras
    if "jobs" not in extras:
        extras["jobs"] = ThreadPoolExecutor(app.config["JOB_WORKERS"], thread_name_prefix="job")
    return extras["jobs"]


def wait(app: Flask, job_id: str, timeout: float = 60.0, poll: float = 0.05) -> Job:
    """The job once it has finished (or as it is when `timeout` seconds have passed)."""
    services: Services = app.extensions["gatehouse"]
    deadline = time.monotonic() + timeout
    while True:
        with services.sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None, f"no job {job_id}"
            if job.state in FINISHED or time.monotonic() > deadline:
                session.expunge(job)
                return job
        time.sleep(poll)


