"""What waits for one person, by the roles they hold in each record's organisation.

A DPO is asked for her advice on the DPIAs of her organisations; a governance officer to answer
that advice, to decide what awaits his approval, to acknowledge alerts and to renew what expires
(or has expired, until it is renewed or retired);
a data scientist to make the changes asked of their records and to mend their failing monitors.
Every item says what to do, in the officer's words, and where (a path of the web pages). Only
records of organisations where the person holds the role that acts on them are listed: the
roles are those held *there* (`Actor.roles_in`), on top of the session's scope.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..records import DPIA, DataSharingAgreement, Decision, Governed, ModelVersion
from . import gaps, gates, monitor_health, watch
from .actors import Actor
from .chain import evaluate
from .dpia import OPEN as DPIA_OPEN
from .dpia import authors
from .evidence import CLOSED
from .kinds import KINDS
from .lifecycle import can_approve
from .policy import Policy
from .sweep import due_dates

# The order items are listed in: what only this person can unblock first.
PRIORITY = ("dpo_advice", "advice_response", "decision", "changes_requested", "alert",
            "monitor", "stopped", "overdue", "due")
# A version's requirements that fail when something it rests on fails (its model, datasets,
# and the agreements that permit its purposes): the version reads approved but is not usable.
UPSTREAM = ("model", "datasets", "purpose_permitted", "use_permitted")


@dataclass(frozen=True)
class Item:
    kind: str  # one of PRIORITY
    record: Governed
    todo: str  # what to do, addressed to the person
    detail: str  # what was found, why it waits
    path: str  # the web page (and place on it) where it is done
    when: date | None = None  # since when it waits, or the day it falls due
    ref: str = ""  # the thing itself when a record has several: "watch_alert:3"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject_kind": self.record.kind,
                "subject_id": str(self.record.id), "title": title(self.record),
                "todo": self.todo, "detail": self.detail, "link": self.path,
                "when": self.when.isoformat() if self.when else None, "ref": self.ref or None}


def title(record: Governed) -> str:
    """A record's name as a list shows it."""
    if isinstance(record, (DataSharingAgreement, DPIA)):
        return f"{record.reference}: {record.title}"
    if isinstance(record, ModelVersion):
        return f"{record.model.name} v{record.number}"
    return str(getattr(record, "title", None) or getattr(record, "name", record.label))


def path(record: Governed, anchor: str = "") -> str:
    """The record's page on the web (the routes of registry.web)."""
    if isinstance(record, ModelVersion):
        page = f"/models/{record.model.name}/versions/{record.number}"
    elif record.kind == "model":
        page = f"/models/{record.name}"  # type: ignore[attr-defined]
    else:
        page = {"agreement": "/agreements", "dataset": "/datasets", "dpia": "/dpias"}[
            record.kind] + f"/{record.id}"  # type: ignore[attr-defined]
    return page + (f"#{anchor}" if anchor else "")


def _day(moment: datetime | None) -> date | None:
    return moment.date() if moment is not None else None


def _holds(actor: Actor, record: Governed, *roles: str) -> bool:
    return bool(actor.roles_in(record.organisation_id) & set(roles))


def _records(session: Session, states: tuple[str, ...]) -> Iterator[Governed]:
    for cls in KINDS.values():
        yield from session.scalars(select(cls).where(cls.state.in_(states)).order_by(cls.id))


def _dpias(session: Session, actor: Actor) -> Iterator[Item]:
    for dpia in session.scalars(select(DPIA).where(DPIA.state.in_(DPIA_OPEN))
                                .order_by(DPIA.id)):
        # nobody is asked for what they may not do: a DPO to advise on a DPIA they wrote, the
        # one who gave the advice to answer it (governance/dpia.py)
        if (not dpia.dpo_advice and dpia.state == "submitted" and _holds(actor, dpia, "dpo")
                and actor.user_id not in authors(dpia)):
            yield Item("dpo_advice", dpia, "Give your advice on this DPIA",
                       "waiting for the DPO's advice, without which it cannot be approved",
                       path(dpia, "dpo-advice"), _day(dpia.submitted_at))
        elif (dpia.dpo_advice and dpia.dpo_advice_accepted is None
              and _holds(actor, dpia, "governance_officer")
              and actor.user_id != dpia.dpo_advice_by_id):
            yield Item("advice_response", dpia, "Accept or overrule the DPO's advice, with "
                       "reasons", "the DPO has advised; the DPIA cannot be approved until an "
                       "officer answers", path(dpia, "dpo-advice"), _day(dpia.updated_at))


def _decisions(session: Session, actor: Actor, policy: Policy) -> Iterator[Item]:
    for record in _records(session, ("submitted", "suspended")):
        if not can_approve(session, actor, record, policy):
            continue
        given = gates.current_approvals(session, record)
        if record.state == "suspended" and not given:
            continue  # nobody has begun to reinstate it: not waiting on anyone
        missing = gates.approvals_missing(session, record, policy)
        act = "reinstatement" if record.state == "suspended" else "approval"
        detail = (f"{len(given)} {act}(s) given; still missing: {', '.join(missing)}"
                  if given else f"awaiting {act} by {', '.join(missing)}")
        yield Item("decision", record, f"Decide on this {act}: check the gate, then approve, "
                   "request changes or reject", detail, path(record, "decide"),
                   _day(record.submitted_at) if record.state == "submitted"
                   else _day(given[-1].created_at))


