"""Events: what the ledger's entries mean to the people and tools who must hear of them.

The ledger is the one record of what happened; events are read from it after the fact
(:func:`collect`, which moves a cursor over the entries), so nothing that appends needs to know
of them and none is lost: entries not yet read are read by the next call. The calendar raises
the others (:func:`by_calendar`, from the daily sweep): what expires within the policy's window
(``[watch] due_within_days``, the inbox's too), and the versions whose serving stopped by a date
alone (an audit grown too old, a monitor's grace over).

Each event belongs to the organisation of its record and names the models concerned, which is
what a frontline tool's webhook is filtered on. A person's rationale stays in the registry:
events carry only what Gatehouse itself said.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import (
    DriftMonitor,
    Event,
    EventCursor,
    Governed,
    LedgerEntry,
    ModelVersion,
    PredictiveModel,
    VersionLapse,
    dpia_datasets,
    dpia_models,
    version_datasets,
)
from .kinds import KINDS
from .policy import Policy
from .upstream import dependents_of_agreement

# The chain rule (gates, evidence) and the sweep's dates are imported by the functions that use
# them: most entries raise nothing (a user created, a record drafted), and every commit that
# appends to the ledger collects its events, the command line's included.

# Every kind of event, and what it means (the API validates subscriptions against these).
KINDS_OF_EVENT: dict[str, str] = {
    "version.approved": "a model version was approved: it may be served",
    "version.reinstated": "a suspended model version was reinstated: it may be served again",
    "version.suspended": "a model version was suspended: it is not served",
    "version.lapsed": "something a version in use rests on lapsed (an agreement, dataset, DPIA, "
                      "bias audit or drift monitor expired, was suspended or failed): it is "
                      "not served; the reason names the chain",
    "record.expiring": "a record's approval, agreement, DPIA review or pilot ends within the "
                       "policy's window ([watch] due_within_days; once a day per record)",
    "monitor.breach": "a drift check found drift beyond the monitor's limit",
    "monitor.failing": "a drift monitor could not run its check, or is overdue",
    "alert.raised": "an alert for an officer to acknowledge (drift, watch rules)",
}
# Told by email at once; the others go in the daily digest.
URGENT = frozenset({"version.suspended", "version.lapsed", "monitor.breach", "alert.raised"})
_ENDS = {"approval": "its approval lapses", "agreement end": "it ends",
         "DPIA review": "it is due for review", "pilot end": "its pilot ends"}
_BATCH = 500
_UPSTREAM = frozenset({"agreement", "dataset", "dpia", "model", "model_version"})
# entries that change nothing a version in use rests on (a refused score call names its model,
# a refused download its dataset)
_QUIET = frozenset({"create", "score_refused", "download_refused"})
_GATEHOUSE = "system:"  # the ledger's actor prefix for Gatehouse itself


def collect(session: Session, policy: Policy) -> list[Event]:
    """Turn the ledger entries appended since the last call into events (the caller commits).
    The cursor row is locked: two callers at once take turns, and neither repeats the other."""
    cursor = session.scalars(select(EventCursor).where(EventCursor.id == 1)
                             .with_for_update()).first()
    if cursor is None:
        cursor = EventCursor(id=1, seq=0)
        session.add(cursor)
    made: list[Event] = []
    while True:
        entries = session.scalars(select(LedgerEntry).where(LedgerEntry.seq > cursor.seq)
                                  .order_by(LedgerEntry.seq).limit(_BATCH)).all()
        for entry in entries:
            made += from_entry(session, policy, entry)
            cursor.seq = entry.seq
        session.flush()
        if len(entries) < _BATCH:
            return made


def from_entry(session: Session, policy: Policy, entry: LedgerEntry) -> list[Event]:
    """The events one ledger entry raises."""
    action, kind, change = entry.action, entry.subject_kind, entry.change or {}
    made: list[Event] = []
    version = _version(session, kind, entry.subject_id)
    if action.startswith("decision:") and version is not None:
        decision = action.removeprefix("decision:")
        said = change.get("rationale") if entry.actor.startswith(_GATEHOUSE) else None
        if decision in ("approve", "reinstate") and change.get("to_state") == "approved":
            made.append(_version_event(
                session, entry, f"version.{decision}d", version,
                f"{version.label} was {decision}d: it may be served until "
                f"{change.get('approved_until')}",
                {"decision_id": change.get("decision_id"),
                 "approved_until": change.get("approved_until")}))
        elif decision == "suspend":
            made.append(_version_event(
                session, entry, "version.suspended", version,
                f"{version.label} was suspended" + (f" by Gatehouse: {said}" if said
                                                    else " by an officer"),
                {"decision_id": change.get("decision_id"), "reason": said}))
    if action == "drift_check" and change.get("drifted") and version is not None:
        monitor = session.get(DriftMonitor, change.get("monitor_id"))
        columns = change.get("drifted_columns") or []
        made.append(_version_event(
            session, entry, "monitor.breach", version,
            f"drift found on {version.label}: {len(columns)} column(s) drifted "
            f"({', '.join(columns)}), a share of {change.get('share_drifted', 0):.2f}",
            {"check_id": change.get("check_id"), "monitor_id": change.get("monitor_id"),
             "share_drifted": change.get("share_drifted"), "drifted_columns": columns,
             "action": monitor.action if monitor else None}))
    if action in ("drift_check_failed", "drift_monitor_overdue") and version is not None:
        failed = action == "drift_check_failed"
        why = change.get("error") if failed else change.get("reason")
        made.append(_version_event(
            session, entry, "monitor.failing", version,
            f"the drift monitor of {version.label} "
            + (f"could not run: {why}" if failed else f"is overdue: {why}"),
            {"monitor_id": change.get("monitor_id"), "state": "failed" if failed else "overdue",
             "reason": why}))
    if action.endswith("_alert"):
        made.append(_alert(session, entry, version))
    if kind in _UPSTREAM and action not in _QUIET:
        affected = resting_on(session, kind, entry.subject_id)
        if change.get("to_state") == "approved":
            # an approval stops nothing (the decision walked the chain already): the lapses
            # told of what rests on the record are forgotten, so a later one is told again
            for version in affected:
                mark = session.get(VersionLapse, version.id)
                if mark is not None:
                    session.delete(mark)
        else:
            made += lapses(session, policy, affected, entry.at, entry)
    return made


def by_calendar(session: Session, policy: Policy, now: datetime) -> list[Event]:
    """What the date alone raises today: each record expiring within the window (once a day),
    and each version in use that a date stopped (the sweep runs this daily)."""
    window = timedelta(days=policy.watch.due_within_days)  # the inbox's window too
    made = [e for e in (_expiring(session, record, now, window)
                        for record in _in_force(session)) if e is not None]
    versions = session.scalars(select(ModelVersion).where(ModelVersion.state == "approved")
                               .order_by(ModelVersion.id)).all()
    return made + lapses(session, policy, list(versions), now, None)


def lapses(session: Session, policy: Policy, versions: list[ModelVersion], at: datetime,
           cause: LedgerEntry | None) -> list[Event]:
    """A ``version.lapsed`` event for each approved version no longer fit for use, told once per
    spell and reason (:class:`VersionLapse`); a version fit again, or no longer approved, is
    forgotten."""
    from .chain import fit_for_use

    made = []
    for version in versions:
        mark = session.get(VersionLapse, version.id)
        fit = version.state == "approved" and fit_for_use(session, version, policy, at.date(),
                                                          at)
        if version.state != "approved" or fit.ok:
            if mark is not None:
                session.delete(mark)
            continue
        if mark is not None and mark.reason == fit.reason:
            continue
        if mark is None:
            session.add(VersionLapse(model_version_id=version.id, reason=fit.reason, at=at))
        else:
            mark.reason, mark.at = fit.reason, at
        made.append(_add(session, f"version.lapsed:{version.id}:{_digest(fit.reason)}:"
                         f"{cause.seq if cause else at.date()}", "version.lapsed", version,
                         _models(version), fit.reason,
                         {"reason": fit.reason, "cause": _cause(session, cause)},
                         cause.seq if cause else None, at))
    session.flush()
    return made


def resting_on(session: Session, kind: str, subject_id: str) -> list[ModelVersion]:
    """The versions resting on a record: itself, a model's, those trained or evaluated on a
    dataset, on data an agreement covers, or assessed by a DPIA."""
    if not subject_id.isdigit():
        model = session.scalars(select(PredictiveModel).where(
            PredictiveModel.name == subject_id)).first()
        return list(model.versions) if kind == "model" and model else []
    key = int(subject_id)
    if kind == "model_version":
        version = session.get(ModelVersion, key)
        return [version] if version else []
    if kind == "model":
        model = session.get(PredictiveModel, key)
        return list(model.versions) if model else []
    if kind == "agreement":
        agreement = session.get(KINDS["agreement"], key)
        return dependents_of_agreement(session, agreement)["model_versions"] if agreement else []
    if kind == "dataset":
        query = select(ModelVersion).where(ModelVersion.id.in_(select(
            version_datasets.c.version_id).where(version_datasets.c.dataset_id == key)))
    elif kind == "dpia":  # the versions of the models it assesses, or on the data it assesses
        assessed = select(dpia_datasets.c.dataset_id).where(dpia_datasets.c.dpia_id == key)
        using = select(version_datasets.c.version_id).where(
            version_datasets.c.dataset_id.in_(assessed))
        models = select(dpia_models.c.model_id).where(dpia_models.c.dpia_id == key)
        query = select(ModelVersion).where(ModelVersion.id.in_(using)
                                           | ModelVersion.model_id.in_(models))
    else:
        return []
    return list(session.scalars(query.order_by(ModelVersion.id)))


def payload(event: Event, organisation_slug: str | None) -> dict[str, Any]:
    """The event as a webhook receives it (and as the API shows it)."""
    return {"id": event.id, "event": event.kind, "created_at": event.created_at.isoformat(),
            "organisation": organisation_slug, "summary": event.summary,
            "subject": {"kind": event.subject_kind, "id": event.subject_id,
                        **event.data.get("_subject", {})},
            "models": event.models,
            "data": {k: v for k, v in event.data.items() if k != "_subject"}}


# -- helpers -----------------------------------------------------------------------------------


def _in_force(session: Session) -> list[Governed]:
    found: list[Governed] = []
    for cls in KINDS.values():
        found += session.scalars(select(cls).where(cls.state == "approved").order_by(cls.id))
    return found


def _expiring(session: Session, record: Governed, now: datetime,
              window: timedelta) -> Event | None:
    from .sweep import due_dates

    today = now.date()
    soon = [(what, day) for what, day in due_dates(record)
            if isinstance(day, date) and today <= day <= today + window]
    if not soon:
        return None
    # the record's own end before its approval's, which is capped at it
    what, last_day = min(soon, key=lambda pair: (pair[1], pair[0] == "approval"))
    days = (last_day - today).days
    key = f"record.expiring:{record.kind}:{record.id}:{today}"
    if session.scalars(select(Event.id).where(Event.key == key)).first() is not None:
        return None
    versions = resting_on(session, record.kind, str(record.id))
    models = sorted({v.model.name for v in versions}
                    | ({record.name} if isinstance(record, PredictiveModel) else set()))
    return _add(session, key, "record.expiring", record, models,
                f"{record.label}: {_ENDS.get(what, what)} on {last_day} (in {days} day"
                f"{'s' if days != 1 else ''})",
                {"ends": [{"what": w, "last_day": str(d)} for w, d in sorted(soon, key=str)],
                 "last_day": str(last_day), "days_left": days}, None, now)


def _alert(session: Session, entry: LedgerEntry, version: ModelVersion | None) -> Event:
    change = entry.change or {}
    reason = change.get("reason") or change.get("summary") or entry.action.replace("_", " ")
    subject: Any = version
    if subject is None:
        cls = KINDS.get(entry.subject_kind)
        subject = session.get(cls, int(entry.subject_id)) if (
            cls and entry.subject_id.isdigit()) else None
    label = subject.label if subject is not None else f"{entry.subject_kind} {entry.subject_id}"
    models = _models(version) if version else []
    event = Event(key=f"ledger:{entry.seq}:alert.raised", kind="alert.raised",
                  organisation_id=entry.organisation_id, subject_kind=entry.subject_kind,
                  subject_id=entry.subject_id, models=models,
                  summary=f"{entry.action.replace('_', ' ')} on {label}: {reason}",
                  data={"alert": entry.action, "reason": reason, "details": change,
                        "_subject": {"label": label}},
                  urgent=True, ledger_seq=entry.seq, created_at=entry.at)
    session.add(event)
    return event


def _version_event(session: Session, entry: LedgerEntry, kind: str, version: ModelVersion,
                   summary: str, data: dict[str, Any]) -> Event:
    return _add(session, f"ledger:{entry.seq}:{kind}", kind, version, _models(version),
                summary, data, entry.seq, entry.at)


def _add(session: Session, key: str, kind: str, record: Governed, models: list[str],
         summary: str, data: dict[str, Any], seq: int | None, at: datetime) -> Event:
    subject: dict[str, Any] = {"label": record.label}
    if isinstance(record, ModelVersion):
        subject.update(model=record.model.name, version=record.number)
    event = Event(key=key, kind=kind, organisation_id=record.organisation_id,
                  subject_kind=record.kind, subject_id=str(record.id), models=models,
                  summary=summary, data={**data, "_subject": subject}, urgent=kind in URGENT,
                  ledger_seq=seq, created_at=at)
    session.add(event)
    return event


def _version(session: Session, kind: str, subject_id: str) -> ModelVersion | None:
    if kind != "model_version" or not subject_id.isdigit():
        return None
    return session.get(ModelVersion, int(subject_id))


def _models(version: ModelVersion) -> list[str]:
    return [version.model.name]


def _cause(session: Session, entry: LedgerEntry | None) -> dict[str, Any]:
    """What stopped the version: the entry's record and action, or the calendar."""
    if entry is None:
        return {"by": "calendar"}
    cls = KINDS.get(entry.subject_kind)
    record = session.get(cls, int(entry.subject_id)) if (
        cls and entry.subject_id.isdigit()) else None
    return {"by": "ledger", "ledger_seq": entry.seq, "action": entry.action,
            "kind": entry.subject_kind, "id": entry.subject_id,
            "label": record.label if record is not None else entry.subject_id}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


