"""Running one job: mark it running, call its kind's handler in a session of its own, and
record success or the failure's message (and what the failure means elsewhere)."""

from __future__ import annotations

import logging
import traceback

from flask import Flask
from sqlalchemy.orm import Session

from ..governance import scope
from ..governance.actors import SYSTEM, Actor
from ..governance.people import actor_for_user
from ..platform.services import Services
from ..records import Job, User
from .handlers import FAILURE_HOOKS, HANDLERS

log = logging.getLogger("gatehouse.jobs")


def record_failure_elsewhere(services: Services, session: Session, job: Job, actor: Actor,
                             message: str, exc: Exception | None) -> None:
    """Run the kind's failure hook in a transaction of its own; a hook that fails is logged and
    leaves the job's own failure as recorded."""
    hook = FAILURE_HOOKS.get(job.kind)
    if hook is None:
        return
    params = {k: v for k, v in job.params.items() if k not in ("runs", "error_details")}
    try:
        hook(session, services, actor, params, message, exc)
        session.commit()
    except Exception:
        session.rollback()
        log.exception("job %s (%s): recording its failure elsewhere failed", job.id, job.kind)


def run_job(app: Flask, job_id: str) -> None:
    """Run one queued job to the end, recording success or the failure's message."""
    services: Services = app.extensions["gatehouse"]
    with app.app_context(), services.sessions() as session:
        job = session.get(Job, job_id)
        if job is None or job.state != "queued":
            session.rollback()
            return
        job.state, job.started_at = "running", services.clock.now()
        job.params = {**job.params, "runs": job.params.get("runs", 0) + 1}
        kind = job.kind
        params = {k: v for k, v in job.params.items() if k != "runs"}
        actor = SYSTEM
        if job.created_by_id is not None:
            user = session.get(User, job.created_by_id)
            actor = actor_for_user(user).within(job.organisation_id) if user else SYSTEM
        if job.organisation_id is not None:  # it sees its organisation's records, no other's
            scope.enter_organisation(session, job.organisation_id)
        session.commit()
        log.info("job %s (%s) started", job_id, kind)
        try:
            if kind not in HANDLERS:
                raise LookupError(f"no handler for jobs of kind {kind!r}")
            result_kind, result_id = HANDLERS[kind](session, services, actor, params)
            job = session.get(Job, job_id)
            assert job is not None
            job.state, job.result_kind, job.result_id = "succeeded", result_kind, result_id
            job.finished_at = services.clock.now()
            session.commit()
            log.info("job %s (%s) succeeded: %s %s", job_id, kind, result_kind, result_id)
        except Exception as exc:  # every failure is recorded on the job, never half-applied
            session.rollback()
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            log.warning("job %s (%s) failed: %s\n%s", job_id, kind, message,
                        traceback.format_exc())
            job = session.get(Job, job_id)
            assert job is not None
            job.state, job.error, job.finished_at = "failed", message, services.clock.now()
            details = getattr(exc, "details", None)
            if details:
                job.params = {**job.params, "error_details": details}
            session.commit()
            record_failure_elsewhere(services, session, job, actor, message, exc)
