"""`gatehouse demo`: Northmere Borough Council, a fictional council, with its governed records.

Everything goes through the same governance functions as the API, so the demo shows the gates
doing their work: a children's services model held back by its bias audit, a housing model in
use, a business-rates pilot, an agreement about to expire, a DPIA awaiting the DPO. Each use
case loads from its own module, in the order below.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from ..platform.services import Services
from . import bat_roost, business_rates, credit, early_help, hmo, neighbour
from .council import COUNCIL, DEMO_PASSWORD, STAFF, Demo

__all__ = ["DEMO_PASSWORD", "load_demo"]

# The order fixes the records' ids and the ledger's sequence.
USE_CASES: list[Callable[[Demo], None]] = [
    early_help.load,
    hmo.load,
    business_rates.load,
    credit.load,
    bat_roost.load,
    neighbour.load,  # a second council, sharing one agreement with Northmere
]


def load_demo(session: Session, services: Services) -> list[str]:
    d = Demo(session, services)
    d.staff()
    for load in USE_CASES:
        load(d)
        session.flush()
    lines = [
        f"Loaded the demo council: {COUNCIL}",
        *d.lines,
        "",
        f"Sign in at http://127.0.0.1:5000/ with any of these (password {DEMO_PASSWORD}):",
    ]
    lines += [f"  {h}@northmere.gov.uk  ({', '.join(STAFF[h][1])})" for h in STAFF]
    lines += [
        "",
        "API tokens (Authorization: Bearer …):",
        *(f"  {h}: {t}" for h, t in d.tokens.items()),
    ]
    return lines
