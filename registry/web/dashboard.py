"""What a signed-in person needs to see first: decisions waiting, dates coming, things stopped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..governance import chain, gaps, gates, monitor_health
from ..governance.actors import Actor
from ..governance.chain import fit_for_use
from ..governance.evidence import CLOSED
from ..governance.kinds import KINDS
from ..governance.lifecycle import can_approve
from ..governance.permissions import allowed
from ..governance.policy import Policy
from ..governance.sweep import due_dates
from ..records import DataSharingAgreement, Decision, Governed, ModelVersion
from .present import format_date, format_datetime, role_name


@dataclass
class Item:
    record: Governed
    note: str = ""
    detail: str = ""
    when: date | None = None
    ready: bool | None = None
    todo: str = ""  # what to do about it
    anchor: str = ""  # where on the record's page


def records(session: Session, states: tuple[str, ...] | None = None,
            where: Any = None) -> list[Governed]:
    found: list[Governed] = []
    for cls in KINDS.values():
        query = select(cls)
        if states:
            query = query.where(cls.state.in_(states))
        if where is not None:
            query = query.where(where(cls))
        found.extend(session.scalars(query.order_by(cls.id)).all())
    return found


def awaiting_decision(session: Session, actor: Actor, policy: Policy,
                      now: datetime) -> list[Item]:
    if not allowed(actor, "decide"):
        return []
    items = []
    for record in records(session, ("submitted", "suspended")):
        if not can_approve(session, actor, record, policy):
            continue
        if record.state == "suspended":  # only once someone has begun to reinstate it
            begun = gates.current_approvals(session, record)
            if begun:
                items.append(Item(record, note="Reinstatement begun: yours is needed too",
                                  when=begun[-1].created_at.date()))
            continue
        gate = chain.evaluate(session, record, policy, now)
        unmet = [r for r in gate.unmet if r.id != "approvals"]
        note = ("Ready for your decision" if gate.ready
                else f"{len(unmet)} requirement{'s' if len(unmet) != 1 else ''} not met")
        items.append(Item(record, note=note, when=record.submitted_at and
                          record.submitted_at.date(), ready=gate.ready))
    return items


def due_soon(session: Session, today: date, within_days: int = 30) -> list[Item]:
    """Approved or suspended records with a date within the window (the policy's [watch]
    due_within_days, as the inbox and the events look): one line per record."""
    items: list[Item] = []
    horizon = today + timedelta(days=within_days)
    for record in records(session, ("approved", "suspended")):
        dates = list(due_dates(record))
        if isinstance(record, DataSharingAgreement) and record.review_date:
            dates.append(("agreement review", record.review_date))
        soon: dict[date, list[str]] = {}
        for what, last_day in dates:
            if isinstance(last_day, date) and today <= last_day <= horizon:
                soon.setdefault(last_day, []).append(what)
        if not soon:
            continue
        first = min(soon)
        days = (first - today).days
        note = "; ".join(f"{' and '.join(whats)} ({format_date(day)})"
                         for day, whats in sorted(soon.items()))
        detail = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
        items.append(Item(record, note=note, when=first, detail=detail))
    return sorted(items, key=lambda i: i.when or today)


def stopped(session: Session, policy: Policy, now: datetime) -> list[Item]:
    """Suspended records (with the reason given) and approved ones that may not be relied on."""
    today = now.date()
    items = []
    for record in records(session, ("approved", "suspended")):
        if record.state == "suspended":
            last = session.scalars(select(Decision).where(
                Decision.subject_kind == record.kind, Decision.subject_id == record.id,
                Decision.decision == "suspend").order_by(Decision.id.desc())).first()
            items.append(Item(record, note="Suspended",
                              detail=last.rationale if last else "suspended",
                              when=last.created_at.date() if last else None))
            continue
        check = fit_for_use(session, record, policy, today, now)
        if not check.ok:
            items.append(Item(record, note="Lapsed", detail=check.reason))
    return items


def monitors_unwell(session: Session, policy: Policy, now: datetime) -> list[Item]:
    """Drift monitors in force that cannot run or are overdue: what is wrong, since when, and
    whether the version is still served (within the policy's grace) or not."""
    items = []
    for version, h in monitor_health.unwell(session, policy, now):
        served = ("not served until a check runs" if h.lapsed
                  else f"still served until {format_datetime(h.grace_until)} (grace period)")
        items.append(Item(version, note=f"Drift monitor {h.state}",
                          detail=f"{h.why}; {served}", when=h.since.date() if h.since else None,
                          todo=h.remedy, anchor="drift-health"))
    return items


def open_alerts(session: Session, policy: Policy) -> list[Item]:
    """Drift found by monitors that alert, not yet acknowledged by an officer."""
    items = []
    versions = session.scalars(select(ModelVersion).where(ModelVersion.state.not_in(CLOSED))
                               .order_by(ModelVersion.id)).all()
    for version in versions:
        for gap in gaps.open_alerts(session, version, policy):
            items.append(Item(version, note="Drift alert", detail=gap.detail,
                              todo=f"{gap.remedy} (columns: {', '.join(gap.outstanding)})",
                              anchor="drift-alerts"))
    return items


def my_records(session: Session, actor: Actor, policy: Policy, now: datetime) -> list[Item]:
    uid = actor.user_id
    if uid is None:
        return []
    mine = records(session, ("draft", "submitted", "changes_requested", "rejected"),
                   where=lambda cls: or_(cls.owner_id == uid, cls.created_by_id == uid,
                                         cls.submitted_by_id == uid))
    items = []
    for record in mine:
        gate = chain.evaluate(session, record, policy, now)
        unmet = [r for r in gate.unmet if r.id != "approvals"]
        if record.state == "submitted":
            missing = gates.approvals_missing(session, record, policy)
            note = ("awaiting approval by " + ", ".join(role_name(r) for r in missing)
                    if missing else "approved")
        else:
            note = ("every requirement met" if gate.ready
                    else f"{len(unmet)} requirement{'s' if len(unmet) != 1 else ''} not met")
        items.append(Item(record, note=note, ready=gate.ready,
                          when=record.updated_at.date() if record.updated_at else None))
    return items
