"""What every command shares: the services, a session or a unit of work for the operator at the
command line, and failing with the problems field by field."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import click
from flask import current_app

from ..governance.actors import OPERATOR
from ..governance.errors import GovernanceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ..governance.checkpoints import Signing
    from ..platform.services import Services
    from ..usecases.unit import Unit

# The commands import what they use when they run: `gatehouse --help` and each command's help
# start without the records, the rules or the job queue.


def services() -> Services:
    from ..platform.services import services

    return services()


def new_session():  # type: ignore[no-untyped-def]
    return services().sessions()


def operator_unit() -> Unit:
    """A unit of work for the operator at the command line, in a session of its own."""
    from ..usecases.unit import of_app

    return of_app(current_app._get_current_object(), OPERATOR)  # type: ignore[attr-defined]


def fail(exc: GovernanceError) -> NoReturn:
    click.echo(f"error: {exc.message}", err=True)
    if isinstance(exc.details, dict) and all(isinstance(v, list) for v in exc.details.values()):
        for field, problems in exc.details.items():  # field by field, in the officer's words
            for problem in problems:
                click.echo(f"  {field}: {problem}", err=True)
    elif exc.details:
        click.echo(f"details: {exc.details}", err=True)
    sys.exit(2)


def signing(session: Session) -> Signing:
    """How this session signs the ledger."""
    from ..governance import checkpoints

    found = checkpoints.signing_of(session)
    assert found is not None  # the application's sessions always carry it
    return found
