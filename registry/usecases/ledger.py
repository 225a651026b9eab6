"""Verifying the ledger: one answer for the API, the web page and anyone else who asks."""

from __future__ import annotations

from ..governance.ledger_check import Check, check
from ..governance.permissions import require
from .unit import Unit


def verify(unit: Unit, full: bool = False) -> Check:
    """The chain, its signed head and checkpoints, checked against the key files (from the last
    checkpoint this host found good, unless `full`). It reads the whole ledger, whoever asks:
    a chain is checked whole or not at all."""
    require(unit.actor, "read_ledger")
    services = unit.app.extensions["gatehouse"]
    return check(unit.session, services.keys, services.marks, unit.app.config["DATABASE_URL"],
                 full=full)
