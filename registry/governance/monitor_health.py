"""Whether a version's drift monitor in force is doing its job: running, and on time.

A monitor is

- **failing** while its latest check could not run (a job failure, evidently refusing the data,
  monitored columns missing from the receipts' inputs, …): since the first failure after its
  last check that ran;
- **overdue** when no check has run within its cadence, counted from its last check that ran
  (or from when it was set up):

  - ``daily``: a case scored since then is more than a day old (nothing scored, nothing due);
  - ``every_receipts`` = n: 2n receipts with kept inputs were scored since then — the check is
    due at n, and the second n is the slack for the job to run;

  only receipts whose inputs are still kept count, as only they can be checked;
- **healthy** otherwise. A check that runs, whatever it finds, ends failing and overdue.

A failing or overdue monitor is not a safeguard, whatever its action on breach: the gate's
``drift_monitor`` requirement is unmet once the policy's ``[drift] failing_grace_hours`` have
passed (default 0: at once), for a monitor that alerts as well as one that suspends, so the
version stops being served either way (servable ⇔ every requirement holds). Within the grace the
requirement still reads met, and its detail says what failed and when the grace ends. No one
suspends the version: a check that runs restores the requirement by itself.

Serving caches a version's verdict per process against the ledger's head and the day
(:mod:`registry.serving.verdicts`); the end of a grace, or a daily deadline already known,
is rechecked at that moment (:func:`next_change`). Receipts do not move the ledger's head, so a
monitor that falls overdue by receipts is seen by serving no later than the next
``gatehouse monitors run`` or ``gatehouse sweep``: both record a ``drift_monitor_overdue`` entry
for each overdue monitor (:func:`record_overdue`), once per spell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import DriftCheck, DriftMonitor, LedgerEntry, ModelVersion, ScoreReceipt
from . import evidence, ledger
from .actors import SYSTEM
from .policy import Policy
from .retention import inputs_kept

DAY = timedelta(days=1)
CHECK_AGAIN = ("fix what stops the check (the error says what), then run one: POST "
               ".../drift-checks, or `gatehouse monitors run`; a check that runs restores this")
RUN_DUE = ("run the checks that are due (`gatehouse monitors run`, scheduled at least daily) or "
           "post a batch to check; if they are run, find out why they do not finish")


@dataclass(frozen=True)
class Health:
    """A monitor's health at a moment: ``state`` is "ok", "failing" or "overdue"."""

    monitor: DriftMonitor
    state: str
    since: datetime | None = None  # when it began failing or fell overdue
    grace_until: datetime | None = None  # the requirement is unmet from then on
    lapsed: bool = False  # past the grace: the gate requirement is unmet
    why: str = ""  # what is wrong, in the officer's words
    remedy: str = ""
    error: str | None = None  # the latest failure's message
    deadline: datetime | None = None  # a healthy daily monitor falls overdue then

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def health(session: Session, monitor: DriftMonitor, policy: Policy, now: datetime) -> Health:
    """The monitor's health at ``now`` (see the module's docstring for the rules)."""
    grace = timedelta(hours=policy.drift_failing_grace_hours)
    checks = select(DriftCheck).where(DriftCheck.monitor_id == monitor.id)
    latest = session.scalars(checks.order_by(DriftCheck.id.desc()).limit(1)).first()
    last_ok = session.scalars(checks.where(DriftCheck.status == "ok")
                              .order_by(DriftCheck.id.desc()).limit(1)).first()
    if latest is not None and latest.status == "failed":
        first = session.scalars(checks.where(DriftCheck.id > (last_ok.id if last_ok else 0))
                                .order_by(DriftCheck.id).limit(1)).one()
        why = (f"the last check on {latest.created_at:%Y-%m-%d} could not run: {latest.error}"
               + (f" (failing since {first.created_at:%Y-%m-%d})"
                  if first.created_at.date() != latest.created_at.date() else ""))
        return _unwell(monitor, "failing", first.created_at, grace, now, why, CHECK_AGAIN,
                       latest.error)
    start = last_ok.created_at if last_ok else monitor.created_at
    after = f"its last check that ran, on {start:%Y-%m-%d}" if last_ok else "it was set up"
    found: list[tuple[datetime, str]] = []
    deadline = None
    if monitor.every_receipts:
        nth = _nth_receipt_since(session, monitor, start, 2 * monitor.every_receipts, now)
        if nth is not None:
            found.append((nth, f"{2 * monitor.every_receipts} cases were scored since {after}, "
                               f"and it should check every {monitor.every_receipts}"))
    if monitor.daily:
        first = _nth_receipt_since(session, monitor, start, 1, now)
        if first is not None:
            deadline = first + DAY
            if deadline <= now:
                found.append((deadline, f"cases scored on {first:%Y-%m-%d} are not checked a "
                                        f"day later: no check has run since {after}"))
    if found:
        since, why = min(found)
        return _unwell(monitor, "overdue", since, grace, now, why, RUN_DUE, None)
    return Health(monitor, "ok", deadline=deadline)


