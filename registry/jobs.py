"""Background work: in-process worker threads by default; Celery on Redis when configured.

A job is a row first (so its state can be asked for), then runs in its own session. A failure
rolls back everything the job wrote and records the message: no half-written audit or check.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from .governance.actors import SYSTEM, Actor
from .records import Job, User
from .state import Services

log = logging.getLogger("gatehouse.jobs")
Handler = Callable[[Session, Services, Actor, dict[str, Any]], tuple[str, int]]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn
    return register


def enqueue(app: Flask, session: Session, actor: Actor, kind: str, params: dict[str, Any]) -> Job:
    """Record the job, commit, and hand it to the worker pool (or run it now if there is none)."""
    services: Services = app.extensions["gatehouse"]
    job = Job(id=str(uuid.uuid4()), kind=kind, state="queued", params=params,
              created_by_id=actor.user_id, created_at=services.clock.now())
    session.add(job)
    session.commit()
    broker = app.config.get("CELERY_BROKER_URL")
    if broker:
        from .celery_app import run_job_task

        run_job_task.delay(job.id)
    elif app.config.get("JOB_WORKERS", 0) > 0:
        _pool(app).submit(run_job, app, job.id)
    else:
        run_job(app, job.id)
    return job


def _pool(app: Flask) -> ThreadPoolExecutor:
    extras = app.extensions["gatehouse"].extras
    if "jobs" not in extras:
        extras["jobs"] = ThreadPoolExecutor(app.config["JOB_WORKERS"], thread_name_prefix="job")
    return extras["jobs"]


def run_job(app: Flask, job_id: str) -> None:
    from . import monitoring_jobs  # noqa: F401  (registers the handlers)

    services: Services = app.extensions["gatehouse"]
    with app.app_context(), services.sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.state != "queued":
            return
        job.state, job.started_at = "running", services.clock.now()
        session.commit()
        actor = SYSTEM
        if job.created_by_id is not None:
            from .governance.people import actor_for_user

            user = session.get(User, job.created_by_id)
            actor = actor_for_user(user) if user else SYSTEM
        try:
            result_kind, result_id = HANDLERS[job.kind](session, services, actor, job.params)
            job = session.get(Job, job_id)
            job.state, job.result_kind, job.result_id = "succeeded", result_kind, result_id
            job.finished_at = services.clock.now()
            session.commit()
        except Exception as exc:  # every failure is recorded on the job, never half-applied
            session.rollback()
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.warning("job %s (%s) failed: %s\n%s", job_id, job.kind, message,
                        traceback.format_exc())
            job = session.get(Job, job_id)
            job.state, job.error, job.finished_at = "failed", message, services.clock.now()
            if hasattr(exc, "details"):
                job.params = {**job.params, "error_details": exc.details}
            session.commit()
