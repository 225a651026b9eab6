"""Celery, used when CELERY_BROKER_URL is set: `gatehouse worker` runs the jobs on many hosts.

The task carries only the job's id; the job row (params, state, result) lives in the database,
so any worker that shares the database and the data folder can run it. Settings:

- ``CELERY_BROKER_URL`` (environment, or the Flask config of the app that enqueues);
- ``GATEHOUSE_CELERY_QUEUE`` (environment) or ``CELERY_QUEUE`` (Flask config): the queue name,
  "gatehouse" by default, so that several deployments can share one Redis.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.signals import worker_process_init

from .runner import run_job

if TYPE_CHECKING:
    from flask import Flask

DEFAULT_QUEUE = "gatehouse"

celery = Celery("gatehouse")
celery.conf.update(
    broker_url=os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0",
    task_default_queue=os.environ.get("GATEHOUSE_CELERY_QUEUE") or DEFAULT_QUEUE,
    task_acks_late=True,              # a worker that dies mid-job leaves the message queued
    worker_prefetch_multiplier=1,     # jobs are long: take one at a time
    task_ignore_result=True,          # the result is the job row
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
_app: Flask | None = None


def bind(app: Flask) -> None:
    """Run this worker's tasks in `app`."""
    global _app
    _app = app


def flask_app() -> Flask:
    if _app is None:
        raise RuntimeError("start workers with `gatehouse worker`, which binds the application")
    return _app


def queue_of(app: Flask) -> str:
    return app.config.get("CELERY_QUEUE") or celery.conf.task_default_queue


def dispatch(app: Flask, job_id: str) -> None:
    """Send the job to the broker named in `app`'s config, on its queue."""
    with celery.connection_for_write(app.config["CELERY_BROKER_URL"]) as connection:
        run_job_task.apply_async((job_id,), connection=connection, queue=queue_of(app),
                                 retry=True, retry_policy={"max_retries": 2,
                                                           "interval_start": 0.2,
                                                           "interval_step": 0.5})


@worker_process_init.connect
def _fresh_connections(**_: Any) -> None:
    """A forked worker process must not share its parent's database connections."""
    if _app is not None:
        _app.extensions["gatehouse"].engine.dispose(close=False)


@celery.task(name="gatehouse.run_job")
def run_job_task(job_id: str) -> None:
    run_job(flask_app(), job_id)
