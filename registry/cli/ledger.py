"""The ledger and its keys: `gatehouse ledger`, `gatehouse keys`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from .context import new_session, services, signing


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
    from ..governance import ledger_check

    kept = None
    if copy is not None:
        try:
            kept = json.load(copy)
        except ValueError as exc:
            click.echo(f"error: {copy.name} is not JSON: {exc}", err=True)
            sys.exit(2)
    s = services()
    with new_session() as session:
        result = ledger_check.check(session, s.keys, s.marks, current_app.config["DATABASE_URL"],
                                    full=full, copy=kept)
    walked = ("every entry" if result.full
              else f"entries after the last good checkpoint, {result.walked_from - 1}")
    if result.ok:
        click.echo(f"ledger intact: {result.entries} entries, {result.checkpoints} signed "
                   f"checkpoints ({walked} walked)")
        if result.receipts_unchained:
            n = result.receipts_unchained
            click.echo(f"{n} score receipt{'s' * (n != 1)} not yet chained: not covered by this "
                       "check until `gatehouse ledger checkpoint` chains them")
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
    """Chain the receipts not yet chained, and cut a signed checkpoint at the head now (if
    anything was appended since the last)."""
    from ..governance import checkpoints, ledger

    with new_session() as session:
        ledger.chain_receipts(session, services().clock.now())
        made = checkpoints.cut(session, signing(session), services().clock.now())
        session.commit()
    if made is None:
        click.echo("nothing new since the last checkpoint")
    else:
        click.echo(f"checkpoint #{made.number} at entry {made.seq}, signed by key {made.key_id}")


@click.group("keys", help="The ledger's Ed25519 signing key and the master key of encryption "
                          "at rest (files, never in the database).")
def keys_group() -> None:
    pass


@keys_group.command("init")
@with_appcontext
def keys_init() -> None:
    """Create the signing key file (0600); refuses to overwrite one."""
    from ..platform.keys import KeyExists

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
    from ..governance import checkpoints

    with new_session() as session:
        old, new, made = checkpoints.rotate(session, signing(session), services().clock.now())
        session.commit()
    click.echo(f"signing key {new.key_id} is current" + (f"; {old} retired" if old else ""))
    if made is not None:
        click.echo(f"checkpoint #{made.number} at entry {made.seq} signed with the new key")


@keys_group.command("rotate-master")
@with_appcontext
def keys_rotate_master() -> None:
    """A new master key re-wraps the data keys; nothing stored is re-encrypted."""
    from ..governance import at_rest
    from ..governance.actors import OPERATOR

    keyring = services().store.keyring
    assert keyring is not None
    with new_session() as session:
        old, new, count = at_rest.rotate_master_key(session, keyring, OPERATOR,
                                                    services().clock.now())
        session.commit()
    click.echo(f"master key {new} is current ({old} retired); {count} data keys re-wrapped")


@keys_group.command("rotate-data")
@with_appcontext
def keys_rotate_data() -> None:
    """A new data key seals what is written from now on; the old ones are kept to open what
    they sealed (nothing is re-encrypted). Running processes pick it up at their next write."""
    from ..governance import at_rest
    from ..governance.actors import OPERATOR

    keyring = services().store.keyring
    assert keyring is not None
    with new_session() as session:
        old, new, held = at_rest.rotate_data_key(session, keyring, OPERATOR,
                                                 services().clock.now())
        session.commit()
    click.echo(f"data key {new} seals new writes" + (f"; {old} kept for reading" if old else "")
               + f" ({held} data keys held)")


@keys_group.command("encrypt-existing")
@with_appcontext
def keys_encrypt_existing() -> None:
    """Seal what was stored before encryption at rest was on: personal datasets' files, drift
    references, batches and reports, receipts' inputs and explanations. Safe to run again, and
    to re-run after an interruption."""
    from ..governance import at_rest
    from ..governance.actors import OPERATOR

    with new_session() as session:
        found = at_rest.encrypt_existing(session, services().store, OPERATOR,
                                         services().clock.now())
    for kind in at_rest.KINDS:
        click.echo(f"{kind}: {found.now.get(kind, 0)} sealed now, "
                   f"{found.already.get(kind, 0)} already sealed")
    click.echo(f"{found.total} sealed in all")
