"""The `gatehouse` command: database, users and clients, demo data, ledger, sweep, serving."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from .governance import checkpoints, ledger_check
from .governance import people as people_rules
from .governance.actors import OPERATOR, SYSTEM
from .governance.errors import GovernanceError, NotFound
from .governance.monitor_health import record_overdue
from .governance.monitoring import due_monitors
from .governance.retention import erase_expired_inputs, prune_drift_reports
from .governance.sweep import sweep
from .governance.upstream import dependents_of_agreement
from .jobs.queue import enqueue, mode, requeue_stale
from .jobs.queue import wait as wait_for
from .platform.keys import KeyExists
from .platform.migrations import upgrade
from .platform.services import services
from .records import DataSharingAgreement, Organisation, User
from .records.people import ORGANISATION_KINDS, ROLES
from .usecases import people
from .usecases.unit import Unit, of_app


def _session():  # type: ignore[no-untyped-def]
    return services().sessions()


def _unit() -> Unit:
    """A unit of work for the operator at the command line, in a session of its own."""
    return of_app(current_app._get_current_object(), OPERATOR)  # type: ignore[attr-defined]


def _fail(exc: GovernanceError) -> NoReturn:
    click.echo(f"error: {exc.message}", err=True)
    if isinstance(exc.details, dict) and all(isinstance(v, list) for v in exc.details.values()):
        for field, problems in exc.details.items():  # field by field, in the officer's words
            for problem in problems:
                click.echo(f"  {field}: {problem}", err=True)
    elif exc.details:
        click.echo(f"details: {exc.details}", err=True)
    sys.exit(2)


@click.group("db", help="Database schema.")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Bring the database schema up to date (Alembic).")
@with_appcontext
def db_upgrade() -> None:
    upgrade(current_app.config["DATABASE_URL"])
    with _session() as session:  # a ledger from before 0007: sign its head now
        made = checkpoints.cut(session, _signing(session), services().clock.now(),
                               only_if_unsigned=True)
        session.commit()
    if made is not None:
        click.echo(f"ledger signed: checkpoint #{made.number} at entry {made.seq}")
    click.echo("database at head")


@click.group("users", help="People who use Gatehouse.")
def users_group() -> None:
    pass


@users_group.command("create")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--name", default="")
@click.option("--organisation", default=None, help="The organisation's slug (needed when there "
              "are several; with none yet, the roles are deployment-wide).")
@click.option("--password-file", type=click.File("r"), default=None,
              help="Read the web sign-in password from the file's first line ('-': stdin).")
@click.option("--ask-password", is_flag=True,
              help="Ask for the web sign-in password (typed twice, not shown).")
@with_appcontext
def users_create(email: str, roles: tuple[str, ...], name: str, organisation: str | None,
                 password_file: Any, ask_password: bool) -> None:
    """Create a user with roles in one organisation, printing the bearer token alone on the last
    line; run again with another organisation to give an existing user roles there too.

    A password for the web pages is never given on the command line, where other users and the
    shell's history would see it: --ask-password, --password-file, or GATEHOUSE_NEW_PASSWORD.
    """
    password = os.environ.get("GATEHOUSE_NEW_PASSWORD")
    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    elif ask_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    unit = _unit()
    with unit.session:
        try:
            org_id = _organisation_id(unit, organisation)
            user = unit.session.scalars(select(User).where(User.email == email.strip().lower())
                                        ).first()
            if user is not None and org_id not in [m.organisation_id for m in user.memberships]:
                people.add_membership(unit, user, org_id, list(roles))
                click.echo(f"user {user.id} {user.email} now holds {', '.join(sorted(roles))} "
                           f"in organisation {org_id}")
                return
            user, token = people.create_user(
                unit, {"email": email, "name": name, "roles": list(roles),
                       "organisation_id": org_id}, password=password)
        except GovernanceError as exc:
            _fail(exc)
    click.echo(f"created user {user.id} {user.email} with roles {', '.join(user.roles)}")
    click.echo(token)


def _organisation_id(unit: Unit, slug: str | None) -> int | None:
    """The organisation a slug names; without one, the only organisation (None: there is none
    yet, and roles are deployment-wide)."""
    if slug is None:
        return people_rules.organisation_for(unit.session, OPERATOR, None, frozenset({"admin"}))
    return people_rules.find_organisation(unit.session, slug).id


@users_group.command("unlock")
@click.argument("email")
@with_appcontext
def users_unlock(email: str) -> None:
    """Lift a lockout after too many wrong passwords."""
    unit = _unit()
    with unit.session:
        user = unit.session.scalars(
            select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            _fail(NotFound(f"no user {email!r}", {"email": ["unknown"]}))
        people.unlock(unit, user)
    click.echo(f"unlocked {user.email}")


@click.group("organisations", help="The public bodies this deployment serves.")
def organisations_group() -> None:
    pass


@organisations_group.command("create")
@click.argument("slug")
@click.option("--name", required=True)
@click.option("--kind", default="council", type=click.Choice(ORGANISATION_KINDS))
@with_appcontext
def organisations_create(slug: str, name: str, kind: str) -> None:
    """Create an organisation (the deployment's administrator)."""
    unit = _unit()
    with unit.session:
        try:
            org = people.create_organisation(unit, {"slug": slug, "name": name, "kind": kind})
        except GovernanceError as exc:
            _fail(exc)
    click.echo(f"created organisation {org.id} {org.slug} ({org.name})")


@click.group("clients", help="Frontline tools that ask for scores.")
def clients_group() -> None:
    pass


@clients_group.command("create")
@click.argument("name")
@click.option("--model", "models", multiple=True, required=True)
@click.option("--purpose", "purposes", multiple=True, required=True)
@click.option("--organisation", default=None,
              help="The organisation's slug (needed when there are several).")
@with_appcontext
def clients_create(
    name: str, models: tuple[str, ...], purposes: tuple[str, ...], organisation: str | None
) -> None:
    """Create an API client of one organisation, for its models; prints the bearer token alone
    on the last line."""
    unit = _unit()
    with unit.session:
        try:
            client, token = people.create_client(unit, {
                "name": name, "models": list(models), "purposes": list(purposes),
                "organisation_id": _organisation_id(unit, organisation)})
        except GovernanceError as exc:
            _fail(exc)
    click.echo(f"created client {client.id} {client.name}")
    click.echo(token)


@click.group("ledger", help="The hash-chained audit ledger.")
def ledger_group() -> None:
    pass


@ledger_group.command("verify")
@click.option("--full", is_flag=True, help="Walk every entry, not just those after the last "
              "checkpoint this host found good.")
@click.option("--checkpoints", "copy", type=click.File("r"), default=None,
              help="A copy of GET /transparency/ledger/checkpoints kept elsewhere.")
@with_appcontext
def ledger_verify(full: bool, copy: Any) -> None:
    """Check the chain, the signed head and checkpoints; exit 1 naming each problem."""
    kept = None
    if copy is not None:
        try:
            kept = json.load(copy)
        except ValueError as exc:
            click.echo(f"error: {copy.name} is not JSON: {exc}", err=True)
            sys.exit(2)
    s = services()
    with _session() as session:
        result = ledger_check.check(session, s.keys, s.marks, current_app.config["DATABASE_URL"],
                                    full=full, copy=kept)
    walked = ("every entry" if result.full
              else f"entries after the last good checkpoint, {result.walked_from - 1}")
    if result.ok:
        click.echo(f"ledger intact: {result.entries} entries, {result.checkpoints} signed "
                   f"checkpoints ({walked} walked)")
        return
    first = result.first()
    at = f" at entry {first.seq}" if first and first.seq is not None else ""
    click.echo(f"ledger broken{at}: {len(result.findings)} problem(s)", err=True)
    for finding in result.findings:
        click.echo(f"  {finding.code}: {finding.message}", err=True)
    sys.exit(1)


@ledger_group.command("checkpoint")
@with_appcontext
def ledger_checkpoint() -> None:
    """Cut a signed checkpoint at the head now (if anything was appended since the last)."""
    with _session() as session:
        made = checkpoints.cut(session, _signing(session), services().clock.now())
        session.commit()
    if made is None:
        click.echo("nothing new since the last checkpoint")
    else:
        click.echo(f"checkpoint #{made.number} at entry {made.seq}, signed by key {made.key_id}")


def _signing(session: Any) -> checkpoints.Signing:
    signing = checkpoints.signing_of(session)
    assert signing is not None  # the application's sessions always carry it
    return signing


@click.group("keys", help="The ledger's Ed25519 signing key (a file, never in the database).")
def keys_group() -> None:
    pass


@keys_group.command("init")
@with_appcontext
def keys_init() -> None:
    """Create the signing key file (0600); refuses to overwrite one."""
    try:
        key = services().keys.init(services().clock.now())
    except KeyExists as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"signing key {key.key_id} created in {services().keys.path}")


