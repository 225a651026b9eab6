"""The sweep: record lapses the lease check already enforces, and warn of what lapses soon.

Serving never waits for this: `usability.usable` reads dates at the moment of asking. The sweep
makes the lapse visible — a decision by the system and its ledger entry — and lists what expires
within 30 days so officers can renew in time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import DPIA, DataSharingAgreement, ModelVersion
from .actors import SYSTEM
from .lifecycle import decide
from .policy import Policy
from .registration import KINDS

SOON = timedelta(days=30)


@dataclass
class SweepReport:
    lapsed: list[str] = field(default_factory=list)
    expiring: list[str] = field(default_factory=list)


def due_dates(record: object) -> list[tuple[str, object]]:
    """(what, last day) pairs that bound a record's use."""
    dates: list[tuple[str, object]] = [("approval", getattr(record, "approved_until", None))]
    if isinstance(record, DataSharingAgreement):
        dates.append(("agreement end", record.end_date))
    if isinstance(record, DPIA):
        dates.append(("DPIA review", record.review_date))
    if isinstance(record, ModelVersion) and record.stage == "pilot":
        dates.append(("pilot end", record.pilot_end_date))
    return [(what, d) for what, d in dates if d is not None]


def sweep(session: Session, policy: Policy, now: datetime) -> SweepReport:
    report = SweepReport()
    today = now.date()
    for cls in KINDS.values():
        for record in session.scalars(select(cls).where(cls.state.in_(("approved", "suspended")))):
            for what, last_day in due_dates(record):
                if last_day < today and record.state == "approved":
                    rationale = f"{what} of {record.label} passed on {last_day}"
                    if isinstance(record, DataSharingAgreement) and what == "agreement end":
                        decide(session, SYSTEM, record, policy, now, "retire", rationale)
                    else:
                        decide(session, SYSTEM, record, policy, now, "suspend", rationale)
                    report.lapsed.append(rationale)
                elif today <= last_day <= today + SOON:
                    report.expiring.append(f"{what} of {record.label} ends on {last_day}")
    return report