def _unwell(monitor: DriftMonitor, state: str, since: datetime, grace: timedelta,
            now: datetime, why: str, remedy: str, error: str | None) -> Health:
    until = since + grace
    return Health(monitor, state, since, until, now >= until, why, remedy, error)


def _nth_receipt_since(session: Session, monitor: DriftMonitor, start: datetime, n: int,
                       now: datetime) -> datetime | None:
    """When the n-th receipt (with kept inputs) scored after ``start`` was scored, if any."""
    return session.scalars(
        select(ScoreReceipt.created_at)
        .where(ScoreReceipt.model_version_id == monitor.model_version_id,
               ScoreReceipt.created_at > start, inputs_kept(now))
        .order_by(ScoreReceipt.created_at, ScoreReceipt.id).offset(n - 1).limit(1)).first()


def requirement(h: Health) -> tuple[bool, str, str]:
    """(met, detail, remedy) of the gate's ``drift_monitor`` requirement for a monitor not in
    breach."""
    m = h.monitor
    if h.ok:
        return True, f"monitor {m.id} configured (on breach: {m.action})", ""
    if h.lapsed:
        return False, f"drift monitor {m.id} is {h.state}: {h.why}", h.remedy
    return True, (f"drift monitor {m.id} is {h.state}: {h.why}; it counts as met until "
                  f"{_stamp(h.grace_until or h.since or m.created_at)}, the end of the policy's "
                  "grace period"), h.remedy


def of_version(session: Session, version: ModelVersion, policy: Policy, now: datetime
               ) -> Health | None:
    """The health of the version's monitor in force, or None if it has none."""
    monitor = evidence.in_force_monitor(session, version)
    return None if monitor is None else health(session, monitor, policy, now)


def next_change(session: Session, version: ModelVersion, policy: Policy, now: datetime
                ) -> datetime | None:
    """The next moment the monitor's requirement may change by time alone: the end of a grace,
    or (healthy, daily) the day's deadline plus the grace. Receipts' counts are not foreseen."""
    h = of_version(session, version, policy, now)
    if h is None or h.monitor.in_breach:
        return None
    if not h.ok:
        return None if h.lapsed else h.grace_until
    grace = timedelta(hours=policy.drift_failing_grace_hours)
    return None if h.deadline is None else h.deadline + grace


def unwell(session: Session, policy: Policy, now: datetime) -> list[tuple[ModelVersion, Health]]:
    """Every failing or overdue monitor in force on a version not rejected or retired."""
    found = []
    query = (select(DriftMonitor).join(ModelVersion)
             .where(DriftMonitor.status == "in_force",
                    ModelVersion.state.not_in(evidence.CLOSED)).order_by(DriftMonitor.id))
    for monitor in session.scalars(query).all():
        h = health(session, monitor, policy, now)
        if not h.ok:
            version = session.get(ModelVersion, monitor.model_version_id)
            assert version is not None
            found.append((version, h))
    return found


def record_overdue(session: Session, policy: Policy, now: datetime) -> list[str]:
    """A ``drift_monitor_overdue`` ledger entry for each monitor found overdue, once per spell
    (the entry moves the ledger's head, so every process's serving verdict is worked out
    again). Returns a line for each monitor found overdue."""
    lines = []
    for version, h in unwell(session, policy, now):
        if h.state != "overdue" or h.since is None:
            continue
        lines.append(f"{version.label}: drift monitor {h.monitor.id} is overdue: {h.why}")
        since = h.since.isoformat()
        last = session.scalars(
            select(LedgerEntry).where(LedgerEntry.action == "drift_monitor_overdue",
                                      LedgerEntry.subject_kind == "model_version",
                                      LedgerEntry.subject_id == str(version.id))
            .order_by(LedgerEntry.seq.desc()).limit(1)).first()
        if last and (last.change.get("monitor_id"), last.change.get("since")) == (h.monitor.id,
                                                                                   since):
            continue
        ledger.append(session, SYSTEM, "drift_monitor_overdue", "model_version", version.id, {
            "monitor_id": h.monitor.id, "since": since, "reason": h.why,
            "grace_until": h.grace_until.isoformat() if h.grace_until else None}, now)
    return lines
