"""Approval as a lease: whether a record may be relied on today, computed from the whole chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from ..records import DPIA, DataSharingAgreement, Governed, ModelVersion
from .policy import Policy

STATE_WORDS = {
    "draft": "still a draft",
    "submitted": "awaiting approval",
    "changes_requested": "sent back for changes",
    "rejected": "rejected",
    "suspended": "suspended",
    "retired": "retired",
}


@dataclass(frozen=True)
class Usability:
    ok: bool
    reason: str = ""


def usable(session: Session, record: Governed, policy: Policy, today: date,
           at: datetime | None = None) -> Usability:
    """Usable = approved, its lease unexpired, in force today, and every gate requirement met.

    The gate is evaluated at ``at`` (a moment of ``today``), by default at noon: only a drift
    monitor's health runs by the hour.
    """
    from .gates import evaluate

    label = record.label
    if record.state != "approved":
        return Usability(False, f"{label} is {STATE_WORDS.get(record.state, record.state)}")
    # The record's own dates first: an approval's lease is capped at them, so when both run out
    # on the same day the specific reason ("expired", "due for review") is the one to give.
    if isinstance(record, DataSharingAgreement):
        if record.start_date and record.start_date > today:
            return Usability(False, f"{label} is not in force until {record.start_date}")
        if record.end_date and record.end_date < today:
            return Usability(False, f"{label} expired on {record.end_date + timedelta(days=1)}")
    if isinstance(record, DPIA) and record.review_date and record.review_date < today:
        return Usability(False, f"{label} was due for review on {record.review_date}")
    if (isinstance(record, ModelVersion) and record.stage == "pilot"
            and record.pilot_end_date and record.pilot_end_date < today):
        return Usability(False, f"the pilot of {label} ended on {record.pilot_end_date}")
    if record.approved_until is not None and record.approved_until < today:
        return Usability(False, f"the approval of {label} lapsed on "
                                f"{record.approved_until + timedelta(days=1)}")
    moment = at or datetime.combine(today, time(12), tzinfo=UTC)
    unmet = evaluate(session, record, policy, moment).unmet
    if unmet:
        return Usability(False, f"{label} is not usable: {unmet[0].detail}")
    return Usability(True)


def first(record: Governed) -> str:
    """What to do to an upstream record before the one resting on it, in the officer's words."""
    if record.state == "approved":  # approved, but lapsed or no longer meeting its gate
        return f"bring {record.label} back into force first"
    verb = {"suspended": "reinstate", "rejected": "replace", "retired": "replace"}
    return f"{verb.get(record.state, 'approve')} {record.label} first"


def servability(session: Session, version: ModelVersion, policy: Policy, today: date,
                at: datetime | None = None) -> Usability:
    """Whether a frontline tool may be served this version, with the reason chain if not."""
    u = usable(session, version, policy, today, at)
    if not u.ok:
        reason = u.reason.replace(f"{version.label} is not usable: ", "")
        if version.state == "suspended":  # suspended by Gatehouse itself (drift): say why
            why = _system_suspension(session, version)
            reason += f": {why}" if why else ""
        return Usability(False, f"{version.label} is not servable: {reason}")
    if version.model.purpose_class != "individual_case_work":
        return Usability(False, f"{version.label} is not servable: it is approved for "
                                "aggregate analysis, not for scoring individual cases")
    return u


def _system_suspension(session: Session, record: Governed) -> str | None:
    """The reason Gatehouse gave if it suspended the record itself (a drift breach), else None.

    A person's rationale stays in the registry: frontline tools are told only the automatic one.
    """
    from sqlalchemy import select

    from ..records import Decision

    latest = session.scalars(
        select(Decision)
        .where(Decision.subject_kind == record.kind, Decision.subject_id == record.id,
               Decision.decision == "suspend")
        .order_by(Decision.id.desc()).limit(1)).first()
    return latest.rationale if latest is not None and latest.actor_role == "system" else None
