"""Celery, used when CELERY_BROKER_URL is set: `gatehouse worker` runs the jobs on many hosts."""

from __future__ import annotations

import os

from celery import Celery

celery = Celery("gatehouse", broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"))
celery.conf.update(task_acks_late=True, worker_prefetch_multiplier=1, task_ignore_result=True)
_app = None


def flask_app():  # type: ignore[no-untyped-def]
    global _app
    if _app is None:
        from . import create_app

        _app = create_app()
    return _app


@celery.task(name="gatehouse.run_job")
def run_job_task(job_id: str) -> None:
    from .jobs import run_job

    run_job(flask_app(), job_id)