@keys_group.command("rotate")
@with_appcontext
def keys_rotate() -> None:
    """A new signing key becomes current; old public keys are kept so old signatures verify."""
    with _session() as session:
        old, new, made = checkpoints.rotate(session, _signing(session), services().clock.now())
        session.commit()
    click.echo(f"signing key {new.key_id} is current" + (f"; {old} retired" if old else ""))
    if made is not None:
        click.echo(f"checkpoint #{made.number} at entry {made.seq} signed with the new key")


@click.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Daily housekeeping: record lapses and list what expires soon; record drift monitors
    overdue (so serving sees them); erase score inputs and drift reports past the policy's
    retention; queue again jobs whose worker stopped."""
    now, policy = services().clock.now(), services().policy
    with _session() as session:
        report = sweep(session, policy, now)
        overdue = record_overdue(session, policy, now)
        erased = erase_expired_inputs(session, now)
        pruned = prune_drift_reports(session, services().store, policy, now)
        session.commit()
        interrupted = requeue_stale(current_app._get_current_object(), session)  # type: ignore[attr-defined]
    for line in report.lapsed:
        click.echo(f"lapsed: {line}")
    for line in report.expiring:
        click.echo(f"expires soon: {line}")
    for line in overdue:
        click.echo(f"overdue: {line}")
    for job in interrupted:
        click.echo(f"interrupted job {job.id} ({job.kind}): {job.state}")
    click.echo(f"{len(report.lapsed)} lapsed, {len(report.expiring)} expiring within 30 days; "
               f"inputs erased from {erased} receipt(s), {pruned} drift report(s) deleted, "
               f"{len(interrupted)} interrupted job(s)")


@click.command("dependents")
@click.argument("reference")
@with_appcontext
def dependents_command(reference: str) -> None:
    """Everything that rests on an agreement (by reference, e.g. DSA-12)."""
    with _session() as session:
        agreement = session.scalars(
            select(DataSharingAgreement).where(DataSharingAgreement.reference == reference)
        ).first()
        if agreement is None:
            click.echo(f"error: no agreement {reference!r}", err=True)
            sys.exit(2)
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
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    inline = mode(app) != "celery"
    with _session() as session:
        for line in record_overdue(session, services().policy, services().clock.now()):
            click.echo(f"overdue: {line}")
        session.commit()
        due = due_monitors(session, services().clock.now())
        for monitor in due:
            job = enqueue(app, session, SYSTEM, "drift_check",
                          {"monitor_id": monitor.id, "source": "schedule"}, inline=inline)
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
    from .jobs.celery_worker import bind, celery, queue_of  # Celery: loaded when asked

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
    from .demo.load import load_demo  # the demo's libraries: loaded when asked

    with _session() as session:
        if session.scalars(select(Organisation)).first() is not None:
            click.echo("demo: the database already holds data; nothing loaded")
            return
        summary = load_demo(session, services())
        session.commit()
    for line in summary:
        click.echo(line)


def init_app(app: Flask) -> None:
    for command in (
        db_group,
        organisations_group,
        users_group,
        clients_group,
        ledger_group,
        keys_group,
        sweep_command,
        dependents_command,
        demo_command,
        monitors_group,
        worker_command,
    ):
        app.cli.add_command(command)

