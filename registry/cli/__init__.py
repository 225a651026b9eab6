"""The `gatehouse` command's subcommands. Each imports what it uses when it runs, so that
`gatehouse --help` and each command's help start without the records, the rules or the queue."""

from __future__ import annotations

from flask import Flask

from .ledger import keys_group, ledger_group
from .notify import notify_group
from .operations import (
    db_group,
    demo_command,
    dependents_command,
    monitors_group,
    serve_command,
    sweep_command,
    watch_command,
    worker_command,
)
from .people import clients_group, organisations_group, users_group

# Every command of `gatehouse`, in one place.
COMMANDS = (db_group, organisations_group, users_group, clients_group, ledger_group, keys_group,
            sweep_command, watch_command, dependents_command, demo_command, monitors_group,
            worker_command, notify_group, serve_command)


def init_app(app: Flask) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
