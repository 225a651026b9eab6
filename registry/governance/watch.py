"""Rules that watch how served models are used, judged on their receipts and outcomes.

Each rule of the policy's ``[watch]`` table (:mod:`.watch_policy`) is judged for every version
in use (approved or suspended) by :func:`run` (``gatehouse watch``, and ``gatehouse sweep``). A
rule that fires stores a :class:`WatchAlert` and a ``watch_alert`` ledger entry naming the rule,
the figures and the window judged; with action "suspend" the system also suspends the version,
which moves the ledger's head, so serving refuses it from the next request (as a drift breach
does). An alert stays open on the version page and in the officers' inboxes until a governance
officer acknowledges it with what was found and done.

Each window begins no earlier than the end of the window of the rule's previous alert on the
version: the same receipts never raise the same alert twice, and after an alert the rule fires
again only on fresh evidence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..records import ModelVersion, OutcomeReport, ScoreReceipt, WatchAlert
from . import ledger
from .actors import SYSTEM, Actor
from .errors import Conflict, Invalid, NotFound
from .lifecycle import decide, require_evidence_decider
from .policy import Policy
from .watch_policy import Hours, OverrideRate, RepeatedInputs, UnreportedOutcomes, Volume

WATCHED_STATES = ("approved", "suspended")
RULE_WORDS = {
    "override_rate": "advisory model rarely overridden",
    "volume": "scoring far above its usual level",
    "hours": "scoring outside working hours",
    "repeated_inputs": "the same inputs scored repeatedly",
    "unreported_outcomes": "outcomes not reported",
}


@dataclass(frozen=True)
class Finding:
    """What a rule found: its figures, the window judged, and the reason in an officer's words."""

    figures: dict[str, Any]
    window_start: datetime
    window_end: datetime
    reason: str


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _receipts(version: ModelVersion) -> Any:
    return ScoreReceipt.model_version_id == version.id


def _override_rate(session: Session, version: ModelVersion, rule: OverrideRate, hours: int,
                   now: datetime, after: datetime | None) -> Finding | None:
    if version.model.decision_role != "advisory":
        return None  # an automated model is not expected to be overridden
    # Each case counts when its outcome was first reported: a correction (which re-stamps
    # outcome_at) changes the case's answer, not its place in time, so outcomes corrected after
    # an alert cannot refill the next window with the cases the alert already judged.
    first = (select(OutcomeReport.receipt_id, func.min(OutcomeReport.created_at).label("at"))
             .group_by(OutcomeReport.receipt_id).subquery())
    told = func.coalesce(first.c.at, ScoreReceipt.outcome_at).label("told")
    query = (select(ScoreReceipt.overrode, told)
             .outerjoin(first, first.c.receipt_id == ScoreReceipt.id)
             .where(_receipts(version), ScoreReceipt.outcome_at.is_not(None)))
    if after is not None:
        query = query.where(told > after)
    rows = session.execute(query.order_by(told.desc(), ScoreReceipt.id.desc())
                           .limit(rule.last_outcomes)).all()
    if len(rows) < rule.last_outcomes:
        return None  # too few outcomes to judge
    overrides = sum(1 for r in rows if r.overrode)
    rate = overrides / len(rows)
    if rate >= rule.floor:
        return None
    start, end = rows[-1].told, rows[0].told
    return Finding(
        {"overrides": overrides, "outcomes": len(rows), "override_rate": round(rate, 4),
         "floor": rule.floor}, start, end,
        f"{overrides} of the latest {len(rows)} outcomes reported overrode the score "
        f"({rate:.1%}), below the policy's floor of {rule.floor:.1%}, for outcomes reported "
        f"{_stamp(start)} to {_stamp(end)}: caseworkers may be following an advisory model "
        "without judging each case (de facto automated decisions)")


def _window(now: datetime, hours: int, after: datetime | None) -> datetime:
    start = now - timedelta(hours=hours)
    return max(start, after) if after is not None else start


def _count(session: Session, version: ModelVersion, start: datetime, end: datetime) -> int:
    return session.scalar(select(func.count()).select_from(ScoreReceipt).where(
        _receipts(version), ScoreReceipt.created_at > start,
        ScoreReceipt.created_at <= end)) or 0


