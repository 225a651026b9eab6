"""The chain rule: a record's gate asks whether each record it rests on is usable, and a
record is usable (approval as a lease) only while its own gate is met — computed from the whole
chain at the moment of asking."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import DPIA, DataSharingAgreement, Decision, Governed, ModelVersion
from . import gates, parties
from .gates import STATE_WORDS, GateResult, Usability
from .policy import Policy


def evaluate(session: Session, record: Governed, policy: Policy, now: datetime) -> GateResult:
    """The record's gate at `now`, each upstream record asked whether it is usable today."""
    return _evaluate(session, record, policy, now, {})


def _evaluate(session: Session, record: Governed, policy: Policy, now: datetime,
              known: dict[tuple[str, int], Usability]) -> GateResult:
    """One walk up the chain: each upstream record is judged once however many records below
    it rest on it (an agreement under two datasets), `known` holding what is judged so far."""
    today = now.date()

    def upstream_usable(upstream: Governed) -> Usability:
        key = (upstream.kind, upstream.id)
        if key not in known:
            known[key] = _usable(session, upstream, policy, today, None, known)
        return known[key]

    return gates.requirements(session, record, policy, now, upstream_usable)


def usable(session: Session, record: Governed, policy: Policy, today: date,
           at: datetime | None = None) -> Usability:
    """Usable = approved, its lease unexpired, in force today, and every gate requirement met.

    The gate is evaluated at ``at`` (a moment of ``today``), by default at noon: only a drift
    monitor's health runs by the hour.
    """
    return _usable(session, record, policy, today, at, {})


def _usable(session: Session, record: Governed, policy: Policy, today: date,
            at: datetime | None, known: dict[tuple[str, int], Usability]) -> Usability:
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
        stopped = parties.refusal(record)  # either party may stop its side of the flow
        if stopped:
            return Usability(False, stopped)
    if isinstance(record, DPIA) and record.review_date and record.review_date < today:
        return Usability(False, f"{label} was due for review on {record.review_date}")
    if (isinstance(record, ModelVersion) and record.stage == "pilot"
            and record.pilot_end_date and record.pilot_end_date < today):
        return Usability(False, f"the pilot of {label} ended on {record.pilot_end_date}")
    if record.approved_until is not None and record.approved_until < today:
        return Usability(False, f"the approval of {label} lapsed on "
                                f"{record.approved_until + timedelta(days=1)}")
    moment = at or datetime.combine(today, time(12), tzinfo=UTC)
    unmet = _evaluate(session, record, policy, moment, known).unmet
    if unmet:
        return Usability(False, f"{label} is not usable: {unmet[0].detail}")
    return Usability(True)


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


def fit_for_use(session: Session, record: Governed, policy: Policy, today: date,
                at: datetime | None = None) -> Usability:
    """Whether the record may be relied on for what it is for: a version for individual case
    work must be servable to a frontline tool; anything else, usable."""
    if (isinstance(record, ModelVersion)
            and record.model.purpose_class == "individual_case_work"):
        return servability(session, record, policy, today, at)
    return usable(session, record, policy, today, at)


def _system_suspension(session: Session, record: Governed) -> str | None:
    """The reason Gatehouse gave if it suspended the record itself (a drift breach), else None.

    A person's rationale stays in the registry: frontline tools are told only the automatic one.
    """
    latest = session.scalars(
        select(Decision)
        .where(Decision.subject_kind == record.kind, Decision.subject_id == record.id,
               Decision.decision == "suspend")
        .order_by(Decision.id.desc()).limit(1)).first()
    return latest.rationale if latest is not None and latest.actor_role == "system" else None