def _changes_requested(session: Session, actor: Actor) -> Iterator[Item]:
    uid = actor.user_id
    for cls in KINDS.values():
        mine = select(cls).where(cls.state == "changes_requested", or_(
            cls.owner_id == uid, cls.created_by_id == uid, cls.submitted_by_id == uid))
        for record in session.scalars(mine.order_by(cls.id)):
            asked = session.scalars(select(Decision).where(
                Decision.subject_kind == record.kind, Decision.subject_id == record.id,
                Decision.decision == "request_changes").order_by(Decision.id.desc())).first()
            yield Item("changes_requested", record, "Make the changes asked for, then submit "
                       "it again", f"changes requested: {asked.rationale}" if asked
                       else "changes requested", path(record, "checklist"),
                       _day(asked.created_at) if asked else None)


def _alerts(session: Session, actor: Actor, policy: Policy) -> Iterator[Item]:
    versions = session.scalars(select(ModelVersion).where(ModelVersion.state.not_in(CLOSED))
                               .order_by(ModelVersion.id)).all()
    for version in versions:
        if not _holds(actor, version, "governance_officer"):
            continue
        for alert in watch.open_alerts(session, version):
            yield Item("alert", version, "Look into how the model is used, then acknowledge "
                       "the alert saying what you found and did", alert.reason,
                       path(version, "watch-alerts"), _day(alert.created_at),
                       f"watch_alert:{alert.id}")
        for gap in gaps.open_alerts(session, version, policy):
            yield Item("alert", version, f"{gap.remedy[0].upper()}{gap.remedy[1:]}",
                       gap.detail, path(version, "drift-alerts"), None, gap.evidence)


def _monitors(session: Session, actor: Actor, policy: Policy, now: datetime) -> Iterator[Item]:
    for version, h in monitor_health.unwell(session, policy, now):
        if not (_holds(actor, version, "governance_officer") or actor.user_id in (
                version.owner_id, version.created_by_id)):
            continue
        served = ("not served until a check runs" if h.lapsed
                  else "still served within the grace period")
        yield Item("monitor", version, f"{h.remedy[0].upper()}{h.remedy[1:]}",
                   f"drift monitor {h.monitor.id} is {h.state}: {h.why}; {served}",
                   path(version, "drift-health"), _day(h.since))


def _stopped(session: Session, actor: Actor, policy: Policy, now: datetime) -> Iterator[Item]:
    """Approved versions that something upstream stopped (an agreement expired, a dataset's
    approval lapsed): the version's own page reads "approved", and the lapsed record may be
    another organisation's, so its officers and owner are told here."""
    versions = session.scalars(select(ModelVersion).where(ModelVersion.state == "approved")
                               .order_by(ModelVersion.id)).all()
    for version in versions:
        if not (_holds(actor, version, "governance_officer") or actor.user_id in (
                version.owner_id, version.created_by_id)):
            continue
        unmet = [r for r in evaluate(session, version, policy, now).unmet if r.id in UPSTREAM]
        if unmet:
            todo = "; ".join(dict.fromkeys(r.remedy for r in unmet if r.remedy)) or (
                "find what stopped it on its checklist")
            yield Item("stopped", version, f"{todo[0].upper()}{todo[1:]}",
                       "approved, but not usable: " + "; ".join(r.detail for r in unmet),
                       path(version, "checklist"))


def _due(session: Session, actor: Actor, policy: Policy, today: date) -> Iterator[Item]:
    horizon = today + timedelta(days=policy.watch.due_within_days)
    for record in _records(session, ("approved", "suspended")):
        # officers renew; a DPIA's review is the DPO's business too; owners hear of their own
        renewers = ("governance_officer", "dpo") if isinstance(record, DPIA) else (
            "governance_officer",)
        if not (_holds(actor, record, *renewers) or actor.user_id == record.owner_id):
            continue
        dates = list(due_dates(record))
        if isinstance(record, DataSharingAgreement) and record.review_date:
            dates.append(("agreement review", record.review_date))
        # A date already passed waits until the record is renewed or retired: the lease stops
        # its use at once, but "nothing waiting" would leave it unseen (the sweep, if it has run,
        # suspended it, and nobody has begun to reinstate it).
        passed = sorted((day, what) for what, day in dates
                        if isinstance(day, date) and day < today)
        if passed:
            ago = (today - passed[0][0]).days
            yield Item("overdue", record, "Renew or review it, or retire it: it is not usable "
                       "until then", "; ".join(f"{what} ended on {day:%d %B %Y}"
                                               for day, what in passed)
                       + f" ({ago} day{'s' * (ago != 1)} ago): not usable until renewed",
                       path(record, "summary"), passed[0][0])
        soon = sorted((day, what) for what, day in dates
                      if isinstance(day, date) and today <= day <= horizon)
        if not soon:
            continue
        first = soon[0][0]
        days = (first - today).days
        yield Item("due", record, "Renew or review it before the date, or it stops being "
                   "usable", "; ".join(f"{what} on {day:%d %B %Y}" for day, what in soon)
                   + (" (today)" if days == 0 else f" (in {days} day{'s' * (days != 1)})"),
                   path(record, "summary"), first)


def inbox(session: Session, actor: Actor, policy: Policy, now: datetime) -> list[Item]:
    """Everything waiting for `actor`, what only they can unblock first, oldest first within."""
    if actor.kind != "user":
        return []
    items = [*_dpias(session, actor), *_decisions(session, actor, policy),
             *_changes_requested(session, actor), *_alerts(session, actor, policy),
             *_monitors(session, actor, policy, now), *_stopped(session, actor, policy, now),
             *_due(session, actor, policy, now.date())]
    return sorted(items, key=lambda i: (PRIORITY.index(i.kind), i.when or date.max))