def _volume(session: Session, version: ModelVersion, rule: Volume, hours: int, now: datetime,
            after: datetime | None) -> Finding | None:
    start = _window(now, hours, after)
    count = _count(session, version, start, now)
    if count < rule.min_receipts:
        return None
    window = timedelta(hours=hours)
    baseline_start = now - window - timedelta(days=rule.baseline_days)
    baseline = _count(session, version, baseline_start, now - window)
    if baseline == 0:
        return None  # no usual level yet to compare with
    usual = baseline / rule.baseline_days * hours / 24  # the usual count in a window this long
    if count <= rule.factor * usual:
        return None
    return Finding(
        {"receipts": count, "usual": round(usual, 2), "times_usual": round(count / usual, 2),
         "factor": rule.factor, "baseline_days": rule.baseline_days,
         "baseline_receipts": baseline}, start, now,
        f"{count} cases scored from {_stamp(start)} to {_stamp(now)}, {count / usual:.1f} times "
        f"the usual {usual:.1f} (the mean over the {rule.baseline_days} days before), above the "
        f"policy's limit of {rule.factor:g} times")


def outside_hours(moments: list[datetime], rule: Hours) -> list[datetime]:
    """The moments outside the rule's working hours, on the clocks of its time zone."""
    zone = rule.zone
    return [m for m in moments if not rule.start <= m.astimezone(zone).time() < rule.end]


def _hours(session: Session, version: ModelVersion, rule: Hours, hours: int, now: datetime,
           after: datetime | None) -> Finding | None:
    start = _window(now, hours, after)
    moments = session.scalars(select(ScoreReceipt.created_at).where(
        _receipts(version), ScoreReceipt.created_at > start, ScoreReceipt.created_at <= now)
        .order_by(ScoreReceipt.created_at)).all()
    outside = outside_hours(list(moments), rule)
    if len(outside) < max(rule.min_receipts, 1):
        return None
    first, last = (f"{m.astimezone(rule.zone):%Y-%m-%d %H:%M}" for m in (outside[0], outside[-1]))
    return Finding(
        {"outside_hours": len(outside), "receipts": len(moments),
         "hours": f"{rule.start:%H:%M}-{rule.end:%H:%M} {rule.timezone}",
         "first": outside[0].isoformat(), "last": outside[-1].isoformat()}, start, now,
        f"{len(outside)} of {len(moments)} cases scored from {_stamp(start)} to {_stamp(now)} "
        f"were scored outside the working hours of {rule.start:%H:%M} to {rule.end:%H:%M} "
        f"({rule.timezone}): the first at {first}, the last at {last}, local time")


def _repeated_inputs(session: Session, version: ModelVersion, rule: RepeatedInputs, hours: int,
                     now: datetime, after: datetime | None) -> Finding | None:
    start = _window(now, hours, after)
    times = func.count().label("times")
    repeated = session.execute(
        select(ScoreReceipt.inputs_hash, times).where(
            _receipts(version), ScoreReceipt.created_at > start, ScoreReceipt.created_at <= now)
        .group_by(ScoreReceipt.inputs_hash).having(func.count() > rule.max_repeats)
        .order_by(times.desc(), ScoreReceipt.inputs_hash)).all()
    if not repeated:
        return None
    top = repeated[0]
    # The receipts name the case without its inputs (a hash of few features can be guessed).
    examples = session.scalars(select(ScoreReceipt.id).where(
        _receipts(version), ScoreReceipt.inputs_hash == top.inputs_hash,
        ScoreReceipt.created_at > start, ScoreReceipt.created_at <= now)
        .order_by(ScoreReceipt.created_at, ScoreReceipt.id).limit(3)).all()
    return Finding(
        {"cases": len(repeated), "most_times": int(top.times), "max_repeats": rule.max_repeats,
         "example_receipts": list(examples)}, start, now,
        f"{len(repeated)} case(s) were scored more than {rule.max_repeats} times each from "
        f"{_stamp(start)} to {_stamp(now)}, one of them {int(top.times)} times (receipts "
        f"{', '.join(examples)}, …): someone may be trying inputs until the score suits, or a "
        "tool is repeating its requests")


def _unreported_outcomes(session: Session, version: ModelVersion, rule: UnreportedOutcomes,
                         hours: int, now: datetime, after: datetime | None) -> Finding | None:
    end = now - timedelta(days=rule.after_days)
    start = end - timedelta(days=rule.over_days)
    if after is not None:
        start = max(start, after)
    if start >= end:
        return None
    base = select(func.count()).select_from(ScoreReceipt).where(
        _receipts(version), ScoreReceipt.created_at > start, ScoreReceipt.created_at <= end)
    total = session.scalar(base) or 0
    if total < rule.min_receipts:
        return None
    missing = session.scalar(base.where(ScoreReceipt.outcome_at.is_(None))) or 0
    share = missing / total
    if share <= rule.max_share:
        return None
    return Finding(
        {"without_outcome": missing, "receipts": total, "share": round(share, 4),
         "max_share": rule.max_share, "after_days": rule.after_days}, start, end,
        f"{missing} of {total} cases scored from {_stamp(start)} to {_stamp(end)} ({share:.0%}) "
        f"have no outcome reported {rule.after_days} days on, more than the policy's "
        f"{rule.max_share:.0%}: nobody can see whether the advice was followed")


