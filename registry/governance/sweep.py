"""The sweep: record lapses the lease check already enforces, and warn of what lapses soon.

Serving never waits for this: `chain.usable` reads dates at the moment of asking. The sweep
makes the lapse visible — a decision by the system and its ledger entry — and lists what expires
within the policy's window (``[watch] due_within_days``, the inbox's) so officers can renew in
time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import DPIA, DataSharingAgreement, ModelVersion
from .actors import SYSTEM
from .kinds import KINDS
from .lifecycle import decide
from .policy import Policy


@dataclass
class SweepReport:
    lapsed: list[str] = field(default_factory=list)
    expiring: list[str] = field(default_factory=list)
    within_days: int = 30  # how far ahead `expiring` looked: the policy's [watch] window


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
    report = SweepReport(within_days=policy.watch.due_within_days)
    soon = timedelta(days=report.within_days)
    today = now.date()
    for cls in KINDS.values():
        query = select(cls).where(cls.state.in_(("approved", "suspended"))).order_by(cls.id)
        for record in session.scalars(query).all():  # read all first: decide() writes as we go
            passed = []
            for what, last_day in due_dates(record):
                if last_day < today:
                    passed.append((what, last_day))
                elif last_day <= today + soon:
                    report.expiring.append(f"{what} of {record.label} ends on {last_day}")
            if not passed:
                continue
            rationale = "; ".join(f"{what} of {record.label} passed on {last_day}"
                                  for what, last_day in passed)
            # An agreement that has ended cannot come back: retire it, even if already suspended
            # (its approval, capped at the end date, lapses on the same day and would otherwise
            # only suspend it). Any other lapse suspends an approved record until reinstated.
            if isinstance(record, DataSharingAgreement) and any(
                    what == "agreement end" for what, _ in passed):
                decide(session, SYSTEM, record, policy, now, "retire", rationale)
            elif record.state == "approved":
                decide(session, SYSTEM, record, policy, now, "suspend", rationale)
            else:
                continue
            report.lapsed.append(rationale)
    return report


def counted(n: int, thing: str, things: str | None = None) -> str:
    """`0 records` → "no records", 1 → "1 record", 2 → "2 records"."""
    plural = things or thing + "s"
    return f"no {plural}" if n == 0 else f"1 {thing}" if n == 1 else f"{n:,} {plural}"


def _sentence(label: str, text: str, the: bool = False) -> str:
    return f"{label}: {'the ' if the else ''}{text.rstrip('.')}."


def sweep_messages(report: SweepReport, overdue: list[str], watched: list[str], erased: int,
                   pruned: int, interrupted: list[str], sent: int) -> list[str]:
    """What the sweep did, as sentences: one per lapse, warning and overdue monitor, then the
    totals ("Lapsed: 2 records; expiring within 30 days: 1 record; ...")."""
    lines = [_sentence("Lapsed", t, the=True) for t in report.lapsed]
    lines += [_sentence("Expires soon", t, the=True) for t in report.expiring]
    lines += [_sentence("Overdue", t) for t in overdue]
    lines += [_sentence("Watch alert", t) for t in watched]
    lines += [_sentence("Interrupted", t) for t in interrupted]
    lines.append(
        f"Lapsed: {counted(len(report.lapsed), 'record')}; "
        f"expiring within {report.within_days} days: {counted(len(report.expiring), 'record')}; "
        f"drift monitors overdue: {counted(len(overdue), 'monitor')}; "
        f"watch alerts raised: {counted(len(watched), 'alert')}; "
        f"score inputs erased: {counted(erased, 'receipt')}; "
        f"drift reports deleted: {counted(pruned, 'report')}; "
        f"jobs queued again: {counted(len(interrupted), 'job')}; "
        f"notifications sent or queued: {counted(sent, 'notification')}.")
    return lines
