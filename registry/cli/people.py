"""People, organisations and frontline tools: `gatehouse users`, `organisations`, `clients`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click
from flask.cli import with_appcontext

from ..governance.actors import OPERATOR
from ..governance.errors import GovernanceError, NotFound
from ..platform.roles import ORGANISATION_KINDS, ROLES
from .context import fail, operator_unit

if TYPE_CHECKING:
    from ..usecases.unit import Unit


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
    from sqlalchemy import select

    from ..records import User
    from ..usecases import people

    password = os.environ.get("GATEHOUSE_NEW_PASSWORD")
    if password_file is not None:
        password = password_file.readline().rstrip("\r\n")
    elif ask_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    unit = operator_unit()
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
            fail(exc)
    click.echo(f"created user {user.id} {user.email} with roles {', '.join(user.roles)}")
    click.echo(token)


def _organisation_id(unit: Unit, slug: str | None) -> int | None:
    """The organisation a slug names; without one, the only organisation (None: there is none
    yet, and roles are deployment-wide)."""
    from ..governance import people as people_rules

    if slug is None:
        return people_rules.organisation_for(unit.session, OPERATOR, None, frozenset({"admin"}))
    return people_rules.find_organisation(unit.session, slug).id


@users_group.command("unlock")
@click.argument("email")
@with_appcontext
def users_unlock(email: str) -> None:
    """Lift a lockout after too many wrong passwords."""
    from sqlalchemy import select

    from ..records import User
    from ..usecases import people

    unit = operator_unit()
    with unit.session:
        user = unit.session.scalars(
            select(User).where(User.email == email.strip().lower())).first()
        if user is None:
            fail(NotFound(f"no user {email!r}", {"email": ["unknown"]}))
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
    from ..usecases import people

    unit = operator_unit()
    with unit.session:
        try:
            org = people.create_organisation(unit, {"slug": slug, "name": name, "kind": kind})
        except GovernanceError as exc:
            fail(exc)
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
    from ..usecases import people

    unit = operator_unit()
    with unit.session:
        try:
            client, token = people.create_client(unit, {
                "name": name, "models": list(models), "purposes": list(purposes),
                "organisation_id": _organisation_id(unit, organisation)})
        except GovernanceError as exc:
            fail(exc)
    click.echo(f"created client {client.id} {client.name}")
    click.echo(token)