Check = Callable[[Session, ModelVersion, Any, int, datetime, datetime | None], Finding | None]
CHECKS: dict[str, Check] = {
    "override_rate": _override_rate,
    "volume": _volume,
    "hours": _hours,
    "repeated_inputs": _repeated_inputs,
    "unreported_outcomes": _unreported_outcomes,
}


def last_window_end(session: Session, version: ModelVersion, rule: str) -> datetime | None:
    """Where the rule's previous alert on the version stopped judging."""
    return session.scalar(select(func.max(WatchAlert.window_end)).where(
        WatchAlert.model_version_id == version.id, WatchAlert.rule == rule))


def judge(session: Session, version: ModelVersion, policy: Policy, now: datetime
          ) -> list[tuple[str, str, Finding]]:
    """(rule, action, finding) for each rule that fires on the version now; writes nothing."""
    found = []
    for name, rule in policy.watch.rules():
        finding = CHECKS[name](session, version, rule, policy.watch.window_hours, now,
                               last_window_end(session, version, name))
        if finding is not None:
            found.append((name, rule.action, finding))
    return found


def raise_alert(session: Session, version: ModelVersion, rule: str, action: str,
                finding: Finding, policy: Policy, now: datetime) -> WatchAlert:
    """Store the alert and its ledger entry; with action "suspend", suspend the version."""
    reason = f"watch rule {rule} ({RULE_WORDS[rule]}): {finding.reason}"
    alert = WatchAlert(model_version_id=version.id, rule=rule, action=action,
                       figures=finding.figures, window_start=finding.window_start,
                       window_end=finding.window_end, reason=reason, created_at=now)
    session.add(alert)
    session.flush()
    ledger.append(session, SYSTEM, "watch_alert", "model_version", version.id, {
        "alert_id": alert.id, "rule": rule, "action": action, "figures": finding.figures,
        "window": {"start": finding.window_start.isoformat(),
                   "end": finding.window_end.isoformat()}, "reason": reason}, now)
    if action == "suspend" and version.state == "approved":
        decide(session, SYSTEM, version, policy, now, "suspend", reason)
    return alert


def run(session: Session, policy: Policy, now: datetime) -> list[str]:
    """Judge every rule on every version in use; a line for each alert raised."""
    lines = []
    versions = session.scalars(select(ModelVersion).where(ModelVersion.state.in_(WATCHED_STATES))
                               .order_by(ModelVersion.id)).all()
    for version in versions:
        for rule, action, finding in judge(session, version, policy, now):
            was = version.state
            raise_alert(session, version, rule, action, finding, policy, now)
            done = "suspended" if was != version.state else "alert"
            lines.append(f"{done}: {version.model.name} v{version.number}: watch rule {rule}: "
                         f"{finding.reason}")
    return lines


def open_alerts(session: Session, version: ModelVersion) -> list[WatchAlert]:
    """The version's alerts not yet acknowledged, oldest first."""
    return list(session.scalars(select(WatchAlert).where(
        WatchAlert.model_version_id == version.id, WatchAlert.acknowledged_at.is_(None))
        .order_by(WatchAlert.id)).all())


def alerts_of(session: Session, version: ModelVersion) -> list[WatchAlert]:
    """Every alert on the version, newest first."""
    return list(session.scalars(select(WatchAlert).where(
        WatchAlert.model_version_id == version.id).order_by(WatchAlert.id.desc())).all())


def acknowledge(session: Session, actor: Actor, version: ModelVersion, alert_id: int,
                rationale: str, now: datetime) -> WatchAlert:
    """A governance officer (who did not build or submit the version) acknowledges an alert,
    saying what was found and done; it leaves the inboxes and is on the ledger."""
    require_evidence_decider(actor, version)
    alert = session.get(WatchAlert, alert_id)
    if alert is None or alert.model_version_id != version.id:
        raise NotFound(f"no watch alert {alert_id} on {version.label}", {"alert_id": [alert_id]})
    if alert.acknowledged_at is not None:
        raise Conflict(f"watch alert {alert_id} was acknowledged on "
                       f"{_stamp(alert.acknowledged_at)}", {"alert_id": ["already acknowledged"]})
    if not (rationale or "").strip():
        raise Invalid("say what was found and what was done", {"rationale": ["must not be empty"]})
    alert.acknowledged_by_id, alert.acknowledged_at = actor.user_id, now
    alert.acknowledgement = rationale.strip()
    ledger.append(session, actor.within(version.organisation_id), "watch_alert_acknowledged",
                  "model_version", version.id, {"alert_id": alert.id, "rule": alert.rule,
                                                "rationale": alert.acknowledgement}, now)
    session.flush()
    return alert
