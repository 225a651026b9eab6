"""Eastbrook District Council, a second fictional council on the same deployment: Northmere
shares its HMO licensing register with it, for enforcement where the two boroughs meet.

Eastbrook sees only its own records and the one agreement it is a party to; Northmere's
records stay Northmere's. Either council may suspend the agreement, which stops at the next
request whatever rests on it.
"""

from __future__ import annotations

from sqlalchemy import select

from ..governance import lifecycle, people, registration
from ..governance.actors import OPERATOR
from ..governance.errors import GovernanceError
from ..records import Organisation
from .council import COUNCIL, DEMO_PASSWORD, Demo

NEIGHBOUR = "Eastbrook District Council"
NEIGHBOUR_STAFF = {
    "erin.walsh": ("Erin Walsh", ["governance_officer"]),
    "eli.brook": ("Eli Brook", ["data_scientist"]),
    "ezra.cole": ("Ezra Cole", ["auditor"]),
}


def load(d: Demo) -> None:
    org = people.create_organisation(
        d.session, OPERATOR, {"slug": "eastbrook", "name": NEIGHBOUR, "kind": "council"}, d.now)
    northmere = d.session.scalars(select(Organisation).where(Organisation.name == COUNCIL)).one()
    for handle, (name, roles) in NEIGHBOUR_STAFF.items():
        user, d.tokens[handle] = people.create_user(
            d.session, OPERATOR, {"email": f"{handle}@eastbrook.gov.uk", "name": name,
                                  "roles": roles, "organisation_id": org.id},
            d.now, password=DEMO_PASSWORD)
        d.people[handle] = people.actor_for_user(user)
    scientist, officer = d.people["eli.brook"], d.people["erin.walsh"]
    purpose = "hmo_licensing_enforcement"
    agreement = registration.create(d.session, scientist, "agreement", {
        "reference": "DSA-EB-01",
        "title": "Northmere's HMO licensing register, shared with Eastbrook for enforcement "
                 "along the boundary",
        "provider": COUNCIL, "recipient": NEIGHBOUR,
        "provider_organisation_id": northmere.id, "recipient_organisation_id": org.id,
        "controllers": [COUNCIL, NEIGHBOUR], "legal_basis": "public_task",
        "statutory_gateway": "Housing Act 2004 s.235 and s.237 (use of information for HMO "
                             "licensing and enforcement)",
        "purposes": [purpose], "stages": {purpose: ["development", "use"]},
        "data_categories": ["licensed HMO addresses", "licence conditions", "complaints"],
        "start_date": d.day(-60), "end_date": d.day(640), "review_date": d.day(300),
        "retention": "Held for the life of the agreement, then deleted within 30 days",
        "signatories": [
            {"name": "J. Ellis", "role": "Senior Information Risk Owner", "organisation": COUNCIL},
            {"name": "R. Osei", "role": "Senior Information Risk Owner",
             "organisation": NEIGHBOUR}],
    }, d.now)
    registration.submit(d.session, scientist, agreement, d.now)
    try:
        lifecycle.decide(d.session, officer, agreement, d.services.policy, d.now, "approve",
                         "Gateway and both councils' signatories checked.")
    except GovernanceError as exc:
        d.lines.append(f"  {agreement.label}: approve refused — {exc.message[:300]}")
    who = ", ".join(f"{h}@eastbrook.gov.uk" for h in NEIGHBOUR_STAFF)
    d.lines.append(f"{NEIGHBOUR} ({who}) receives {agreement.label} from {COUNCIL} and sees "
                   "nothing else of Northmere's")
