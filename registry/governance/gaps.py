"""Gaps in a version's evidence that only an officer's recorded decision can let pass.

Each finder returns the gaps of one kind. A *waivable* gap (groups too small to assess, say) is
an unmet gate requirement until an officer waives each of its items; an *alert* (drift found by a
monitor whose action is "alert") does not stop serving, but is shown on the dashboard, the
version page and the register until an officer acknowledges it. Either way the decision names
the evidence and the items, so new evidence needs a decision of its own (see :mod:`.evidence`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..records import DriftCheck, DriftMonitor, ModelVersion
from .evidence import waived
from .policy import Policy


@dataclass(frozen=True)
class Gap:
    requirement: str  # the gate requirement it belongs to, e.g. "small_groups"
    evidence: str  # where it was found, e.g. "bias_audit:12"
    items: tuple[str, ...]  # what must each be waived: groups, features, columns
    waived: frozenset[str]
    detail: str  # what was found, in the officer's words
    remedy: str  # how to meet it: fix it, or an officer waives it with reasons
    decision: str = "waive"  # or "acknowledge" for an alert

    @property
    def outstanding(self) -> list[str]:
        return [i for i in self.items if i not in self.waived]

    def as_dict(self) -> dict[str, object]:
        return {"requirement": self.requirement, "evidence": self.evidence,
                "items": list(self.items), "outstanding": self.outstanding,
                "detail": self.detail, "remedy": self.remedy, "decision": self.decision}


def _drift_alerts(session: Session, version: ModelVersion, policy: Policy) -> list[Gap]:
    """Each check that found drift on a monitor whose action is to alert."""
    checks = session.scalars(
        select(DriftCheck).join(DriftMonitor)
        .where(DriftMonitor.model_version_id == version.id, DriftMonitor.action == "alert",
               DriftCheck.drifted.is_(True))
        .order_by(DriftCheck.id))
    found = []
    for check in checks:
        evidence = f"drift_check:{check.id}"
        columns = tuple(c["column"] for c in check.columns if c.get("drifted"))
        found.append(Gap(
            "drift_alert", evidence, columns or ("drift",),
            frozenset(waived(session, version, "drift_alert", evidence)),
            f"drift check {check.id} on {check.created_at:%Y-%m-%d} found drift in "
            f"{', '.join(columns) or 'the monitored columns'}",
            "investigate the drift; a governance officer acknowledges the alert with what was "
            "found and done", decision="acknowledge"))
    return found


FINDERS: dict[str, Callable[[Session, ModelVersion, Policy], list[Gap]]] = {
    "drift_alert": _drift_alerts,
}


def find(session: Session, version: ModelVersion, policy: Policy,
         requirement: str | None = None) -> list[Gap]:
    """Every gap of the version (or of one requirement), waived or not."""
    chosen = FINDERS if requirement is None else {requirement: FINDERS[requirement]}
    return [gap for finder in chosen.values() for gap in finder(session, version, policy)]


def open_alerts(session: Session, version: ModelVersion, policy: Policy) -> list[Gap]:
    """Alerts not yet acknowledged: for the dashboard, the version page and the register."""
    return [g for g in find(session, version, policy) if g.decision == "acknowledge"
            and g.outstanding]
