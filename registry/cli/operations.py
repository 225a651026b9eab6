"""Running the register: `gatehouse db`, `sweep`, `watch`, `dependents`, `monitors`, `worker`,
`demo`, `serve`."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from ..governance.actors import SYSTEM
from .context import new_session, services, signing


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Bring the database schema up to date (Alembic).")
@with_appcontext
def db_upgrade() -> None:
    from ..governance import checkpoints
    from ..platform.migrations import upgrade  # Alembic: loaded when asked

    upgrade(current_app.config["DATABASE_URL"])
    with new_session() as session:  # a ledger from before 0007: sign its head now
        made = checkpoints.cut(session, signing(session), services().clock.now(),
                               only_if_unsigned=True)
        session.commit()
    if made is not None:
        click.echo(f"ledger signed: checkpoint #{made.number} at entry {made.seq}")
    click.echo("database at head")



@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Daily housekeeping: record lapses and list what expires soon; record drift monitors
    overdue (so serving sees them); judge the watch rules (as `gatehouse watch`); erase score
    inputs and drift reports past the policy's retention; queue again jobs whose worker
    stopped; raise the day's events (what expires within the window, versions a date stopped)
    and send them."""
    from ..governance.monitor_health import record_overdue
    from ..governance.retention import erase_expired_inputs, prune_drift_reports
    from ..governance.sweep import sweep, sweep_messages
    from ..governance.watch import run as watch
    from ..jobs.notify import send
    from ..jobs.queue import requeue_stale

    now, policy = services().clock.now(), services().policy
    with new_session() as session:
        report = sweep(session, policy, now)
        overdue = record_overdue(session, policy, now)
        watched = watch(session, policy, now)
        erased = erase_expired_inputs(session, now)
        pruned = prune_drift_reports(session, services().store, policy, now)
        session.commit()
        interrupted = requeue_stale(current_app._get_current_object(), session)  # type: ignore[attr-defined]
    sent = send(current_app._get_current_object(), calendar=True, inline=True)  # type: ignore[attr-defined]
    stopped = [f"job {job.id} ({job.kind.replace('_', ' ')}) stopped with its worker and is "
               f"{job.state} again" for job in interrupted]
    for line in sweep_messages(report, overdue, watched, erased, pruned, stopped, len(sent)):
        click.echo(line)


@click.command("watch")
@with_appcontext
def watch_command() -> None:
    """Judge the policy's watch rules on how every version in use is used (its receipts and
    outcomes): each rule that fires is a watch alert on the ledger, and suspends the version
    where the rule says so. Also run by `gatehouse sweep`."""
    from ..governance.actors import SYSTEM as gatehouse
    from ..usecases.unit import of_app
    from ..usecases.watch import run_watch

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with new_session() as session:
        lines = run_watch(of_app(app, gatehouse, session))
    for line in lines:
        click.echo(line)
    click.echo(f"{len(lines)} watch alert(s) raised")


@click.command("dependents")
@click.argument("reference")
@click.option("--organisation", default=None,
              help="The slug of the organisation whose reference it is (references are each "
                   "organisation's own; needed where two use it).")
@with_appcontext
def dependents_command(reference: str, organisation: str | None) -> None:
    """Everything that rests on an agreement (by reference, e.g. DSA-12)."""
    from sqlalchemy import select

    from ..governance.upstream import dependents_of_agreement
    from ..records import DataSharingAgreement, Organisation

    with new_session() as session:
        named = select(DataSharingAgreement).where(DataSharingAgreement.reference == reference)
        if organisation:
            named = named.join(Organisation, Organisation.id == DataSharingAgreement.organisation_id
                               ).where(Organisation.slug == organisation)
        found = session.scalars(named).all()
        if len(found) != 1:
            click.echo(f"error: no agreement {reference!r}" if not found else
                       f"error: {reference!r} is a reference in several organisations: name one "
                       "with --organisation SLUG", err=True)
            sys.exit(2)
        agreement = found[0]
        deps = dependents_of_agreement(session, agreement)
        for d in deps["datasets"]:
            click.echo(f"dataset {d.name} ({d.state})")
        for v in deps["model_versions"]:
            click.echo(f"model version {v.model.name} v{v.number} ({v.state})")
        for c in deps["clients"]:
            click.echo(f"client {c.name}")


@click.group("monitors", help="Drift monitors.")
def monitors_group() -> None:
    pass


@monitors_group.command("run")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="With Celery, wait for each check to finish and print its outcome.")
@with_appcontext
def monitors_run(wait: bool) -> None:
    """Run the drift checks that are due (N receipts since the last check, or a day).

    Monitors found overdue are first recorded on the ledger, so that serving sees them at once
    (see registry.governance.monitor_health). Without Celery the checks run here, one after
    another (no worker pool outlives this command); with Celery they are queued for
    `gatehouse worker`.
    """
    from ..governance.monitor_health import record_overdue
    from ..governance.monitoring import due_monitors
    from ..jobs.queue import enqueue, mode
    from ..jobs.queue import wait as wait_for
    from ..records import ModelVersion

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    inline = mode(app) != "celery"
    with new_session() as session:
        for line in record_overdue(session, services().policy, services().clock.now()):
            click.echo(f"overdue: {line}")
        session.commit()
        due = due_monitors(session, services().clock.now())
        for monitor in due:
            version = session.get(ModelVersion, monitor.model_version_id)
            job = enqueue(app, session, SYSTEM, "drift_check",
                          {"monitor_id": monitor.id, "source": "schedule"},
                          version.organisation_id if version else None, inline=inline)
            if wait and not inline:
                job = wait_for(app, job.id, timeout=900)
            click.echo(f"monitor {monitor.id}: job {job.id} {job.state}"
                       + (f": {job.error}" if job.error else ""))
    click.echo(f"{len(due)} drift check(s) due")


@click.command("worker")
@click.option("--concurrency", default=2, show_default=True, type=int)
@with_appcontext
def worker_command(concurrency: int) -> None:
    """Run a Celery worker for background jobs (needs CELERY_BROKER_URL)."""
    from ..jobs.celery_worker import bind, celery, queue_of  # Celery: loaded when asked

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not app.config.get("CELERY_BROKER_URL"):
        click.echo("error: set CELERY_BROKER_URL, e.g. redis://127.0.0.1:6379/0", err=True)
        sys.exit(2)
    bind(app)
    celery.conf.broker_url = app.config["CELERY_BROKER_URL"]
    celery.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}",
                        f"--queues={queue_of(app)}"])


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Load the demo council: agreements, datasets, a DPIA and models in several states."""
    from sqlalchemy import select

    from ..demo.load import load_demo  # the demo's libraries: loaded when asked
    from ..records import Organisation

    with new_session() as session:
        if session.scalars(select(Organisation)).first() is not None:
            click.echo("demo: the database already holds data; nothing loaded")
            return
        summary = load_demo(session, services())
        session.commit()
    for line in summary:
        click.echo(line)



@click.command("serve", context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve_command(gunicorn_args: tuple[str, ...]) -> None:
    """Serve in production: gunicorn with the repository's gunicorn.conf.py (workers, threads,
    keep-alive, timeouts, models warmed before the first caller); any gunicorn options given
    override it. `gatehouse run` is for development."""
    from ..platform.config import ROOT

    command = [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT),
               "--config", str(ROOT / "gunicorn.conf.py"), *gunicorn_args]
    os.execv(sys.executable, command)
